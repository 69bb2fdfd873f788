package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/basalt-ha/basalt/live/admin"
	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/live/daemon/daemontest"
)

// live runs a live command (status --watch, events --follow) in the
// background under a context the test cancels, as SIGINT would; wait
// returns its exit code.
type live struct {
	out, errOut daemontest.Buffer
	cancel      context.CancelFunc
	done        chan int
}

func startLive(t *testing.T, args ...string) *live {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	prev := interrupted
	interrupted = func() (context.Context, context.CancelFunc) { return ctx, func() {} }
	l := &live{cancel: cancel, done: make(chan int, 1)}
	go func() { l.done <- run(args, &l.out, &l.errOut) }()
	t.Cleanup(func() {
		cancel()
		// The command must have returned before the hook is restored.
		select {
		case <-l.done:
		case <-time.After(10 * time.Second):
		}
		interrupted = prev
	})
	return l
}

// awaitOutput polls, for at most 10 s, until the output satisfies cond.
func (l *live) awaitOutput(t *testing.T, what string, cond func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(l.out.String()) {
		select {
		case rc := <-l.done:
			l.done <- rc
			require.Failf(t, "command ended", "before %s: rc %d\nstdout:\n%s\nstderr:\n%s", what, rc, l.out.String(), l.errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), "no %s within 10 s:\n%s", what, l.out.String())
	}
}

// wait returns the exit code, failing after 10 s.
func (l *live) wait(t *testing.T) int {
	t.Helper()
	select {
	case rc := <-l.done:
		l.done <- rc
		return rc
	case <-time.After(10 * time.Second):
		require.FailNow(t, "the command did not end within 10 s")
		return -1
	}
}

