package agent

import (
	"maps"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
)

// TestReleasedBatchesChangeNoEffect: an agent whose driver releases every
// batch once it has carried it out (and, as the simulator, tells it each
// process group in the middle of a batch) returns, input for input, the
// effects of one whose driver releases none, and the effects it returns
// are, some of them, released ones reused (heartbeats' sends and timers,
// history notes).
func TestReleasedBatchesChangeNoEffect(t *testing.T) {
	reused := map[string]int{} // kinds of effects handed out again
	run := func(release bool) []string {
		a := newAgent(t, 0)
		var out []string
		seen := map[uintptr]bool{} // the effects by pointer, by address
		var alive []effect.Effect  // so that no address is reused by the allocator
		var exits []proc.ID
		timers := map[effect.TimerID]time.Time{}
		var apply func(effs []effect.Effect)
		apply = func(effs []effect.Effect) {
			for _, e := range effs {
				out = append(out, e.Describe())
				if v := reflect.ValueOf(e); v.Kind() == reflect.Pointer {
					if seen[v.Pointer()] {
						reused[strings.Fields(e.Describe())[0]]++
					}
					seen[v.Pointer()] = true
					alive = append(alive, e)
				}
				switch e := e.(type) {
				case *effect.StartProcess:
					exits = append(exits, e.ID)
					apply(a.ProcessStarted(t0, e.ID, int(e.ID)+100))
				case *effect.SetTimer:
					timers[e.ID] = e.At
				case *effect.CancelTimer:
					delete(timers, e.ID)
				}
			}
			if release {
				a.Release(effs)
			}
		}
		monitor := exec(1, 2, ocf.Monitor)
		monitor.Request.Interval = 10 * time.Second
		apply(a.Start(t0))
		apply(a.Receive(t0, 1, exec(1, 1, ocf.Start)))
		apply(a.Receive(t0, 1, monitor))
		for i := range 30 {
			now := t0.Add(time.Duration(i) * time.Second)
			if len(exits) > 0 {
				id := exits[0]
				exits = exits[1:]
				apply(a.ProcessExited(now, id, proc.Exit{Code: 0}))
			}
			for _, id := range slices.Sorted(maps.Keys(timers)) {
				if !timers[id].After(now) {
					delete(timers, id)
					apply(a.TimerFired(now, id))
				}
			}
		}
		runtime.KeepAlive(alive)
		return out
	}
	without := run(false)
	require.Greater(t, len(without), 80)
	require.Contains(t, strings.Join(without, "\n"), "heartbeat")
	require.Empty(t, reused, "nothing is reused unless released")
	require.Equal(t, without, run(true))
	for _, kind := range []string{"send", "set-timer", "history"} {
		require.Positive(t, reused[kind], "released %s effects are reused: %v", kind, reused)
	}
}
