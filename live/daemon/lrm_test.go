package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/live/process"
)

const debianOCFRoot = "/usr/lib/ocf"

// requireInstalled skips when a Debian agent is missing on a developer's
// machine, but fails in CI, where `make deps` must have installed it.
func requireInstalled(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: `make deps` should have installed it", path)
		}
		t.Skipf("%s is not installed (run `make deps`)", path)
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newDriver(t testing.TB, cfg lrm.Config, runner proc.Runner) *LRM {
	t.Helper()
	if cfg.OCFRoot == "" {
		cfg.OCFRoot = debianOCFRoot
	}
	d, err := NewLRM(cfg, clock.New(), runner, quietLog())
	require.NoError(t, err)
	t.Cleanup(d.Close)
	return d
}

func exec1(t testing.TB, d *LRM, req lrm.OpRequest) lrm.Result {
	t.Helper()
	if req.Timeout == 0 {
		req.Timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := d.Exec(ctx, req)
	require.NoError(t, err)
	return res
}

func TestDebianDummyAgentsLifecycle(t *testing.T) {
	for _, provider := range []string{"heartbeat", "pacemaker"} {
		t.Run(provider, func(t *testing.T) {
			requireInstalled(t, filepath.Join(debianOCFRoot, "resource.d", provider, "Dummy"))
			d := newDriver(t, lrm.Config{}, process.NewRunner())
			state := filepath.Join(t.TempDir(), "dummy.state")
			require.NoError(t, d.Register(lrm.Resource{ID: "dummy-" + provider, Name: "Dummy via " + provider,
				Agent: ocf.Agent{Provider: provider, Type: "Dummy"}, Params: map[string]string{"state": state}}))
			steps := []struct {
				action ocf.Action
				rc     ocf.RC
			}{{ocf.Monitor, ocf.NotRunning}, {ocf.Start, ocf.OK}, {ocf.Monitor, ocf.OK}, {ocf.Stop, ocf.OK}, {ocf.Monitor, ocf.NotRunning}}
			for i, s := range steps {
				res := exec1(t, d, lrm.OpRequest{Resource: "dummy-" + provider, Action: s.action})
				require.Equal(t, lrm.Done, res.Status, "step %d %s: %s", i, s.action, res)
				require.Equal(t, s.rc, res.RC, "step %d %s: %s", i, s.action, res)
				require.False(t, res.Failed(), "step %d: %s", i, res)
				if s.action == ocf.Start {
					require.FileExists(t, state)
				}
			}
			md := exec1(t, d, lrm.OpRequest{Resource: "dummy-" + provider, Action: ocf.MetaDataAction})
			require.Equal(t, ocf.OK, md.RC)
			meta, err := ocf.ParseMetaData([]byte(md.Output))
			require.NoError(t, err)
			_, ok := meta.Parameter("state")
			require.True(t, ok, "Dummy declares its state parameter")
			h, ok := d.History("dummy-" + provider)
			require.True(t, ok)
			require.Equal(t, ocf.MetaDataAction, h.Last.Key.Action)
		})
	}
}

func TestTimeoutKillsTheWholeProcessGroup(t *testing.T) {
	requireInstalled(t, filepath.Join(debianOCFRoot, "resource.d/heartbeat/Delay"))
	runner := process.NewRunner()
	pgids := make(chan int, 1)
	runner.OnStart(func(_ proc.ID, pgid int) { pgids <- pgid })
	d := newDriver(t, lrm.Config{}, runner)
	// Delay keeps a state file named after the instance outside our
	// control, so the instance is unique per run and stopped afterwards.
	id := fmt.Sprintf("basalt-test-delay-%d", os.Getpid())
	require.NoError(t, d.Register(lrm.Resource{ID: id, Name: "slow start",
		Agent: ocf.Agent{Provider: "heartbeat", Type: "Delay"}, Params: map[string]string{"startdelay": "30", "stopdelay": "0"}}))
	t.Cleanup(func() { exec1(t, d, lrm.OpRequest{Resource: id, Action: ocf.Stop}) })
	res := exec1(t, d, lrm.OpRequest{Resource: id, Action: ocf.Start, Timeout: 2 * time.Second})
	require.Equal(t, lrm.Timeout, res.Status, res.String())
	require.True(t, res.Failed())
	pgid := <-pgids
	// Delay runs `sleep` as a child: after the reap nothing of the group
	// may be left.
	err := syscall.Kill(-pgid, 0)
	require.ErrorIs(t, err, syscall.ESRCH, "process group %d still has members", pgid)
	require.Equal(t, 0, runner.Running())
}

func TestRecurringMonitorNoticesDeletedStateFileOnce(t *testing.T) {
	requireInstalled(t, filepath.Join(debianOCFRoot, "resource.d/heartbeat/Dummy"))
	d := newDriver(t, lrm.Config{}, process.NewRunner())
	state := filepath.Join(t.TempDir(), "watched.state")
	require.NoError(t, d.Register(lrm.Resource{ID: "w", Name: "watched dummy",
		Agent: ocf.Agent{Provider: "heartbeat", Type: "Dummy"}, Params: map[string]string{"state": state}}))
	require.Equal(t, ocf.OK, exec1(t, d, lrm.OpRequest{Resource: "w", Action: ocf.Start}).RC)

	notes := make(chan lrm.Result, 100)
	d.Subscribe("test", func(r lrm.Result) {
		if r.Interval > 0 {
			notes <- r
		}
	})
	_, err := d.Submit(lrm.OpRequest{Resource: "w", Action: ocf.Monitor, Interval: 50 * time.Millisecond, Timeout: 10 * time.Second})
	require.NoError(t, err)
	first := await(t, notes)
	require.Equal(t, ocf.OK, first.RC, first.String())

	require.NoError(t, os.Remove(state))
	failed := await(t, notes)
	require.Equal(t, ocf.NotRunning, failed.RC, failed.String())
	require.True(t, failed.Failed())

	// Let the monitor run many more times: no further notification, since
	// its result does not change. The wait is bounded by counting runs in
	// the history, not by sleeping a guessed time.
	waitFor(t, func() bool {
		h, _ := d.History("w")
		return countRuns(h, failed.CallID) >= 10
	})
	select {
	case r := <-notes:
		t.Fatalf("unexpected second notification: %s", r)
	default:
	}
}

func countRuns(h lrm.History, call lrm.CallID) int {
	n := 0
	for _, r := range h.Recent {
		if r.CallID == call {
			n++
		}
	}
	return n
}

func await(t *testing.T, ch <-chan lrm.Result) lrm.Result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no result within 30s")
		return lrm.Result{}
	}
}

