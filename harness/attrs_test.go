package harness_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/harness"
	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/live/attrtools"
)

// statefulConfig is a two-host cluster running Debian's ocf:pacemaker:
// Stateful as a plain resource (st, in group g), preferring h1.
const statefulConfig = `cluster: {name: proc, heartbeat-interval: 300ms, dead-timeout: 3s, fence-timeout: 10s}
hosts:
  - {name: h1, address: "127.0.0.1:1"}
  - {name: h2, address: "127.0.0.1:2"}
fence-devices:
  - {id: pid-h1, agent: fence_basalt_pid, hosts: {h1: h1}}
  - {id: pid-h2, agent: fence_basalt_pid, hosts: {h2: h2}}
resources:
  - {id: st, agent: "ocf:pacemaker:Stateful", ops: {monitor: [{interval: 1s}]}}
groups:
  - {id: g, members: [{resource: st}], placement: {domain: {hosts: [{host: h1}, {host: h2}]}}}
`

// TestProcessStatefulPromotionScore: Debian's unmodified Stateful agent,
// run by the shipped basalt-agent, calls ${HA_SBIN_DIR}/crm_attribute
// --promotion: its start's score (5, "unpromoted") reaches the manager's
// store as master-st, transient, on the host it runs on, visible through
// basalt host attr and answered by crm_attribute's query from the agent's
// copy; its state file is in that host's HA_VARRUN. crm_master,
// attrd_updater and crm_node, run as agents run them, set, query and
// delete through the same path. Moved to h2, its stop
// on h1 deletes h1's score and its start sets h2's. A restarted manager
// still holds the score (the event log keeps transient values too).
func TestProcessStatefulPromotionScore(t *testing.T) {
	if _, err := os.Stat(filepath.Join(debianOCFRoot, "resource.d", "pacemaker", "Stateful")); err != nil {
		t.Skipf("Debian's pacemaker-resource-agents is not installed: %v", err)
	}
	if testing.Short() {
		t.Skip("process tests build and run the daemons")
	}
	bin := buildBinaries(t, "")
	pc, err := harness.StartProcessCluster(harness.ProcessOptions{Name: "proc", Config: []byte(statefulConfig), Dir: t.TempDir(),
		Bin: bin, Repo: repo(), OCFRoot: debianOCFRoot, KeepAgents: true, Logf: t.Logf})
	require.NoError(t, err)
	t.Cleanup(pc.Stop)
	p := &procCluster{ProcessCluster: pc, t: t}
	c := api.NewClient(pc.Socket())
	score := api.AttrView{Name: "master-st", Value: "5", Lifetime: "reboot"}
	has := func(h string, want api.AttrView) bool {
		as, err := api.NewClient(pc.Socket()).Attributes(h)
		return err == nil && slices.Contains(as, want)
	}
	p.poll("Stateful's score on h1", 30*time.Second, func() bool { return has("h1", score) })
	_, err = os.Stat(filepath.Join(pc.VarRunDir("h1"), "Stateful-st.state"))
	require.NoError(t, err, "Stateful keeps its state file in h1's HA_VARRUN")

	out, err := exec.Command(filepath.Join(bin, "basalt"), "host", "attr", "h1", "master-st", "--socket", pc.Socket()).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, "master-st=5 (reboot)\n", string(out))

	// crm_attribute as an agent on h2 runs it: the query is answered from
	// h2's agent's copy of every host's attributes.
	p.poll("h2's agent's copy holds h1's score", 10*time.Second, func() bool {
		out, err = runTool(pc, "h2", nil, "crm_attribute", "-N", "h1", "-l", "reboot", "-n", "master-st", "-G")
		return err == nil
	})
	require.Equal(t, "scope=status  name=master-st value=5\n", string(out))
	// The other tools, as agents run them: crm_master for a clone
	// instance, attrd_updater, crm_node.
	inst := []string{"OCF_RESOURCE_INSTANCE=db:1"}
	out, err = runTool(pc, "h2", inst, "crm_master", "-l", "reboot", "-v", "100")
	require.NoError(t, err, "%s", out)
	require.True(t, has("h2", api.AttrView{Name: "master-db", Value: "100", Lifetime: "reboot"}), "set once crm_master returns")
	out, err = runTool(pc, "h2", inst, "crm_master", "-l", "reboot", "-G", "-q")
	require.NoError(t, err, "%s", out)
	require.Equal(t, "100\n", string(out))
	out, err = runTool(pc, "h2", nil, "attrd_updater", "-n", "pingd", "-U", "1000", "-d", "5s")
	require.NoError(t, err, "%s", out)
	out, err = runTool(pc, "h2", nil, "attrd_updater", "-n", "pingd", "-Q")
	require.NoError(t, err, "%s", out)
	require.Equal(t, "name=\"pingd\" host=\"h2\" value=\"1000\"\n", string(out))
	out, err = runTool(pc, "h2", nil, "crm_master", "-l", "reboot", "-D")
	require.Error(t, err, "crm_master without OCF_RESOURCE_INSTANCE or -r")
	out, err = runTool(pc, "h2", inst, "crm_master", "-l", "reboot", "-D")
	require.NoError(t, err, "%s", out)
	out, err = runTool(pc, "h2", nil, "attrd_updater", "-n", "pingd", "-D")
	require.NoError(t, err, "%s", out)
	out, err = runTool(pc, "h2", nil, "crm_node", "-n")
	require.NoError(t, err, "%s", out)
	require.Equal(t, "h2\n", string(out))
	out, err = runTool(pc, "h2", nil, "crm_node", "-l")
	require.NoError(t, err, "%s", out)
	require.Equal(t, "1 h1 member\n2 h2 member\n", string(out))
	out, err = runTool(pc, "h2", nil, "crm_attribute", "-n", "cluster-delay", "-G")
	require.Equal(t, "crm_attribute: a cluster option (no --node, --lifetime or --promotion) is not supported by basalt\n", string(out))
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 3, ee.ExitCode())
	as, err := c.Attributes("h2")
	require.NoError(t, err)
	require.Empty(t, as, "h2 holds nothing the tools did not delete")

	require.NoError(t, c.Do("POST", "/v1/requests", api.Request{Command: string(manager.CmdMove), Target: "g", Host: "h2"}, nil))
	p.poll("the score follows Stateful to h2", 30*time.Second, func() bool {
		as, err := c.Attributes("h1")
		return err == nil && len(as) == 0 && has("h2", score)
	})

	require.NoError(t, pc.RestartManager())
	c = api.NewClient(pc.Socket())
	p.poll("the restarted manager holds h2's score", 30*time.Second, func() bool { return has("h2", score) })
	v, err := c.Status()
	require.NoError(t, err)
	require.Equal(t, []api.AttrView{score}, v.Hosts[1].Attributes, "the status shows it")
}

// runTool runs one of host h's attribute tools as a resource agent there
// would: from its tools directory, with its socket in the environment.
func runTool(pc *harness.ProcessCluster, h string, env []string, tool string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(pc.Dir, "state", h, "tools", tool), args...)
	cmd.Env = append([]string{attrtools.SocketEnv + "=" + filepath.Join(pc.Dir, "state", h, "attrd.sock")}, env...)
	return cmd.CombinedOutput()
}
