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

func fence(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	path, err := FenceAgentPath()
	require.NoError(t, err)
	cmd := exec.Command(path, args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode(), out.String(), errOut.String()
	}
	require.NoError(t, err)
	return 0, out.String(), errOut.String()
}

func TestFenceAgentPowersOffByPID(t *testing.T) {
	dir := t.TempDir()
	hostDir := filepath.Join(dir, "h1")
	require.NoError(t, os.MkdirAll(filepath.Join(hostDir, "resources"), 0o755))
	victim := exec.Command("sleep", "1000")
	require.NoError(t, victim.Start())
	done := make(chan struct{})
	go func() { _ = victim.Wait(); close(done) }()
	require.NoError(t, os.WriteFile(filepath.Join(hostDir, "agent.pid"), []byte(strconv.Itoa(victim.Process.Pid)+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(hostDir, "resources", "pool.state"), []byte("running"), 0o644))

	rc, out, errOut := fence(t, "# a comment\naction=status\nplug=h1\nhosts_dir="+dir+"\n")
	require.Equal(t, 0, rc, errOut)
	require.Contains(t, out, "Status: ON")

	rc, out, errOut = fence(t, "action=off\nplug=h1\nhosts_dir="+dir+"\nnodename=x\nlogin=ignored\n")
	require.Equal(t, 0, rc, errOut)
	require.Contains(t, out, "Powered OFF")
	require.Contains(t, errOut, "ignoring unknown parameter login")
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the host's agent process was not killed")
	}
	require.Equal(t, syscall.Signal(9), victim.ProcessState.Sys().(syscall.WaitStatus).Signal())
	entries, err := os.ReadDir(filepath.Join(hostDir, "resources"))
	require.NoError(t, err)
	require.Empty(t, entries, "power-off stops everything")

	rc, out, _ = fence(t, "action=status\nport=h1\nhosts_dir="+dir+"\n")
	require.Equal(t, 2, rc)
	require.Contains(t, out, "Status: OFF")

	rc, _, _ = fence(t, "", "--action=on", "--plug=h1", "--hosts_dir="+dir)
	require.Equal(t, 0, rc)
	rc, _, _ = fence(t, "", "--action=status", "--plug=h1", "--hosts_dir="+dir)
	require.Equal(t, 0, rc)
}

func TestFenceAgentOtherActions(t *testing.T) {
	dir := t.TempDir()
	for _, h := range []string{"a", "b"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, h), 0o755))
	}
	rc, out, _ := fence(t, "action=list\nhosts_dir="+dir+"\n")
	require.Equal(t, 0, rc)
	require.Equal(t, "a,\nb,\n", out)
	rc, _, _ = fence(t, "action=monitor\nhosts_dir="+dir+"\n")
	require.Equal(t, 0, rc)
	rc, _, _ = fence(t, "action=monitor\nhosts_dir="+filepath.Join(dir, "missing")+"\n")
	require.Equal(t, 1, rc)
	rc, out, _ = fence(t, "action=metadata\n")
	require.Equal(t, 0, rc)
	var md struct {
		Name    string `xml:"name,attr"`
		Actions []struct {
			Name string `xml:"name,attr"`
		} `xml:"actions>action"`
	}
	require.NoError(t, xml.Unmarshal([]byte(out), &md))
	require.Equal(t, "fence_basalt_pid", md.Name)
	require.Len(t, md.Actions, 7)
	for _, bad := range []string{"../a", "a/b", "", ".."} {
		rc, _, errOut := fence(t, "action=off\nplug="+bad+"\nhosts_dir="+dir+"\n")
		require.Equal(t, 1, rc, bad)
		require.Contains(t, errOut, "error:", bad)
	}
	rc, _, errOut := fence(t, "action=off\nplug=$(touch pwned)\nhosts_dir="+dir+"\n")
	require.Equal(t, 1, rc)
	require.Contains(t, errOut, "no test host")
	require.NoFileExists(t, "pwned")
	require.NoFileExists(t, "/pwned")
}

func TestFenceAgentIsPOSIX(t *testing.T) {
	path, err := FenceAgentPath()
	require.NoError(t, err)
	for _, sh := range []string{"/bin/sh", "/bin/dash"} {
		if _, err := os.Stat(sh); err != nil {
			continue
		}
		out, err := exec.Command(sh, "-n", path).CombinedOutput()
		require.NoError(t, err, "%s -n: %s", sh, out)
	}
}
