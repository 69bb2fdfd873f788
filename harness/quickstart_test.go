package harness_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/live/api"
)

// TestQuickstartWalkthrough follows the README's quick start as a person
// would, through harness/quickstart.sh: start, kill h1's agent (fenced,
// failover), bring h1 back, and basalt status exits 0 again; stop ends
// every daemon. Before, nothing brought h1 back: the demo stayed in need
// of attention for good.
func TestQuickstartWalkthrough(t *testing.T) {
	bin := buildBinaries(t, "")
	dir := t.TempDir()
	script := filepath.Join(repo(), "harness", "quickstart.sh")
	qs := func(args ...string) string {
		cmd := exec.Command(script, append([]string{dir}, args...)...)
		cmd.Env = append(os.Environ(), "BIN="+bin, "PORT_BASE=17301")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "quickstart.sh %v: %s", args, out)
		return string(out)
	}
	t.Cleanup(func() { _ = exec.Command(script, dir, "stop").Run() })
	status := func() (int, string) {
		cmd := exec.Command(filepath.Join(bin, "basalt"), "status", "-o", "json", "--socket", filepath.Join(dir, "manager.sock"))
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		require.NoError(t, err)
		return 0, string(out)
	}
	// awaitStatus polls basalt status (bounded) until ok says yes.
	awaitStatus := func(what string, ok func(rc int, out string) bool) string {
		deadline := time.Now().Add(60 * time.Second)
		for {
			rc, out := status()
			if ok(rc, out) {
				return out
			}
			require.True(t, time.Now().Before(deadline), "%s: last status rc %d:\n%s", what, rc, out)
			time.Sleep(200 * time.Millisecond)
		}
	}
	runsOn := func(out string) string {
		var v api.StatusView
		if json.Unmarshal([]byte(out), &v) != nil {
			return ""
		}
		for _, g := range v.Groups {
			for _, r := range g.Resources {
				if r.ID == "web" && len(r.RunningOn) == 1 {
					return r.RunningOn[0]
				}
			}
		}
		return ""
	}

	require.Contains(t, qs(), "Cluster starting in "+dir)
	out := awaitStatus("the demo comes up", func(rc int, out string) bool { return rc == 0 && runsOn(out) != "" })
	first := runsOn(out)
	require.Contains(t, qs("kill-host", first), "killed")
	awaitStatus("failover after "+first+" is fenced", func(rc int, out string) bool {
		h := runsOn(out)
		return h != "" && h != first && rc == 1 // the host stays down: attention
	})
	require.Contains(t, qs("restart-host", first), "started again")
	awaitStatus("healthy again once "+first+" is back", func(rc int, _ string) bool { return rc == 0 })
	require.Contains(t, qs("status"), "manager: running")

	out = qs("stop")
	require.Contains(t, out, "stopped")
	for _, f := range []string{"manager.pid", "hosts/h1/agent.pid", "hosts/h2/agent.pid", "hosts/h3/agent.pid"} {
		pid, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			return exec.Command("kill", "-0", strings.TrimSpace(string(pid))).Run() != nil
		}, 30*time.Second, 100*time.Millisecond, "%s still runs after stop", f)
	}
}
