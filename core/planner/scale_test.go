package planner

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPlanScalesLinearly: a cluster four times bigger (hosts and
// resources) costs the planner at most six times the allocations. Work
// per group × host (an explanation string for every host, a scan of every
// host's state per member) makes it sixteen times or more.
func TestPlanScalesLinearly(t *testing.T) {
	pairs := [][2]clusterSize{{{16, 48}, {64, 192}}, {{64, 192}, {256, 768}}}
	inputs := map[string]func(clusterSize) Input{"steady": steadyInput, "troubled": troubledInput}
	for _, kind := range []string{"steady", "troubled", "steady+notable", "troubled+notable"} {
		for _, pair := range pairs {
			build, notable := strings.CutSuffix(kind, "+notable")
			small, big := inputs[build](pair[0]), inputs[build](pair[1])
			if notable {
				small.Notable, big.Notable = notableOf(small), notableOf(big)
			}
			a := testing.AllocsPerRun(2, func() { Plan(small) })
			b := testing.AllocsPerRun(2, func() { Plan(big) })
			t.Logf("%s: %v %.0f allocations, %v %.0f: ×%.2f", kind, pair[0], a, pair[1], b, b/a)
			assert.LessOrEqual(t, b/a, 6.0, "%s: %v costs %.0f allocations, %v %.0f: ×%.1f for a cluster four times bigger",
				kind, pair[0], a, pair[1], b, b/a)
		}
	}
}

// notableOf is what the manager keeps along with Observed: for each
// resource, the hosts whose entry is missing or not plainly stopped.
func notableOf(in Input) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, r := range in.Model.Resources {
		out[r.ID] = map[string]bool{}
		for _, h := range in.Hosts {
			if o, ok := in.Observed[r.ID][h.Name]; !ok || o.State != Stopped {
				out[r.ID][h.Name] = true
			}
		}
	}
	return out
}

// TestNotableChangesNothing: a plan that reads only the notable entries
// is the plan that reads them all, for every golden case and the
// benchmarks' clusters.
func TestNotableChangesNothing(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join("testdata", "*.case.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	inputs := map[string]Input{"steady": steadyInput(clusterSize{16, 48}), "troubled": troubledInput(clusterSize{16, 48})}
	for _, c := range cases {
		inputs[c] = loadCase(t, c)
	}
	for name, in := range inputs {
		want := Plan(in).String()
		in.Notable = notableOf(in)
		require.Equal(t, want, Plan(in).String(), name)
		require.Equal(t, Blocked(in, in.Model.Resources[0].ID), Blocked(Input{Model: in.Model, Now: in.Now, Hosts: in.Hosts,
			Observed: in.Observed, Failures: in.Failures, Fatal: in.Fatal, Constraints: in.Constraints}, in.Model.Resources[0].ID), name)
	}
}
