package planner

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPromoteNeverBesideAFence: while the host of a promoted instance is
// lost, no transition promotes another instance, whatever the scores; the
// next plan, with the fence confirmed, does.
func TestPromoteNeverBesideAFence(t *testing.T) {
	in := loadCase(t, "testdata/promoted-host-lost.case.yaml")
	tr := Plan(in)
	fenced := false
	for _, a := range tr.Actions {
		require.NotEqual(t, Promote, a.Kind, "promoted while the old primary's fence is pending: %s", a)
		fenced = fenced || (a.Kind == Fence && a.Host == "a")
	}
	require.True(t, fenced, "the lost promoted host is fenced")

	in.Hosts[0].State = Offline // the fence is confirmed
	delete(in.Observed["db"], "a")
	tr = Plan(in)
	var promoted []string
	for _, a := range tr.Actions {
		if a.Kind == Promote {
			promoted = append(promoted, a.Host)
		}
	}
	require.Equal(t, []string{"c"}, promoted, "the best remaining instance is promoted once the fence is done")
}

func TestParseScore(t *testing.T) {
	for v, want := range map[string]int{"5": 5, "-3": -3, "INFINITY": scoreInfinity, "+INFINITY": scoreInfinity,
		"-INFINITY": -scoreInfinity, "99999999": scoreInfinity} {
		n, ok := parseScore(v)
		require.True(t, ok, v)
		require.Equal(t, want, n, v)
	}
	_, ok := parseScore("lots")
	require.False(t, ok)
}
