package history

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// refOps is a slow reading of Ops's rule, written apart from it: an Ended
// record ends the latest Started operation of its host, life and run if no
// Ended record of that run came after that start; otherwise it stands
// alone, as an end without a start.
func refOps(recs []Record) []Op {
	var out []Op
	started := []int{} // per op, the index of its Started record, -1 for an end alone
	for ri, r := range recs {
		if r.Phase == Started {
			out = append(out, Op{Resource: r.Resource, Host: r.Host, Kind: r.Action, Call: r.At, Killed: true,
				IntervalMS: r.IntervalMS, Epoch: r.Epoch, Device: r.Device, Target: r.Target})
			started = append(started, ri)
			continue
		}
		i := -1
		for j := len(out) - 1; j >= 0; j-- {
			if s := started[j]; s >= 0 && recs[s].Host == r.Host && recs[s].Life == r.Life && recs[s].Run == r.Run {
				i = j
				break
			}
		}
		if i >= 0 {
			for _, later := range recs[started[i]+1 : ri] {
				if later.Phase == Ended && later.Host == r.Host && later.Life == r.Life && later.Run == r.Run {
					i = -1 // that start was ended already
					break
				}
			}
		}
		if i < 0 {
			out = append(out, Op{Resource: r.Resource, Host: r.Host, Kind: r.Action, Call: r.At,
				IntervalMS: r.IntervalMS, Epoch: r.Epoch, Device: r.Device, Target: r.Target})
			started = append(started, -1)
			i = len(out) - 1
		}
		o := &out[i]
		o.Return, o.RC, o.Killed, o.Status, o.Orphan = r.At, r.RC, r.Killed, r.Status, r.Orphan
		if r.Epoch != 0 {
			o.Epoch = r.Epoch
		}
	}
	return out
}

// TestPairerIsTheRule: pairing records as they come gives, after every
// record, what the rule gives for all the records so far, and Ops of the
// whole list the same: over random histories with runs that end, runs
// that never end, ends without a start (an earlier life's orphans), a run
// number reused by another host or life, and ends that carry an epoch or
// none; histories long enough to fill more than one of the pairer's
// chunks, and AppendOps the same as Ops.
func TestPairerIsTheRule(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(7, 7))
	for range 200 {
		var recs []Record
		var p Pairer
		n := 1 + rng.IntN(60)
		if rng.IntN(8) == 0 {
			n = 1 + rng.IntN(400)
		}
		for i := range n {
			r := Record{Phase: Started, Kind: Resource, Host: []string{"h1", "h2"}[rng.IntN(2)],
				Resource: []string{"a", "b", "c"}[rng.IntN(3)], Action: []string{"start", "stop", "monitor"}[rng.IntN(3)],
				IntervalMS: int64(rng.IntN(2)) * 10000, Epoch: uint64(rng.IntN(3)), Life: uint64(rng.IntN(2)),
				Run: uint64(rng.IntN(6)), At: start.Add(time.Duration(i) * time.Second)}
			if rng.IntN(2) == 0 {
				r.Phase, r.RC, r.Status, r.Killed, r.Orphan = Ended, rng.IntN(8), "done", rng.IntN(4) == 0, rng.IntN(4) == 0
			}
			recs = append(recs, r)
			p.Add(r)
			require.Equal(t, refOps(recs), p.Ops(), "after record %d of %v", i, recs)
		}
		require.Equal(t, refOps(recs), Ops(recs))
		head := []Op{{Resource: "already there"}}
		require.Equal(t, append(head, refOps(recs)...), p.AppendOps(head), "appended after what dst holds")
	}
}
