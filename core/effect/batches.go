package effect

// Batches of effects for reuse.
//
// Every input of a machine returns its effects in a slice of their own, and
// a slice per input was among a simulated cluster's most frequent
// allocations. A machine cannot reuse the slice it returned last on its
// own: a driver may still be carrying that batch out when it calls the
// machine again (the simulator hands the agent each process group as it
// starts a process, in the middle of a batch), or hold it for later (the
// live agent daemon holds what it cannot persist yet). So a machine that
// offers it has a Release method by which the driver says it is done with
// a batch, and builds later batches in the slices it was handed back,
// kept in a Batches. A driver that never releases anything gets a new
// slice per input, as before.

// Bounds on what a Batches keeps: a few slices (a driver releases each
// batch before the next input but for the nesting above), none so big that
// keeping it would hold memory for nothing.
const (
	maxSpareBatches  = 8
	maxSpareBatchCap = 64
	minBatchCap      = 4 // room enough for most inputs, so that spares fit them
)

// Batches are the slices released to a machine for its next batches. The
// zero value is empty and ready. Not safe for concurrent use: a machine is
// driven by one goroutine at a time.
type Batches struct {
	spare [][]Effect
}

// Take is an empty batch with room for n effects: a released slice big
// enough, or a new one.
func (b *Batches) Take(n int) []Effect {
	for i := len(b.spare) - 1; i >= 0; i-- {
		if s := b.spare[i]; cap(s) >= n {
			last := len(b.spare) - 1
			b.spare[i], b.spare[last] = b.spare[last], nil
			b.spare = b.spare[:last]
			return s
		}
	}
	return make([]Effect, 0, max(n, minBatchCap))
}

// Put keeps s for a later batch, emptied, unless it is too small or too
// big, there are enough already, or s is one of them (a batch released
// twice must not be handed out twice). Nothing may read or write s after it
// is put. A slice smaller than minBatchCap (a machine's one-effect literal)
// fits almost no input: kept, such slices filled the spares and turned
// every bigger slice away, so that at 64 hosts nearly every batch was new.
func (b *Batches) Put(s []Effect) {
	if cap(s) < minBatchCap || cap(s) > maxSpareBatchCap || len(b.spare) >= maxSpareBatches {
		return
	}
	first := &s[:1][0]
	for _, t := range b.spare {
		if &t[:1][0] == first {
			return
		}
	}
	// The effects it held are garbage: keep none of them alive. Only its
	// length is cleared: past it a batch holds nothing (it was handed out
	// empty, or new, and machines append to it), and clearing the whole
	// capacity, with the write barriers of a slice of interfaces, cost 2%
	// of a simulated seed.
	clear(s)
	b.spare = append(b.spare, s[:0])
}

// Spare is how many slices b holds.
func (b *Batches) Spare() int { return len(b.spare) }
