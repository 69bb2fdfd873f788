package cluster

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/basalt-ha/basalt/core/history"
	"github.com/stretchr/testify/require"
)

// TestOpLogIsHistoryOps: pairing records as they come gives, after every
// record, what history.Ops gives for all the records so far: over random
// histories with runs that end, runs that never end, ends without a start
// (an earlier life's orphans), a run number reused by another host or
// life, and ends that carry an epoch or none.
func TestOpLogIsHistoryOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for range 200 {
		var recs []history.Record
		var l opLog
		for i := range 1 + rng.IntN(60) {
			r := history.Record{Phase: history.Started, Kind: history.Resource, Host: []string{"h1", "h2"}[rng.IntN(2)],
				Resource: []string{"a", "b", "c"}[rng.IntN(3)], Action: []string{"start", "stop", "monitor"}[rng.IntN(3)],
				IntervalMS: int64(rng.IntN(2)) * 10000, Epoch: uint64(rng.IntN(3)), Life: uint64(rng.IntN(2)),
				Run: uint64(rng.IntN(6)), At: Start.Add(time.Duration(i) * time.Second)}
			if rng.IntN(2) == 0 {
				r.Phase, r.RC, r.Status, r.Killed, r.Orphan = history.Ended, rng.IntN(8), "done", rng.IntN(4) == 0, rng.IntN(4) == 0
			}
			recs = append(recs, r)
			l.add(r)
			require.Equal(t, history.Ops(recs), l.ops, "after record %d of %v", i, recs)
		}
	}
}
