package agents

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type agentRun struct {
	rc     int
	stdout string
	stderr string
}

// runStatefile runs the agent the way an LRM does: parameters in the
// environment, its own process group, no shell.
func runStatefile(t *testing.T, shell, action string, params map[string]string, depth int) agentRun {
	t.Helper()
	return runStatefileEnv(t, shell, action, params, depth, nil)
}

// runStatefileEnv is runStatefile with more of the environment (later
// entries win: OCF_RESOURCE_INSTANCE, HA_SBIN_DIR).
func runStatefileEnv(t *testing.T, shell, action string, params map[string]string, depth int, env []string) agentRun {
	t.Helper()
	root, err := OCFRoot()
	require.NoError(t, err)
	path := filepath.Join(root, "resource.d", "basalt", "statefile")
	args := []string{action}
	if shell != "" {
		args = []string{path, action}
		path = shell
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT=" + root, "OCF_RESOURCE_INSTANCE=rsc1",
		"OCF_CHECK_LEVEL=" + strconv.Itoa(depth)}
	for k, v := range params {
		cmd.Env = append(cmd.Env, "OCF_RESKEY_"+k+"="+v)
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	rc := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		rc = exitErr.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return agentRun{rc: rc, stdout: out.String(), stderr: errOut.String()}
}

// shells lists the ways to run a script: by its own #! ("") and, when
// TestStatefileRoles: promote, demote and the promotion score, as a
// promotable clone runs them: monitor says 8 while promoted (the marker
// beside the state file), 0 once demoted; promote and demote are
// idempotent; stop ends the role with the instance. With a promotion_score
// list, start, promote and demote publish the Nth score (from 0) for
// instance rsc:N through HA_SBIN_DIR's crm_attribute and stop deletes it;
// the last score serves instances beyond the list, a single one every
// instance; a bad score is a configuration error.
func TestStatefileRoles(t *testing.T) {
	dir := t.TempDir()
	sbin := filepath.Join(dir, "sbin")
	calls := filepath.Join(dir, "calls")
	require.NoError(t, os.MkdirAll(sbin, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sbin, "crm_attribute"), []byte("#!/bin/sh\necho \"$*\" >>"+calls+"\n"), 0o755))
	p := map[string]string{"state": filepath.Join(dir, "r.state"), "promotion_score": "20 15 30 5"}
	env := []string{"OCF_RESOURCE_INSTANCE=rsc1:2", "HA_SBIN_DIR=" + sbin}
	for i, step := range []struct {
		action string
		rc     int
	}{
		{"promote", 7}, {"demote", 7}, {"start", 0}, {"monitor", 0}, {"demote", 0}, {"promote", 0}, {"monitor", 8},
		{"promote", 0}, {"monitor", 8}, {"demote", 0}, {"monitor", 0}, {"promote", 0}, {"stop", 0}, {"monitor", 7},
	} {
		r := runStatefileEnv(t, "", step.action, p, 0, env)
		require.Equal(t, step.rc, r.rc, "step %d %s: %s", i, step.action, r.stderr)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "only sbin and the calls: no state, marker or temporary file left")
	b, err := os.ReadFile(calls)
	require.NoError(t, err)
	set := "--promotion -v 30\n"
	require.Equal(t, strings.Repeat(set, 6)+"--promotion -D\n", string(b), "a start, 2 demotes and 3 promotes that ran set it, then the stop deletes it")
	for _, c := range []struct{ score, instance, want string }{{"20 15", "rsc1:7", "15"}, {"40", "rsc1:1", "40"}, {"40", "rsc1", "40"}} {
		require.NoError(t, os.Remove(calls))
		p["promotion_score"] = c.score
		r := runStatefileEnv(t, "", "start", p, 0, []string{"OCF_RESOURCE_INSTANCE=" + c.instance, "HA_SBIN_DIR=" + sbin})
		require.Equal(t, 0, r.rc, r.stderr)
		b, err := os.ReadFile(calls)
		require.NoError(t, err)
		require.Equal(t, "--promotion -v "+c.want+"\n", string(b), "%s of %q", c.instance, c.score)
		require.Equal(t, 0, runStatefileEnv(t, "", "stop", p, 0, env).rc)
	}
	p["promotion_score"] = "high"
	r := runStatefileEnv(t, "", "validate-all", p, 0, env)
	require.Equal(t, 6, r.rc)
	require.Contains(t, r.stderr, "promotion_score must be")
}

