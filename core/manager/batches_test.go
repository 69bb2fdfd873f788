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
// of one whose driver releases none.
func TestReleasedBatchesChangeNoEffect(t *testing.T) {
	run := func(release bool) []string {
		mg := started(t)
		var out []string
		apply := func(effs []effect.Effect) {
			for _, e := range effs {
				out = append(out, e.Describe())
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
	require.Equal(t, without, run(true))
}
