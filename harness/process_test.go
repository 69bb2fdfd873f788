package harness_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/harness"
)

// repo is the repository root (this file is in harness/).
func repo() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}

// procCluster runs the shipped binaries as separate processes: a manager
// and one agent per host on 127.0.0.1 ports, with the state-file agent and
// the PID fence agent, each with its own state directory and log file.
type procCluster struct {
	t       *testing.T
	dir     string
	bin     string
	hosts   []string
	addrs   map[string]string
	agents  map[string]*exec.Cmd
	mgr     *exec.Cmd
	sock    string
	mgrArgs []string
	// fenceDir holds the fence agents the agents run (the repository's by
	// default).
	fenceDir string
	// proxies sit between the manager and each agent, when asked for.
	proxies map[string]*harness.Proxy
}

func buildBinaries(t *testing.T, tags string) string {
	bin := filepath.Join(t.TempDir(), "bin")
	cmd := exec.Command("go", "build", "-tags", tags, "-o", bin+"/", "./cmd/basalt", "./cmd/basalt-agent", "./cmd/basalt-manager")
	cmd.Dir = repo()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

func newProcCluster(t *testing.T, hosts []string) *procCluster {
	return newProcClusterWith(t, hosts, "")
}

// newProcClusterWith builds the binaries with the given build tags; the
// canary tag gives the manager its defect flags, set through mgrArgs.
func newProcClusterWith(t *testing.T, hosts []string, tags string, mgrArgs ...string) *procCluster {
	return newProcClusterOpts(t, hosts, procOpts{tags: tags, mgrArgs: mgrArgs})
}

// procOpts are the options of a process cluster.
type procOpts struct {
	tags    string
	mgrArgs []string
	// proxies puts a fault-injecting proxy between the manager and each
	// agent.
	proxies bool
}

func newProcClusterOpts(t *testing.T, hosts []string, o procOpts) *procCluster {
	tags, mgrArgs := o.tags, o.mgrArgs
	if testing.Short() {
		t.Skip("process tests build and run the daemons")
	}
	pc := &procCluster{t: t, dir: t.TempDir(), bin: buildBinaries(t, tags), hosts: hosts, addrs: map[string]string{},
		agents: map[string]*exec.Cmd{}, mgrArgs: mgrArgs, fenceDir: filepath.Join(repo(), "agents", "fence"),
		proxies: map[string]*harness.Proxy{}}
	pc.sock = filepath.Join(pc.dir, "manager.sock")
	out, err := exec.Command(filepath.Join(pc.bin, "basalt"), "certs", "init", "--dir", filepath.Join(pc.dir, "certs"),
		"--hosts", strings.Join(hosts, ",")).CombinedOutput()
	require.NoError(t, err, string(out))
	var b strings.Builder
	fmt.Fprintf(&b, "cluster: {name: proc, heartbeat-interval: 300ms, dead-timeout: 3s, fence-timeout: 10s, ocf-root: %q}\nhosts:\n", filepath.Join(repo(), "agents", "ocf"))
	for _, h := range hosts {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		pc.addrs[h] = l.Addr().String()
		l.Close()
		addr := pc.addrs[h]
		if o.proxies {
			px, err := harness.NewProxy(addr)
			require.NoError(t, err)
			t.Cleanup(func() { px.Close() })
			pc.proxies[h] = px
			addr = px.Addr()
		}
		fmt.Fprintf(&b, "  - {name: %s, address: %q}\n", h, addr)
	}
	b.WriteString("fence-devices:\n")
	for _, h := range hosts {
		fmt.Fprintf(&b, "  - {id: pid-%s, agent: fence_basalt_pid, params: {hosts_dir: %q}, hosts: {%s: %s}}\n", h, filepath.Join(pc.dir, "hosts"), h, h)
	}
	b.WriteString(`resources:
  - {id: pool, name: test pool, agent: "ocf:basalt:statefile", ops: {monitor: [{interval: 1s}]}}
  - {id: mnt, name: test mount, agent: "ocf:basalt:statefile", ops: {monitor: [{interval: 1s}]}}
groups:
  - id: g
    members: [{resource: pool}, {resource: mnt, parent: pool}]
`)
	require.NoError(t, os.WriteFile(filepath.Join(pc.dir, "cluster.yaml"), []byte(b.String()), 0o644))
	for _, h := range hosts {
		require.NoError(t, os.MkdirAll(filepath.Join(pc.dir, "hosts", h, "resources"), 0o755))
		pc.startAgent(h)
	}
	pc.startManager()
	t.Cleanup(func() {
		for _, c := range append([]*exec.Cmd{pc.mgr}, values(pc.agents)...) {
			if c != nil && c.Process != nil {
				_ = c.Process.Signal(syscall.SIGTERM)
			}
		}
		for _, c := range append([]*exec.Cmd{pc.mgr}, values(pc.agents)...) {
			if c != nil {
				_ = c.Wait()
			}
		}
		if t.Failed() {
			for _, f := range append([]string{"manager"}, hosts...) {
				data, _ := os.ReadFile(filepath.Join(pc.dir, f+".log"))
				t.Logf("--- %s.log (last 3000 bytes)\n%s", f, tail(data, 3000))
			}
		}
	})
	return pc
}

func values(m map[string]*exec.Cmd) []*exec.Cmd {
	var out []*exec.Cmd
	for _, c := range m {
		out = append(out, c)
	}
	return out
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func (pc *procCluster) logFile(name string) *os.File {
	f, err := os.OpenFile(filepath.Join(pc.dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	require.NoError(pc.t, err)
	return f
}

func (pc *procCluster) startAgent(h string) {
	hd := filepath.Join(pc.dir, "hosts", h)
	cmd := exec.Command(filepath.Join(pc.bin, "basalt-agent"), "serve", "--host", h, "--listen", pc.addrs[h],
		"--certs", filepath.Join(pc.dir, "certs"), "--state-dir", filepath.Join(pc.dir, "state", h),
		"--ocf-root", filepath.Join(repo(), "agents", "ocf"), "--fence-agents", pc.fenceDir,
		"--rsc-tmp", filepath.Join(hd, "resources"), "--pid-file", filepath.Join(hd, "agent.pid"), "--heartbeat-interval", "300ms")
	cmd.Stderr = pc.logFile(h)
	require.NoError(pc.t, cmd.Start())
	pc.agents[h] = cmd
}

func (pc *procCluster) startManager() {
	args := append([]string{"--config", filepath.Join(pc.dir, "cluster.yaml"), "--state-dir", filepath.Join(pc.dir, "state", "manager"),
		"--certs", filepath.Join(pc.dir, "certs"), "--socket", pc.sock}, pc.mgrArgs...)
	cmd := exec.Command(filepath.Join(pc.bin, "basalt-manager"), args...)
	cmd.Stderr = pc.logFile("manager")
	require.NoError(pc.t, cmd.Start())
	pc.mgr = cmd
}

type statusView struct {
	Healthy bool `json:"healthy"`
	Epoch   uint64
	Groups  []struct {
		Placed    []string `json:"placed_on"`
		Resources []struct {
			ID        string   `json:"id"`
			RunningOn []string `json:"running_on"`
		} `json:"resources"`
	} `json:"groups"`
}

func (pc *procCluster) status() (statusView, int) {
	var out bytes.Buffer
	cmd := exec.Command(filepath.Join(pc.bin, "basalt"), "status", "--socket", pc.sock, "-o", "json")
	cmd.Stdout = &out
	err := cmd.Run()
	rc := 0
	if ee, ok := err.(*exec.ExitError); ok {
		rc = ee.ExitCode()
	}
	var v statusView
	_ = json.Unmarshal(out.Bytes(), &v)
	return v, rc
}

func (pc *procCluster) stateFiles(h string) []string {
	entries, _ := os.ReadDir(filepath.Join(pc.dir, "hosts", h, "resources"))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// awaitHealthyOn polls status (bounded) until the cluster is healthy with
// the group on host.
func (pc *procCluster) awaitHealthyOn(h string) statusView {
	pc.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		v, rc := pc.status()
		if rc == 0 && v.Healthy && len(v.Groups) == 1 && len(v.Groups[0].Resources) == 2 &&
			equal(v.Groups[0].Resources[0].RunningOn, []string{h}) && equal(v.Groups[0].Resources[1].RunningOn, []string{h}) &&
			len(pc.stateFiles(h)) == 2 {
			return v
		}
		if time.Now().After(deadline) {
			pc.t.Fatalf("cluster not healthy with the group on %s within 90s (last status rc %d: %+v)", h, rc, v)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func TestProcessClusterFailoverAndRestarts(t *testing.T) {
	pc := newProcCluster(t, []string{"h1", "h2", "h3"})
	pc.awaitHealthyOn("h1")

	// kill -9 of h1's agent: the PID fence agent (run by a peer) confirms
	// h1 off and wipes its resources; only then does the group start on
	// the next host.
	pid, err := os.ReadFile(filepath.Join(pc.dir, "hosts", "h1", "agent.pid"))
	require.NoError(t, err)
	p, err := strconv.Atoi(strings.TrimSpace(string(pid)))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(p, syscall.SIGKILL))
	_ = pc.agents["h1"].Wait()
	delete(pc.agents, "h1")
	pc.awaitHealthyOnAny(t, []string{"h2", "h3"})
	require.Empty(t, pc.stateFiles("h1"), "the fence removed h1's resources")
	power, err := os.ReadFile(filepath.Join(pc.dir, "hosts", "h1", "power"))
	require.NoError(t, err)
	require.Equal(t, "off\n", string(power))
	logs, _ := os.ReadFile(filepath.Join(pc.dir, "manager.log"))
	require.Contains(t, string(logs), "fencing confirmed")
}

func (pc *procCluster) awaitHealthyOnAny(t *testing.T, hosts []string) string {
	deadline := time.Now().Add(90 * time.Second)
	for {
		for _, h := range hosts {
			v, rc := pc.status()
			if rc == 1 || rc == 0 {
				if len(v.Groups) == 1 && len(v.Groups[0].Resources) == 2 && equal(v.Groups[0].Resources[0].RunningOn, []string{h}) &&
					len(pc.stateFiles(h)) == 2 {
					return h
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("group not running on any of %v within 90s", hosts)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestProcessClusterManagerAndAgentRestart(t *testing.T) {
	pc := newProcCluster(t, []string{"h1", "h2"})
	v := pc.awaitHealthyOn("h1")
	st, err := os.Stat(filepath.Join(pc.dir, "hosts", "h1", "resources", "statefile-pool.state"))
	require.NoError(t, err)

	// SIGTERM the manager and start it again: the group is adopted.
	require.NoError(t, pc.mgr.Process.Signal(syscall.SIGTERM))
	require.NoError(t, pc.mgr.Wait())
	pc.startManager()
	v2 := pc.awaitHealthyOn("h1")
	require.Equal(t, v.Epoch+1, v2.Epoch)

	// Restart h1's agent: its resources keep running.
	require.NoError(t, pc.agents["h1"].Process.Signal(syscall.SIGTERM))
	require.NoError(t, pc.agents["h1"].Wait())
	pc.startAgent("h1")
	pc.awaitHealthyOn("h1")
	st2, err := os.Stat(filepath.Join(pc.dir, "hosts", "h1", "resources", "statefile-pool.state"))
	require.NoError(t, err)
	require.Equal(t, st.ModTime(), st2.ModTime(), "the pool was never restarted")
	require.Empty(t, pc.stateFiles("h2"))
}

func (pc *procCluster) cli(args ...string) (int, string) {
	cmd := exec.Command(filepath.Join(pc.bin, "basalt"), append(args, "--socket", pc.sock)...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	require.NoError(pc.t, err)
	return 0, string(out)
}

func TestProcessClusterAdminCommands(t *testing.T) {
	pc := newProcCluster(t, []string{"h1", "h2"})
	pc.awaitHealthyOn("h1")
	rc, out := pc.cli("status")
	require.Equal(t, 0, rc, out)
	require.Contains(t, out, "Cluster proc — OK")
	require.Contains(t, out, `pool "test pool": running on h1`)
	require.Contains(t, out, `  mnt "test mount": running on h1`, "the tree shows the mount under the pool")

	rc, out = pc.cli("resource", "move", "g", "--host", "h2", "--wait")
	require.Equal(t, 0, rc, out)
	require.Regexp(t, `report r\d+-\d+: move g h2 — CLOSED done`, out)
	require.Contains(t, out, "running on h2")
	rc, out = pc.cli("status")
	require.Equal(t, 0, rc, out)
	require.Contains(t, out, "failed over from h1", "a moved group is marked")

	rc, out = pc.cli("resource", "why", "g")
	require.Equal(t, 0, rc, out)
	require.Contains(t, out, "move requested")

	// A move is a preference: with h2 in standby the group goes back to h1.
	rc, out = pc.cli("host", "standby", "h2", "--wait")
	require.Equal(t, 0, rc, out)
	require.Contains(t, out, "pool             running on h1")
	rc, out = pc.cli("status")
	require.Equal(t, 0, rc, out)
	require.Contains(t, out, "h2           online [standby]")
	rc, _ = pc.cli("resource", "clear", "g")
	require.Equal(t, 0, rc)
	rc, _ = pc.cli("host", "unstandby", "h2", "--wait")
	require.Equal(t, 0, rc)
	rc, out = pc.cli("resource", "stop", "g", "--wait")
	require.Equal(t, 0, rc, out)
	require.Empty(t, pc.stateFiles("h1"))
	rc, out = pc.cli("status")
	require.Equal(t, 0, rc, "a group stopped on purpose is as intended: %s", out)
	require.Contains(t, out, "target: stopped")

	rc, out = pc.cli("resource", "move", "nosuch", "--host", "h2")
	require.Equal(t, 1, rc)
	require.Equal(t, "basalt resource move: move nosuch h2: no group \"nosuch\"\n", out, "one clear line")
	rc, out = pc.cli("events", "-n", "5")
	require.Equal(t, 0, rc)
	require.Equal(t, 5, strings.Count(out, "\n"))
}
