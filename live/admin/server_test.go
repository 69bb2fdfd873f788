package admin

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/live/daemon"
	"github.com/basalt-ha/basalt/live/daemon/daemontest"
)

// serve starts a manager daemon on the failover pair (its agents, on
// loopback ports nothing listens on, stay unreachable) and its admin
// server on a socket in a temporary directory.
func serve(t *testing.T) (sock string, d *daemon.ManagerDaemon) {
	dir := t.TempDir()
	d, log := daemontest.Manager(t, filepath.Join("..", "..", "testdata", "configs", "failover-pair.yaml"), dir)
	sock = filepath.Join(dir, "manager.sock")
	srv, err := Serve(d, sock, 0o600, log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return sock, d
}

// post sends body to POST /v1/requests and returns the status and answer.
func post(t *testing.T, sock, body string) (int, string) {
	return postTo(t, sock, "/v1/requests", body)
}

// Before the fix, trailing data after the object was ignored (the request
// was obeyed) and a 100 MB body answered "unexpected EOF".
func TestAdminRequestBodies(t *testing.T) {
	sock, _ := serve(t)
	code, out := post(t, sock, `{"command":"maintenance","flag":true} {"command":"fence","target":"oss1"}`)
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Contains(t, out, "unexpected data after the JSON object")
	code, out = post(t, sock, `{"command":"maintenance","flag":true}garbage`)
	require.Equal(t, http.StatusBadRequest, code, out)

	code, out = post(t, sock, `{"command":"maintenance","target":"`+strings.Repeat("x", 100<<20)+`"}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, code)
	require.Contains(t, out, "request too large: the limit is 65536 bytes")

	code, out = post(t, sock, `{"command":"maintenance","bogus":1}`)
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Contains(t, out, `unknown field \"bogus\"`)

	code, out = post(t, sock, "{\"command\":\"maintenance\",\"flag\":true}\n")
	require.Equal(t, http.StatusAccepted, code, out)
	var st api.StatusView
	require.NoError(t, api.NewClient(sock).Do("GET", "/v1/status", nil, &st))
	require.True(t, st.Maintenance, "a well-formed request (white space after it is fine) is obeyed")
}

// Before the fix, --socket naming an existing regular file deleted it.
func TestAdminSocketNeverReplacesAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	require.NoError(t, os.WriteFile(path, []byte("precious"), 0o600))
	_, err := Serve(nil, path, 0o600, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.ErrorContains(t, err, "a regular file is there, not a socket; refusing to replace it")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "precious", string(data))
}

// GET /v1/events?after=SEQ answers every event after SEQ, however many,
// so that a follower misses none between two polls; n still takes the
// latest. Before, after was ignored: the answer was always the latest n.
func TestAdminEventsAfter(t *testing.T) {
	sock, _ := serve(t)
	c := api.NewClient(sock)
	for _, flag := range []bool{true, false, true} {
		require.NoError(t, c.Do("POST", "/v1/requests", api.Request{Command: "maintenance", Flag: flag}, nil))
	}
	all, err := c.Events(0, 0)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(all), 4)
	for i := range all {
		got, err := c.Events(all[i].Seq, 0)
		require.NoError(t, err)
		require.Equal(t, all[i+1:], got[:len(all)-i-1], "after #%d", all[i].Seq)
		for _, e := range got {
			require.Greater(t, e.Seq, all[i].Seq)
		}
	}
	got, err := c.Events(all[0].Seq, 2)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, all[len(all)-1].Seq, got[1].Seq, "the latest two after #1")

	err = c.Do("GET", "/v1/events?after=soon", nil, nil)
	require.ErrorContains(t, err, `after="soon": want an event sequence number`)
}

// GET /v1/fence-history is the fencer's history: a fencing that no peer
// could run is there, FAILED with the reason, with who asked.
func TestAdminFenceHistory(t *testing.T) {
	sock, d := serve(t)
	c := api.NewClient(sock)
	h, err := c.FenceHistory()
	require.NoError(t, err)
	require.Empty(t, h)
	require.NoError(t, c.Do("POST", "/v1/requests", api.Request{Command: "fence", Target: "oss2"}, nil))
	var want int
	d.View(func(m *manager.Manager) { want = len(m.FenceHistory()) })
	require.Positive(t, want, "a fencing with no peer online fails at once")
	h, err = c.FenceHistory()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(h), want)
	require.Equal(t, "oss2", h[0].Target)
	require.False(t, h[0].OK)
	require.Contains(t, h[0].Reason, "no peer can run device pid-oss2")
	require.NotEmpty(t, h[0].Origins)
	require.False(t, h[0].Requested.IsZero())
}

// The status names each resource's agent and parameters, for basalt
// resource show.
func TestAdminStatusResourceAgents(t *testing.T) {
	sock, _ := serve(t)
	st, err := api.NewClient(sock).Status()
	require.NoError(t, err)
	r := st.Groups[0].Resources[0]
	require.Equal(t, "pool1", r.ID)
	require.Equal(t, "ocf:basalt:statefile", r.Agent)
	require.Equal(t, map[string]string{"state": "/run/basalt/oss/pool1.state"}, r.Params)
}

