package daemon

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/live/certs"
	"github.com/basalt-ha/basalt/live/transport"
)

// impostor is a compromised h1: it holds h1's certificate, sits where the
// manager dials h1 and relays between the manager and h1's real agent (so
// h1 keeps working), and slips in forged heartbeats of its own.
type impostor struct {
	forged atomic.Int64 // forged heartbeats sent
}

// serve relays one manager connection at a time to the real agent at
// agentAddr and forges, every beat, a heartbeat claiming to come from
// victim; the third one also claims a manager epoch one above what the
// agent reports, as if a newer manager existed, and the fifth makes that
// claim in h1's own name.
func (im *impostor) serve(ctx context.Context, t *testing.T, lc *liveCluster, listenAddr, agentAddr, victim string) {
	atls, err := certs.AgentTLS(lc.certs, "h1")
	require.NoError(t, err)
	mtls, err := certs.ManagerTLS(lc.certs, "h1")
	require.NoError(t, err)
	l, err := transport.Listen(listenAddr, atls)
	require.NoError(t, err)
	go func() { <-ctx.Done(); l.Close() }()
	go func() {
		for {
			mc, err := l.Accept()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				continue
			}
			ac, err := transport.Dial(ctx, agentAddr, mtls)
			if err != nil {
				mc.Close()
				continue
			}
			go im.relay(ctx, mc, ac, victim, lc.model.Cluster.HeartbeatInterval)
		}
	}()
}

func (im *impostor) relay(ctx context.Context, mc, ac *transport.Conn, victim string, beat time.Duration) {
	defer mc.Close()
	defer ac.Close()
	var epoch atomic.Uint64
	go func() { // manager -> agent
		for {
			msg, err := mc.Recv()
			if err != nil || ac.Send(msg) != nil {
				ac.Close()
				return
			}
		}
	}()
	go func() { // forged heartbeats
		tick := time.NewTicker(beat)
		defer tick.Stop()
		for seq := uint64(1); ; seq++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			e, from := proto.Epoch(epoch.Load()), victim
			switch seq {
			case 3:
				e++
			case 5:
				e, from = e+1, "h1"
			}
			if mc.Send(proto.Heartbeat{Host: from, Epoch: e, Seq: seq}) != nil {
				return
			}
			im.forged.Add(1)
		}
	}()
	for { // agent -> manager, noting the epoch the agent reports
		msg, err := ac.Recv()
		if err != nil {
			return
		}
		switch m := msg.(type) {
		case proto.Hello:
			epoch.Store(uint64(m.Epoch))
		case proto.Heartbeat:
			epoch.Store(uint64(m.Epoch))
		}
		if mc.Send(msg) != nil {
			return
		}
	}
}

// TestImpostorCannotSpeakForAnotherHost: a host's certificate proves who
// sends, and the manager believes no message about another host. h1 is
// compromised and forges heartbeats for h2, which has crashed (its agent
// never runs), one of them claiming a newer manager epoch. h2 must still be
// declared lost and fenced, and the manager must not stand down, not even
// when h1 claims the newer epoch in its own name: one host alone cannot
// depose the manager.
func TestImpostorCannotSpeakForAnotherHost(t *testing.T) {
	lc := newLiveClusterWithout(t, []string{"h1", "h2", "h3"}, false, []string{"h1", "h2"})
	h1, _ := lc.model.Host("h1")
	real := freePort(t)
	lc.startAgentAt("h1", real)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	im := &impostor{}
	im.serve(ctx, t, lc, h1.Address, real, "h2")

	fenced := func() bool {
		ok := false
		lc.mgr.View(func(m *manager.Manager) {
			for _, h := range m.FenceHistory() {
				ok = ok || h.Target == "h2" && h.OK
			}
		})
		return ok
	}
	lc.await("h2 fenced although forged heartbeats speak for it", func() bool {
		deposed := false
		lc.mgr.View(func(m *manager.Manager) { deposed = m.Deposed() })
		require.False(t, deposed, "the impostor's claim of a newer epoch deposed the manager")
		return fenced()
	})
	// The claim in h1's own name (the fifth forgery) lasts only until h1's
	// real agent heartbeats our epoch again, which withdraws it: wait for
	// forgeries past it rather than for the report itself.
	lc.await("the impostor claimed a newer epoch in its own name too", func() bool { return im.forged.Load() >= 8 })
	lc.mgr.View(func(m *manager.Manager) {
		require.False(t, m.Deposed(), "the impostor's claim of a newer epoch deposed the manager")
		require.NotEqual(t, planner.Online, m.HostState("h2"), "h2 is not online on forged heartbeats")
		require.Positive(t, m.ForgedMessages(), "the forgeries were counted")
		require.LessOrEqual(t, m.NewerManagerReports(), 1, "h1 alone reported a newer manager")
	})
}
