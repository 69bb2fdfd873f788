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

// demo is a cluster of harness/quickstart.sh in a test's directory.
type demo struct {
	t                     *testing.T
	bin, dir, script, env string
}

func newDemo(t *testing.T, portBase string) *demo {
	d := &demo{t: t, bin: buildBinaries(t, ""), dir: t.TempDir(), script: filepath.Join(repo(), "harness", "quickstart.sh"),
		env: "PORT_BASE=" + portBase}
	t.Cleanup(func() {
		cmd := exec.Command(d.script, d.dir, "stop")
		cmd.Env = append(os.Environ(), "BIN="+d.bin, d.env)
		_ = cmd.Run()
	})
	return d
}

// qs runs the script on the demo's directory.
func (d *demo) qs(args ...string) string {
	cmd := exec.Command(d.script, append([]string{d.dir}, args...)...)
	cmd.Env = append(os.Environ(), "BIN="+d.bin, d.env)
	out, err := cmd.CombinedOutput()
	require.NoError(d.t, err, "quickstart.sh %v: %s", args, out)
	return string(out)
}

// status is basalt status -o json on socket (a comma-separated list with
// replicas): its exit code and output.
func (d *demo) status(socket string) (int, string) {
	cmd := exec.Command(filepath.Join(d.bin, "basalt"), "status", "-o", "json", "--socket", socket)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	require.NoError(d.t, err)
	return 0, string(out)
}

// await polls basalt status on socket (bounded) until ok says yes.
func (d *demo) await(socket, what string, ok func(rc int, out string) bool) string {
	deadline := time.Now().Add(60 * time.Second)
	for {
		rc, out := d.status(socket)
		if ok(rc, out) {
			return out
		}
		require.True(d.t, time.Now().Before(deadline), "%s: last status rc %d:\n%s", what, rc, out)
		time.Sleep(200 * time.Millisecond)
	}
}

