package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/live/admin"
	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/live/daemon"
)

// A misspelt agent: the status says why the mount does not start, in the
// agent host's words (rc and cause), not only as a fail count.
func TestStatusShowsWhyAnAgentFailed(t *testing.T) {
	lc := daemon.NewLiveClusterOf(t, []string{"h1", "h2"}, `resources:
  - {id: pool, name: test pool, agent: "ocf:basalt:statefile", ops: {monitor: [{interval: 1s}]}}
  - {id: mnt, name: test mount, agent: "ocf:basalt:statefil", ops: {monitor: [{interval: 1s}]}}
`)
	fa := awaitFailure(lc, "mnt", "the mount's start fails with its cause")
	// The probe finds the agent missing (rc 5, not installed): the host is
	// banned for the resource, and the cause is the system's.
	require.Equal(t, "probe", fa.Op)
	require.True(t, fa.Hard, "a missing agent bans the host")
	require.Contains(t, fa.What, "OCF_ERR_INSTALLED (rc 5)")
	require.Contains(t, fa.What, "statefil: no such file or directory")
	// basalt events says the same.
	found := false
	lc.Manager().View(func(m *manager.Manager) {
		for _, e := range m.Events() {
			found = found || e.Kind == "failure" && e.Resource == "mnt" && strings.Contains(e.Message, "no such file or directory")
		}
	})
	require.True(t, found, "a failure event names the cause")
}

// grumble is an OCF agent that says why it fails only on stderr: no
// ocf-exit-reason line, as many a shell agent whose command is missing.
const grumble = `#!/bin/sh
case "$1" in
start) echo "grumble: cannot open /dev/grumble0: No such device" >&2; echo "second line" >&2; exit 1 ;;
stop) exit 0 ;;
monitor) exit 7 ;;
meta-data) echo '<resource-agent name="grumble"/>'; exit 0 ;;
*) exit 3 ;;
esac
`

// An agent that fails without an exit reason: status and events quote the
// first line of its stderr, marked as such, beside its rc.
func TestStatusShowsWhatAFailingAgentSaidOnStderr(t *testing.T) {
	root := t.TempDir()
	statefile, err := filepath.Abs("../../agents/ocf/resource.d/basalt/statefile")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "resource.d", "basalt"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "resource.d", "test"), 0o755))
	require.NoError(t, os.Symlink(statefile, filepath.Join(root, "resource.d", "basalt", "statefile")))
	require.NoError(t, os.WriteFile(filepath.Join(root, "resource.d", "test", "grumble"), []byte(grumble), 0o755))
	lc := daemon.NewLiveClusterWithAgents(t, []string{"h1", "h2"}, `resources:
  - {id: pool, name: test pool, agent: "ocf:basalt:statefile", ops: {monitor: [{interval: 1s}]}}
  - {id: mnt, name: test mount, agent: "ocf:test:grumble", ops: {monitor: [{interval: 1s}]}}
`, root, "")
	fa := awaitFailure(lc, "mnt", "the mount's start fails")
	const said = "stderr: grumble: cannot open /dev/grumble0: No such device"
	require.Equal(t, "start", fa.Op)
	require.Contains(t, fa.What, "OCF_ERR_GENERIC (rc 1): "+said)
	require.NotContains(t, fa.What, "second line", "the first line only")
	found := false
	lc.Manager().View(func(m *manager.Manager) {
		for _, e := range m.Events() {
			found = found || e.Kind == "failure" && e.Resource == "mnt" && strings.Contains(e.Message, said)
		}
	})
	require.True(t, found, "a failure event quotes the agent's stderr")
}

// A fence device whose agent is missing: the fence failure names the
// missing program (the start error of its exec), not only "rc 1", in the
// fence history and the events.
func TestFenceFailureNamesAMissingFenceAgent(t *testing.T) {
	lc := daemon.NewLiveClusterWithAgents(t, []string{"h1", "h2"}, "", "", t.TempDir()) // no fence agent installed
	lc.Await("group running on h1", func() bool { return lc.Running("h1") })
	lc.Agent("h1").Stop()
	var reason string
	lc.Await("h1's fence fails", func() bool {
		lc.Manager().View(func(m *manager.Manager) {
			for _, h := range m.FenceHistory() {
				if h.Target == "h1" && !h.OK {
					reason = h.Reason
				}
			}
		})
		return reason != ""
	})
	require.Contains(t, reason, "rc 1: ")
	require.Contains(t, reason, "fence_basalt_pid: no such file or directory")
	found := false
	lc.Manager().View(func(m *manager.Manager) {
		for _, e := range m.Events() {
			found = found || e.Kind == "fence-failed" && e.Host == "h1" && strings.Contains(e.Message, "fence_basalt_pid: no such file or directory")
		}
	})
	require.True(t, found, "the fence-failed event names the missing program")
}

// awaitFailure waits (bounded) until status shows a failed action of
// resource rsc, and returns the first.
func awaitFailure(lc *daemon.LiveCluster, rsc, what string) api.FailedAction {
	var fa api.FailedAction
	lc.Await(what, func() bool {
		for _, g := range admin.Status(lc.Manager()).Groups {
			for _, r := range g.Resources {
				if r.ID == rsc && len(r.Failures) > 0 && r.Failures[0].What != "" {
					fa = r.Failures[0]
					return true
				}
			}
		}
		return false
	})
	return fa
}
