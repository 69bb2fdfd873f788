package harness_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/harness"
	"github.com/basalt-ha/basalt/live/api"
)

// repo is the repository root (this file is in harness/).
func repo() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}

// procCluster is a harness.ProcessCluster for one test: the shipped
// binaries as processes, a manager and one agent per host, with the
// state-file agent and the PID fence agent, and a two-resource group g
// (pool, and mnt on top of it).
type procCluster struct {
	*harness.ProcessCluster
	t *testing.T
}

// builds holds this test binary's builds of the daemons.
var builds harness.Builds

// buildBinaries builds the binaries once per set of tags and test binary.
func buildBinaries(t *testing.T, tags string) string {
	bin, err := builds.Get(tags)
	require.NoError(t, err)
	return bin
}

func TestMain(m *testing.M) {
	flag.Parse()
	if addr := os.Getenv(echoEnv); addr != "" {
		// Re-executed inside a network namespace by TestNetnsLink.
		os.Exit(echoServer(addr, os.Getenv(echoLogEnv)))
	}
	dir, err := os.MkdirTemp("", "basalt-harness-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	builds = harness.Builds{Repo: repo(), Dir: dir}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newProcCluster(t *testing.T, hosts []string) *procCluster {
	return newProcClusterOpts(t, hosts, procOpts{})
}

// procOpts are the options of a process cluster.
type procOpts struct {
	tags             string
	mgrArgs, agtArgs []string
	// network is how the manager reaches the agents (harness.NetProxy
	// puts a fault-injecting proxy in between; harness.NetNetns gives each
	// agent its own network namespace).
	network string
	// fenceDir replaces the repository's fence agents.
	fenceDir string
	// rebootAfter boots fenced hosts again after this long.
	rebootAfter time.Duration
	// config replaces testConfig.
	config []byte
	// stateTmpfs mounts a tmpfs of this size on each state directory
	// (harness.ProcessOptions.StateTmpfs), for disk-full faults.
	stateTmpfs string
	// replicas runs that many manager replicas on an etcd instead of one
	// manager.
	replicas int
}

// testConfig is the test cluster: heartbeats every 300ms, dead after 3s,
// one PID fence device per host, and the group g.
func testConfig(hosts []string) []byte {
	var b strings.Builder
	b.WriteString("cluster: {name: proc, heartbeat-interval: 300ms, dead-timeout: 3s, fence-timeout: 10s}\nhosts:\n")
	for i, h := range hosts {
		fmt.Fprintf(&b, "  - {name: %s, address: \"127.0.0.1:%d\"}\n", h, 7101+i)
	}
	b.WriteString("fence-devices:\n")
	for _, h := range hosts {
		fmt.Fprintf(&b, "  - {id: pid-%s, agent: fence_basalt_pid, hosts: {%s: %s}}\n", h, h, h)
	}
	b.WriteString(`resources:
  - {id: pool, name: test pool, agent: "ocf:basalt:statefile", ops: {monitor: [{interval: 1s}]}}
  - {id: mnt, name: test mount, agent: "ocf:basalt:statefile", ops: {monitor: [{interval: 1s}]}}
groups:
  - id: g
    members: [{resource: pool}, {resource: mnt, parent: pool}]
`)
	return []byte(b.String())
}

func newProcClusterOpts(t *testing.T, hosts []string, o procOpts) *procCluster {
	if testing.Short() {
		t.Skip("process tests build and run the daemons")
	}
	if o.network == harness.NetNetns {
		if err := harness.NetnsAvailable(); err != nil {
			t.Skipf("no network namespaces here: %v", err)
		}
	}
	config := o.config
	if config == nil {
		config = testConfig(hosts)
	}
	pc, err := harness.StartProcessCluster(harness.ProcessOptions{Name: "proc", Config: config, Dir: t.TempDir(),
		Bin: buildBinaries(t, o.tags), Repo: repo(), Network: o.network, ManagerArgs: o.mgrArgs, AgentArgs: o.agtArgs,
		FenceDir: o.fenceDir, RebootAfter: o.rebootAfter, Logf: t.Logf, StateTmpfs: o.stateTmpfs, Replicas: o.replicas})
	require.NoError(t, err)
	t.Cleanup(func() {
		pc.Stop()
		if t.Failed() {
			for _, f := range pc.Logs() {
				data, _ := os.ReadFile(f)
				t.Logf("--- %s (last 3000 bytes)\n%s", filepath.Base(f), tail(data, 3000))
			}
		}
	})
	return &procCluster{ProcessCluster: pc, t: t}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
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
	cmd := exec.Command(filepath.Join(pc.Bin, "basalt"), "status", "--socket", pc.Socket(), "-o", "json")
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

// awaitHealthyOn polls status (bounded) until the cluster is healthy with
// the group on host.
func (pc *procCluster) awaitHealthyOn(h string) statusView {
	pc.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		v, rc := pc.status()
		if rc == 0 && v.Healthy && len(v.Groups) == 1 && len(v.Groups[0].Resources) == 2 &&
			equal(v.Groups[0].Resources[0].RunningOn, []string{h}) && equal(v.Groups[0].Resources[1].RunningOn, []string{h}) &&
			len(pc.StateFiles(h)) == 2 {
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
	pid, err := os.ReadFile(filepath.Join(pc.HostDir("h1"), "agent.pid"))
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(pc.AgentPID("h1")), strings.TrimSpace(string(pid)), "the agent wrote its pid for the fence agent")
	pc.CrashAgent("h1", 0)
	pc.awaitHealthyOnAny(t, []string{"h2", "h3"})
	require.Empty(t, pc.StateFiles("h1"), "the fence removed h1's resources")
	power, err := os.ReadFile(filepath.Join(pc.HostDir("h1"), "power"))
	require.NoError(t, err)
	require.Equal(t, "off\n", string(power))
	require.Len(t, pc.Fences(), 1)
	require.Equal(t, "h1", pc.Fences()[0].Host)
	logs, _ := os.ReadFile(filepath.Join(pc.Dir, "manager.log"))
	require.Contains(t, string(logs), "fencing confirmed")
}

// kill -9 of an agent on a running host: the manager's connection is
// reset and its redial refused, so the host is suspect and declared lost
// two heartbeats (300 ms each) later, for that reason, where silence would
// wait for the 3 s dead timeout. h3's agent is frozen (SIGSTOP) just after
// h1's dies: its kernel keeps its connection open and silent, so it is
// judged by the dead timeout, and the ordering of the two losses proves
// the fast path: h1, silent first, is lost first, before a dead timer that
// started after its own would fire.
func TestProcessClusterAgentKillIsJudgedBeforeTheDeadTimeout(t *testing.T) {
	pc := newProcCluster(t, []string{"h1", "h2", "h3"})
	pc.awaitHealthyOn("h1")
	pc.CrashAgent("h1", 0)
	pc.Pause("h3")
	lost := map[string]api.Event{}
	var order []string
	deadline := time.Now().Add(60 * time.Second)
	for len(lost) < 2 {
		require.False(t, time.Now().After(deadline), "h1 and h3 not both lost within 60s: %v", order)
		time.Sleep(100 * time.Millisecond)
		evs, err := pc.Events()
		require.NoError(t, err)
		lost, order = map[string]api.Event{}, nil
		for _, e := range evs {
			if (e.Host == "h1" || e.Host == "h3") && (e.Kind == "host-suspect" || e.Kind == "host-lost") {
				order = append(order, e.Kind+" "+e.Host)
				if e.Kind == "host-lost" {
					lost[e.Host] = e
				}
			}
		}
	}
	require.Equal(t, []string{"host-suspect h1", "host-lost h1", "host-lost h3"}, order)
	require.Equal(t, "agent gone, host answering: connection reset, redial refused", lost["h1"].Message)
	require.Equal(t, "silent for 3s", lost["h3"].Message)
	pc.awaitHealthyOnAny(t, []string{"h2"})
}

func (pc *procCluster) awaitHealthyOnAny(t *testing.T, hosts []string) string {
	deadline := time.Now().Add(90 * time.Second)
	for {
		for _, h := range hosts {
			v, rc := pc.status()
			if rc == 1 || rc == 0 {
				if len(v.Groups) == 1 && len(v.Groups[0].Resources) == 2 && equal(v.Groups[0].Resources[0].RunningOn, []string{h}) &&
					len(pc.StateFiles(h)) == 2 {
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
	st, err := os.Stat(filepath.Join(pc.ResourceDir("h1"), "statefile-pool.state"))
	require.NoError(t, err)

	// SIGTERM the manager and start it again: the group is adopted.
	require.NoError(t, pc.RestartManager())
	v2 := pc.awaitHealthyOn("h1")
	require.Equal(t, v.Epoch+1, v2.Epoch)

	// Restart h1's agent: its resources keep running. Stopped cleanly, it
	// leaves its records whole, one JSON value each, as an older agent
	// reads them (docs/production.md, going back).
	require.NoError(t, pc.StopAgent("h1"))
	for _, rec := range []string{agent.ResourcesRecord, agent.OpsRecord} {
		data, err := os.ReadFile(filepath.Join(pc.Dir, "state", "h1", rec))
		require.NoError(t, err)
		require.True(t, json.Valid(data), "%s after a clean stop is one JSON value: %q", rec, data)
	}
	require.NoError(t, pc.StartAgent("h1"))
	pc.awaitHealthyOn("h1")
	st2, err := os.Stat(filepath.Join(pc.ResourceDir("h1"), "statefile-pool.state"))
	require.NoError(t, err)
	require.Equal(t, st.ModTime(), st2.ModTime(), "the pool was never restarted")
	require.Empty(t, pc.StateFiles("h2"))
}

func (pc *procCluster) cli(args ...string) (int, string) {
	cmd := exec.Command(filepath.Join(pc.Bin, "basalt"), append(args, "--socket", pc.Socket())...)
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
	// A restart in place: stopped, then started again where it ran.
	before, err := os.Stat(filepath.Join(pc.ResourceDir("h1"), "statefile-pool.state"))
	require.NoError(t, err)
	rc, out = pc.cli("resource", "restart", "g", "--wait")
	require.Equal(t, 0, rc, out)
	require.Equal(t, 2, strings.Count(out, "CLOSED done"), "the stop's report, then the start's: %s", out)
	pc.awaitHealthyOn("h1")
	after, err := os.Stat(filepath.Join(pc.ResourceDir("h1"), "statefile-pool.state"))
	require.NoError(t, err)
	require.NotEqual(t, before.ModTime(), after.ModTime(), "the pool was restarted")
	rc, out = pc.cli("resource", "stop", "g", "--wait")
	require.Equal(t, 0, rc, out)
	require.Empty(t, pc.StateFiles("h1"))
	rc, out = pc.cli("resource", "restart", "g")
	require.Equal(t, 1, rc)
	require.Contains(t, out, "stopped on purpose", "a restart does not start a group stopped on purpose")
	rc, out = pc.cli("status")
	require.Equal(t, 0, rc, "a group stopped on purpose is as intended: %s", out)
	require.Contains(t, out, "target: stopped")

	rc, out = pc.cli("resource", "move", "nosuch", "--host", "h2")
	require.Equal(t, 1, rc)
	require.Equal(t, "basalt resource move: move nosuch h2: no group \"nosuch\" (groups: g)\n", out, "one clear line")
	rc, out = pc.cli("events", "-n", "5")
	require.Equal(t, 0, rc)
	require.Equal(t, 5, strings.Count(out, "\n"))
}
