package manager

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
)

// TestDuesEarliestIsTheWalksEarliest: whatever timers are set, set again,
// fired (a dead timer's instant zeroed) or cancelled, the heap names the
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
			table[id] = timerUse{kind: opTimer, at: at}
			h.push(id, at)
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
	table := map[effect.TimerID]timerUse{1: {kind: opTimer, at: at}, 2: {kind: opTimer, at: at.Add(time.Second)}}
	var h dues
	for range 1000 {
		h.push(2, at.Add(time.Second))
		h.push(1, at)
		require.Equal(t, at, h.earliest(table))
		require.LessOrEqual(t, len(h.h), 66)
	}
	delete(table, 1)
	require.Equal(t, at.Add(time.Second), h.earliest(table))
}
