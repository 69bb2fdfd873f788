package daemon

import (
	"net"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/live/process"
	"github.com/basalt-ha/basalt/live/transport"
)

// fakeManager is one manager connection to an agent daemon, played by the
// test: what the agent sends arrives on msgs, closed when the connection
// ends.
type fakeManager struct {
	c    *transport.Conn
	msgs chan effect.Message
}

func dialAgent(t *testing.T, d *AgentDaemon) *fakeManager {
	t.Helper()
	nc, err := net.Dial("tcp", d.Addr())
	require.NoError(t, err)
	m := &fakeManager{c: transport.NewConn(nc), msgs: make(chan effect.Message, 1024)}
	t.Cleanup(func() { m.c.Close() })
	go func() {
		defer close(m.msgs)
		for {
			msg, err := m.c.Recv()
			if err != nil {
				return
			}
			m.msgs <- msg
		}
	}()
	return m
}

// next waits (bounded) for the next message that match accepts, and fails
// if the connection ends first.
func (m *fakeManager) next(t *testing.T, what string, match func(effect.Message) bool) effect.Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case msg, ok := <-m.msgs:
			require.True(t, ok, "connection ended while waiting for %s", what)
			if match(msg) {
				return msg
			}
		case <-deadline:
			t.Fatalf("no %s within 10s", what)
		}
	}
}

// closed waits (bounded) until the agent has closed the connection.
func (m *fakeManager) closed(t *testing.T, why string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-m.msgs:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("the agent did not close the connection within 10s: %s", why)
		}
	}
}

func isHello(msg effect.Message) bool     { _, ok := msg.(proto.Hello); return ok }
func isHeartbeat(msg effect.Message) bool { _, ok := msg.(proto.Heartbeat); return ok }

// startEpochAgent starts an agent daemon that has already accepted epoch 5.
func startEpochAgent(t *testing.T) *AgentDaemon {
	ocfRoot, fenceDir := repoAgents(t)
	st := storage.NewMem()
	require.NoError(t, st.Write(agent.EpochRecord, []byte("5")))
	d, err := StartAgentDaemon(AgentDaemonConfig{
		Agent: agent.Config{Host: "h1", HeartbeatInterval: 100 * time.Millisecond, FenceAgentDir: fenceDir, FenceEnv: []string{DefaultPath},
			LRM: lrm.Config{OCFRoot: ocfRoot, ExtraEnv: []string{DefaultPath}}},
		Listen: "127.0.0.1:0", Insecure: true, Store: st, Clock: clock.New(), Runner: process.NewRunner(), Log: quietLog(),
	})
	require.NoError(t, err)
	t.Cleanup(d.Stop)
	return d
}

// secondManager starts an agent at epoch 5 with one manager connected,
// then connects a second one; both have been greeted.
func secondManager(t *testing.T) (d *AgentDaemon, first, second *fakeManager) {
	d = startEpochAgent(t)
	first = dialAgent(t, d)
	first.next(t, "hello", isHello)
	second = dialAgent(t, d)
	second.next(t, "hello", isHello)
	return d, first, second
}

// TestSupersededManagerCannotTakeTheConnection: a manager that connects
// while another holds the agent is greeted with the agent's epoch; if it
// is older, it stands down (closes) or is refused at its first command,
// and the live manager's connection is never disturbed.
func TestSupersededManagerCannotTakeTheConnection(t *testing.T) {
	d := startEpochAgent(t)
	live := dialAgent(t, d)
	hello := live.next(t, "hello", isHello).(proto.Hello)
	require.EqualValues(t, 5, hello.Epoch)
	live.next(t, "heartbeat", isHeartbeat)

	// One stands down when it reads the agent's epoch.
	quiet := dialAgent(t, d)
	require.EqualValues(t, 5, quiet.next(t, "hello", isHello).(proto.Hello).Epoch)
	quiet.c.Close()
	// The other sends a command of its old epoch anyway.
	stale := dialAgent(t, d)
	stale.next(t, "hello", isHello)
	require.NoError(t, stale.c.Send(proto.Cancel{Epoch: 4, Op: 1, Resource: "r", Key: lrm.OpKey{Action: "monitor"}}))
	stale.closed(t, "a command of epoch 4 after epoch 5")

	// The live manager still has the agent: more heartbeats than the two
	// intervals a silent newcomer is given, on the same connection.
	for range 5 {
		live.next(t, "heartbeat", isHeartbeat)
	}
	require.EqualValues(t, 5, d.Epoch())
}

// TestNewerManagerTakesOverAtItsFirstCommand: a manager of a higher epoch
// (a standby that took over) gets the connection as soon as it sends a
// command, and the old one's is closed.
func TestNewerManagerTakesOverAtItsFirstCommand(t *testing.T) {
	d, old, next := secondManager(t)
	require.NoError(t, next.c.Send(proto.Cancel{Epoch: 6, Op: 1, Resource: "r", Key: lrm.OpKey{Action: "monitor"}}))
	refused := next.next(t, "the answer to the command", func(m effect.Message) bool { _, ok := m.(proto.Refused); return ok }).(proto.Refused)
	require.EqualValues(t, 6, refused.Epoch)
	require.False(t, refused.Stale, "the command is of a current epoch: refused only because r is unknown")
	old.closed(t, "a newer manager took over")
	next.next(t, "heartbeat", isHeartbeat)
	require.EqualValues(t, 6, d.Epoch())
}

// TestSilentManagerTakesOverAfterTwoHeartbeats: a newcomer that neither
// stands down nor sends a command is not left out for ever; after two
// heartbeat intervals it gets the connection, as before epochs were
// checked, so that the agent never heartbeats only to a manager that may
// be gone.
func TestSilentManagerTakesOverAfterTwoHeartbeats(t *testing.T) {
	_, old, silent := secondManager(t)
	silent.next(t, "heartbeat", isHeartbeat)
	old.closed(t, "the silent newcomer took over")
}
