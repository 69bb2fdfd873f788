package daemon

import (
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/manager"
)

// What the kernel says on loopback is classified as the manager machine
// expects: a dial of a port nothing listens on is refused; a connection
// whose peer closed it ends in a reset (EOF); a read that times out, or a
// connection closed on our side, says nothing of the host.
func TestConnEndsAsTheKernelSaysThem(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()

	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	peer, err := l.Accept()
	require.NoError(t, err)
	require.NoError(t, peer.Close()) // the agent's process exits: its kernel closes
	_, err = c.Read(make([]byte, 1))
	require.Equal(t, manager.EndReset, readEnd(err), "read after the peer closed: %v", err)
	require.NoError(t, c.Close())

	c, err = net.Dial("tcp", addr)
	require.NoError(t, err)
	peer, err = l.Accept()
	require.NoError(t, err)
	defer peer.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Millisecond)))
	_, err = c.Read(make([]byte, 1))
	require.Equal(t, manager.EndSilent, readEnd(err), "a timeout: %v", err)
	require.NoError(t, c.Close())
	_, err = c.Read(make([]byte, 1))
	require.True(t, errors.Is(err, net.ErrClosed))
	require.Equal(t, manager.EndSilent, readEnd(err), "our own close")

	require.NoError(t, l.Close()) // nothing listens any more
	_, err = net.Dial("tcp", addr)
	require.Error(t, err)
	require.Equal(t, manager.EndRefused, dialEnd(err), "dial of a closed port: %v", err)
	_, err = (&net.Dialer{Timeout: time.Nanosecond}).Dial("tcp", addr)
	require.Equal(t, manager.EndSilent, dialEnd(err), "a dial timeout: %v", err)
}

// A record that is slow to persist is logged with how long it took, so
// that a gap between two of the manager's log lines has a line of its own
// to explain it; a quick one is not.
func TestSlowPersistIsLogged(t *testing.T) {
	logs := &logTimes{}
	d := &ManagerDaemon{log: slog.New(logs)}
	d.slowPersist(&effect.Persist{Name: "events", Data: []byte("x")}, time.Millisecond)
	require.Empty(t, logs.lines)
	d.slowPersist(&effect.Persist{Name: "events", Data: []byte("x")}, 2500*time.Millisecond)
	require.Len(t, logs.lines, 1)
	require.Equal(t, "persisting a record was slow: the manager waited for the disk", logs.lines[0].msg)
}