// standbySource is a replica that stands by while m1 leads.
type standbySource struct{}

func (standbySource) Daemon() *daemon.ManagerDaemon { return nil }
func (standbySource) Managers() []api.ManagerView {
	return []api.ManagerView{{Name: "m1", Leader: true, Epoch: 42, LeaseLeft: "4s"}, {Name: "m2", Epoch: 57, Self: true}}
}

// A standby answers status with who leads, and refuses every other request
// with 503, naming the leader.
func TestAdminStandby(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "m2.sock")
	srv, err := ServeSource(standbySource{}, sock, 0o600, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	v, err := api.NewClient(sock).Status()
	require.NoError(t, err)
	require.Equal(t, api.RoleStandby, v.Role)
	require.False(t, v.Healthy)
	require.Len(t, v.Managers, 2)
	require.Contains(t, v.Problems[0], "m1 leads (epoch 42)")
	code, out := post(t, sock, `{"command":"standby","target":"a"}`)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, out, "this manager stands by: m1 leads (epoch 42)")
	_, err = api.NewClient(sock).Events(0, 0)
	require.ErrorContains(t, err, "m1 leads")
	// The CLI's search for the leader takes the standby when no leader
	// answers, so that its refusals say who leads.
	v, err = api.LeaderClient([]string{filepath.Join(t.TempDir(), "gone.sock"), sock}).Status()
	require.NoError(t, err)
	require.Equal(t, api.RoleStandby, v.Role)
}

// A failed action carries the manager's record (count, hard, when) and the
// words of the latest failure event of that resource on that host.
func TestFailedActions(t *testing.T) {
	last := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	r := manager.ResourceStatus{ID: "ip", Fails: map[string]planner.Failure{
		"h2": {Count: 2, Last: last, Op: planner.FailedMonitor},
		"h1": {Count: 1, Last: last, Hard: true, Op: planner.FailedStart},
		"h3": {}, // cleaned up: nothing to show
	}}
	evs := []manager.Event{
		{Kind: "failure", Resource: "ip", Host: "h1", Message: "start_0: done OCF_ERR_INSTALLED (rc 5): no agent"},
		{Kind: "failure", Resource: "ip", Host: "h2", Message: "monitor_10000: older"},
		{Kind: "failure", Resource: "other", Host: "h2", Message: "not ip's"},
		{Kind: "failure", Resource: "ip", Host: "h2", Message: "monitor_10000: done OCF_NOT_RUNNING (rc 7)"},
	}
	require.Equal(t, []api.FailedAction{
		{Host: "h1", Count: 1, Hard: true, Op: "start", Last: last, What: "start_0: done OCF_ERR_INSTALLED (rc 5): no agent"},
		{Host: "h2", Count: 2, Op: "monitor", Last: last, What: "monitor_10000: done OCF_NOT_RUNNING (rc 7)"},
	}, failedActions(r, evs))
}

// GET /v1/power/{host} asks the host's devices through a peer: with no
// peer online each reads UNKNOWN and says why; a host that is not
// configured is a 400 listing the hosts. A confirm-down of a host never
// heard from is taken, and the event log and the fencing history show it.
func TestPowerStatusAndConfirmDown(t *testing.T) {
	sock, _ := serve(t)
	c := api.NewClient(sock)
	v, err := c.PowerStatus("oss1")
	require.NoError(t, err)
	require.Equal(t, "oss1", v.Host)
	require.True(t, v.Done)
	require.Equal(t, []api.PowerReadingView{{Device: "pid-oss1", State: "UNKNOWN", Lost: "no host but oss1 is online to run it"}}, v.Devices)
	_, err = c.PowerStatus("oss9")
	require.EqualError(t, err, `power status oss9: no host "oss9" (hosts: oss1, oss2)`)

	code, out := post(t, sock, `{"command":"confirm-down","target":"oss1"}`)
	require.Equal(t, http.StatusAccepted, code, out)
	evs, err := c.Events(0, 0)
	require.NoError(t, err)
	var kinds []string
	for _, e := range evs {
		if e.Host == "oss1" {
			kinds = append(kinds, e.Kind)
		}
	}
	require.Contains(t, kinds, "confirm-down")
	who := fmt.Sprintf("uid %d", os.Getuid())
	for _, e := range evs {
		if e.Kind == "confirm-down" {
			require.Contains(t, e.Message, "the operator ("+who, "the socket's peer, as the kernel says")
		}
	}
	h, err := c.FenceHistory()
	require.NoError(t, err)
	require.NotEmpty(t, h)
	require.Equal(t, []string{"operator (confirm-down)"}, h[0].Origins)
	require.True(t, h[0].OK)

	code, out = post(t, sock, `{"command":"power-on","target":"oss2"}`)
	require.Equal(t, http.StatusAccepted, code, out)
}
