package harness_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/harness"
)

// The test binary, re-executed with echoEnv set, is an echo server at that
// address that appends what it receives to the file echoLogEnv names.
const (
	echoEnv    = "BASALT_TEST_ECHO_ADDR"
	echoLogEnv = "BASALT_TEST_ECHO_LOG"
)

func echoServer(addr, logPath string) int {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return 1
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 256)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if f, ferr := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); ferr == nil {
						_, _ = f.Write(buf[:n])
						f.Close()
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// TestNetnsLink runs an echo server inside a link's namespace and cuts
// each direction in the kernel: a cut manager→agent keeps the bytes from
// the server, a cut agent→manager lets them reach the server but not its
// reply, and the healed link delivers what TCP retransmits, on the same
// connection, as a real network does.
func TestNetnsLink(t *testing.T) {
	if err := harness.NetnsAvailable(); err != nil {
		t.Skipf("no network namespaces here: %v", err)
	}
	l, err := harness.NewNetnsLink()
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, l.Close())
		out, err := exec.Command("ip", "netns", "list").Output()
		require.NoError(t, err)
		require.NotContains(t, string(out), l.NS+" ", "the namespace is removed")
	})
	logPath := t.TempDir() + "/received"
	srv := l.Command(os.Args[0], "-test.run=^$")
	srv.Env = append(os.Environ(), echoEnv+"="+l.Addr(), echoLogEnv+"="+logPath)
	srv.Stderr = os.Stderr
	require.NoError(t, srv.Start())
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })

	var conn net.Conn
	require.Eventually(t, func() bool {
		conn, err = net.DialTimeout("tcp", l.Addr(), time.Second)
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "the echo server in %s answers", l.NS)
	defer conn.Close()
	rd := bufio.NewReader(conn)
	// reply says whether msg comes back within d.
	reply := func(msg string, d time.Duration) bool {
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(d)))
		got := make([]byte, len(msg))
		_, err := io.ReadFull(rd, got)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return false
		}
		require.NoError(t, err)
		require.Equal(t, msg, string(got))
		return true
	}
	received := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	send := func(msg string) { _, err := conn.Write([]byte(msg)); require.NoError(t, err) }

	send("a")
	require.True(t, reply("a", 5*time.Second), "an open link echoes")

	require.NoError(t, l.Drop(harness.ToTarget, true))
	send("b")
	require.False(t, reply("b", time.Second), "manager→agent cut: no echo")
	require.Equal(t, "a", received(), "manager→agent cut: the server got nothing")
	require.NoError(t, l.Drop(harness.ToTarget, false))
	require.True(t, reply("b", 10*time.Second), "healed: the retransmitted bytes arrive")

	require.NoError(t, l.Drop(harness.FromTarget, true))
	send("c")
	require.Eventually(t, func() bool { return strings.HasSuffix(received(), "c") }, 5*time.Second, 20*time.Millisecond,
		"agent→manager cut: the server still receives")
	require.False(t, reply("c", time.Second), "agent→manager cut: its reply is lost")
	require.NoError(t, l.Heal())
	require.True(t, reply("c", 10*time.Second), "healed: the reply is retransmitted")

	require.NoError(t, l.Partition())
	send("d")
	require.False(t, reply("d", time.Second), "partitioned: nothing either way")
	require.Equal(t, "abc", received())
	require.NoError(t, l.Heal())
	require.True(t, reply("d", 10*time.Second))

	if err := l.Delay(harness.ToTarget, 100*time.Millisecond); errors.Is(err, harness.ErrUnsupported) {
		t.Logf("delay: %v", err)
	} else {
		require.NoError(t, err)
		require.NoError(t, l.Delay(harness.ToTarget, 0))
	}
}
