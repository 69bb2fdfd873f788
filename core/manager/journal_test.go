package manager

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRememberKeepsTheLatestEvents: whatever the slice holds before them,
// Events are the latest maxEvents, oldest first, and the slice stays
// within twice that.
func TestRememberKeepsTheLatestEvents(t *testing.T) {
	mg := &Manager{}
	for n := 1; n <= 3*maxEvents+7; n++ {
		mg.remember(Event{Seq: uint64(n)})
		ev := mg.Events()
		require.Len(t, ev, min(n, maxEvents))
		require.Equal(t, uint64(n), ev[len(ev)-1].Seq)
		require.Equal(t, uint64(n-len(ev)+1), ev[0].Seq)
		require.LessOrEqual(t, len(mg.events), 2*maxEvents)
	}
}
