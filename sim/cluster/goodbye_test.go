package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAgentGoodbyeGrace is hardening item 9: an agent stopped cleanly
// (SIGTERM, restarted by systemd) says goodbye, and the manager waits up to
// twice the dead timeout for it to come back. Back after 7 s (the dead
// timeout is 5 s), it is adopted: nobody fenced, nothing moved. Killed
// (kill -9, no goodbye) and back as late, the host is lost and fenced: its
// kernel reset the connection and refused the redial (1 s later), so it is
// lost two heartbeats after that, not after the dead timeout (fast
// failover). Gone for good after its goodbye, it is lost once the grace has
// passed.
func TestAgentGoodbyeGrace(t *testing.T) {
	cases := []struct {
		name   string
		stop   func(w *world)
		fenced bool
		lostBy time.Duration // after the stop; 0: never lost
	}{
		{"goodbye, back in 7s", func(w *world) { w.StopAgent("oss1", 7*time.Second) }, false, 0},
		{"killed, back in 7s", func(w *world) { w.CrashAgent("oss1", 7*time.Second) }, true, 4 * time.Second},
		{"goodbye, never back", func(w *world) { w.StopAgent("oss1", 0) }, true, 11 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, "failover-pair.yaml", Options{Seed: 41})
			w.Boot()
			w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "start-up")
			stopped := w.Q.Now()
			tc.stop(w)
			require.NoError(t, w.Run(2*time.Minute))
			w.requireSafe()
			require.Equal(t, tc.fenced, len(w.Fences()) > 0, "fenced")
			if tc.lostBy == 0 {
				require.Empty(t, w.Losses())
				require.True(t, w.runningOn("fs1", "oss1"), "fs1 stays on oss1")
				return
			}
			require.NotEmpty(t, w.Losses())
			lost := w.Losses()[0].At.Sub(stopped)
			require.Less(t, lost, tc.lostBy, "declared lost in time")
			require.Greater(t, lost, tc.lostBy-2*time.Second, "not before its grace")
			require.True(t, w.runningOn("fs1", "oss2"), "fs1 failed over")
		})
	}
}
