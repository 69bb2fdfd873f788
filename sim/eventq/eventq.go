// Package eventq is the simulator's clock: a heap of events on virtual time.
// Nothing in a simulation waits for real time; the next event simply happens.
// Events at the same instant are ordered by a seeded tie-break and then by
// insertion, so that a seed chooses among the legal interleavings and the
// same seed always chooses the same one.
package eventq

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// ID identifies a scheduled event, for cancellation. It names a slot of the
// queue and that slot's generation, so that finding an event costs no lookup
// and an ID whose event has run or been cancelled never names a later event
// that reuses the slot. The zero ID names nothing.
type ID uint64

func makeID(slot int32, gen uint32) ID { return ID(uint64(gen)<<32 | uint64(uint32(slot))) }

// slot holds what the heap does not need to compare: an event's callback,
// its time as given, and where its entry sits in the heap.
type slot struct {
	at  time.Time
	fn  func()
	gen uint32
	pos int32 // index in the heap; -1 when the slot is free
}

// entry is what the heap orders: the instant (as seconds and nanoseconds, so
// that comparing needs no call), the tie-break and the insertion number. It
// is small and holds no pointer, so sifting moves little memory and the
// garbage collector never scans the heap.
type entry struct {
	sec  int64
	nsec int32
	slot int32
	tie  uint64
	seq  uint64
}

func (a *entry) before(b *entry) bool {
	if a.sec != b.sec {
		return a.sec < b.sec
	}
	if a.nsec != b.nsec {
		return a.nsec < b.nsec
	}
	if a.tie != b.tie {
		return a.tie < b.tie
	}
	return a.seq < b.seq
}

// arity is the heap's fan-out: four children per node halve its depth, and
// a node's children share a cache line or two.
const arity = 4

// Queue is an event heap with a virtual clock. It is not safe for
// concurrent use: a simulation runs in one goroutine.
type Queue struct {
	now     time.Time
	h       []entry
	slots   []slot
	free    []int32
	seq     uint64
	tie     *rand.Rand
	handled uint64
}

// New returns a queue whose clock starts at start. tie, when not nil, orders
// events scheduled for the same instant; nil keeps insertion order.
func New(start time.Time, tie *rand.Rand) *Queue {
	return &Queue{now: start, tie: tie}
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
	e := entry{sec: t.Unix(), nsec: int32(t.Nanosecond()), seq: q.seq}
	if q.tie != nil {
		e.tie = q.tie.Uint64()
	}
	var s int32
	if n := len(q.free); n > 0 {
		s = q.free[n-1]
		q.free = q.free[:n-1]
	} else {
		s = int32(len(q.slots))
		q.slots = append(q.slots, slot{gen: 1})
	}
	e.slot = s
	sl := &q.slots[s]
	sl.at, sl.fn = t, fn
	q.h = append(q.h, e)
	q.up(len(q.h) - 1)
	return makeID(s, sl.gen)
}

// After schedules fn d from now.
func (q *Queue) After(d time.Duration, fn func()) ID { return q.At(q.now.Add(d), fn) }

// find returns the slot id names while its event is scheduled.
func (q *Queue) find(id ID) (int32, bool) {
	s := int64(uint32(id))
	if s >= int64(len(q.slots)) {
		return 0, false
	}
	sl := &q.slots[s]
	return int32(s), sl.pos >= 0 && sl.gen == uint32(id>>32)
}

// Cancel removes a scheduled event; cancelling a past or unknown event is a
// no-op.
func (q *Queue) Cancel(id ID) {
	if s, ok := q.find(id); ok {
		q.remove(int(q.slots[s].pos))
		q.release(s)
	}
}

// Pending reports whether id is still scheduled.
func (q *Queue) Pending(id ID) bool { _, ok := q.find(id); return ok }

// Len is the number of scheduled events.
func (q *Queue) Len() int { return len(q.h) }

// Handled is the number of events run so far.
func (q *Queue) Handled() uint64 { return q.handled }

// Next returns the time of the next event.
func (q *Queue) Next() (time.Time, bool) {
	if len(q.h) == 0 {
		return time.Time{}, false
	}
	return q.slots[q.h[0].slot].at, true
}

// Step runs the next event, advancing the clock to it. It returns false when
// nothing is scheduled.
func (q *Queue) Step() bool {
	if len(q.h) == 0 {
		return false
	}
	s := q.h[0].slot
	sl := &q.slots[s]
	at, fn := sl.at, sl.fn
	q.remove(0)
	q.release(s)
	q.now = at
	q.handled++
	fn()
	return true
}

// release frees a slot whose event has left the heap. Bumping the
// generation makes every ID handed out for it stale.
func (q *Queue) release(s int32) {
	sl := &q.slots[s]
	sl.fn, sl.pos, sl.at = nil, -1, time.Time{}
	sl.gen++
	if sl.gen == 0 {
		sl.gen = 1
	}
	q.free = append(q.free, s)
}

// remove takes the entry at heap index i out of the heap.
func (q *Queue) remove(i int) {
	last := len(q.h) - 1
	if i != last {
		q.h[i] = q.h[last]
		q.slots[q.h[i].slot].pos = int32(i)
	}
	q.h = q.h[:last]
	if i < last && !q.up(i) {
		q.down(i)
	}
}

// up moves the entry at i towards the root while it runs before its parent,
// and reports whether it moved.
func (q *Queue) up(i int) bool {
	h := q.h
	e := h[i]
	start := i
	for i > 0 {
		p := (i - 1) / arity
		if !e.before(&h[p]) {
			break
		}
		h[i] = h[p]
		q.slots[h[i].slot].pos = int32(i)
		i = p
	}
	h[i] = e
	q.slots[e.slot].pos = int32(i)
	return i != start
}

// down moves the entry at i towards the leaves while a child runs before it.
func (q *Queue) down(i int) {
	h := q.h
	n := len(h)
	e := h[i]
	for {
		c := arity*i + 1
		if c >= n {
			break
		}
		best := c
		for j := c + 1; j < c+arity && j < n; j++ {
			if h[j].before(&h[best]) {
				best = j
			}
		}
		if !h[best].before(&e) {
			break
		}
		h[i] = h[best]
		q.slots[h[i].slot].pos = int32(i)
		i = best
	}
	h[i] = e
	q.slots[e.slot].pos = int32(i)
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
