// Package eventq is the simulator's clock: a queue of events on virtual time.
// Nothing in a simulation waits for real time; the next event simply happens.
// Events at the same instant are ordered by a seeded tie-break and then by
// insertion, so that a seed chooses among the legal interleavings and the
// same seed always chooses the same one.
package eventq

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"time"
)

// ID identifies a scheduled event, for cancellation. It names a slot of the
// queue and that slot's generation, so that finding an event costs no lookup
// and an ID whose event has run or been cancelled never names a later event
// that reuses the slot. The zero ID names nothing.
type ID uint64

func makeID(slot int32, gen uint32) ID { return ID(uint64(gen)<<32 | uint64(uint32(slot))) }

// The queue keeps three places for an event, by how far off it is. The
// front, a 4-ary heap, holds every event whose bucket (its time in units of
// 2^bucketShift ns from the start's second) is at or before the cursor;
// the wheel holds, unordered, each event of the next wheelSize-1 buckets
// in a list of its bucket; the far heap holds the rest. Events leave the
// far heap for the wheel, and the wheel's buckets for the front, only as
// the cursor reaches them, so that a timer cancelled before it is due (most
// of a simulation's timers) is unlinked from its bucket in constant time
// instead of being sifted through a heap of every pending timer, and the
// front heap stays the size of a bucket. Only the front decides the order,
// so the order is exactly the heap's: time, tie-break, insertion.
const (
	// bucketShift makes a bucket 2^22 ns (about 4.2 ms) of virtual time:
	// narrow enough that the front heap stays small (about 40 events with
	// 100,000 timers pending over 10 s), wide enough that a span of
	// virtual time has few buckets to visit.
	bucketShift = 22
	// wheelBits makes the wheel 4,096 buckets, about 17 s: later timers
	// wait in the far heap and move into the wheel once, when the cursor
	// comes within 17 s of them.
	wheelBits = 12
	wheelSize = 1 << wheelBits
	wheelMask = wheelSize - 1
	// farSeconds bounds the times put in buckets, so that counting
	// nanoseconds from the start cannot overflow; later events share
	// farBucket and are ordered by the front heap when they come due.
	farSeconds = 1 << 32
	farBucket  = 1 << 62
)

// Where a slot's event is: a wheel bucket's index (0 or more), or one of these.
const (
	locFront int32 = -1
	locFar   int32 = -2
	locFree  int32 = -3
)

// slot holds what an event runs and is ordered by: its callback, its time
// as given, its tie-break and insertion number (the front takes them when
// the event leaves the wheel).
type slot struct {
	at  time.Time
	fn  func()
	tie uint64
	seq uint64
}

// meta is where a slot's event is, kept apart from the slot so that
// cancelling, which reads and writes only metas (the event's and its
// neighbours' in a bucket), works in an array a quarter the size of the
// slots': with 100,000 timers pending it stays in cache. In a heap, pos is
// the entry's index there; in a wheel bucket, pos and next are the slot+1
// of its neighbours in the bucket's list (0 for none), so that unlinking
// needs no search.
type meta struct {
	gen  uint32
	loc  int32
	pos  int32
	next int32
}

// entry is what a heap orders: the instant (as seconds and nanoseconds, so
// that comparing needs no call), the tie-break and the insertion number. It
// is small and holds no pointer, so sifting moves little memory and the
// garbage collector never scans a heap.
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

// Queue is an event queue with a virtual clock. It is not safe for
// concurrent use: a simulation runs in one goroutine.
type Queue struct {
	now     time.Time
	origin  int64 // Unix second of the start, from which buckets count
	cur     int64 // the cursor: the front holds every event of a bucket <= cur
	front   heap
	far     heap
	slots   []slot
	metas   []meta // one for each slot
	free    []int32
	n       int // events scheduled
	inWheel int // of which in wheel buckets
	seq     uint64
	tie     *rand.Rand
	handled uint64
	heads   [wheelSize]int32       // slot+1 of each bucket's first event; 0 when empty
	used    [wheelSize / 64]uint64 // a bit for each bucket that is not empty
}

// New returns a queue whose clock starts at start. tie, when not nil, orders
// events scheduled for the same instant; nil keeps insertion order.
func New(start time.Time, tie *rand.Rand) *Queue {
	return &Queue{now: start, origin: start.Unix(), tie: tie, front: heap{loc: locFront}, far: heap{loc: locFar}}
}

// Now is the current virtual time.
func (q *Queue) Now() time.Time { return q.now }

