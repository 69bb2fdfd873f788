package cluster

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/sim/eventq"
	"github.com/stretchr/testify/require"
)

// TestTimerSetReusesOnlyDeadTimers: a timer fires once, at its due time;
// a re-armed or cancelled one never fires for its old arming; a timer
// struct is reused only once its event can no longer run, so a forgotten
// timer (or one its owner kept) still fires as itself and is never handed
// out again while pending.
func TestTimerSetReusesOnlyDeadTimers(t *testing.T) {
	q := eventq.New(Start, nil)
	type firing struct {
		id  effect.TimerID
		at  time.Duration
		gen int
	}
	var fired []firing
	var s *timerSet
	var free freeList[timer]
	s = newTimerSet(q, &free, func(tm *timer) {
		fired = append(fired, firing{tm.id, q.Now().Sub(Start), tm.gen})
		if tm.gen == 0 { // gen 1 plays a timer of an ended life: its owner leaves it be
			s.done(tm)
		}
	})
	at := func(d time.Duration) time.Time { return Start.Add(d) }
	s.set(1, at(time.Second), 0)
	s.set(2, at(2*time.Second), 0)
	first := s.pending.get(1)
	s.set(1, at(3*time.Second), 0) // re-armed: reuses its own, cancelled, timer
	require.Same(t, first, s.pending.get(1))
	s.cancel(2)
	require.Len(t, free, 1)
	s.set(3, at(4*time.Second), 0) // takes the cancelled 2's
	require.Empty(t, free)
	s.set(4, at(5*time.Second), 1)
	kept := s.pending.get(4)
	s.set(6, at(7*time.Second), 0)
	s.forget() // 4 and 6 still fire
	s.set(5, at(6*time.Second), 0)
	for q.Step() {
	}
	require.Equal(t, []firing{{1, 3 * time.Second, 0}, {3, 4 * time.Second, 0}, {4, 5 * time.Second, 1},
		{5, 6 * time.Second, 0}, {6, 7 * time.Second, 0}}, fired)
	require.Zero(t, s.pending.len())
	require.NotContains(t, free, kept, "a timer its owner kept is never reused")
	require.Len(t, free, 4)
	s.set(7, at(8*time.Second), 0)
	s.cancelAll()
	for q.Step() {
	}
	require.Len(t, fired, 5, "a cancelled timer never fires")
	require.Len(t, free, 4)
}

// TestTimerTableAgreesWithAMap drives the open-addressing table and a Go
// map with the same random sets, replacements and deletions, over IDs
// dense enough that probe runs collide and wrap, and compares them after
// every step: a deletion that broke a probe run would lose a timer that is
// still pending. Random IDs collide as real ones would after the table has
// seen millions (consecutive ones hardly ever collide).
func TestTimerTableAgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tt timerTable
	want := map[effect.TimerID]*timer{}
	ids := make([]effect.TimerID, 300)
	for i := range ids {
		ids[i] = effect.TimerID(1 + rng.Uint64N(1<<40))
	}
	for step := 0; step < 200_000; step++ {
		id := ids[rng.IntN(len(ids))]
		switch rng.IntN(3) {
		case 0, 1:
			tm := &timer{id: id}
			tt.put(tm)
			want[id] = tm
		default:
			tt.del(id)
			delete(want, id)
		}
		if step%1000 == 0 || step > 199_000 {
			require.Equal(t, len(want), tt.len(), "step %d", step)
			for _, id := range ids {
				require.Same(t, want[id], tt.get(id), "step %d, id %d", step, id)
			}
		}
	}
	seen := map[effect.TimerID]bool{}
	tt.all(func(tm *timer) { seen[tm.id] = true })
	require.Len(t, seen, len(want))
	tt.clear()
	require.Zero(t, tt.len())
	require.Nil(t, tt.get(ids[0]))
}

// TestTimerSetsShareTheirFreeTimers: a timer one set freed is taken by
// another set on the same free list, and its firing then tells the other
// set's owner, never the first's.
func TestTimerSetsShareTheirFreeTimers(t *testing.T) {
	q := eventq.New(Start, nil)
	var free freeList[timer]
	var firedA, firedB []effect.TimerID
	var a, b *timerSet
	a = newTimerSet(q, &free, func(tm *timer) { firedA = append(firedA, tm.id); a.done(tm) })
	b = newTimerSet(q, &free, func(tm *timer) { firedB = append(firedB, tm.id); b.done(tm) })
	a.set(1, Start.Add(time.Second), 0)
	first := a.pending.get(1)
	a.cancelAll() // a manager instance that ended
	b.set(2, Start.Add(2*time.Second), 0)
	require.Same(t, first, b.pending.get(2), "b takes the timer a freed")
	for q.Step() {
	}
	require.Empty(t, firedA)
	require.Equal(t, []effect.TimerID{2}, firedB)
	require.Len(t, free, 1)
}