// runsOn is where the demo's web server runs, by a status's JSON.
func runsOn(out string) string {
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

// TestQuickstartWalkthrough follows the README's quick start as a person
// would, through harness/quickstart.sh: start, kill h1's agent (fenced,
// failover), bring h1 back, and basalt status exits 0 again; stop ends
// every daemon. Before, nothing brought h1 back: the demo stayed in need
// of attention for good.
func TestQuickstartWalkthrough(t *testing.T) {
	d := newDemo(t, "17301")
	dir, qs := d.dir, d.qs
	sock := filepath.Join(dir, "manager.sock")
	awaitStatus := func(what string, ok func(rc int, out string) bool) string { return d.await(sock, what, ok) }

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
	d.requireStopped("manager.pid", "hosts/h1/agent.pid", "hosts/h2/agent.pid", "hosts/h3/agent.pid")
}

// requireStopped waits (bounded) until the processes of the pid files
// (paths in the demo's directory) have exited.
func (d *demo) requireStopped(pidFiles ...string) {
	d.t.Helper()
	for _, f := range pidFiles {
		pid, err := os.ReadFile(filepath.Join(d.dir, f))
		require.NoError(d.t, err)
		require.Eventually(d.t, func() bool {
			return exec.Command("kill", "-0", strings.TrimSpace(string(pid))).Run() != nil
		}, 30*time.Second, 100*time.Millisecond, "%s still runs after stop", f)
	}
}

// With --managers 3 the demo runs three manager replicas on an etcd of its
// own: basalt, given every replica's socket, talks to the leader; kill -9
// of the leader, and a standby takes over with the cluster healthy; the
// killed one comes back as a standby; stop ends every daemon, etcd too.
func TestQuickstartManagers(t *testing.T) {
	if _, err := exec.LookPath("etcd"); err != nil {
		t.Skip("etcd not installed (make deps installs Debian's etcd-server)")
	}
	d := newDemo(t, "17401")
	out := d.qs("--managers", "3")
	var socks []string
	for _, m := range []string{"m1", "m2", "m3"} {
		socks = append(socks, filepath.Join(d.dir, "managers", m+".sock"))
	}
	all := strings.Join(socks, ",")
	require.Contains(t, out, "export BASALT_SOCKET="+all)
	leader := func(out string) string {
		var v api.StatusView
		if json.Unmarshal([]byte(out), &v) != nil || v.Role != api.RoleLeader {
			return ""
		}
		for _, m := range v.Managers {
			if m.Leader {
				return m.Name
			}
		}
		return ""
	}
	out = d.await(all, "the demo comes up under a leader", func(rc int, out string) bool { return rc == 0 && leader(out) != "" })
	first := leader(out)
	require.Contains(t, d.qs("kill-manager", first), "killed")
	d.await(all, "a standby takes over from "+first, func(rc int, out string) bool {
		l := leader(out)
		return rc == 0 && l != "" && l != first
	})
	require.Contains(t, d.qs("restart-manager", first), "stands by")
	require.Contains(t, d.qs("status"), first+": running")
	require.Contains(t, d.qs("stop"), "stopped")
	d.requireStopped("managers/m1.pid", "managers/m2.pid", "managers/m3.pid", "managers/etcd.pid")
}

// dbRoles is where the promotable example's db runs and is promoted, by a
// status's JSON.
func dbRoles(out string) (running, promoted []string, roles map[string]string) {
	var v api.StatusView
	if json.Unmarshal([]byte(out), &v) != nil {
		return nil, nil, nil
	}
	for _, g := range v.Groups {
		for _, r := range g.Resources {
			if r.ID == "db" {
				return r.RunningOn, r.PromotedOn, r.Roles
			}
		}
	}
	return nil, nil, nil
}

// TestQuickstartPromotable follows the README's promotable example:
// --example promotable starts a promotable clone of Debian's unmodified
// Stateful on h1-h3, one promoted (its state file, under DIR/hosts/<host>/
// varrun/, says so); kill-host of the promoted host, and another is
// promoted once it is fenced (the event log says fenced, then promoted);
// restart-host brings it back unpromoted and the cluster healthy.
func TestQuickstartPromotable(t *testing.T) {
	if _, err := os.Stat(filepath.Join(debianOCFRoot, "resource.d", "pacemaker", "Stateful")); err != nil {
		t.Skipf("Debian's pacemaker-resource-agents is not installed: %v", err)
	}
	d := newDemo(t, "17501")
	sock := filepath.Join(d.dir, "manager.sock")
	require.Contains(t, d.qs("--example", "promotable"), "promotable clone of Debian's Stateful")
	var first string
	d.await(sock, "three instances, one promoted", func(rc int, out string) bool {
		running, promoted, _ := dbRoles(out)
		if rc != 0 || len(running) != 3 || len(promoted) != 1 {
			return false
		}
		first = promoted[0]
		return true
	})
	for _, h := range []string{"h1", "h2", "h3"} {
		b, err := os.ReadFile(filepath.Join(d.dir, "hosts", h, "varrun", "Stateful-db.state"))
		require.NoError(t, err)
		want := "Unpromoted\n"
		if h == first {
			want = "Promoted\n"
		}
		require.Equal(t, want, string(b), "%s's state file", h)
	}

	require.Contains(t, d.qs("kill-host", first), "killed")
	var second string
	d.await(sock, "another instance promoted after "+first+" is fenced", func(_ int, out string) bool {
		_, promoted, _ := dbRoles(out)
		if len(promoted) != 1 || promoted[0] == first {
			return false
		}
		second = promoted[0]
		return true
	})
	evs, err := api.NewClient(sock).Events(0, 0)
	require.NoError(t, err)
	var fenced, promoted uint64
	for _, e := range evs {
		if e.Kind == "fenced" && e.Host == first && fenced == 0 {
			fenced = e.Seq
		}
		if e.Kind == "promoted" && e.Host == second {
			promoted = e.Seq
		}
	}
	require.NotZero(t, fenced, "%s fenced: %v", first, evs)
	require.Less(t, fenced, promoted, "fenced, then promoted: %v", evs)
	_, err = os.Stat(filepath.Join(d.dir, "hosts", first, "varrun", "Stateful-db.state"))
	require.ErrorIs(t, err, os.ErrNotExist, "the fence emptied %s's HA_VARRUN", first)

	require.Contains(t, d.qs("restart-host", first), "started again")
	d.await(sock, first+" back, unpromoted", func(rc int, out string) bool {
		running, promoted, roles := dbRoles(out)
		return rc == 0 && len(running) == 3 && len(promoted) == 1 && promoted[0] == second && roles[first] == "Unpromoted"
	})
	require.Contains(t, d.qs("stop"), "stopped")
	d.requireStopped("manager.pid", "hosts/h1/agent.pid", "hosts/h2/agent.pid", "hosts/h3/agent.pid")
}
