package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/eventlog"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/live/admin"
	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/live/daemon"
	"github.com/basalt-ha/basalt/live/metrics"
)

// fullStore is a store whose disk fills up on demand: while full, every
// Write and Append fails with ENOSPC, an Append after landing half of its
// data, as a real full disk may.
type fullStore struct {
	storage.Store
	full atomic.Bool
}

func (s *fullStore) Write(name string, data []byte) error {
	if s.full.Load() {
		return fmt.Errorf("write %s: %w", name, syscall.ENOSPC)
	}
	return s.Store.Write(name, data)
}

func (s *fullStore) Append(name string, data []byte) error {
	if s.full.Load() {
		return fmt.Errorf("append %s: %w", name, syscall.ENOSPC)
	}
	return s.Store.Append(name, data)
}

// adminPost posts an admin request and returns the HTTP status.
func adminPost(t *testing.T, hc *http.Client, req api.Request) int {
	t.Helper()
	body, err := json.Marshal(req)
	require.NoError(t, err)
	resp, err := hc.Post("http://basalt/v1/requests", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// TestLiveManagerWaitsOutAFullDisk: while the manager's state directory is
// full, admin requests are refused with 503 and status and metrics say so;
// when space comes back the manager resumes by itself (a new epoch, the
// running group adopted), takes requests again, and its log still decodes.
func TestLiveManagerWaitsOutAFullDisk(t *testing.T) {
	lc := daemon.NewLiveCluster(t, []string{"h1", "h2"})
	lc.Await("group running on h1", func() bool { return lc.Running("h1") })
	st := &fullStore{Store: lc.ManagerStore()}
	lc.RestartManagerOn(st)
	lc.Await("adopted on h1", func() bool { return lc.Running("h1") })
	d := lc.Manager()
	sock := filepath.Join(t.TempDir(), "m.sock")
	srv, err := admin.Serve(d, sock, 0o600, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer srv.Close()
	msrv, maddr, err := metrics.ServeMetrics(metrics.NewMetrics(d), "127.0.0.1:0")
	require.NoError(t, err)
	defer msrv.Close()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	var epoch uint64
	d.View(func(m *manager.Manager) { epoch = uint64(m.Epoch()) })

	st.full.Store(true)
	require.Equal(t, http.StatusServiceUnavailable, adminPost(t, hc, api.Request{Command: "move", Target: "g", Host: "h2"}),
		"the request whose record cannot be persisted is refused")
	require.Equal(t, http.StatusServiceUnavailable, adminPost(t, hc, api.Request{Command: "stop", Target: "g"}),
		"and so is every request while the disk is full")
	v := admin.Status(d)
	require.NotEmpty(t, v.PersistError)
	require.False(t, v.Healthy)
	require.Contains(t, v.Problems[0], "cannot persist")
	require.Contains(t, scrape(t, maddr), "basalt_manager_persist_ok 0")

	st.full.Store(false)
	lc.Await("manager persists again", func() bool { _, err := d.PersistError(); return err == nil })
	lc.Await("group adopted on h1 by the restarted machine", func() bool { return lc.Running("h1") })
	d.View(func(m *manager.Manager) { require.Greater(t, uint64(m.Epoch()), epoch, "a new epoch") })
	require.Contains(t, scrape(t, maddr), "basalt_manager_persist_ok 1")
	require.Equal(t, http.StatusAccepted, adminPost(t, hc, api.Request{Command: "move", Target: "g", Host: "h2"}))
	lc.Await("moved to h2", func() bool { return lc.Running("h2") })

	data, err := lc.ManagerStore().Read(manager.EventLog)
	require.NoError(t, err)
	dec, err := eventlog.Decode(data)
	require.NoError(t, err, "the event log decodes")
	require.Empty(t, dec.Torn, "and has no torn tail")
}

// TestLiveAgentThatCannotPersistIsReportedNotFenced: an agent whose state
// directory fills up holds what it cannot record, and says so in its
// heartbeats; the manager reports it (status, event) and does not fence the
// live host; once space is back the held work is done.
func TestLiveAgentThatCannotPersistIsReportedNotFenced(t *testing.T) {
	lc := daemon.NewLiveCluster(t, []string{"h1", "h2"})
	lc.Await("group running on h1", func() bool { return lc.Running("h1") })
	st := &fullStore{Store: lc.AgentStore("h2")}
	lc.RestartAgentOn("h2", st)
	lc.Await("h2 back", func() bool { return lc.Running("h1") })
	d := lc.Manager()

	st.full.Store(true)
	_, err := d.Admin(manager.Request{Command: manager.CmdMove, Target: "g", Host: "h2"})
	require.NoError(t, err)
	hostProblem := func() bool {
		for _, p := range admin.Status(d).Problems {
			if strings.Contains(p, "host h2 cannot persist") {
				return true
			}
		}
		return false
	}
	lc.Await("the manager reports that h2 cannot persist", hostProblem)
	require.Error(t, lc.Agent("h2").PersistError())
	var fenced int
	var events []string
	d.View(func(m *manager.Manager) {
		fenced = len(m.FenceHistory())
		for _, e := range m.Events() {
			events = append(events, e.Kind)
		}
	})
	require.Zero(t, fenced, "a live host is not fenced for a full disk")
	require.Contains(t, events, "host-cannot-persist")

	st.full.Store(false)
	lc.Await("the held start is carried out", func() bool { return lc.Running("h2") })
	require.NoError(t, lc.Agent("h2").PersistError())
	require.False(t, hostProblem(), "the problem is gone")
	d.View(func(m *manager.Manager) { fenced = len(m.FenceHistory()) })
	require.Zero(t, fenced)
}
