package manager

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEventLeavesOutAZeroUntil: an event without an end (most of them,
// and a move or ban with no lifetime) is logged without "until"; omitempty
// does not omit a zero time.Time and wrote 0001-01-01T00:00:00Z. An end
// that is set is kept and reads back the same.
func TestEventLeavesOutAZeroUntil(t *testing.T) {
	data, err := json.Marshal(Event{Seq: 1, Time: t0, Kind: "move", Group: "g", Host: "h2"})
	require.NoError(t, err)
	require.NotContains(t, string(data), "until")
	require.NotContains(t, string(data), "0001-01-01")

	until := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	data, err = json.Marshal(Event{Seq: 2, Kind: "ban", Group: "g", Host: "h2", Until: until})
	require.NoError(t, err)
	var back Event
	require.NoError(t, json.Unmarshal(data, &back))
	require.True(t, back.Until.Equal(until), "%s", data)
}
