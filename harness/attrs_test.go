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
// copy; its state file is in that host's HA_VARRUN. Moved to h2, its stop
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
	tool := exec.Command(filepath.Join(pc.Dir, "state", "h2", "tools", "crm_attribute"), "-N", "h1", "-l", "reboot", "-n", "master-st", "-G")
	tool.Env = []string{attrtools.SocketEnv + "=" + filepath.Join(pc.Dir, "state", "h2", "attrd.sock")}
	p.poll("h2's agent's copy holds h1's score", 10*time.Second, func() bool {
		out, err = tool.CombinedOutput()
		tool = exec.Command(tool.Path, tool.Args[1:]...)
		tool.Env = []string{attrtools.SocketEnv + "=" + filepath.Join(pc.Dir, "state", "h2", "attrd.sock")}
		return err == nil
	})
	require.Equal(t, "scope=status  name=master-st value=5\n", string(out))

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