// At schedules fn at t. A time in the past runs at the current instant,
// after what is already due: virtual time never goes backwards.
func (q *Queue) At(t time.Time, fn func()) ID {
	t, tie := q.stamp(t)
	var s int32
	if n := len(q.free); n > 0 {
		s = q.free[n-1]
		q.free = q.free[:n-1]
	} else {
		s = int32(len(q.slots))
		q.slots = append(q.slots, slot{})
		q.metas = append(q.metas, meta{gen: 1})
	}
	sl := &q.slots[s]
	sl.at, sl.fn, sl.tie, sl.seq = t, fn, tie, q.seq
	e := entry{sec: t.Unix(), nsec: int32(t.Nanosecond()), slot: s, tie: tie, seq: q.seq}
	q.place(e, q.bucket(&e))
	q.n++
	return makeID(s, q.metas[s].gen)
}

// Move schedules the event id names at t instead, as Cancel followed by
// At with its callback would (the same tie-break draw and insertion
// number, so the same order), and returns its ID, which stays id when the
// event sits in a wheel bucket: most of a simulation's timers are moved
// (every heartbeat moves its host's dead timer), and moving one in place
// spares freeing and taking a slot. It returns 0 and does nothing when id
// names no scheduled event.
func (q *Queue) Move(id ID, t time.Time) ID {
	s, ok := q.find(id)
	if !ok {
		return 0
	}
	if q.metas[s].loc < 0 { // in a heap: taken out and put back as new
		fn := q.slots[s].fn
		q.Cancel(id)
		return q.At(t, fn)
	}
	t, tie := q.stamp(t)
	sl := &q.slots[s]
	sl.at, sl.tie, sl.seq = t, tie, q.seq
	e := entry{sec: t.Unix(), nsec: int32(t.Nanosecond()), slot: s, tie: tie, seq: q.seq}
	if b := q.bucket(&e); b <= q.cur || b >= q.cur+wheelSize || int32(b&wheelMask) != q.metas[s].loc {
		q.unlink(s)
		q.place(e, b)
	}
	return id
}

// stamp is what an event scheduled at t is ordered by: t, or now if t is
// past, the next insertion number (q.seq) and a tie-break draw.
func (q *Queue) stamp(t time.Time) (time.Time, uint64) {
	if t.Before(q.now) {
		t = q.now
	}
	q.seq++
	var tie uint64
	if q.tie != nil {
		tie = q.tie.Uint64()
	}
	return t, tie
}

// After schedules fn d from now.
func (q *Queue) After(d time.Duration, fn func()) ID { return q.At(q.now.Add(d), fn) }

// bucket is the bucket of e's time: nanoseconds since the start's second,
// divided by the bucket width. Times are never before the start.
func (q *Queue) bucket(e *entry) int64 {
	ds := e.sec - q.origin
	if ds >= farSeconds {
		return farBucket
	}
	return max(ds*1e9+int64(e.nsec), 0) >> bucketShift
}

// place puts e where its bucket b belongs: the front, the wheel or the far heap.
func (q *Queue) place(e entry, b int64) {
	switch {
	case b <= q.cur:
		q.front.push(q.metas, e)
	case b < q.cur+wheelSize:
		q.link(e.slot, int32(b&wheelMask))
	default:
		q.far.push(q.metas, e)
	}
}

// link puts slot s at the head of wheel bucket i.
func (q *Queue) link(s int32, i int32) {
	m := &q.metas[s]
	m.loc, m.pos, m.next = i, 0, q.heads[i]
	if h := q.heads[i]; h != 0 {
		q.metas[h-1].pos = s + 1
	}
	q.heads[i] = s + 1
	q.used[i>>6] |= 1 << (i & 63)
	q.inWheel++
}

// unlink takes slot s out of its wheel bucket's list.
func (q *Queue) unlink(s int32) {
	m := &q.metas[s]
	i := m.loc
	if m.pos != 0 {
		q.metas[m.pos-1].next = m.next
	} else if q.heads[i] = m.next; m.next == 0 {
		q.used[i>>6] &^= 1 << (i & 63)
	}
	if m.next != 0 {
		q.metas[m.next-1].pos = m.pos
	}
	q.inWheel--
}

// find returns the slot id names while its event is scheduled.
func (q *Queue) find(id ID) (int32, bool) {
	s := int64(uint32(id))
	if s >= int64(len(q.metas)) {
		return 0, false
	}
	m := &q.metas[s]
	return int32(s), m.loc != locFree && m.gen == uint32(id>>32)
}

// Cancel removes a scheduled event; cancelling a past or unknown event is a
// no-op.
func (q *Queue) Cancel(id ID) {
	s, ok := q.find(id)
	if !ok {
		return
	}
	switch m := &q.metas[s]; m.loc {
	case locFront:
		q.front.remove(q.metas, int(m.pos))
	case locFar:
		q.far.remove(q.metas, int(m.pos))
	default:
		q.unlink(s)
	}
	q.release(s)
}

// Pending reports whether id is still scheduled.
func (q *Queue) Pending(id ID) bool { _, ok := q.find(id); return ok }

// Len is the number of scheduled events.
func (q *Queue) Len() int { return q.n }

// Handled is the number of events run so far.
func (q *Queue) Handled() uint64 { return q.handled }

