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

// The effects themselves are reused the same way. The frequent ones
// (SetTimer, CancelTimer, Send, Persist, StartProcess) are pointers, so that
// a machine can take one from its Batches instead of boxing a new value
// into the Effect interface: a heartbeat, two simulated events, boxed four
// values. Release, the driver's hand-back, keeps the effects of the batch
// for the machine's next ones; Put, the machine's own return of a slice
// whose effects it moved into another, keeps only the slice.

// Bounds on what a Batches keeps: a few slices (a driver releases each
// batch before the next input but for the nesting above), none so big that
// keeping it would hold memory for nothing.
const (
	maxSpareBatches  = 8
	maxSpareBatchCap = 64
	minBatchCap      = 4 // room enough for most inputs, so that spares fit them
	// maxSpareEffects bounds the spares of each kind of effect (Spares): a
	// batch holds a few, and a driver releases each before the next input.
	maxSpareEffects = 64
)

// Batches are the slices released to a machine for its next batches. The
// zero value is empty and ready. Not safe for concurrent use: a machine is
// driven by one goroutine at a time.
type Batches struct {
	spare    [][]Effect
	timers   Spares[SetTimer]
	cancels  Spares[CancelTimer]
	sends    Spares[Send]
	persists Spares[Persist]
	starts   Spares[StartProcess]
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

// Release takes back a batch the driver has carried out: its effects of the
// kinds Batches reuses, and the slice (as Put). Nothing may read or write
// the batch or its effects after it is released, and only a batch of the
// machine's may be released: an effect kept anywhere else would be
// rewritten under its holder. A batch released twice gives back nothing the
// second time: the first release cleared it.
func (b *Batches) Release(s []Effect) {
	for i, e := range s {
		switch e := e.(type) {
		case *SetTimer:
			b.timers.Keep(e)
		case *CancelTimer:
			b.cancels.Keep(e)
		case *Send:
			b.sends.Keep(e)
		case *Persist:
			b.persists.Keep(e)
		case *StartProcess:
			b.starts.Keep(e)
		}
		s[i] = nil
	}
	b.Put(s)
}

// Spares are released effects of one kind, or other values a machine
// hands out by pointer and gets back (the agent's history notes, the LRM's
// notifications), kept for reuse: at most maxSpareEffects. The zero value
// is empty and ready.
type Spares[T any] struct{ free []*T }

// Keep takes e back, cleared so that it holds nothing alive, unless there
// are enough. Nothing may read or write e after.
func (s *Spares[T]) Keep(e *T) {
	if len(s.free) < maxSpareEffects {
		var zero T
		*e = zero
		s.free = append(s.free, e)
	}
}

// Reuse is a spare set to v, or a new one.
func (s *Spares[T]) Reuse(v T) *T {
	if n := len(s.free); n > 0 {
		e := s.free[n-1]
		s.free[n-1] = nil
		s.free = s.free[:n-1]
		*e = v
		return e
	}
	return fresh(v)
}

// Len is how many spares there are.
func (s *Spares[T]) Len() int { return len(s.free) }

// fresh is a new effect set to v. (Taking v's address instead would move
// v to the heap on every call, the reused ones too.)
func fresh[T any](v T) *T {
	e := new(T)
	*e = v
	return e
}

// SetTimer is the effect v, a spare reused if there is one. On a nil
// Batches (a machine whose driver releases nothing), every effect is new.
func (b *Batches) SetTimer(v SetTimer) *SetTimer {
	if b == nil {
		return fresh(v)
	}
	return b.timers.Reuse(v)
}

// CancelTimer is the effect v, a spare reused if there is one.
func (b *Batches) CancelTimer(v CancelTimer) *CancelTimer {
	if b == nil {
		return fresh(v)
	}
	return b.cancels.Reuse(v)
}

// Send is the effect v, a spare reused if there is one.
func (b *Batches) Send(v Send) *Send {
	if b == nil {
		return fresh(v)
	}
	return b.sends.Reuse(v)
}

// Persist is the effect v, a spare reused if there is one.
func (b *Batches) Persist(v Persist) *Persist {
	if b == nil {
		return fresh(v)
	}
	return b.persists.Reuse(v)
}

// StartProcess is the effect v, a spare reused if there is one.
func (b *Batches) StartProcess(v StartProcess) *StartProcess {
	if b == nil {
		return fresh(v)
	}
	return b.starts.Reuse(v)
}
