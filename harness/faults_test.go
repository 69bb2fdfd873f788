package harness

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/sim/faults"
)

// TestFaultTargetLinks checks how the process cluster maps network faults
// onto its links: the manager↔host link in the direction named, and
// unsupported where there is no link to act on; and that a lying fence
// device, which means something else here, is unsupported.
func TestFaultTargetLinks(t *testing.T) {
	px, err := NewProxy("127.0.0.1:1")
	require.NoError(t, err)
	defer px.Close()
	pc := &ProcessCluster{Links: map[string]Link{"h1": px}, opts: ProcessOptions{Network: NetProxy}}
	target := pc.FaultTarget()

	step := func(f faults.Fault, end bool) error { return faults.Apply(target, faults.Step{Fault: f, End: end}) }
	cut := faults.Fault{Kind: faults.CutOneWay, Host: "h1", Peer: "manager", For: time.Second}
	require.NoError(t, step(cut, false))
	require.Equal(t, [2]bool{ToTarget: false, FromTarget: true}, px.drop, "h1→manager is the agent's side")
	require.NoError(t, step(cut, true))
	require.Equal(t, [2]bool{}, px.drop)
	clog := faults.Fault{Kind: faults.Clog, Host: "manager", Peer: "h1", Delay: time.Second, For: time.Second}
	require.NoError(t, step(clog, false))
	require.Equal(t, time.Second, px.delay[ToTarget])
	require.NoError(t, step(clog, true))
	require.Zero(t, px.delay[ToTarget])

	for _, f := range []faults.Fault{
		{Kind: faults.Partition, Host: "h1", Peer: "h2"}, // agents never talk to one another
		{Kind: faults.Isolate, Host: "h2"},               // no link: loopback
		{Kind: faults.Clog, Host: "h2", Peer: "manager"}, // no link: loopback
	} {
		err := step(f, false)
		require.True(t, errors.Is(err, errors.ErrUnsupported), "%s: %v", f, err)
	}
}
