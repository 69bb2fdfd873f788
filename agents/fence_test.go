package agents

import (
	"bytes"
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

// fenceRun is one run of the fence agent.
type fenceRun struct {
	rc     int
	stdout string
	stderr string
}

// fence runs the fence agent with stdin and args, through shell when it is
// not empty (to check the script under that shell) and by its #! otherwise.
func fence(t *testing.T, shell, stdin string, args ...string) fenceRun {
	t.Helper()
	return fenceAs(t, nil, shell, stdin, args...)
}

func fenceAs(t *testing.T, cred *syscall.Credential, shell, stdin string, args ...string) fenceRun {
	t.Helper()
	path, err := FenceAgentPath()
	require.NoError(t, err)
	if shell != "" {
		args = append([]string{path}, args...)
		path = shell
	}
	cmd := exec.Command(path, args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
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
	return fenceRun{rc: rc, stdout: out.String(), stderr: errOut.String()}
}

// testHost is one test host under a hosts_dir whose agent is a real child
// process.
type testHost struct {
	dir    string
	victim *exec.Cmd
	done   chan struct{}
}

// newTestHost lays out hostsDir/name with a running "agent" (a sleep), its
// pid in agent.pid and two resource state files.
func newTestHost(t *testing.T, hostsDir, name string) *testHost {
	t.Helper()
	h := &testHost{dir: filepath.Join(hostsDir, name), done: make(chan struct{})}
	require.NoError(t, os.MkdirAll(filepath.Join(h.dir, "resources"), 0o755))
	h.victim = exec.Command("sleep", "1000")
	require.NoError(t, h.victim.Start())
	go func() { _ = h.victim.Wait(); close(h.done) }()
	t.Cleanup(func() {
		_ = h.victim.Process.Kill()
		<-h.done
	})
	require.NoError(t, os.WriteFile(filepath.Join(h.dir, "agent.pid"), []byte(strconv.Itoa(h.victim.Process.Pid)+"\n"), 0o644))
	for _, f := range []string{"pool.state", ".hidden.state"} {
		require.NoError(t, os.WriteFile(filepath.Join(h.dir, "resources", f), []byte("running"), 0o644))
	}
	return h
}

// requireKilled waits for the host's agent to be reaped and checks SIGKILL
// ended it.
func (h *testHost) requireKilled(t *testing.T) {
	t.Helper()
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the host's agent process was not killed")
	}
	ws, ok := h.victim.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.True(t, ws.Signaled(), "the agent must have been killed by a signal")
	require.Equal(t, syscall.SIGKILL, ws.Signal())
	entries, err := os.ReadDir(filepath.Join(h.dir, "resources"))
	require.NoError(t, err)
	require.Empty(t, entries, "power-off stops everything")
}

func TestFenceAgentPowersOffByPID(t *testing.T) {
	for _, sh := range shells() {
		t.Run(shellName(sh), func(t *testing.T) {
			dir := t.TempDir()
			h := newTestHost(t, dir, "h1")

			r := fence(t, sh, "# a comment\naction=status\nplug=h1\nhosts_dir="+dir+"\n")
			require.Equal(t, 0, r.rc, r.stderr)
			require.Equal(t, "Status: ON\n", r.stdout)

			r = fence(t, sh, "action=off\nplug=h1\nhosts_dir="+dir+"\nnodename=x\nlogin=ignored\n")
			require.Equal(t, 0, r.rc, r.stderr)
			require.Contains(t, r.stdout, "Powered OFF")
			require.Contains(t, r.stderr, "ignoring unknown parameter login")
			require.NotContains(t, r.stderr, "nodename")
			h.requireKilled(t)

			r = fence(t, sh, "action=status\nport=h1\nhosts_dir="+dir+"\n")
			require.Equal(t, 2, r.rc, r.stderr)
			require.Equal(t, "Status: OFF\n", r.stdout)
			r = fence(t, sh, "action=off\nplug=h1\nhosts_dir="+dir+"\n")
			require.Equal(t, 0, r.rc, "off is idempotent: %s", r.stderr)

			// The same keys as command-line options; stdin is then ignored.
			r = fence(t, sh, "action=off\n", "--action=on", "--plug=h1", "--hosts_dir="+dir)
			require.Equal(t, 0, r.rc, r.stderr)
			r = fence(t, sh, "", "--action=status", "--plug=h1", "--hosts_dir="+dir)
			require.Equal(t, 0, r.rc, r.stderr)
			require.Equal(t, "Status: ON\n", r.stdout)
			power, err := os.ReadFile(filepath.Join(h.dir, "power"))
			require.NoError(t, err)
			require.Equal(t, "on\n", string(power))
		})
	}
}

func TestFenceAgentRebootIsTheDefault(t *testing.T) {
	dir := t.TempDir()
	h := newTestHost(t, dir, "h1")
	r := fence(t, "", "plug=h1\nhosts_dir="+dir+"\n")
	require.Equal(t, 0, r.rc, r.stderr)
	require.Contains(t, r.stdout, "Rebooted")
	h.requireKilled(t)
	r = fence(t, "", "action=status\nplug=h1\nhosts_dir="+dir+"\n")
	require.Equal(t, 0, r.rc, "a rebooted host is powered on again")

	h2 := newTestHost(t, dir, "h2")
	r = fence(t, "", "", "--action=reboot", "--plug=h2", "--hosts_dir="+dir)
	require.Equal(t, 0, r.rc, r.stderr)
	h2.requireKilled(t)
}

func TestFenceAgentRefusesDangerousPIDs(t *testing.T) {
	dir := t.TempDir()
	host := filepath.Join(dir, "h1")
	require.NoError(t, os.MkdirAll(host, 0o755))
	// Signalling pid 0 would kill the fence agent's own process group, and
	// pid 1 is init.
	for _, pid := range []string{"0", "00", "1"} {
		require.NoError(t, os.WriteFile(filepath.Join(host, "agent.pid"), []byte(pid+"\n"), 0o644))
		r := fence(t, "", "action=off\nplug=h1\nhosts_dir="+dir+"\n")
		require.Equal(t, 1, r.rc, "pid %s", pid)
		require.Contains(t, r.stderr, "cannot be an agent", "pid %s", pid)
	}
	// An empty or stale pid file means there is nothing left to kill.
	require.NoError(t, os.WriteFile(filepath.Join(host, "agent.pid"), nil, 0o644))
	require.Equal(t, 0, fence(t, "", "action=off\nplug=h1\nhosts_dir="+dir+"\n").rc)
}

// TestFenceAgentFailsWhenTheAgentSurvives fences, as an unprivileged user, a
// host whose agent belongs to root: the kill is refused, so off must fail
// and status must not claim the host is off.
func TestFenceAgentFailsWhenTheAgentSurvives(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the fence agent as another user")
	}
	dir := t.TempDir()
	h := newTestHost(t, dir, "h1")
	// t.TempDir's parent is private to the test's user too.
	for _, d := range []string{filepath.Dir(dir), dir, h.dir, filepath.Join(h.dir, "resources")} {
		require.NoError(t, os.Chmod(d, 0o777))
	}
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	r := fenceAs(t, nobody, "", "action=off\nplug=h1\nhosts_dir="+dir+"\n")
	require.Equal(t, 1, r.rc, r.stderr)
	require.Contains(t, r.stderr, "cannot kill process "+strconv.Itoa(h.victim.Process.Pid))
	select {
	case <-h.done:
		t.Fatal("the agent died although the fence agent may not kill it")
	default:
	}
	r = fence(t, "", "action=status\nplug=h1\nhosts_dir="+dir+"\n")
	require.Equal(t, 0, r.rc, "a host whose agent lives is on")
	require.Equal(t, "Status: ON\n", r.stdout)
}

