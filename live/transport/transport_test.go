package transport

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/live/certs"
)

// listen starts an agent-side listener for h1 and returns it with the
// manager's TLS configuration for dialing it.
func listen(t *testing.T) (*Listener, func(ctx context.Context) (*Conn, error)) {
	dir := t.TempDir()
	require.NoError(t, certs.InitCerts(dir, []string{"h1"}, time.Hour, false))
	acfg, err := certs.AgentTLS(dir, "h1")
	require.NoError(t, err)
	mcfg, err := certs.ManagerTLS(dir, "h1")
	require.NoError(t, err)
	l, err := Listen("127.0.0.1:0", acfg)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l, func(ctx context.Context) (*Conn, error) { return Dial(ctx, l.Addr(), mcfg) }
}

// stillOpen reports whether the server has not closed c: a read that times
// out (rather than ending) means the peer is still waiting on it.
func stillOpen(t *testing.T, c net.Conn) bool {
	require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// An idle connection that never starts its handshake must not hold up the
// manager behind it. Before, handshakes ran one at a time in the accept
// loop: the manager's dial waited until the idle one's 10 s deadline had
// closed it.
func TestIdleConnectionDoesNotStallTheNextHandshake(t *testing.T) {
	l, dial := listen(t)
	idle, err := net.Dial("tcp", l.Addr())
	require.NoError(t, err)
	defer idle.Close()

	accepted := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := dial(ctx)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, <-accepted)
	require.True(t, stillOpen(t, idle), "the manager got through while the idle peer was still being waited for")
}

// Half-open connections are bounded: past the bound a peer is refused at
// once (and says so through Accept) instead of queueing behind the others.
func TestHalfOpenConnectionsAreBounded(t *testing.T) {
	l, _ := listen(t)
	for range maxHalfOpen {
		c, err := net.Dial("tcp", l.Addr())
		require.NoError(t, err)
		defer c.Close()
	}
	extra, err := net.Dial("tcp", l.Addr())
	require.NoError(t, err)
	defer extra.Close()
	_, err = l.Accept()
	require.ErrorIs(t, err, ErrRefused)
	require.ErrorContains(t, err, "handshakes already under way")
}

// Close ends Accept, even with handshakes under way.
func TestCloseEndsAccept(t *testing.T) {
	l, _ := listen(t)
	idle, err := net.Dial("tcp", l.Addr())
	require.NoError(t, err)
	defer idle.Close()
	require.NoError(t, l.Close())
	_, err = l.Accept()
	require.ErrorIs(t, err, net.ErrClosed)
}
