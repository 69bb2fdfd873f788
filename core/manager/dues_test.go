package manager

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
)

// TestDuesEarliestIsTheWalksEarliest: whatever timers are set, set again
// (later or earlier), fired (a dead timer's instant zeroed) or cancelled,
// the heap names the
// earliest instant a walk over the timer table finds, and lateAt says no
// timer is late only when the walk finds none due before then.
func TestDuesEarliestIsTheWalksEarliest(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	table := map[effect.TimerID]timerUse{}
	var h dues
	lateSeen := 0
	walk := func() time.Time {
		var first time.Time
		for _, use := range table {
			if !use.at.IsZero() && (first.IsZero() || use.at.Before(first)) {
				first = use.at
			}
		}
		return first
	}
	for step := range 5000 {
		id := effect.TimerID(1 + rng.IntN(100))
		switch rng.IntN(4) {
		case 0:
			delete(table, id)
		case 1:
			if use, ok := table[id]; ok {
				use.at = time.Time{}
				table[id] = use
			}
		default:
			at := base.Add(time.Duration(rng.IntN(50)) * time.Second)
			use, ok := table[id]
			if !ok {
				use = timerUse{kind: opTimer}
			}
			h.set(table, id, use, at)
		}
		if now := base.Add(time.Duration(rng.IntN(60)) * time.Second); !h.lateAt(now) {
			first := walk()
			require.False(t, !first.IsZero() && first.Before(now), "step %d: lateAt(%s) is false, but a timer is due at %s", step, now, first)
		} else {
			lateSeen++
		}
		if step%7 == 0 {
			continue // lateAt must hold across several sets without a look up
		}
		require.Equal(t, walk(), h.earliest(table), "step %d", step)
		h.trim(table)
		require.LessOrEqual(t, len(h.h), max(64, 2*len(table))+1, "stale entries are dropped")
	}
	require.Positive(t, lateSeen)
}

// TestDuesDropsCopies: a timer set to one instant again and again is in
// the heap once per set; the rebuild drops the copies too, and the
// earliest is still right.
func TestDuesDropsCopies(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	table := map[effect.TimerID]timerUse{}
	var h dues
	for range 1000 {
		h.set(table, 2, timerUse{kind: opTimer}, at.Add(time.Second))
		h.set(table, 1, timerUse{kind: opTimer}, at)
		require.Equal(t, at, h.earliest(table))
		require.LessOrEqual(t, len(h.h), 66)
	}
	delete(table, 1)
	require.Equal(t, at.Add(time.Second), h.earliest(table))
}

// TestDuesMovingATimerLaterPushesNothing: a dead timer moved a heartbeat
// later at every heartbeat keeps its one entry, which takes the timer's
// instant only when it comes to the top; the earliest is still exact.
func TestDuesMovingATimerLaterPushesNothing(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	table := map[effect.TimerID]timerUse{}
	var h dues
	h.set(table, 9, timerUse{kind: opTimer}, base.Add(time.Hour))
	for beat := range 50 {
		h.set(table, 1, table[1], base.Add(3*time.Second+time.Duration(beat)*500*time.Millisecond))
		require.Len(t, h.h, 2, "beat %d", beat)
	}
	last := base.Add(3*time.Second + 49*500*time.Millisecond)
	require.Equal(t, last, h.earliest(table))
	require.Len(t, h.h, 2)
	use := table[1]
	use.at = time.Time{} // fired
	table[1] = use
	require.Equal(t, base.Add(time.Hour), h.earliest(table))
	h.set(table, 1, table[1], base.Add(time.Minute))
	require.Equal(t, base.Add(time.Minute), h.earliest(table), "a fired timer set again is pushed again")
}

// TestDuesRebuildForgetsAFiredTimersEntry: a rebuild drops the entry of a
// timer that has fired, so setting it again, later than that entry was,
// must push a new one.
func TestDuesRebuildForgetsAFiredTimersEntry(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	table := map[effect.TimerID]timerUse{}
	var h dues
	h.set(table, 1, timerUse{kind: deadTimer}, base.Add(time.Second))
	use := table[1]
	use.at = time.Time{} // fired
	table[1] = use
	for i := range 200 { // timer 2 set earlier and earlier: stale entries pile up
		h.set(table, 2, table[2], base.Add(time.Hour-time.Duration(i)*time.Second))
		h.trim(table)
	}
	require.Less(t, len(h.h), 200, "the heap was rebuilt")
	h.set(table, 1, table[1], base.Add(2*time.Second))
	require.Equal(t, base.Add(2*time.Second), h.earliest(table))
}