func TestFenceAgentOtherActions(t *testing.T) {
	for _, sh := range shells() {
		t.Run(shellName(sh), func(t *testing.T) {
			dir := t.TempDir()
			for _, h := range []string{"b", "a"} {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, h), 0o755))
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, "not-a-host"), nil, 0o644))
			r := fence(t, sh, "action=list\nhosts_dir="+dir+"\n")
			require.Equal(t, 0, r.rc, r.stderr)
			require.Equal(t, "a,\nb,\n", r.stdout)
			require.Equal(t, 0, fence(t, sh, "action=monitor\nhosts_dir="+dir+"\n").rc)
			require.Equal(t, 1, fence(t, sh, "action=monitor\nhosts_dir="+filepath.Join(dir, "missing")+"\n").rc)
			require.Equal(t, 1, fence(t, sh, "action=status\nplug=zz\nhosts_dir="+dir+"\n").rc, "unknown host")
			require.Equal(t, 1, fence(t, sh, "action=status\nplug=a\n").rc, "no hosts_dir")
			require.Equal(t, 1, fence(t, sh, "action=dance\nplug=a\nhosts_dir="+dir+"\n").rc, "unknown action")

			r = fence(t, sh, "action=metadata\n")
			require.Equal(t, 0, r.rc)
			var md struct {
				Name      string `xml:"name,attr"`
				Shortdesc string `xml:"shortdesc,attr"`
				Params    []struct {
					Name string `xml:"name,attr"`
				} `xml:"parameters>parameter"`
				Actions []struct {
					Name string `xml:"name,attr"`
				} `xml:"actions>action"`
			}
			require.NoError(t, xml.Unmarshal([]byte(r.stdout), &md))
			require.Equal(t, "fence_basalt_pid", md.Name)
			require.NotEmpty(t, md.Shortdesc)
			var params, actions []string
			for _, p := range md.Params {
				params = append(params, p.Name)
			}
			for _, a := range md.Actions {
				actions = append(actions, a.Name)
			}
			require.ElementsMatch(t, []string{"action", "plug", "port", "hosts_dir", "fault_file"}, params)
			require.ElementsMatch(t, []string{"on", "off", "reboot", "status", "list", "monitor", "metadata"}, actions)
			r = fence(t, sh, "", "--action=metadata")
			require.Equal(t, 0, r.rc)
			require.True(t, strings.HasPrefix(r.stdout, "<?xml"))
		})
	}
}

