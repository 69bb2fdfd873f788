package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/sim/swarm"
)

// An undecided verdict survives the summary file, so that a merged swarm
// still tells it from a history that is not linearizable.
func TestSummaryFileKeepsUndecidedLinearizability(t *testing.T) {
	sum := swarm.Summary{Seeds: 1, Failed: []swarm.Result{{Seed: 4,
		Lin: []check.LinResult{{Resource: "web", Undecided: true, Timeout: time.Minute, Ops: 9}}}}}
	fs := failuresOf(common{}, sum)
	require.Len(t, fs, 1)
	require.Equal(t, "[linearizability-undecided] linearizability of web's history could not be decided within 1m0s (9 operations)", fs[0].Summary)
	back := summaryFile{Seeds: 1, Failures: fs}.summary()
	require.Len(t, back.Failed, 1)
	require.Equal(t, fs[0].Summary, back.Failed[0].Summary())
	require.Equal(t, "linearizability-undecided", checkerName(back.Failed[0]))
}