// installed, explicitly through dash, the strictest common POSIX shell.
func shells() []string {
	out := []string{""}
	if _, err := os.Stat("/bin/dash"); err == nil {
		out = append(out, "/bin/dash")
	}
	return out
}

func shellName(sh string) string {
	if sh == "" {
		return "shebang"
	}
	return filepath.Base(sh)
}

func TestStatefileLifecycle(t *testing.T) {
	for _, sh := range shells() {
		t.Run(shellName(sh), func(t *testing.T) {
			dir := t.TempDir()
			p := map[string]string{"state": filepath.Join(dir, "r.state")}
			for i, step := range []struct {
				action string
				depth  int
				rc     int
			}{
				{"monitor", 0, 7}, {"stop", 0, 0}, {"start", 0, 0}, {"start", 0, 0}, {"monitor", 0, 0},
				{"monitor", 10, 0}, {"stop", 0, 0}, {"stop", 0, 0}, {"monitor", 10, 7}, {"validate-all", 0, 0},
			} {
				r := runStatefile(t, sh, step.action, p, step.depth)
				require.Equal(t, step.rc, r.rc, "step %d %s depth %d: %s", i, step.action, step.depth, r.stderr)
			}
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries, "no temporary file is left behind")
		})
	}
}

func TestStatefileDepth10FindsCorruption(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "r.state")
	p := map[string]string{"state": state}
	require.Equal(t, 0, runStatefile(t, "", "start", p, 0).rc)
	content, err := os.ReadFile(state)
	require.NoError(t, err)
	require.Regexp(t, `^running instance=rsc1 since=[0-9]+ pid=[0-9]+\n$`, string(content))
	for _, corrupt := range []string{
		"garbage\n",
		"",
		"running instance=other since=1 pid=2\n",
		"running instance=rsc1 since=soon pid=2\n",
		"running instance=rsc1 since=1 pid=\n",
		"running instance=rsc1 since=1\n",
	} {
		require.NoError(t, os.WriteFile(state, []byte(corrupt), 0o644))
		require.Equal(t, 0, runStatefile(t, "", "monitor", p, 0).rc, "depth 0 only checks presence")
		r := runStatefile(t, "", "monitor", p, 10)
		require.Equal(t, 1, r.rc, "content %q", corrupt)
		require.Contains(t, r.stderr, "ocf-exit-reason:state file", "content %q", corrupt)
	}
	// Start repairs a corrupt file rather than trusting it.
	require.Equal(t, 0, runStatefile(t, "", "start", p, 0).rc)
	require.Equal(t, 0, runStatefile(t, "", "monitor", p, 10).rc)
}

func TestStatefileFailureMarkers(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "r.state")
	p := map[string]string{"state": state}
	marker := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "r.state."+name), []byte(content), 0o644))
	}
	unmark := func(name string) { require.NoError(t, os.Remove(filepath.Join(dir, "r.state."+name))) }

	marker("fail-start", "")
	r := runStatefile(t, "", "start", p, 0)
	require.Equal(t, 1, r.rc)
	require.Contains(t, r.stderr, "ocf-exit-reason:injected start failure")
	require.NoFileExists(t, state)
	marker("fail-start", "5\n")
	require.Equal(t, 5, runStatefile(t, "", "start", p, 0).rc)
	unmark("fail-start")

	// A monitor marker affects monitor only, not start's own check.
	marker("fail-monitor", "")
	require.Equal(t, 0, runStatefile(t, "", "start", p, 0).rc)
	require.FileExists(t, state)
	r = runStatefile(t, "", "monitor", p, 0)
	require.Equal(t, 7, r.rc, "monitor marker defaults to 'found dead'")
	require.Contains(t, r.stderr, "ocf-exit-reason:injected monitor failure")
	marker("fail-monitor", "190")
	require.Equal(t, 190, runStatefile(t, "", "monitor", p, 10).rc)
	unmark("fail-monitor")
	require.Equal(t, 0, runStatefile(t, "", "monitor", p, 10).rc)

	marker("fail-stop", "")
	r = runStatefile(t, "", "stop", p, 0)
	require.Equal(t, 1, r.rc)
	require.Contains(t, r.stderr, "ocf-exit-reason:injected stop failure")
	require.FileExists(t, state, "a failed stop leaves it running")
	marker("fail-stop", "4")
	require.Equal(t, 4, runStatefile(t, "", "stop", p, 0).rc)

	// Markers are looked up in fail_dir once it is set.
	other := t.TempDir()
	p["fail_dir"] = other
	require.Equal(t, 0, runStatefile(t, "", "stop", p, 0).rc, "markers in the state dir are ignored now")
	require.NoError(t, os.WriteFile(filepath.Join(other, "r.state.fail-start"), []byte("6"), 0o644))
	require.Equal(t, 6, runStatefile(t, "", "start", p, 0).rc)
	require.NoFileExists(t, state)
}