// managerServer is manager, with the admin server, so that a test can
// make the manager unreachable mid-command.
func managerServer(t *testing.T) (string, *admin.Server) {
	dir := t.TempDir()
	d, log := daemontest.Manager(t, filepath.Join("..", "..", "testdata", "configs", "failover-pair.yaml"), dir)
	sock := filepath.Join(dir, "manager.sock")
	srv, err := admin.Serve(d, sock, 0o600, log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return sock, srv
}

// TestAgentsList: the executables under the OCF root and the fence agents
// in the directory, sorted; not a README, a non-executable file or a
// fence agent's neighbour that is not fence_*.
func TestAgentsList(t *testing.T) {
	root, fence := agentDirs(t)
	writeExe(t, filepath.Join(root, "resource.d", "acme", "Alpha"), fakeOCFAgent)
	writeExe(t, filepath.Join(fence, "fence_alpha"), fakeFenceAgent)
	writeExe(t, filepath.Join(fence, "ls"), "#!/bin/sh\n")
	require.NoError(t, writeFile(filepath.Join(root, "resource.d", "test", "README"), "not an agent"))
	require.NoError(t, writeFile(filepath.Join(fence, "fence_notexec"), "#!/bin/sh\n"))

	rc, out, errOut := runCLI("agents", "list", "--ocf-root", root, "--fence-agents", fence)
	require.Equal(t, 0, rc, errOut)
	require.Equal(t, "Resource agents (OCF root "+root+"):\n  ocf:acme:Alpha\n  ocf:test:fake\n\n"+
		"Fence agents (in "+fence+"):\n  fence_alpha\n  fence_fake\n", out)

	rc, out, _ = runCLI("agents", "list", "--ocf-root", root, "--fence-agents", fence, "-o", "json")
	require.Equal(t, 0, rc)
	var l agentList
	require.NoError(t, json.Unmarshal([]byte(out), &l))
	require.Equal(t, []string{"ocf:acme:Alpha", "ocf:test:fake"}, l.OCF)
	require.Equal(t, []string{"fence_alpha", "fence_fake"}, l.Fence)

	empty := t.TempDir()
	rc, out, _ = runCLI("agents", "list", "--ocf-root", empty, "--fence-agents", empty, "-o", "yaml")
	require.Equal(t, 0, rc)
	require.Contains(t, out, "resource_agents: []\n")
	require.Contains(t, out, "fence_agents: []\n")
}

func writeFile(path, text string) error {
	return os.WriteFile(path, []byte(text), 0o644)
}

// TestAgentsDescribe: an agent's meta-data as a table, or as JSON; both
// kinds of agent, fake ones and the repository's.
func TestAgentsDescribe(t *testing.T) {
	root, fence := agentDirs(t)
	rc, out, errOut := runCLI("agents", "describe", "ocf:test:fake", "--ocf-root", root, "--fence-agents", fence)
	require.Equal(t, 0, rc, errOut)
	require.Equal(t, "ocf:test:fake — Fake agent\n  "+filepath.Join(root, "resource.d", "test", "fake")+" (version 1.1)\n"+
		"  never reloaded: a changed definition restarts it\n\n"+
		"Parameters:\n"+
		"  NAME   REQUIRED  UNIQUE  RELOADS  DEFAULT  DESCRIPTION\n"+
		"  path   yes       no      no       -        data directory\n"+
		"  state  no        no      no       -        state file\n\n"+
		"Actions:\n"+
		"  NAME       TIMEOUT  INTERVAL  DEPTH\n"+
		"  start      20s      -         0\n"+
		"  meta-data  5s       -         0\n", out)

	rc, out, errOut = runCLI("agents", "describe", "fence_fake", "--fence-agents", fence, "-o", "json")
	require.Equal(t, 0, rc, errOut)
	var d agentDescription
	require.NoError(t, json.Unmarshal([]byte(out), &d), out)
	require.Equal(t, "fence_fake", d.Agent)
	require.Equal(t, []string{"action", "plug", "ip", "ipaddr", "login"}, paramNames(d))
	require.Equal(t, "reboot", d.Parameters[0].Default)
	require.Len(t, d.Actions, 3)

	// The repository's agents: the statefile agent's monitors at two
	// depths, the PID fence agent answering action=metadata on stdin.
	repoOCF, repoFence := filepath.Join("..", "..", "agents", "ocf"), filepath.Join("..", "..", "agents", "fence")
	rc, out, errOut = runCLI("agents", "describe", "ocf:basalt:statefile", "fence_basalt_pid", "--ocf-root", repoOCF, "--fence-agents", repoFence, "-o", "yaml")
	require.Equal(t, 0, rc, errOut)
	var ds []agentDescription
	var doc any
	require.NoError(t, yaml.Unmarshal([]byte(out), &doc))
	data, err := json.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &ds))
	require.Len(t, ds, 2)
	require.Equal(t, "ocf:basalt:statefile", ds[0].Agent)
	require.Equal(t, []string{"state", "fail_dir", "delay", "promotion_score"}, paramNames(ds[0]))
	require.Contains(t, ds[0].Actions, actionDesc{Name: "monitor", Timeout: "20s", Interval: "1m0s", Depth: 10})
	require.Equal(t, "fence_basalt_pid", ds[1].Agent)
	require.Equal(t, "Fence agent for Basalt test hosts", ds[1].ShortDesc, "a fence agent's shortdesc attribute")
	require.Contains(t, paramNames(ds[1]), "hosts_dir")
	rc, out, _ = runCLI("agents", "describe", "fence_basalt_pid", "--fence-agents", repoFence)
	require.Equal(t, 0, rc)
	require.Regexp(t, `(?m)^  hosts_dir +yes +no +- +Directory holding one directory per test host$`, out)
}

func paramNames(d agentDescription) []string {
	var out []string
	for _, p := range d.Parameters {
		out = append(out, p.Name)
	}
	return out
}

