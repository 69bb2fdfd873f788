package harness

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// echoServer answers every line with the same line.
func echoServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, msg string, wait time.Duration) (string, bool) {
	_, err := c.Write([]byte(msg + "\n"))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(wait)))
	line, err := r.ReadString('\n')
	if err != nil {
		return "", false
	}
	return line[:len(line)-1], true
}

func TestProxyForwardsDropsAndDelays(t *testing.T) {
	p, err := NewProxy(echoServer(t))
	require.NoError(t, err)
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	r := bufio.NewReader(c)

	got, ok := roundTrip(t, c, r, "one", 5*time.Second)
	require.True(t, ok)
	require.Equal(t, "one", got)

	// The answer direction is cut: the request arrives, nothing comes back.
	p.Drop(FromTarget, true)
	_, ok = roundTrip(t, c, r, "two", 300*time.Millisecond)
	require.False(t, ok, "nothing crosses a cut link")
	p.Heal()
	got, ok = roundTrip(t, c, r, "three", 5*time.Second)
	require.True(t, ok)
	require.Equal(t, "three", got, "the dropped answer is gone, not queued")

	// A delayed request is not answered before the delay, but is answered.
	p.Delay(ToTarget, time.Second)
	_, ok = roundTrip(t, c, r, "four", 200*time.Millisecond)
	require.False(t, ok, "held back by the delay")
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "four\n", line)
}