// Next returns the time of the next event.
func (q *Queue) Next() (time.Time, bool) {
	if len(q.front.h) == 0 && !q.advance() {
		return time.Time{}, false
	}
	return q.slots[q.front.h[0].slot].at, true
}

// Step runs the next event, advancing the clock to it. It returns false when
// nothing is scheduled.
func (q *Queue) Step() bool {
	if len(q.front.h) == 0 && !q.advance() {
		return false
	}
	s := q.front.h[0].slot
	sl := &q.slots[s]
	at, fn := sl.at, sl.fn
	q.front.remove(q.metas, 0)
	q.release(s)
	q.now = at
	q.handled++
	fn()
	return true
}

// advance moves the cursor, when the front is empty, to the next bucket
// that holds an event, bringing into the wheel the far events that its new
// span reaches and into the front that bucket's events. It reports whether
// any event is scheduled.
func (q *Queue) advance() bool {
	if q.n == 0 {
		return false
	}
	next := int64(farBucket)
	if q.inWheel > 0 {
		next = q.cur + q.nextUsed()
	} else if len(q.far.h) > 0 {
		next = q.bucket(&q.far.h[0])
	}
	q.cur = next
	for len(q.far.h) > 0 {
		e := q.far.h[0]
		b := q.bucket(&e)
		if b >= next+wheelSize {
			break
		}
		q.far.remove(q.metas, 0)
		q.place(e, b)
	}
	q.drain(int32(next & wheelMask))
	return len(q.front.h) > 0
}

// nextUsed is how many buckets after the cursor the first non-empty one
// is. The cursor's own bucket is always empty: its events are in the front.
func (q *Queue) nextUsed() int64 {
	cur := int(q.cur & wheelMask)
	start := (cur + 1) & wheelMask
	w := start >> 6
	word := q.used[w] &^ (1<<(start&63) - 1)
	for range len(q.used) + 1 {
		if word != 0 {
			i := w<<6 + bits.TrailingZeros64(word)
			return int64((i - cur) & wheelMask)
		}
		w = (w + 1) % len(q.used)
		word = q.used[w]
	}
	return wheelSize // unreachable while inWheel > 0: the bucket past the wheel
}

// drain moves every event of wheel bucket i into the front.
func (q *Queue) drain(i int32) {
	p := q.heads[i]
	for range q.inWheel {
		if p == 0 {
			break
		}
		s := p - 1
		p = q.metas[s].next
		sl := &q.slots[s]
		q.front.push(q.metas, entry{sec: sl.at.Unix(), nsec: int32(sl.at.Nanosecond()), slot: s, tie: sl.tie, seq: sl.seq})
		q.inWheel--
	}
	q.heads[i] = 0
	q.used[i>>6] &^= 1 << (i & 63)
}

// release frees a slot whose event has left the queue. Bumping the
// generation makes every ID handed out for it stale.
func (q *Queue) release(s int32) {
	sl, m := &q.slots[s], &q.metas[s]
	sl.fn, sl.at = nil, time.Time{}
	m.loc = locFree
	m.gen++
	if m.gen == 0 {
		m.gen = 1
	}
	q.free = append(q.free, s)
	q.n--
}

// arity is a heap's fan-out: four children per node halve its depth, and
// a node's children share a cache line or two.
const arity = 4

// heap is a 4-ary heap of entries that keeps each entry's index in its
// slot's meta, so that an entry can be removed from the middle.
type heap struct {
	h   []entry
	loc int32 // what the metas of its entries say they are in
}

// push adds e.
func (hp *heap) push(metas []meta, e entry) {
	metas[e.slot].loc = hp.loc
	hp.h = append(hp.h, e)
	hp.up(metas, len(hp.h)-1)
}

// remove takes the entry at index i out of the heap.
func (hp *heap) remove(metas []meta, i int) {
	last := len(hp.h) - 1
	if i != last {
		hp.h[i] = hp.h[last]
		metas[hp.h[i].slot].pos = int32(i)
	}
	hp.h = hp.h[:last]
	if i < last && !hp.up(metas, i) {
		hp.down(metas, i)
	}
}

// up moves the entry at i towards the root while it runs before its parent,
// and reports whether it moved.
func (hp *heap) up(metas []meta, i int) bool {
	h := hp.h
	e := h[i]
	start := i
	for i > 0 {
		p := (i - 1) / arity
		if !e.before(&h[p]) {
			break
		}
		h[i] = h[p]
		metas[h[i].slot].pos = int32(i)
		i = p
	}
	h[i] = e
	metas[e.slot].pos = int32(i)
	return i != start
}

// down moves the entry at i towards the leaves while a child runs before it.
func (hp *heap) down(metas []meta, i int) {
	h := hp.h
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
		metas[h[i].slot].pos = int32(i)
		i = best
	}
	h[i] = e
	metas[e.slot].pos = int32(i)
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
