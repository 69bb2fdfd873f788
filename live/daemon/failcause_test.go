package daemon_test

import (
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
	var fa api.FailedAction
	lc.Await("the mount's start fails with its cause", func() bool {
		for _, g := range admin.Status(lc.Manager()).Groups {
			for _, r := range g.Resources {
				if r.ID == "mnt" && len(r.Failures) > 0 && r.Failures[0].What != "" {
					fa = r.Failures[0]
					return true
				}
			}
		}
		return false
	})
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
