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
