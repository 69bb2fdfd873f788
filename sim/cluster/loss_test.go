package cluster

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Loss on a TCP connection delays messages and never skips one: with a
// third of all packets lost, nothing sent on an open connection is dropped,
// and each connection's heartbeats arrive in the order they were sent.
// (The simulator used to drop single messages on open connections, which
// no real network does: seed 876597 fenced a healthy host for one lost
// stop result.)
func TestLossDelaysAndKeepsOrder(t *testing.T) {
	w := newWorld(t, "three-host-domain.yaml", Options{Seed: 7, Loss: 0.3, LatencyMax: 20 * time.Millisecond})
	w.Boot()
	require.NoError(t, w.Run(2*time.Minute))
	beat := regexp.MustCompile(`deliver (\S+)->manager conn=(\d+) heartbeat .* seq=(\d+)`)
	last := map[string]uint64{}
	beats := 0
	for _, l := range w.lines {
		require.NotContains(t, l, "drop ", "a message dropped on an open connection")
		m := beat.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		seq, err := strconv.ParseUint(m[3], 10, 64)
		require.NoError(t, err)
		key := m[1] + "/" + m[2]
		require.Greater(t, seq, last[key], "heartbeats out of order on %s: %s", key, l)
		last[key] = seq
		beats++
	}
	require.Greater(t, beats, 100, "heartbeats delivered:\n%s", strings.Join(w.lines[:min(40, len(w.lines))], "\n"))
}
