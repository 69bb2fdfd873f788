package harness_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/sim/whatif"
)

// TestSimulateHostDownMatchesTheLiveCluster is issue 18's acceptance test
// of basalt simulate: the what-if of a host's death, run on the live
// cluster's saved status, takes the decision the live cluster takes when
// the host really dies: the same host fenced, the same group started on
// the same host, after the fence.
func TestSimulateHostDownMatchesTheLiveCluster(t *testing.T) {
	pc := newProcCluster(t, []string{"h1", "h2", "h3"})
	pc.awaitHealthyOn("h1")

	// The saved state: the live status, as basalt status -o json prints
	// it, read back as basalt simulate --state reads its file.
	v, err := pc.Status()
	require.NoError(t, err)
	// The status alone is the state: it carries the running configuration.
	require.NotNil(t, v.Config, "the leader's status carries the running configuration")
	data, err := json.Marshal(v)
	require.NoError(t, err)
	st, err := whatif.ParseState("the live status", data)
	require.NoError(t, err)
	res, err := whatif.Run(st, whatif.File{}, whatif.Events{HostDown: []string{"h1"}})
	require.NoError(t, err)
	require.Empty(t, res.Warnings, "the simulation starts from the live state exactly")
	require.Equal(t, "h1", res.FenceTarget())
	var fenceEnd time.Duration
	for _, tr := range res.Transitions {
		for _, s := range tr.Steps {
			switch {
			case s.Kind == "fence":
				require.Equal(t, "h1", s.Host)
				require.Equal(t, "ok", s.Result)
				fenceEnd = s.End
			case s.Kind == "start" && s.Result == "ok":
				require.NotZero(t, fenceEnd, "the what-if starts %s before the fence", s.Resource)
				require.GreaterOrEqual(t, s.At, fenceEnd, "the what-if starts %s before the fence ended", s.Resource)
			}
		}
	}
	simHosts := res.GroupHosts()["g"]
	require.Len(t, simHosts, 1)
	require.NotEqual(t, "h1", simHosts[0])

	// Now h1 really dies: its agent and resources are gone, and the PID
	// fence agent run by a peer confirms it off.
	last := lastSeq(t, pc)
	pc.CrashHost("h1", 0)
	fenced, started := awaitFailover(t, pc, last, []string{"pool", "mnt"})
	require.Equal(t, res.FenceTarget(), fenced, "the same host fenced")
	require.Equal(t, map[string]string{"pool": simHosts[0], "mnt": simHosts[0]}, started, "the group started where the what-if said")
}

// lastSeq is the sequence number of the live manager's latest event.
func lastSeq(t *testing.T, pc *procCluster) uint64 {
	evs, err := pc.Events()
	require.NoError(t, err)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

// awaitFailover reads the live manager's events after seq (polling,
// bounded) until a host was fenced and every resource of rscs started
// again after it: the fenced host, and where each resource started.
func awaitFailover(t *testing.T, pc *procCluster, seq uint64, rscs []string) (string, map[string]string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		evs, err := pc.Events()
		require.NoError(t, err)
		fenced, started := "", map[string]string{}
		for _, e := range evs {
			switch {
			case e.Seq <= seq:
			case e.Kind == "fenced" && fenced == "":
				fenced = e.Host
			case e.Kind == "started" && slices.Contains(rscs, e.Resource):
				require.NotEmpty(t, fenced, "%s started before any fence: %s", e.Resource, e)
				started[e.Resource] = e.Host
			}
		}
		if len(started) == len(rscs) {
			return fenced, started
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failover within 60s: fenced %q, started %v", fenced, started)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