// TestAgentsDescribeMissing: an agent not installed is named, with the
// nearest installed one, exit 1; a name of neither kind is a mistake.
func TestAgentsDescribeMissing(t *testing.T) {
	root, fence := agentDirs(t)
	for _, tc := range []struct{ agent, want string }{
		{"ocf:test:fkae", "ocf:test:fkae is not installed: " + filepath.Join(root, "resource.d", "test", "fkae") + " does not exist (did you mean ocf:test:fake?)"},
		{"ocf:tset:fake", "ocf:tset:fake is not installed: " + filepath.Join(root, "resource.d", "tset", "fake") + " does not exist (did you mean ocf:test:fake?)"},
		{"fence_fak", "fence agent fence_fak is not installed: " + filepath.Join(fence, "fence_fak") + " does not exist (did you mean fence_fake?)"},
		{"ocf:other:zzzzzz", "ocf:other:zzzzzz is not installed: " + filepath.Join(root, "resource.d", "other", "zzzzzz") + " does not exist (--ocf-root sets the OCF root)"},
	} {
		rc, out, errOut := runCLI("agents", "describe", tc.agent, "--ocf-root", root, "--fence-agents", fence)
		require.Equal(t, 1, rc, tc.agent)
		require.Empty(t, out)
		require.Equal(t, "basalt agents describe: "+tc.want+"\n", errOut)
	}
	// The ones that are there are still described.
	rc, out, errOut := runCLI("agents", "describe", "ocf:test:fake", "fence_nosuch", "--ocf-root", root, "--fence-agents", fence)
	require.Equal(t, 1, rc)
	require.True(t, strings.HasPrefix(out, "ocf:test:fake — Fake agent\n"), out)
	require.Contains(t, errOut, "fence agent fence_nosuch is not installed")

	for _, tc := range []struct{ args []string }{
		{[]string{"agents", "describe"}},
		{[]string{"agents", "describe", "Dummy"}},
		{[]string{"agents", "describe", "ocf:heartbeat"}},
		{[]string{"agents", "describe", "fence_../x"}},
		{[]string{"agents", "describe", "ocf:../../bin:sh"}},
	} {
		rc, out, errOut := runCLI(tc.args...)
		require.Equal(t, 2, rc, "%v: %s", tc.args, errOut)
		require.Empty(t, out)
		require.Contains(t, errOut, hint("basalt agents describe"))
	}
}

