package manager

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// TestReleasedBatchesChangeNoEffect: a manager whose driver releases every
// batch once it has carried it out returns, input for input, the effects
// of one whose driver releases none, and moves a host's dead timer with a
// released SetTimer rather than a new one.
func TestReleasedBatchesChangeNoEffect(t *testing.T) {
	var reused int
	run := func(release bool) []string {
		mg := started(t)
		var out []string
		timers := map[*effect.SetTimer]bool{} // kept alive: no address is reused by the allocator
		apply := func(effs []effect.Effect) {
			for _, e := range effs {
				out = append(out, e.Describe())
				if st, ok := e.(*effect.SetTimer); ok {
					if timers[st] {
						reused++
					}
					timers[st] = true
				}
			}
			if release {
				mg.Release(effs)
			}
		}
		for i, h := range []string{"h1", "h2", "h3"} {
			apply(mg.HostConnected(t0, h, effect.ConnID(i+1)))
			apply(mg.Receive(t0, h, proto.Hello{Host: h, Epoch: 5}))
		}
		for s := 1; s <= 20; s++ {
			now := t0.Add(time.Duration(s) * time.Second)
			for _, h := range []string{"h1", "h2", "h3"} {
				apply(mg.Receive(now, h, proto.Heartbeat{Host: h, Epoch: 5, Seq: uint64(s)}))
			}
		}
		return out
	}
	without := run(false)
	require.Greater(t, len(without), 60)
	require.Zero(t, reused, "nothing is reused unless released")
	require.Equal(t, without, run(true))
	require.Positive(t, reused, "the heartbeats' dead timers move with released SetTimers")
}
