package agent

import (
	"maps"
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
// effects of one whose driver releases none.
func TestReleasedBatchesChangeNoEffect(t *testing.T) {
	run := func(release bool) []string {
		a := newAgent(t, 0)
		var out []string
		var exits []proc.ID
		timers := map[effect.TimerID]time.Time{}
		var apply func(effs []effect.Effect)
		apply = func(effs []effect.Effect) {
			for _, e := range effs {
				out = append(out, e.Describe())
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
		return out
	}
	without := run(false)
	require.Greater(t, len(without), 80)
	require.Contains(t, strings.Join(without, "\n"), "heartbeat")
	require.Equal(t, without, run(true))
}
