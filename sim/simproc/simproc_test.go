package simproc

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/sim/eventq"
)

func TestScriptsOnceSteadyDefaultAndKill(t *testing.T) {
	q := eventq.New(time.Unix(0, 0), nil)
	r := New(q, Script{Duration: time.Second})
	r.Set("a", "start", Script{RC: 1, Duration: 2 * time.Second})
	r.Once("a", "start", Script{RC: 7, Duration: time.Second})
	r.Set("b", "monitor", Script{Hang: true})
	var got []proc.Exit
	on := func(_ proc.ID, x proc.Exit) { got = append(got, x) }
	spec := func(rsc, action string) proc.Spec {
		return proc.Spec{Path: "/x", Args: []string{action}, Env: []string{"OCF_RESOURCE_INSTANCE=" + rsc}}
	}
	require.NoError(t, r.Start(1, spec("a", "start"), on))
	require.NoError(t, r.Start(2, spec("c", "stop"), on))
	require.NoError(t, r.Start(3, spec("b", "monitor"), on))
	require.Error(t, r.Start(3, spec("b", "monitor"), on), "duplicate id")
	require.NoError(t, q.RunFor(10*time.Second, 100))
	require.Len(t, got, 2)
	require.Equal(t, 7, got[0].Code, "the once script first")
	require.Equal(t, 0, got[1].Code, "default script")
	require.Equal(t, 1, r.Running(), "the hang goes on")
	require.NoError(t, r.Kill(3))
	require.NoError(t, q.RunFor(time.Second, 100))
	require.Equal(t, "killed", got[2].Signal)
	require.True(t, r.Runs[2].Killed)
	require.NoError(t, r.Start(4, spec("a", "start"), on))
	require.NoError(t, q.RunFor(10*time.Second, 100))
	require.Equal(t, 1, got[3].Code, "then the steady script")
}

// TestAbandonedRunsOutliveTheirOwner: runs of a dead owner go on to their
// end unheard, the next owner reuses their IDs, and only KillGroup reaches
// them.
func TestAbandonedRunsOutliveTheirOwner(t *testing.T) {
	q := eventq.New(time.Unix(0, 0), nil)
	r := New(q, Script{Duration: 3 * time.Second})
	r.Set("b", "start", Script{Hang: true})
	var pgids []int
	r.OnStart(func(_ proc.ID, pgid int) { pgids = append(pgids, pgid) })
	heard := 0
	on := func(proc.ID, proc.Exit) { heard++ }
	spec := func(rsc string) proc.Spec {
		return proc.Spec{Path: "/x", Args: []string{"start"}, Env: []string{"OCF_RESOURCE_INSTANCE=" + rsc}}
	}
	require.NoError(t, r.Start(1, spec("a"), on))
	require.NoError(t, r.Start(2, spec("b"), on))
	require.Equal(t, []int{1, 2}, pgids)
	r.Abandon()
	require.Equal(t, 0, r.Running())
	require.NoError(t, r.Start(1, spec("c"), on), "the next life numbers its processes afresh")
	require.NoError(t, q.RunFor(5*time.Second, 100))
	require.Equal(t, 1, heard, "only the new life's run is heard of")
	require.True(t, r.Runs[0].Orphan && !r.Runs[0].End.IsZero(), "a's start ran to its end")
	require.True(t, r.KillGroup(2), "b's hung start is killed by its group")
	require.True(t, r.Runs[1].Killed)
	require.False(t, r.KillGroup(1), "a's group is gone")
}