// waitFor polls cond, bounded: a deadline turns a hang into a failure.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recordingRunner wraps a runner and records each process's real start and
// end per resource, to prove the LRM never overlapped two of them.
type recordingRunner struct {
	inner proc.Runner
	mu    sync.Mutex
	spans map[string][][2]time.Time
	open  map[proc.ID]int
	names map[proc.ID]string
}

func (r *recordingRunner) Start(id proc.ID, spec proc.Spec, onExit func(proc.ID, proc.Exit)) error {
	rsc := ""
	for _, kv := range spec.Env {
		if v, ok := cutPrefix(kv, "OCF_RESOURCE_INSTANCE="); ok {
			rsc = v
		}
	}
	r.mu.Lock()
	r.spans[rsc] = append(r.spans[rsc], [2]time.Time{time.Now()})
	r.open[id] = len(r.spans[rsc]) - 1
	r.names[id] = rsc
	r.mu.Unlock()
	return r.inner.Start(id, spec, func(id proc.ID, x proc.Exit) {
		r.mu.Lock()
		r.spans[r.names[id]][r.open[id]][1] = time.Now()
		r.mu.Unlock()
		onExit(id, x)
	})
}

func (r *recordingRunner) Kill(id proc.ID) error { return r.inner.Kill(id) }

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

