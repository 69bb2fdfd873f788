package service

import (
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRunServiceStatusReportsNotReady: a degraded daemon (one that cannot
// persist) tells systemd so in STATUS=, and that it is ready again after.
func TestRunServiceStatusReportsNotReady(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	defer l.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	var bad = make(chan string, 1)
	bad <- "cannot persist state: no space left on device"
	cur := ""
	degraded := func() string {
		select {
		case cur = <-bad:
		default:
		}
		return cur
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		RunServiceStatus(slog.New(slog.NewTextHandler(io.Discard, nil)), stop, degraded)
	}()
	next := func() string {
		buf := make([]byte, 512)
		require.NoError(t, l.SetReadDeadline(time.Now().Add(10*time.Second)))
		n, err := l.Read(buf)
		require.NoError(t, err)
		return string(buf[:n])
	}
	require.True(t, strings.HasPrefix(next(), "READY=1"))
	require.Equal(t, "STATUS=NOT READY: cannot persist state: no space left on device", next())
	bad <- ""
	require.Equal(t, "STATUS=ready", next())
	close(stop)
	<-done
}