func TestFenceAgentRefusesBadPlugs(t *testing.T) {
	dir := t.TempDir()
	victimDir := filepath.Join(dir, "hosts")
	require.NoError(t, os.MkdirAll(filepath.Join(victimDir, "a"), 0o755))
	for _, bad := range []string{"../hosts/a", "a/", "a/b", "", ".", ".."} {
		r := fence(t, "", "action=off\nplug="+bad+"\nhosts_dir="+victimDir+"\n")
		require.Equal(t, 1, r.rc, "plug %q", bad)
		require.Contains(t, r.stderr, "is not a host name", "plug %q", bad)
	}
	require.NoFileExists(t, filepath.Join(victimDir, "a", "power"), "no bad plug reached a host")

	// A plug is never evaluated: a command substitution is a host name.
	wd := t.TempDir()
	cmd := exec.Command(mustFence(t))
	cmd.Dir = wd
	cmd.Stdin = strings.NewReader("action=off\nplug=$(touch pwned)`touch pwned2`\nhosts_dir=" + victimDir + "\n")
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	require.Equal(t, 1, exitErr.ExitCode())
	require.Contains(t, string(out), "no test host $(touch pwned)")
	require.NoFileExists(t, filepath.Join(wd, "pwned"))
	require.NoFileExists(t, filepath.Join(wd, "pwned2"))
}