func TestTwoHundredResourcesInParallelNeverOverlapPerResource(t *testing.T) {
	requireInstalled(t, filepath.Join(debianOCFRoot, "resource.d/heartbeat/Dummy"))
	rec := &recordingRunner{inner: process.NewRunner(), spans: map[string][][2]time.Time{}, open: map[proc.ID]int{}, names: map[proc.ID]string{}}
	d := newDriver(t, lrm.Config{MaxConcurrent: 32, MaxQueued: 4096}, rec)
	dir := t.TempDir()
	const n = 200
	var mu sync.Mutex
	results := map[string][]lrm.Result{}
	done := make(chan struct{})
	total := 0
	d.Subscribe("test", func(r lrm.Result) {
		mu.Lock()
		defer mu.Unlock()
		results[r.Resource] = append(results[r.Resource], r)
		total++
		if total == n*4 {
			close(done)
		}
	})
	for i := range n {
		id := fmt.Sprintf("r%03d", i)
		require.NoError(t, d.Register(lrm.Resource{ID: id, Name: "parallel " + id,
			Agent: ocf.Agent{Provider: "heartbeat", Type: "Dummy"}, Params: map[string]string{"state": filepath.Join(dir, id)}}))
	}
	// Submit everything at once: per resource start, monitor, stop,
	// monitor; the LRM must serialise each resource and parallelise across.
	for _, action := range []ocf.Action{ocf.Start, ocf.Monitor, ocf.Stop, ocf.Monitor} {
		for i := range n {
			_, err := d.Submit(lrm.OpRequest{Resource: fmt.Sprintf("r%03d", i), Action: action, Timeout: time.Minute})
			require.NoError(t, err)
		}
	}
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("only %d of %d results", total, n*4)
	}
	mu.Lock()
	defer mu.Unlock()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i := range n {
		id := fmt.Sprintf("r%03d", i)
		rs := results[id]
		require.Len(t, rs, 4, id)
		want := []ocf.RC{ocf.OK, ocf.OK, ocf.OK, ocf.NotRunning}
		for j, r := range rs {
			require.Equal(t, want[j], r.RC, "%s op %d: %s", id, j, r)
		}
		spans := rec.spans[id]
		require.Len(t, spans, 4, id)
		for j := 1; j < len(spans); j++ {
			require.False(t, spans[j][0].Before(spans[j-1][1]),
				"%s: run %d started %s before run %d ended", id, j, spans[j-1][1].Sub(spans[j][0]), j-1)
		}
	}
}

func TestParameterValuesAreNeverExecuted(t *testing.T) {
	root := t.TempDir()
	agentDir := filepath.Join(root, "resource.d", "test")
	require.NoError(t, os.MkdirAll(agentDir, 0o755))
	// The agent prints its parameter and reports whether it saw it intact.
	script := "#!/bin/sh\nprintf '%s' \"$OCF_RESKEY_value\"\nexit 0\n"
	require.NoError(t, os.WriteFile(filepath.Join(agentDir, "echo"), []byte(script), 0o755))
	work := t.TempDir()
	value := "$(touch " + filepath.Join(work, "pwned") + ") `touch " + filepath.Join(work, "pwned2") + "`; touch " + filepath.Join(work, "pwned3")
	d := newDriver(t, lrm.Config{OCFRoot: root}, process.NewRunner())
	require.NoError(t, d.Register(lrm.Resource{ID: "echo", Agent: ocf.Agent{Provider: "test", Type: "echo"},
		Params: map[string]string{"value": value}}))
	res := exec1(t, d, lrm.OpRequest{Resource: "echo", Action: ocf.Start})
	require.Equal(t, ocf.OK, res.RC)
	require.Equal(t, value, res.Output, "the value reached the agent verbatim")
	entries, err := os.ReadDir(work)
	require.NoError(t, err)
	require.Empty(t, entries, "nothing was executed")
}

func TestAgentLinkEscapingRootIsRefused(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "evil")
	require.NoError(t, os.WriteFile(outside, []byte("#!/bin/sh\nexit 0\n"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "resource.d", "x"), 0o755))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "resource.d", "x", "evil")))
	d := newDriver(t, lrm.Config{OCFRoot: root}, process.NewRunner())
	err := d.Register(lrm.Resource{ID: "e", Agent: ocf.Agent{Provider: "x", Type: "evil"}})
	require.ErrorContains(t, err, "outside")
}

func TestMissingAgentIsNotInstalled(t *testing.T) {
	d := newDriver(t, lrm.Config{OCFRoot: t.TempDir()}, process.NewRunner())
	require.NoError(t, d.Register(lrm.Resource{ID: "m", Agent: ocf.Agent{Provider: "none", Type: "Missing"}}))
	probe := exec1(t, d, lrm.OpRequest{Resource: "m", Action: ocf.Monitor})
	require.Equal(t, lrm.NotInstalled, probe.Status)
	require.Equal(t, ocf.Stopped, probe.Outcome, "a probe of a missing agent finds the resource stopped")
	start := exec1(t, d, lrm.OpRequest{Resource: "m", Action: ocf.Start})
	require.Equal(t, ocf.HardFailure, start.Outcome)
}