func TestStatefileHangKilledWithItsGroup(t *testing.T) {
	for _, action := range []string{"start", "stop", "monitor"} {
		t.Run(action, func(t *testing.T) {
			dir := t.TempDir()
			state := filepath.Join(dir, "r.state")
			if action != "start" {
				require.NoError(t, os.WriteFile(state, []byte("running instance=h since=1 pid=1\n"), 0o644))
			}
			require.NoError(t, os.WriteFile(state+".hang-"+action, nil, 0o644))
			cmd, done := startStatefile(t, action, "OCF_RESKEY_state="+state)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// The agent has reached its hang once its child sleep exists
			// in its process group.
			pgid := cmd.Process.Pid
			awaitGroupChild(ctx, t, pgid, "sleep", done)
			// Killing the leader alone would leave the sleep behind; the
			// LRM kills the whole group.
			require.NoError(t, syscall.Kill(-pgid, syscall.SIGKILL))
			<-done
			for len(liveGroupMembers(pgid)) > 0 {
				require.NoError(t, ctx.Err(), "process group %d survived: %v", pgid, liveGroupMembers(pgid))
				time.Sleep(5 * time.Millisecond)
			}
			if action == "start" {
				require.NoFileExists(t, state)
			} else {
				require.FileExists(t, state)
			}
		})
	}
}

func TestStatefileDelaySleepsBeforeActing(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "r.state")
	cmd, done := startStatefile(t, "start", "OCF_RESKEY_state="+state, "OCF_RESKEY_delay=1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	awaitGroupChild(ctx, t, cmd.Process.Pid, "sleep", done)
	require.NoFileExists(t, state, "the state file appears only after the delay")
	require.NoError(t, <-done)
	require.FileExists(t, state)

	r := runStatefile(t, "", "validate-all", map[string]string{"state": state, "delay": "1s"}, 0)
	require.Equal(t, 6, r.rc)
	require.Contains(t, r.stderr, "ocf-exit-reason:delay")
}

// startStatefile starts the agent in its own process group, as the LRM
// does, and returns the channel its Wait result arrives on.
func startStatefile(t *testing.T, action string, env ...string) (*exec.Cmd, chan error) {
	t.Helper()
	root, err := OCFRoot()
	require.NoError(t, err)
	cmd := exec.Command(filepath.Join(root, "resource.d", "basalt", "statefile"), action)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "OCF_RESOURCE_INSTANCE=h"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	return cmd, done
}

