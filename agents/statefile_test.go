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

func shells(t *testing.T) []string {
	out := []string{""} // the script's own #!/bin/sh
	if _, err := os.Stat("/bin/dash"); err == nil {
		out = append(out, "/bin/dash")
	}
	return out
}

func TestStatefileLifecycle(t *testing.T) {
	for _, sh := range shells(t) {
		t.Run("shell="+filepath.Base(sh+"default"), func(t *testing.T) {
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
	require.True(t, strings.HasPrefix(string(content), "running instance=rsc1 since="), string(content))
	require.NoError(t, os.WriteFile(state, []byte("garbage\n"), 0o644))
	require.Equal(t, 0, runStatefile(t, "", "monitor", p, 0).rc, "depth 0 only checks presence")
	r := runStatefile(t, "", "monitor", p, 10)
	require.Equal(t, 1, r.rc)
	require.Contains(t, r.stderr, "ocf-exit-reason:state file")
}

func TestStatefileFailureMarkers(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "r.state")
	p := map[string]string{"state": state}
	marker := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "r.state."+name), []byte(content), 0o644))
	}
	marker("fail-start", "")
	r := runStatefile(t, "", "start", p, 0)
	require.Equal(t, 1, r.rc)
	require.Contains(t, r.stderr, "ocf-exit-reason:injected start failure")
	require.NoFileExists(t, state)
	marker("fail-start", "5\n")
	require.Equal(t, 5, runStatefile(t, "", "start", p, 0).rc)
	require.NoError(t, os.Remove(filepath.Join(dir, "r.state.fail-start")))

	require.Equal(t, 0, runStatefile(t, "", "start", p, 0).rc)
	marker("fail-monitor", "")
	require.Equal(t, 7, runStatefile(t, "", "monitor", p, 0).rc, "monitor marker defaults to 'found dead'")
	marker("fail-stop", "1")
	require.Equal(t, 1, runStatefile(t, "", "stop", p, 0).rc)
	require.FileExists(t, state, "a failed stop leaves it running")

	// Markers may live elsewhere.
	other := t.TempDir()
	p["fail_dir"] = other
	require.Equal(t, 0, runStatefile(t, "", "stop", p, 0).rc, "markers in the state dir are ignored now")
}

func TestStatefileHangKilledWithItsGroup(t *testing.T) {
	root, err := OCFRoot()
	require.NoError(t, err)
	dir := t.TempDir()
	state := filepath.Join(dir, "r.state")
	require.NoError(t, os.WriteFile(state+".hang-start", nil, 0o644))
	cmd := exec.Command(filepath.Join(root, "resource.d", "basalt", "statefile"), "start")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "OCF_RESKEY_state=" + state, "OCF_RESOURCE_INSTANCE=h"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	pgid := cmd.Process.Pid
	// The agent has reached its hang once its child sleep exists in its
	// process group.
	deadline := time.Now().Add(10 * time.Second)
	for !groupHasChild(pgid, "sleep") {
		select {
		case err := <-done:
			t.Fatalf("a hanging start ended by itself: %v", err)
		default:
		}
		require.True(t, time.Now().Before(deadline), "no sleep child appeared in group %d", pgid)
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, syscall.Kill(-pgid, syscall.SIGKILL))
	<-done
	deadline = time.Now().Add(10 * time.Second)
	for syscall.Kill(-pgid, 0) == nil {
		require.True(t, time.Now().Before(deadline), "process group %d survived", pgid)
		time.Sleep(5 * time.Millisecond)
	}
	require.NoFileExists(t, state)
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
	require.Equal(t, 5, runStatefile(t, "", "validate-all", map[string]string{"state": "/nonexistent-dir/x"}, 0).rc)
	require.Equal(t, 6, runStatefile(t, "", "validate-all", map[string]string{"state": "relative"}, 0).rc)
	require.Equal(t, 5, runStatefile(t, "", "validate-all", map[string]string{"state": "/nonexistent-dir/x"}, 0).rc)
	require.Equal(t, 7, runStatefile(t, "", "monitor", map[string]string{"state": "/nonexistent-dir/x"}, 0).rc,
		"a probe where the resource cannot exist finds it stopped")
	require.Equal(t, 3, runStatefile(t, "", "promote", map[string]string{"state": filepath.Join(dir, "s")}, 0).rc)
	require.Equal(t, 2, runStatefile(t, "", "", nil, 0).rc)
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
	require.Equal(t, []string{"state", "fail_dir", "delay"}, params)
	require.Equal(t, "0", md.Params[0].Required, "state defaults to the runtime directory")
	require.Equal(t, []string{"start", "stop", "monitor0", "monitor10", "meta-data", "validate-all"}, actions)
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
	cmd := exec.Command(tester, "-n", "basalt-test", "-o", "state="+state, filepath.Join(root, "resource.d", "basalt", "statefile"))
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

// groupHasChild reports whether a process named comm runs in group pgid.
func groupHasChild(pgid int, comm string) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == pgid {
			continue
		}
		if g, err := syscall.Getpgid(pid); err != nil || g != pgid {
			continue
		}
		name, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if strings.TrimSpace(string(name)) == comm {
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
