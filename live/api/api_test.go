package api

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUnreachableNamesTheSocket: before, the error read `manager not
// reachable: Get "http://basalt/v1/status": dial unix ...`; it names the
// socket tried and why it may have failed, and no URL.
func TestUnreachableNamesTheSocket(t *testing.T) {
	dir := t.TempDir()
	none := filepath.Join(dir, "none.sock")
	err := NewClient(none).Do("GET", "/v1/status", nil, nil)
	var ue *UnreachableError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, none, ue.Socket)
	require.ErrorIs(t, err, syscall.ENOENT)
	require.Equal(t, "manager not reachable at "+none+
		": no socket there: the manager is not running, or listens on another socket (no such file or directory)", err.Error())

	// A socket left by a manager that is gone: the file is there, nobody
	// listens.
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	require.NoError(t, err)
	l.SetUnlinkOnClose(false)
	require.NoError(t, l.Close())
	err = NewClient(stale).Do("POST", "/v1/requests", Request{Command: "maintenance"}, nil)
	require.ErrorAs(t, err, &ue)
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	require.Contains(t, err.Error(), "manager not reachable at "+stale+": nothing listens there")
	require.NotContains(t, err.Error(), "http://")

	// A plain file where the socket should be.
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	err = NewClient(file).Do("GET", "/v1/status", nil, nil)
	require.ErrorAs(t, err, &ue)
	require.True(t, errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOTSOCK), "%v", err)
	require.NotContains(t, err.Error(), "http://")
}

// The search for the leader skips a socket that accepts and never answers
// (a frozen manager), and names every socket when none answers.
func TestLeaderClientSkipsAFrozenManager(t *testing.T) {
	dir := t.TempDir()
	frozen := filepath.Join(dir, "frozen.sock")
	l, err := net.Listen("unix", frozen)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		var held []net.Conn // open, never answered, until the listener closes
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	gone := filepath.Join(dir, "gone.sock")
	_, err = LeaderClient([]string{frozen, gone}).Status()
	var ue *UnreachableError
	require.ErrorAs(t, err, &ue)
	require.Contains(t, err.Error(), frozen+","+gone)
}