// awaitGroupChild polls until a process named comm runs in group pgid,
// failing if the agent ends first or ctx expires.
func awaitGroupChild(ctx context.Context, t *testing.T, pgid int, comm string, done chan error) {
	t.Helper()
	for !groupHasChild(pgid, comm) {
		select {
		case err := <-done:
			t.Fatalf("the agent ended before its %s child appeared: %v", comm, err)
		case <-ctx.Done():
			t.Fatalf("no %s child appeared in group %d", comm, pgid)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestStatefileNeverEvaluatesParameters(t *testing.T) {
	dir := t.TempDir()
	evil := filepath.Join(dir, "$(touch pwned)`touch pwned2`")
	require.NoError(t, os.MkdirAll(evil, 0o755))
	state := filepath.Join(evil, "x;touch pwned3.state")
	r := runStatefile(t, "", "start", map[string]string{"state": state}, 0)
	require.Equal(t, 0, r.rc, r.stderr)
	require.FileExists(t, state, "the literal file name was used")
	for _, f := range []string{"pwned", "pwned2", "pwned3.state"} {
		require.NoFileExists(t, filepath.Join(dir, f))
		require.NoFileExists(t, filepath.Join("/", f))
	}
}

func TestStatefileValidateAndActions(t *testing.T) {
	dir := t.TempDir()
	missing := map[string]string{"state": filepath.Join(dir, "nonexistent-dir", "x")}
	r := runStatefile(t, "", "validate-all", missing, 0)
	require.Equal(t, 5, r.rc, "a directory missing on this host: ERR_INSTALLED")
	require.Contains(t, r.stderr, "ocf-exit-reason:directory")
	r = runStatefile(t, "", "validate-all", map[string]string{"state": "relative"}, 0)
	require.Equal(t, 6, r.rc, "a relative path is wrong everywhere: ERR_CONFIGURED")
	require.Contains(t, r.stderr, "ocf-exit-reason:state must be an absolute path")
	require.Equal(t, 6, runStatefile(t, "", "start", map[string]string{"state": "relative"}, 0).rc)
	require.Equal(t, 5, runStatefile(t, "", "start", missing, 0).rc)
	require.Equal(t, 7, runStatefile(t, "", "monitor", missing, 0).rc,
		"a probe where the resource cannot exist finds it stopped")
	require.Equal(t, 0, runStatefile(t, "", "stop", missing, 0).rc, "nothing can run there, so stop succeeds")

	ok := map[string]string{"state": filepath.Join(dir, "s")}
	require.Equal(t, 7, runStatefile(t, "", "promote", ok, 0).rc, "promote of a stopped resource: not running")
	for _, action := range []string{"notify", "reload", "migrate_to", "bogus"} {
		require.Equal(t, 3, runStatefile(t, "", action, ok, 0).rc, action)
	}
	require.Equal(t, 2, runStatefile(t, "", "", nil, 0).rc)
	for _, action := range []string{"usage", "help"} {
		r := runStatefile(t, "", action, nil, 0)
		require.Equal(t, 0, r.rc)
		require.Contains(t, r.stdout, "start|stop|monitor")
	}
	require.NoFileExists(t, ok["state"], "none of these started anything")
}

func TestStatefileMetaData(t *testing.T) {
	r := runStatefile(t, "", "meta-data", nil, 0)
	require.Equal(t, 0, r.rc)
	var md struct {
		Name   string `xml:"name,attr"`
		Params []struct {
			Name     string `xml:"name,attr"`
			Required string `xml:"required,attr"`
		} `xml:"parameters>parameter"`
		Actions []struct {
			Name  string `xml:"name,attr"`
			Depth string `xml:"depth,attr"`
		} `xml:"actions>action"`
	}
	require.NoError(t, xml.Unmarshal([]byte(r.stdout), &md))
	require.Equal(t, "statefile", md.Name)
	var params, actions []string
	for _, p := range md.Params {
		params = append(params, p.Name)
	}
	for _, a := range md.Actions {
		actions = append(actions, a.Name+a.Depth)
	}
	require.Equal(t, []string{"state", "fail_dir", "delay", "promotion_score"}, params)
	require.Equal(t, "0", md.Params[0].Required, "state defaults to the runtime directory")
	require.Equal(t, []string{"start", "stop", "promote", "demote", "monitor0", "monitor10", "meta-data", "validate-all"}, actions)
}

// TestStatefilePassesOCFTester runs Debian's ocf-tester against the agent.
func TestStatefilePassesOCFTester(t *testing.T) {
	const tester = "/usr/sbin/ocf-tester"
	if _, err := os.Stat(tester); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing: `make deps` should have installed resource-agents", tester)
		}
		t.Skipf("%s not installed (run `make deps`)", tester)
	}
	root, err := OCFRoot()
	require.NoError(t, err)
	state := filepath.Join(t.TempDir(), "tester.state")
	cmd := exec.Command(tester, "-n", "test", "-o", "state="+state, filepath.Join(root, "resource.d", "basalt", "statefile"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "ocf-tester said:\n%s", out)
	require.Contains(t, string(out), "passed all tests")
}

func TestStatefileSyntaxIsPOSIX(t *testing.T) {
	root, err := OCFRoot()
	require.NoError(t, err)
	for _, sh := range []string{"/bin/sh", "/bin/dash"} {
		if _, err := os.Stat(sh); err != nil {
			continue
		}
		out, err := exec.Command(sh, "-n", filepath.Join(root, "resource.d", "basalt", "statefile")).CombinedOutput()
		require.NoError(t, err, "%s -n: %s", sh, out)
	}
}

// groupMember is one live (not zombie) process of a process group.
type groupMember struct {
	pid  int
	comm string
}

// liveGroupMembers lists the processes of group pgid that still run. A
// zombie is left out: it is dead and only waits for a reaper, which in a
// container may be slow to come.
func liveGroupMembers(pgid int) []groupMember {
	var out []groupMember
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and ")".
		open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(string(stat[end+1:]))
		if len(fields) < 3 || fields[0] == "Z" || fields[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(fields[2]); err != nil || g != pgid {
			continue
		}
		out = append(out, groupMember{pid: pid, comm: string(stat[open+1 : end])})
	}
	return out
}

// groupHasChild reports whether a live process named comm, other than the
// leader, runs in group pgid.
func groupHasChild(pgid int, comm string) bool {
	for _, m := range liveGroupMembers(pgid) {
		if m.pid != pgid && m.comm == comm {
			return true
		}
	}
	return false
}

func TestStatefileDefaultsToTheRuntimeDirectory(t *testing.T) {
	root, err := OCFRoot()
	require.NoError(t, err)
	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(root, "resource.d", "basalt", "statefile"), "start")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HA_RSCTMP=" + dir, "OCF_RESOURCE_INSTANCE=pool"}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.FileExists(t, filepath.Join(dir, "statefile-pool.state"))
}

// A count limits a marker to that many runs, as a scenario's "fail the
// next two starts" needs.
func TestStatefileCountedMarkers(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "r.state")
	p := map[string]string{"state": state}
	marker := filepath.Join(dir, "r.state.fail-start")
	require.NoError(t, os.WriteFile(marker, []byte("6\n2\n"), 0o644))
	require.Equal(t, 6, runStatefile(t, "", "start", p, 0).rc)
	data, err := os.ReadFile(marker)
	require.NoError(t, err)
	require.Equal(t, "6\n1\n", string(data), "one run used")
	require.Equal(t, 6, runStatefile(t, "", "start", p, 0).rc)
	require.NoFileExists(t, marker, "the last run removes it")
	require.Equal(t, 0, runStatefile(t, "", "start", p, 0).rc)

	// A hang marker's count is on its first line.
	hang := filepath.Join(dir, "r.state.hang-stop")
	require.NoError(t, os.WriteFile(hang, []byte("1\n"), 0o644))
	cmd := exec.Command(filepath.Join(mustRoot(t), "resource.d", "basalt", "statefile"), "stop")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT=" + mustRoot(t), "OCF_RESOURCE_INSTANCE=rsc1", "OCF_RESKEY_state=" + state}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for !groupHasChild(cmd.Process.Pid, "sleep") {
		require.True(t, time.Now().Before(deadline), "the stop never reached its hang")
		time.Sleep(10 * time.Millisecond)
	}
	require.NoFileExists(t, hang, "a one-run hang marker is used up by the run that hangs")
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL))
	<-done
	require.Equal(t, 0, runStatefile(t, "", "stop", p, 0).rc, "the next stop does not hang")
}

func mustRoot(t *testing.T) string {
	root, err := OCFRoot()
	require.NoError(t, err)
	return root
}
