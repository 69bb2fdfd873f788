package eventq

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkQueue runs the queue as a simulator does: a fixed population of
// pending timers where most are cancelled and re-armed before they fire (a
// heartbeat reset, an operation timeout cleared by its result) and the rest
// fire and re-arm themselves. Each iteration is one event run plus three
// cancel-and-re-arm pairs; events/s counts the events run.
func BenchmarkQueue(b *testing.B) {
	for _, pending := range []int{64, 1024, 65536, 100000} {
		b.Run(fmt.Sprintf("pending=%d", pending), func(b *testing.B) {
			benchQueue(b, pending)
		})
	}
}

func benchQueue(b *testing.B, pending int) {
	q := New(t0, rand.New(rand.NewPCG(1, 1)))
	r := rand.New(rand.NewPCG(2, 2))
	ids := make([]ID, pending)
	delay := func() time.Duration { return time.Duration(1+r.IntN(10_000)) * time.Millisecond }
	fns := make([]func(), pending)
	for k := range fns {
		fns[k] = func() { ids[k] = q.After(delay(), fns[k]) }
		ids[k] = q.After(delay(), fns[k])
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		for range 3 {
			k := r.IntN(pending)
			q.Cancel(ids[k])
			ids[k] = q.After(delay(), fns[k])
		}
		q.Step()
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	if q.Len() != pending {
		b.Fatalf("pending %d, want %d", q.Len(), pending)
	}
}

// BenchmarkQueueFloor runs BenchmarkQueue's loop with a stand-in for the
// queue that only stores each timer in its own slot and calls it back, with
// no ordering at all: its figures are what the benchmark itself costs (the
// random draws, the closures, the timers' IDs and slots spread over memory),
// a bound no queue can beat, so that BenchmarkQueue's figures at 100,000
// pending can be read against it rather than against those at 64.
func BenchmarkQueueFloor(b *testing.B) {
	for _, pending := range []int{64, 1024, 65536, 100000} {
		b.Run(fmt.Sprintf("pending=%d", pending), func(b *testing.B) {
			benchFloor(b, pending)
		})
	}
}

func benchFloor(b *testing.B, pending int) {
	tie := rand.New(rand.NewPCG(1, 1))
	r := rand.New(rand.NewPCG(2, 2))
	slots := make([]slot, pending)
	ids := make([]ID, pending)
	delay := func() time.Duration { return time.Duration(1+r.IntN(10_000)) * time.Millisecond }
	at := func(k int, d time.Duration, fn func()) ID {
		slots[k].tie = tie.Uint64()
		slots[k].fn, slots[k].at = fn, t0.Add(d)
		return ID(k)
	}
	fns := make([]func(), pending)
	for k := range fns {
		fns[k] = func() { ids[k] = at(k, delay(), fns[k]) }
		ids[k] = at(k, delay(), fns[k])
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		for range 3 {
			k := r.IntN(pending)
			slots[ids[k]].fn = nil // the cancel: the timer's own slot
			ids[k] = at(k, delay(), fns[k])
		}
		slots[r.IntN(pending)].fn()
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
