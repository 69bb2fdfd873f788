package cluster

import (
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/sim/eventq"
)

// timerSet is a machine's timers on the queue, by the machine's timer IDs.
// Every SetTimer used to schedule a fresh closure (and a host's firing
// one more), about one allocation in twenty of a default seed: heartbeats
// re-arm every second. A timer's firing is now a timer struct whose
// callback was built once, taken from a free list and put back once its
// event can no longer run (it fired or was cancelled); a timer re-armed
// before it fired moves its event (eventq.Move), which orders it as the
// cancel and new event it replaces would, so runs are unchanged. The
// free list is the cluster's,
// shared by every set: a manager instance that ends (a crash, a pause)
// hands its timers to the next one, which used to allocate its own.
type timerSet struct {
	q       *eventq.Queue
	pending timerTable
	free    *freeList[timer]
	// fired is the owner's handling of a timer whose event ran; it calls
	// done when the timer is to leave the set (its fields are reused
	// after that).
	fired func(t *timer)
}

// timer is one pending timer: the machine's ID, when it is due, the
// owner's life it was set in, and its event on the queue.
type timer struct {
	id  effect.TimerID
	due time.Time
	gen int
	ev  eventq.ID
	// set is the set the timer is in now, whose owner its callback run
	// tells; the free list moves timers between sets.
	set *timerSet
	run func()
}

// newTimerSet is an empty set on q whose timers, when they come due, are
// handed to fired; it takes its timers from free and gives them back there.
func newTimerSet(q *eventq.Queue, free *freeList[timer], fired func(t *timer)) *timerSet {
	return &timerSet{q: q, free: free, fired: fired}
}

// set (re)arms timer id at due, set in the owner's life gen.
func (s *timerSet) set(id effect.TimerID, due time.Time, gen int) {
	if t := s.pending.get(id); t != nil {
		// Re-armed while its event is still to run: the event moves, in
		// the order a cancel and a new event would have taken
		// (eventq.Move). One whose event ran (an owner may keep a timer
		// of an ended life) is replaced below.
		if ev := s.q.Move(t.ev, due); ev != 0 {
			t.ev, t.due, t.gen = ev, due, gen
			return
		}
	}
	s.cancel(id)
	t := s.take()
	t.id, t.due, t.gen, t.set = id, due, gen, s
	t.ev = s.q.At(due, t.run)
	s.pending.put(t)
}

// take is a free timer, or a new one with its callback.
func (s *timerSet) take() *timer {
	return s.free.take(func() *timer {
		t := &timer{}
		t.run = func() { t.set.fired(t) }
		return t
	})
}

// cancel removes timer id, if it is set; its event will not run.
func (s *timerSet) cancel(id effect.TimerID) {
	if t := s.pending.get(id); t != nil {
		s.q.Cancel(t.ev)
		s.done(t)
	}
}

// done takes a fired or cancelled timer out of the set and frees it. The
// free list is bounded by the most timers ever pending at once.
func (s *timerSet) done(t *timer) {
	if s.pending.get(t.id) == t {
		s.pending.del(t.id)
	}
	s.free.put(t)
}

// cancelAll cancels every timer.
func (s *timerSet) cancelAll() {
	s.pending.all(func(t *timer) {
		s.q.Cancel(t.ev)
		s.free.put(t)
	})
	s.pending.clear()
}

// forget empties the set without cancelling anything: the events still
// scheduled run and find their owner gone. Their timers are not reused.
func (s *timerSet) forget() { s.pending = timerTable{} }