func TestFenceAgentIsPOSIX(t *testing.T) {
	path := mustFence(t)
	for _, sh := range []string{"/bin/sh", "/bin/dash"} {
		if _, err := os.Stat(sh); err != nil {
			continue
		}
		out, err := exec.Command(sh, "-n", path).CombinedOutput()
		require.NoError(t, err, "%s -n: %s", sh, out)
	}
}

func mustFence(t *testing.T) string {
	t.Helper()
	path, err := FenceAgentPath()
	require.NoError(t, err)
	return path
}

// Every power-off is logged before anything is killed, so a harness sees a
// reboot (off then on at once) too.
func TestFenceAgentLogsEveryPowerOff(t *testing.T) {
	dir := t.TempDir()
	h := newTestHost(t, dir, "h1")
	r := fence(t, "", "action=reboot\nplug=h1\nhosts_dir="+dir+"\n")
	require.Equal(t, 0, r.rc, r.stderr)
	h.requireKilled(t)
	r = fence(t, "", "action=off\nplug=h1\nhosts_dir="+dir+"\n")
	require.Equal(t, 0, r.rc, r.stderr)
	log, err := os.ReadFile(filepath.Join(h.dir, "fence.log"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	require.Len(t, lines, 2)
	for _, l := range lines {
		require.Regexp(t, `^off [0-9]+$`, l)
	}
}

// fault_file breaks the device: fail fails every action, lie claims an off
// it never did.
func TestFenceAgentInjectedDeviceFaults(t *testing.T) {
	dir := t.TempDir()
	h := newTestHost(t, dir, "h1")
	faultFile := filepath.Join(t.TempDir(), "pdu")
	args := "plug=h1\nhosts_dir=" + dir + "\nfault_file=" + faultFile + "\n"
	r := fence(t, "", "action=status\n"+args)
	require.Equal(t, 0, r.rc, "no fault file, no fault: %s", r.stderr)

	require.NoError(t, os.WriteFile(faultFile, []byte("fail\n"), 0o644))
	for _, action := range []string{"monitor", "status", "off"} {
		r = fence(t, "", "action="+action+"\n"+args)
		require.Equal(t, 1, r.rc, action)
		require.Contains(t, r.stderr, "injected device failure")
	}
	require.NoError(t, os.WriteFile(faultFile, []byte("lie\n"), 0o644))
	r = fence(t, "", "action=off\n"+args)
	require.Equal(t, 0, r.rc)
	r = fence(t, "", "action=status\n"+args)
	require.Equal(t, 2, r.rc, "a lying device says off")
	require.NoError(t, h.victim.Process.Signal(syscall.Signal(0)), "but the host still runs")
	require.NoFileExists(t, filepath.Join(h.dir, "fence.log"))

	require.NoError(t, os.Remove(faultFile))
	r = fence(t, "", "action=off\n"+args)
	require.Equal(t, 0, r.rc, r.stderr)
	h.requireKilled(t)
}

// The two devices of one fencing level (two PDU outlets) are the same agent
// on a test host, run at once. Before, both wrote the same power.tmp and
// renamed it: the second rename found nothing, that device failed, and so
// did the level (fence-device-next-level failed on a loaded machine).
func TestFenceAgentConcurrentOffsOfOneHostBothSucceed(t *testing.T) {
	for round := range 20 {
		dir := t.TempDir()
		h := newTestHost(t, dir, "h1")
		in := "action=off\nplug=h1\nhosts_dir=" + dir + "\n"
		runs := make(chan fenceRun, 2)
		for range 2 {
			go func() { runs <- fence(t, "", in) }()
		}
		for range 2 {
			r := <-runs
			require.Equal(t, 0, r.rc, "round %d: %s", round, r.stderr)
		}
		h.requireKilled(t)
		power, err := os.ReadFile(filepath.Join(h.dir, "power"))
		require.NoError(t, err)
		require.Equal(t, "off\n", string(power))
		leftovers, err := filepath.Glob(filepath.Join(h.dir, "power.*"))
		require.NoError(t, err)
		require.Empty(t, leftovers, "no temporary power file is left behind")
	}
}
