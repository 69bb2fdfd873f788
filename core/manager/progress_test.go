package manager

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

// Transition shows the latest transition's actions and how far each got
// (what basalt simulate prints step by step), and the one before it; no
// other.
func TestTransitionProgressIsReadable(t *testing.T) {
	mg := started(t)
	require.Equal(t, 0, mg.TransitionNumber())
	_, ok := mg.Transition(0)
	require.False(t, ok, "no transition yet")
	for _, h := range []string{"h1", "h2", "h3"} {
		mg.HostConnected(t0, h, effect.ConnID(len(h)))
		mg.Receive(t0, h, proto.Hello{Host: h, Epoch: mg.Epoch()})
	}
	n := mg.TransitionNumber()
	require.Positive(t, n, "the hosts' probes are a transition")
	acts, ok := mg.Transition(n)
	require.True(t, ok)
	running := 0
	for _, a := range acts {
		require.Contains(t, []string{"waiting", "running", "succeeded", "failed"}, a.State)
		if a.Action.Kind == planner.Probe && a.State == "running" {
			running++
		}
	}
	require.Positive(t, running, "probes dispatched")
	_, ok = mg.Transition(n + 1)
	require.False(t, ok, "not planned yet")
	if n >= 3 {
		_, ok = mg.Transition(n - 2)
		require.False(t, ok, "only the latest two are kept")
	}
}
