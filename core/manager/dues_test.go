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
// earliest instant a walk over the timer table finds.
func TestDuesEarliestIsTheWalksEarliest(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	table := map[effect.TimerID]timerUse{}
	var h dues
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
		require.Equal(t, walk(), h.earliest(table), "step %d", step)
		require.LessOrEqual(t, len(h), max(64, 2*len(table))+1, "stale entries are dropped")
	}
}
