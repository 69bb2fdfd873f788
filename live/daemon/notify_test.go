package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/planner"
)

// notifyResources is a clone of Debian's pacemaker:Dummy that dumps its
// environment into envfile on every action (each host its own state file:
// HA_VARRUN is the host's, the anonymous clone's name drops its ":N").
func notifyResources(envfile string) string {
	return `resources:
  - {id: d, agent: "ocf:pacemaker:Dummy", params: {envfile: "` + envfile + `"}, ops: {monitor: [{interval: 1s}]}}
`
}

const notifyGroups = `groups:
  - id: d
    members: [{resource: d}]
    placement: {clone: true, notify: true}
`

// dumpedEnvs parses Dummy's envfile: one environment per action, as
// KEY=VALUE lines between "### <action> @ <date> ###" and "###".
func dumpedEnvs(t *testing.T, path string) []map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var out []map[string]string
	var cur map[string]string
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "### ") && strings.HasSuffix(line, " ###"):
			cur = map[string]string{"action": strings.Fields(line)[1]}
		case line == "###" && cur != nil:
			out = append(out, cur)
			cur = nil
		case cur != nil:
			if k, v, ok := strings.Cut(line, "="); ok {
				cur[k] = v
			}
		}
	}
	return out
}

// findNotify is the first dumped notify environment that has every
// meta attribute of want (OCF_RESKEY_CRM_meta_<name>).
func findNotify(envs []map[string]string, want map[string]string) map[string]string {
	for _, e := range envs {
		if e["action"] != "notify" {
			continue
		}
		ok := true
		for k, v := range want {
			if e["OCF_RESKEY_CRM_meta_"+k] != v {
				ok = false
				break
			}
		}
		if ok {
			return e
		}
	}
	return nil
}

// TestLiveCloneNotifyWithDebianDummy runs Debian's pacemaker:Dummy as an
// anonymous clone with notify: true on three hosts. The first start is
// announced after the fact to all three (nothing ran before it); then h2's
// instance dies and is restarted, which h1 and h3 hear of before and after
// the stop and the start. Dummy answers notify with rc 3 (not implemented)
// after dumping its environment: the instances keep running, nothing is
// counted against them. The dumps carry Pacemaker's variables: type,
// operation, the lists as instances and hosts, on_node and the clone's
// meta attributes.
func TestLiveCloneNotifyWithDebianDummy(t *testing.T) {
	if _, err := os.Stat(filepath.Join(debianOCFRoot, "resource.d", "pacemaker", "Dummy")); err != nil {
		t.Skip("Debian's pacemaker:Dummy is not installed (resource-agents, pacemaker)")
	}
	envfile := filepath.Join(t.TempDir(), "env.log")
	hosts := []string{"h1", "h2", "h3"}
	lc := newLiveClusterOpts(t, hosts, liveOptions{ocfRoot: debianOCFRoot, resources: notifyResources(envfile), groups: notifyGroups})
	allRunning := func() bool {
		ok := true
		lc.mgr.View(func(m *manager.Manager) {
			for _, h := range hosts {
				o := m.Observed("d", h)
				ok = ok && o.State == planner.Running && o.Monitored
			}
			ok = ok && m.Idle()
		})
		return ok
	}
	lc.await("the clone runs on every host", allRunning)
	post := map[string]string{"notify_type": "post", "notify_operation": "start", "on_node": "h3"}
	lc.await("h3 is told of the first start", func() bool { return findNotify(dumpedEnvs(t, envfile), post) != nil })
	e := findNotify(dumpedEnvs(t, envfile), post)
	require.Equal(t, "h1 h2 h3", e["OCF_RESKEY_CRM_meta_notify_start_uname"])
	require.Equal(t, "d:0 d:1 d:2", e["OCF_RESKEY_CRM_meta_notify_start_resource"])
	require.Equal(t, " ", e["OCF_RESKEY_CRM_meta_notify_active_resource"], "nothing ran before: an empty list is a space")
	require.Equal(t, "d:2", e["OCF_RESOURCE_INSTANCE"])
	require.Equal(t, "2", e["OCF_RESKEY_CRM_meta_clone"])
	require.Equal(t, "3", e["OCF_RESKEY_CRM_meta_clone_max"])
	require.Equal(t, "true", e["OCF_RESKEY_CRM_meta_notify"])

	// h2's instance dies (its state file goes): its monitor fails, and
	// it is restarted in place.
	require.NoError(t, os.Remove(filepath.Join(lc.hostsDir, "h2", "resources", "Dummy-d.state")))
	pre := map[string]string{"notify_type": "pre", "notify_operation": "start", "on_node": "h1"}
	lc.await("h1 is told before h2's instance starts again", func() bool { return findNotify(dumpedEnvs(t, envfile), pre) != nil })
	e = findNotify(dumpedEnvs(t, envfile), pre)
	require.Equal(t, "h2", e["OCF_RESKEY_CRM_meta_notify_start_uname"])
	require.Equal(t, "d:1", e["OCF_RESKEY_CRM_meta_notify_start_resource"])
	require.Equal(t, "h2", e["OCF_RESKEY_CRM_meta_notify_stop_uname"])
	require.Equal(t, "h1 h2 h3", e["OCF_RESKEY_CRM_meta_notify_active_uname"], "active: before the transition")
	require.Equal(t, "d:0 d:1 d:2", e["OCF_RESKEY_CRM_meta_notify_active_resource"])
	require.Equal(t, "d:0", e["OCF_RESOURCE_INSTANCE"])
	lc.await("the clone runs on every host again", allRunning)
	for _, env := range dumpedEnvs(t, envfile) {
		if env["action"] == "notify" && env["OCF_RESKEY_CRM_meta_on_node"] == "h2" {
			require.NotEqual(t, "pre", env["OCF_RESKEY_CRM_meta_notify_type"],
				"h2's failed instance is told nothing before it stops or starts: %v", env)
		}
	}
	failures, notifyFailed := 0, 0
	lc.mgr.View(func(m *manager.Manager) {
		for _, ev := range m.Events() {
			switch ev.Kind {
			case "failure":
				failures++
			case "notify-failed":
				notifyFailed++
			}
		}
	})
	require.Equal(t, 1, failures, "only h2's monitor failed: Dummy's rc 3 to notify counts against nothing")
	require.Positive(t, notifyFailed, "Dummy does not implement notify: each is logged as an event")
}
