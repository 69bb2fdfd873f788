package daemon

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/live/transport"
)

// TestManagerDropsWhatWasQueuedForAnEarlierConnection: a message the
// manager queued while a host was unreachable must not reach the agent
// when it is back. The process harness caught a fence request, sent to a
// host that had just crashed and then given to another host, delivered to
// the first host's new agent when it booted 14 seconds later: it fenced a
// healthy host that was running a service.
func TestManagerDropsWhatWasQueuedForAnEarlierConnection(t *testing.T) {
	addr := freePort(t) // nothing listens here yet: the host is down
	cfg := fmt.Sprintf(`cluster: {name: stale, heartbeat-interval: 250ms, dead-timeout: 3s}
hosts:
  - {name: h1, address: %q}
fence-devices:
  - {id: pdu, agent: fence_x, hosts: {h1: "1"}}
resources:
  - {id: r, name: a resource, agent: "ocf:basalt:statefile"}
groups:
  - {id: g, members: [{resource: r}]}
`, addr)
	m, err := model.Load("stale.yaml", []byte(cfg))
	require.NoError(t, err)
	d, err := StartManagerDaemon(ManagerDaemonConfig{Model: m, Store: storage.NewMem(), Insecure: true, Clock: clock.New(), Log: quietLog()})
	require.NoError(t, err)
	t.Cleanup(d.Stop)
	hello := make(chan struct{}, 1)
	d.mu.Lock()
	d.observe = func(msg any) {
		if _, ok := msg.(proto.Hello); ok {
			select {
			case hello <- struct{}{}:
			default:
			}
		}
	}
	// sendOn queues a fence request addressed to a connection; send
	// addresses it as the manager machine does its commands: to the
	// connection it knows for the host (none while it is down).
	sendOn := func(op proto.OpID, conn effect.ConnID) {
		d.apply([]effect.Effect{&effect.Send{To: "h1", Conn: conn, Msg: proto.FenceExec{Epoch: 1, Op: op, Device: "pdu", Agent: "fence_x",
			Action: proto.FenceOff, Target: "h2", Timeout: time.Second}}})
	}
	send := func(op proto.OpID) {
		d.mu.Lock()
		defer d.mu.Unlock()
		sendOn(op, d.m.HostConn("h1"))
	}
	d.mu.Unlock()
	send(1) // queued while h1 is down

	l, err := net.Listen("tcp", addr) // h1 boots
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.(*net.TCPListener).SetDeadline(time.Now().Add(30*time.Second)))
	nc, err := l.Accept() // the manager redials within its backoff (at most 5s)
	require.NoError(t, err, "the manager did not redial within 30s")
	c := transport.NewConn(nc)
	defer c.Close()
	require.NoError(t, c.Send(proto.Hello{Host: "h1"}))
	select {
	case <-hello:
	case <-time.After(30 * time.Second):
		t.Fatal("the manager did not read the agent's hello within 30s")
	}
	d.mu.Lock()
	sendOn(3, d.m.HostConn("h1")+1000) // meant for another connection: the writer drops it
	d.mu.Unlock()
	send(2) // meant for this connection

	require.NoError(t, nc.SetReadDeadline(time.Now().Add(30*time.Second)))
	for {
		msg, err := c.Recv()
		require.NoError(t, err, "no fence request arrived")
		// The manager's own device checks (action monitor) also come this
		// way; only the test's requests target h2.
		if f, ok := msg.(proto.FenceExec); ok && f.Target == "h2" {
			require.Equal(t, proto.OpID(2), f.Op, "the request queued before the connection was delivered on it")
			return
		}
	}
}