// TestFenceHistory: a fencing asked for by an administrator, which fails
// at once (no peer is online to run the device), is in the history with
// who asked and why it failed.
func TestFenceHistory(t *testing.T) {
	sock := manager(t)
	rc, out, _ := runCLI("fence", "history", "--socket", sock)
	require.Equal(t, 0, rc)
	require.Equal(t, "No fencing yet.\n", out)
	rc, out, errOut := runCLI("fence", "history", "-o", "json", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	require.Equal(t, "[]\n", out)

	rc, _, errOut = runCLI("host", "fence", "oss1", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	var h []api.FenceHistoryEntry
	deadline := time.Now().Add(10 * time.Second)
	for len(h) == 0 {
		require.True(t, time.Now().Before(deadline), "no fence history within 10 s")
		rc, out, errOut = runCLI("fence", "history", "-o", "json", "--socket", sock)
		require.Equal(t, 0, rc, errOut)
		require.NoError(t, json.Unmarshal([]byte(out), &h))
		if len(h) == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The first is the administrator's; the manager fences the two hosts
	// too once they are declared lost (5 s), which may come in later.
	e := h[0]
	require.Equal(t, "oss1", e.Target)
	require.False(t, e.OK)
	require.Contains(t, e.Reason, "no peer can run device pid-oss1")
	require.NotEmpty(t, e.Origins)
	require.False(t, e.Requested.IsZero())
	require.False(t, e.Completed.Before(e.Requested))

	rc, out, _ = runCLI("fence", "history", "--socket", sock)
	require.Equal(t, 0, rc)
	require.Regexp(t, `^oss1 `+regexp.QuoteMeta(e.Action)+` FAILED: `+regexp.QuoteMeta(strings.Join(e.Origins, ", "))+` \(requested \S+, completed \S+, took \S+\)\n  reason: .*no peer can run device pid-oss1`, out)
}

// TestEventsSinceAndFormats: --since a duration or a time filters by the
// events' time; -o json is the list.
func TestEventsSinceAndFormats(t *testing.T) {
	sock := manager(t)
	// The request's events are logged when the manager accepts it.
	rc, _, errOut := runCLI("maintenance", "on", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	rc, out, errOut := runCLI("events", "-o", "json", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	var all []api.Event
	require.NoError(t, json.Unmarshal([]byte(out), &all))
	require.NotEmpty(t, all)
	require.True(t, containsKind(all, "maintenance"), out)

	rc, out, _ = runCLI("events", "--since", "1h", "-o", "json", "--socket", sock)
	require.Equal(t, 0, rc)
	var recent []api.Event
	require.NoError(t, json.Unmarshal([]byte(out), &recent))
	require.Equal(t, all, recent, "every event is from the last hour")

	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	rc, out, _ = runCLI("events", "--since", future, "--socket", sock)
	require.Equal(t, 0, rc)
	require.Empty(t, out)
	rc, out, _ = runCLI("events", "--since", future, "-o", "json", "--socket", sock)
	require.Equal(t, 0, rc)
	require.Equal(t, "[]\n", out)

	// From the last event's time on: that one, and none older.
	cut := all[len(all)-1].Time
	rc, out, _ = runCLI("events", "--since", cut.Format(time.RFC3339Nano), "-o", "json", "--socket", sock)
	require.Equal(t, 0, rc)
	var tail []api.Event
	require.NoError(t, json.Unmarshal([]byte(out), &tail))
	require.NotEmpty(t, tail)
	for _, e := range tail {
		require.False(t, e.Time.Before(cut))
	}

	require.NotContains(t, out, `"until"`, "a zero time is left out, not 0001-01-01")

	rc, out, _ = runCLI("events", "-n", "1", "--socket", sock)
	require.Equal(t, 0, rc)
	require.Equal(t, all[len(all)-1].String()+"\n", out)
}

func containsKind(evs []api.Event, kind string) bool {
	for _, e := range evs {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

// TestEventsFollow: --follow prints an event that happens after it
// started, ends cleanly when interrupted, and exits 3 when the manager
// goes away.
func TestEventsFollow(t *testing.T) {
	sock, srv := managerServer(t)
	l := startLive(t, "events", "--follow", "--interval", "50ms", "-o", "json", "--socket", sock)
	// Once it has printed what was there, a new event comes by a poll,
	// and none is printed twice.
	l.awaitOutput(t, "the events there before", func(s string) bool { return strings.Contains(s, `"kind":"manager-started"`) })
	var before []api.Event
	require.NoError(t, api.NewClient(sock).Do("GET", "/v1/events", nil, &before))
	require.False(t, containsKind(before, "maintenance"))
	rc, _, errOut := runCLI("maintenance", "on", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	l.awaitOutput(t, "the maintenance event", func(s string) bool { return strings.Contains(s, `"kind":"maintenance"`) })
	l.cancel()
	require.Equal(t, 0, l.wait(t), l.errOut.String())
	seen := map[uint64]bool{}
	for _, line := range strings.Split(strings.TrimSpace(l.out.String()), "\n") {
		var e api.Event
		require.NoError(t, json.Unmarshal([]byte(line), &e), "one JSON object a line: %s", line)
		require.False(t, seen[e.Seq], "event #%d printed twice", e.Seq)
		seen[e.Seq] = true
	}
	for _, e := range before {
		require.True(t, seen[e.Seq], "event #%d there before is printed", e.Seq)
	}
	require.Empty(t, l.errOut.String())

	// The manager going away ends it with the unreachable message.
	l2 := startLive(t, "events", "-f", "--interval", "50ms", "--socket", sock)
	l2.awaitOutput(t, "the first events", func(s string) bool { return strings.Contains(s, " maintenance") })
	require.NoError(t, srv.Close())
	require.Equal(t, 3, l2.wait(t))
	require.Contains(t, l2.errOut.String(), "basalt events: manager not reachable at "+sock)
}

// TestStatusWatch: off a terminal, each render follows a line with its
// time; interrupted, it exits 0 whatever the cluster's health.
func TestStatusWatch(t *testing.T) {
	sock := manager(t)
	l := startLive(t, "status", "--watch", "--interval", "50ms", "--socket", sock)
	l.awaitOutput(t, "two renders", func(s string) bool { return strings.Count(s, "Cluster oss-pair — ") >= 2 })
	l.cancel()
	require.Equal(t, 0, l.wait(t), "interrupted: exit 0, though the cluster needs attention")
	out := l.out.String()
	require.NotContains(t, out, clearScreen, "not a terminal: no escape codes")
	renders := strings.Split(out, "=== ")[1:]
	require.GreaterOrEqual(t, len(renders), 2)
	for _, r := range renders[:2] {
		require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(every 50ms\) ===\nCluster oss-pair — `, r)
	}

	// On a terminal, the screen is cleared before each render.
	prev := isTerminal
	isTerminal = func(io.Writer) bool { return true }
	lt := startLive(t, "status", "--watch", "--interval", "50ms", "--socket", sock)
	lt.awaitOutput(t, "two renders on a terminal", func(s string) bool { return strings.Count(s, "Cluster oss-pair — ") >= 2 })
	lt.cancel()
	require.Equal(t, 0, lt.wait(t))
	isTerminal = prev
	require.True(t, strings.HasPrefix(lt.out.String(), clearScreen+"=== "), "cleared first")
	require.Equal(t, strings.Count(lt.out.String(), "Cluster oss-pair — "), strings.Count(lt.out.String(), clearScreen), "cleared before each")

	// -o json: a stream of JSON values, one status each.
	lj := startLive(t, "status", "--watch", "--interval", "50ms", "-o", "json", "--socket", sock)
	lj.awaitOutput(t, "two JSON renders", func(s string) bool { return strings.Count(s, `"cluster": "oss-pair"`) >= 2 })
	lj.cancel()
	require.Equal(t, 0, lj.wait(t))
	dec := json.NewDecoder(strings.NewReader(lj.out.String()))
	for i := 0; i < 2; i++ {
		var v api.StatusView
		require.NoError(t, dec.Decode(&v))
		require.Equal(t, "oss-pair", v.Cluster)
	}

	rc, _, errOut := runCLI("status", "--interval", "1s", "--socket", sock)
	require.Equal(t, 2, rc)
	require.Contains(t, errOut, "--interval is --watch's")
	rc, _, errOut = runCLI("status", "--watch", "--interval", "0s", "--socket", sock)
	require.Equal(t, 2, rc)
	require.Contains(t, errOut, "--interval 0s: want a duration above 0")
}

// TestReportOutputFormats: report ID -o json is the report, and so is
// --wait's once it is closed, without the lines saying it is still OPEN.
// A fence with no peer to run it closes at once, FAILED.
func TestReportOutputFormats(t *testing.T) {
	sock := manager(t)
	rc, out, errOut := runCLI("host", "fence", "oss1", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	id := strings.TrimSpace(strings.TrimPrefix(out, "report "))
	rc, out, errOut = runCLI("report", id, "--wait", "--timeout", "10s", "-o", "json", "--socket", sock)
	require.Equal(t, 1, rc, "the fencing failed: %s", errOut)
	var rep api.ReportView
	require.NoError(t, json.Unmarshal([]byte(out), &rep), "one document, no progress lines: %s", out)
	require.Equal(t, id, rep.ID)
	require.Equal(t, api.ReportClosed, rep.State)
	require.True(t, rep.Failed)
	require.Contains(t, rep.Results["oss1"], "fencing failed")
	require.Equal(t, []string{"oss1"}, rep.Order, "the results' order travels with them")

	rc, out, _ = runCLI("report", id, "-o", "yaml", "--socket", sock)
	require.Equal(t, 0, rc)
	require.Contains(t, out, "id: "+id+"\n")
	require.Contains(t, out, "state: CLOSED\n")
	rc, out, _ = runCLI("report", id, "--socket", sock)
	require.Equal(t, 0, rc)
	require.True(t, strings.HasPrefix(out, "report "+id+": "), out)
	rc, _, errOut = runCLI("report", id, "-o", "xml", "--socket", sock)
	require.Equal(t, 2, rc)
	require.Contains(t, errOut, `-o/--output "xml": want one of text, json, yaml`)
}

// TestResourceListAndShow: the tree of groups and resources with their
// agents; one resource's parameters and states; one group's resources; a
// wrong name is exit 1 with the nearest.
func TestResourceListAndShow(t *testing.T) {
	sock := manager(t)
	rc, out, errOut := runCLI("resource", "list", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	// Its hosts are unreachable: nowhere to place it.
	require.True(t, strings.HasPrefix(out, "Group fs1 (OST pool 1): placed nowhere\n"), out)
	require.Contains(t, out, "\n  * pool1 (ZFS pool ost-pool1) ocf:basalt:statefile: Stopped")
	require.Contains(t, out, "\n    * ost0 (Lustre OST0000 mount) ocf:basalt:statefile: Stopped")
	require.Contains(t, out, "\n    * ost1 (Lustre OST0001 mount) ocf:basalt:statefile: Stopped")

	rc, out, _ = runCLI("resource", "list", "-o", "json", "--socket", sock)
	require.Equal(t, 0, rc)
	var groups []api.GroupView
	require.NoError(t, json.Unmarshal([]byte(out), &groups))
	require.Len(t, groups, 1)
	require.Equal(t, "/run/basalt/oss/pool1.state", groups[0].Resources[0].Params["state"])

	rc, out, errOut = runCLI("resource", "show", "ost0", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	require.True(t, strings.HasPrefix(out, "Resource ost0 (Lustre OST0000 mount), group fs1\n  agent:  ocf:basalt:statefile\n  state:  Stopped"), out)
	require.Contains(t, out, "\n  params:\n    state=/run/basalt/oss/ost0.state\n")

	rc, out, _ = runCLI("resource", "show", "pool1", "-o", "json", "--socket", sock)
	require.Equal(t, 0, rc)
	var d resourceDetail
	require.NoError(t, json.Unmarshal([]byte(out), &d))
	require.Equal(t, "fs1", d.Group)
	require.Equal(t, "pool1", d.ID)
	require.Equal(t, "ocf:basalt:statefile", d.Agent)

	rc, out, _ = runCLI("resource", "show", "fs1", "--socket", sock)
	require.Equal(t, 0, rc)
	require.True(t, strings.HasPrefix(out, "Group fs1 (OST pool 1): placed nowhere\n"), out)
	require.Contains(t, out, "  preferred:   oss1\n")
	for _, r := range []string{"pool1", "ost0", "ost1"} {
		require.Contains(t, out, "\n  Resource "+r+" (")
	}

	rc, out, errOut = runCLI("resource", "show", "poo1", "--socket", sock)
	require.Equal(t, 1, rc)
	require.Empty(t, out)
	require.Equal(t, "basalt resource show: no resource or group \"poo1\" (groups: fs1); did you mean pool1?\n", errOut)
	rc, _, errOut = runCLI("resource", "show", "--socket", sock)
	require.Equal(t, 2, rc)
	require.Contains(t, errOut, "missing GROUP|RESOURCE")
}

// TestEventsFollowNewLog: a manager started afresh on a new event log
// between two polls numbers its events from 1 again; the follower prints
// them rather than wait for numbers above the old log's. A fake manager
// plays the two logs: a real one cannot restart on its socket between
// two polls on cue.
func TestEventsFollowNewLog(t *testing.T) {
	var mu sync.Mutex
	log := []api.Event{}
	for i := 1; i <= 5; i++ {
		log = append(log, api.Event{Seq: uint64(i), Time: time.Now(), Kind: "old-log"})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
		out := []api.Event{}
		for _, e := range log {
			if e.Seq > after {
				out = append(out, e)
			}
		}
		if n, _ := strconv.Atoi(r.URL.Query().Get("n")); n > 0 && n < len(out) {
			out = out[len(out)-n:]
		}
		_ = json.NewEncoder(w).Encode(out)
	})
	sock := filepath.Join(t.TempDir(), "fake.sock")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	l := startLive(t, "events", "--follow", "--interval", "20ms", "--socket", sock)
	l.awaitOutput(t, "the old log", func(s string) bool { return strings.Count(s, " old-log") == 5 })
	mu.Lock()
	log = []api.Event{{Seq: 1, Time: time.Now(), Kind: "manager-started"}, {Seq: 2, Time: time.Now(), Kind: "new-log"}}
	mu.Unlock()
	l.awaitOutput(t, "the new log", func(s string) bool { return strings.Contains(s, " new-log") })
	l.cancel()
	require.Equal(t, 0, l.wait(t))
	require.Equal(t, 5, strings.Count(l.out.String(), " old-log"), "the old log once")
	require.Equal(t, 1, strings.Count(l.out.String(), " manager-started"))
}

// TestReportReadsInStartOrder: a report's results print in the order the
// manager gives (hosts, then resources in start order, then the verdict),
// not alphabetically; a key the manager did not order (an older manager
// orders none) comes after, sorted.
func TestReportReadsInStartOrder(t *testing.T) {
	rep := api.ReportView{ID: "r1-1", Request: "move store h2", State: api.ReportClosed,
		Results: map[string]string{"pool": "running on h2", "fs": "running on h2", "vip": "running on h2", "(verdict)": "x", "zz": "y"},
		Order:   []string{"pool", "fs", "vip", "(verdict)"}}
	var w strings.Builder
	printReport(&w, rep)
	require.Equal(t, "report r1-1: move store h2 — CLOSED done\n"+
		"  pool             running on h2\n"+
		"  fs               running on h2\n"+
		"  vip              running on h2\n"+
		"  (verdict)        x\n"+
		"  zz               y\n", w.String())
}

// TestStatusShowsConstraints: a ban and a move with a lifetime show in
// the status, each naming the request that set it; clear drops them.
func TestStatusShowsConstraints(t *testing.T) {
	sock := manager(t)
	rc, out, errOut := runCLI("resource", "ban", "fs1", "--host", "oss2", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	banID := strings.TrimSpace(strings.TrimPrefix(out, "report "))
	rc, out, errOut = runCLI("resource", "move", "fs1", "--host", "oss1", "--lifetime", "1h", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	moveID := strings.TrimSpace(strings.TrimPrefix(out, "report "))

	var v api.StatusView
	_, out, _ = runCLI("status", "-o", "json", "--socket", sock)
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Len(t, v.Constraints, 2, out)
	mv, ban := v.Constraints[0], v.Constraints[1]
	require.Equal(t, api.ConstraintView{Kind: "move", Group: "fs1", Host: "oss1", Until: mv.Until, By: moveID, Request: "move fs1 oss1 for 1h0m0s"}, mv)
	require.WithinDuration(t, time.Now().Add(time.Hour), mv.Until, time.Minute)
	require.Equal(t, api.ConstraintView{Kind: "ban", Group: "fs1", Host: "oss2", By: banID, Request: "ban fs1 oss2"}, ban)
	require.NotContains(t, out, "0001-01-01")

	_, out, _ = runCLI("status", "--socket", sock)
	require.Contains(t, out, "  fs1          banned from oss2 (ban), until cleared, set by "+banID+" (ban fs1 oss2)\n")

	rc, _, errOut = runCLI("resource", "clear", "fs1", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	_, out, _ = runCLI("status", "-o", "json", "--socket", sock)
	v = api.StatusView{}
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Empty(t, v.Constraints)
}

// TestReportList: every report the manager remembers, oldest first, with
// its kind, state and opening time; --open keeps those still OPEN; -o json
// is the list; a stray argument is a mistake.
func TestReportList(t *testing.T) {
	sock := manager(t)
	rc, out, errOut := runCLI("report", "list", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	require.Equal(t, "No reports.\n", out)
	rc, out, _ = runCLI("report", "list", "-o", "json", "--socket", sock)
	require.Equal(t, 0, rc)
	require.Equal(t, "[]\n", out)

	rc, out, errOut = runCLI("host", "fence", "oss1", "--wait", "--timeout", "10s", "--socket", sock)
	require.Equal(t, 1, rc, "the fencing fails: %s%s", out, errOut)
	rc, out, errOut = runCLI("resource", "ban", "fs1", "--host", "oss2", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	banID := strings.TrimSpace(strings.TrimPrefix(out, "report "))

	var reps []api.ReportView
	rc, out, errOut = runCLI("report", "list", "-o", "json", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &reps))
	require.Len(t, reps, 2, out)
	require.Equal(t, "fence", reps[0].Kind)
	require.Equal(t, api.ReportClosed, reps[0].State)
	require.True(t, reps[0].Failed)
	require.Equal(t, banID, reps[1].ID)
	require.Equal(t, "ban", reps[1].Kind)
	require.Equal(t, "ban fs1 oss2", reps[1].Request)
	require.False(t, reps[1].Created.Before(reps[0].Created), "oldest first")

	rc, out, _ = runCLI("report", "list", "--socket", sock)
	require.Equal(t, 0, rc)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 3, out)
	require.Regexp(t, `^ID\s+KIND\s+STATE\s+OPENED\s+REQUEST$`, lines[0])
	require.Regexp(t, `^`+reps[0].ID+`\s+fence\s+CLOSED FAILED\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  fence oss1$`, lines[1])
	require.Regexp(t, `^`+banID+`\s+ban\s+(OPEN|CLOSED done|CLOSED FAILED)\s+\S+  ban fs1 oss2$`, lines[2])

	rc, out, _ = runCLI("report", "list", "--open", "-o", "json", "--socket", sock)
	require.Equal(t, 0, rc)
	reps = nil
	require.NoError(t, json.Unmarshal([]byte(out), &reps))
	for _, r := range reps {
		require.NotEqual(t, api.ReportClosed, r.State, "--open lists only open reports")
	}

	rc, out, errOut = runCLI("report", "list", "r1-1", "--socket", sock)
	require.Equal(t, 2, rc)
	require.Empty(t, out)
	require.Contains(t, errOut, "basalt report list: ")
	require.Contains(t, errOut, hint("basalt report list"))
	rc, out, _ = runCLI("report", "list", "--help")
	require.Equal(t, 0, rc)
	require.True(t, strings.HasPrefix(out, "usage: basalt report list [--open]"), out)
}

// TestFenceDevices: every configured device with its agent and plugs;
// before any host joins, none is checked. -o json is the list.
func TestFenceDevices(t *testing.T) {
	sock := manager(t)
	rc, out, errOut := runCLI("fence", "devices", "-o", "json", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	var ds []api.FenceDeviceView
	require.NoError(t, json.Unmarshal([]byte(out), &ds))
	require.Len(t, ds, 2, out)
	require.Equal(t, "pid-oss1", ds[0].ID)
	require.Equal(t, "fence_basalt_pid", ds[0].Agent)
	require.Contains(t, ds[0].Plugs, "oss1")
	require.Empty(t, ds[0].Checks, "no agent runs: no host has checked it")

	rc, out, _ = runCLI("fence", "devices", "--socket", sock)
	require.Equal(t, 0, rc)
	require.Regexp(t, `^pid-oss1 \(fence_basalt_pid\): fences oss1 \(plug \S+\)\n  not checked yet: no host has joined\n`, out)

	rc, _, errOut = runCLI("fence", "devices", "pid-oss1", "--socket", sock)
	require.Equal(t, 2, rc)
	require.Contains(t, errOut, `basalt fence devices: unexpected argument "pid-oss1"`)
}

// TestFenceDevicesText: each device's last monitor from each host says
// whether the device answered, its rc and the agent's first line, or why
// no answer came.
func TestFenceDevicesText(t *testing.T) {
	at := time.Date(2026, 12, 2, 7, 30, 0, 0, time.UTC)
	var w strings.Builder
	printFenceDevices(&w, []api.FenceDeviceView{
		{ID: "ipmi-h1", Agent: "fence_ipmilan", Plugs: map[string]string{"h1": "1"}, Checks: []api.DeviceCheckView{
			{Host: "h1", At: at, OK: true},
			{Host: "h2", At: at, RC: 1, Output: "Unable to connect/login to fencing device"},
			{Host: "h3", At: at, Timeout: true},
			{Host: "h4", At: at, Lost: "no result in time"}}},
		{ID: "pdu", Agent: "fence_apc", Plugs: map[string]string{"h2": "4", "h1": "3"}, Checks: []api.DeviceCheckView{}}})
	require.Equal(t, `ipmi-h1 (fence_ipmilan): fences h1 (plug 1)
  monitor from h1         OK at 2026-12-02T07:30:00Z
  monitor from h2         FAILED: rc 1: Unable to connect/login to fencing device at 2026-12-02T07:30:00Z
  monitor from h3         FAILED: timed out at 2026-12-02T07:30:00Z
  monitor from h4         NO ANSWER: no result in time at 2026-12-02T07:30:00Z
pdu (fence_apc): fences h1 (plug 3), h2 (plug 4)
  not checked yet: no host has joined
`, w.String())
	w.Reset()
	printFenceDevices(&w, []api.FenceDeviceView{})
	require.Equal(t, "No fence devices configured (fencing is off).\n", w.String())
}
