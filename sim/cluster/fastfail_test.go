package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The simulated world tells the manager what a real kernel would: an
// agent killed on a running host resets its connection and refuses the
// redial, so the host is lost (and fenced) soon after, for that reason; a
// host whose power went, or whose link to the manager is cut, or that is
// frozen, is silent, and judged by the dead timeout (5 s) alone. An agent
// back within the suspect window is adopted.
func TestAgentGoneHostAnswering(t *testing.T) {
	cases := []struct {
		name   string
		fault  func(w *world)
		fenced bool
		why    string        // the host-lost event's reason ("": never lost)
		lostBy time.Duration // after the fault
	}{
		{"killed, never back", func(w *world) { w.CrashAgent("oss1", 0) }, true,
			"agent gone, host answering: connection reset, redial refused", 4 * time.Second},
		{"killed, back in 1.5s", func(w *world) { w.CrashAgent("oss1", 1500*time.Millisecond) }, false, "", 0},
		{"powered off", func(w *world) { w.PowerOff("oss1", "test") }, true, "silent for 5s", 6 * time.Second},
		{"isolated, then killed", func(w *world) { w.Isolate("oss1"); w.CrashAgent("oss1", 0) }, true, "silent for 5s", 6 * time.Second},
		{"paused", func(w *world) { w.Pause("oss1") }, true, "silent for 5s", 6 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, "failover-pair.yaml", Options{Seed: 41})
			w.Boot()
			w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "start-up")
			at := w.Q.Now()
			tc.fault(w)
			require.NoError(t, w.Run(time.Minute))
			w.requireSafe()
			require.Equal(t, tc.fenced, len(w.Fences()) > 0, "fenced")
			var why string
			var lost time.Time
			for _, e := range w.Manager().Events() {
				if e.Kind == "host-lost" && e.Host == "oss1" && why == "" {
					why, lost = e.Message, e.Time
				}
			}
			require.Equal(t, tc.why, why)
			if tc.why == "" {
				require.True(t, w.runningOn("fs1", "oss1"), "fs1 stays on oss1")
				return
			}
			require.Less(t, lost.Sub(at), tc.lostBy, "declared lost in time")
			require.Greater(t, lost.Sub(at), tc.lostBy-2*time.Second, "not before its time")
		})
	}
}
