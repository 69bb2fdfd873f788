// Package daemontest starts real daemons for the tests of the packages
// that serve or drive them (the admin API, the CLI), as net/http/httptest
// does for HTTP servers.
package daemontest

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/live/daemon"
	"github.com/basalt-ha/basalt/live/store"
)

// Manager starts a manager daemon on the configuration at path, with its
// state in dir/state and its logs discarded, stopped when the test ends.
// The configuration's agents, on loopback ports nothing listens on, stay
// unreachable: the daemon waits for them as a manager would.
func Manager(t testing.TB, path, dir string) (*daemon.ManagerDaemon, *slog.Logger) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	m, err := model.Load(filepath.Base(path), data)
	require.NoError(t, err)
	st, err := store.OpenDir(filepath.Join(dir, "state"))
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := daemon.StartManagerDaemon(daemon.ManagerDaemonConfig{Model: m, StartupConfig: string(data), Store: st, Insecure: true, Clock: clock.New(), Log: log})
	require.NoError(t, err)
	t.Cleanup(d.Stop)
	return d, log
}

// Buffer is an output that a daemon's goroutines (or a command running
// beside the test) write while the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
