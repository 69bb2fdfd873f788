package agent

import "github.com/basalt-ha/basalt/core/effect"

// Batches of effects for reuse.
//
// Every input returns its effects in a slice of their own, and a slice per
// input (a heartbeat's two effects, a process group's persist, the records
// put before each process start) was among a simulated cluster's most
// frequent allocations. An agent cannot reuse the slice it returned last
// on its own: a driver may still be carrying that batch out when it calls
// the agent again (the simulator hands it each process group as it starts
// a process, in the middle of a batch), or hold it for later (the live
// daemon holds what it cannot persist yet). So the driver says when it is
// done with a batch (Release), and the agent builds later batches in the
// slices it was handed back. A driver that never releases anything gets a
// new slice per input, as before.

// Bounds on what an agent keeps for reuse: a few batches (a driver
// releases each before the next input, but for the nesting above), none
// so big that keeping it would hold memory for nothing.
const (
	maxSpareBatches  = 8
	maxSpareBatchCap = 64
	minBatchCap      = 4 // room enough for most inputs, so that spares fit them
)

// batches are the released slices an agent builds its next batches in.
type batches struct {
	spare [][]effect.Effect
}

// take is an empty batch with room for n effects: a released slice big
// enough, or a new one.
func (b *batches) take(n int) []effect.Effect {
	for i := len(b.spare) - 1; i >= 0; i-- {
		if s := b.spare[i]; cap(s) >= n {
			last := len(b.spare) - 1
			b.spare[i], b.spare[last] = b.spare[last], nil
			b.spare = b.spare[:last]
			return s
		}
	}
	return make([]effect.Effect, 0, max(n, minBatchCap))
}

// put keeps s for a later batch, emptied, unless it is too big, there are
// enough already, or s is one of them (a batch released twice must not be
// handed out twice).
func (b *batches) put(s []effect.Effect) {
	if cap(s) == 0 || cap(s) > maxSpareBatchCap || len(b.spare) >= maxSpareBatches {
		return
	}
	s = s[:cap(s)]
	for _, t := range b.spare {
		if &t[:1][0] == &s[0] {
			return
		}
	}
	clear(s) // the effects it held are garbage: keep none of them alive
	b.spare = append(b.spare, s[:0])
}

// Release hands back a batch of effects the driver has carried out, one
// the agent (or a machine wrapping it) returned, so that the agent builds
// later batches in it instead of allocating them. It is optional. The
// driver must not read the batch after releasing it, nor release one it
// still holds any part of.
func (a *Agent) Release(effs []effect.Effect) { a.batches.put(effs) }
