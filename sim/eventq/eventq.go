// Package eventq is the simulator's clock: a heap of events on virtual time.
// Nothing in a simulation waits for real time; the next event simply happens.
// Events at the same instant are ordered by a seeded tie-break and then by
// insertion, so that a seed chooses among the legal interleavings and the
// same seed always chooses the same one.
package eventq

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"time"
)

// ID identifies a scheduled event, for cancellation.
type ID uint64

type event struct {
	at    time.Time
	tie   uint64
	seq   uint64
	id    ID
	fn    func()
	index int
}

type events []*event

func (h events) Len() int { return len(h) }
func (h events) Less(i, j int) bool {
	a, b := h[i], h[j]
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	if a.tie != b.tie {
		return a.tie < b.tie
	}
	return a.seq < b.seq
}
func (h events) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *events) Push(x any) {
	e := x.(*event)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *events) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// Queue is an event heap with a virtual clock. It is not safe for
// concurrent use: a simulation runs in one goroutine.
type Queue struct {
	now     time.Time
	h       events
	seq     uint64
	live    map[ID]*event
	tie     *rand.Rand
	handled uint64
}

// New returns a queue whose clock starts at start. tie, when not nil, orders
// events scheduled for the same instant; nil keeps insertion order.
func New(start time.Time, tie *rand.Rand) *Queue {
	return &Queue{now: start, live: map[ID]*event{}, tie: tie}
}

// Now is the current virtual time.
func (q *Queue) Now() time.Time { return q.now }

// At schedules fn at t. A time in the past runs at the current instant,
// after what is already due: virtual time never goes backwards.
func (q *Queue) At(t time.Time, fn func()) ID {
	if t.Before(q.now) {
		t = q.now
	}
	q.seq++
	e := &event{at: t, seq: q.seq, id: ID(q.seq), fn: fn}
	if q.tie != nil {
		e.tie = q.tie.Uint64()
	}
	heap.Push(&q.h, e)
	q.live[e.id] = e
	return e.id
}

// After schedules fn d from now.
func (q *Queue) After(d time.Duration, fn func()) ID { return q.At(q.now.Add(d), fn) }

// Cancel removes a scheduled event; cancelling a past or unknown event is a
// no-op.
func (q *Queue) Cancel(id ID) {
	if e, ok := q.live[id]; ok {
		heap.Remove(&q.h, e.index)
		delete(q.live, id)
	}
}

// Pending reports whether id is still scheduled.
func (q *Queue) Pending(id ID) bool { _, ok := q.live[id]; return ok }

// Len is the number of scheduled events.
func (q *Queue) Len() int { return len(q.h) }

// Handled is the number of events run so far.
func (q *Queue) Handled() uint64 { return q.handled }

// Next returns the time of the next event.
func (q *Queue) Next() (time.Time, bool) {
	if len(q.h) == 0 {
		return time.Time{}, false
	}
	return q.h[0].at, true
}

// Step runs the next event, advancing the clock to it. It returns false when
// nothing is scheduled.
func (q *Queue) Step() bool {
	if len(q.h) == 0 {
		return false
	}
	e := heap.Pop(&q.h).(*event)
	delete(q.live, e.id)
	q.now = e.at
	q.handled++
	e.fn()
	return true
}

// RunUntil runs every event due up to and including t, then sets the clock to
// t. maxEvents bounds the work so that a livelock (a timer that keeps
// re-arming at the same instant) ends in an error instead of a hang.
func (q *Queue) RunUntil(t time.Time, maxEvents int) error {
	for n := 0; ; n++ {
		next, ok := q.Next()
		if !ok || next.After(t) {
			break
		}
		if n >= maxEvents {
			return fmt.Errorf("event queue: more than %d events before %s", maxEvents, t.Format(time.RFC3339Nano))
		}
		q.Step()
	}
	if t.After(q.now) {
		q.now = t
	}
	return nil
}

// RunFor runs events for d of virtual time.
func (q *Queue) RunFor(d time.Duration, maxEvents int) error {
	return q.RunUntil(q.now.Add(d), maxEvents)
}
