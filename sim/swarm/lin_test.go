package swarm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/harness/check"
)

func TestUndecidedLinearizabilityIsReportedDistinctly(t *testing.T) {
	undecided := Result{Lin: []check.LinResult{{Resource: "web", Undecided: true, Timeout: 2 * time.Minute, Ops: 9}}}
	require.True(t, undecided.Failed(), "undecided is not a pass")
	require.Equal(t, "[linearizability-undecided] linearizability of web's history could not be decided within 2m0s (9 operations)", undecided.Summary())
	require.Equal(t, "linearizability-undecided", checkerOf(undecided))

	illegal := Result{Lin: []check.LinResult{{Resource: "web", Ops: 9}}}
	require.Equal(t, "[linearizability] history of web is not linearizable (9 operations)", illegal.Summary())
	require.Equal(t, "linearizability", checkerOf(illegal))
}
