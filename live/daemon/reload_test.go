package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/planner"
)

// reloadResources are Debian's two Dummy agents as the live cluster's
// group: pool is heartbeat:Dummy (OCF 1.0, legacy reload: its non-unique
// fake reloads), mnt on it is pacemaker:Dummy (OCF 1.1 reload-agent: fake
// is marked reloadable). Both keep their state file where the test says.
func reloadResources(dir, poolState, fake string) string {
	return `resources:
  - {id: pool, agent: "ocf:heartbeat:Dummy", params: {state: "` + filepath.Join(dir, poolState) + `", fake: "` + fake + `"}, ops: {monitor: [{interval: 1s}]}}
  - {id: mnt, agent: "ocf:pacemaker:Dummy", params: {state: "` + filepath.Join(dir, "mnt.state") + `", fake: "` + fake + `"}, ops: {monitor: [{interval: 1s}]}}
`
}

// events are the manager's events of kind about rsc, from index from on.
func events(lc *liveCluster, from int, kind, rsc string) (n int, total int) {
	lc.mgr.View(func(m *manager.Manager) {
		evs := m.Events()
		total = len(evs)
		for _, e := range evs[min(from, len(evs)):] {
			if e.Kind == kind && e.Resource == rsc {
				n++
			}
		}
	})
	return n, total
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestLiveClusterReloadsDebianDummyAndRestartsOnState: with Debian's real
// agents, a change of fake alone reloads both resources (reload for
// heartbeat:Dummy, reload-agent for pacemaker:Dummy): nothing is stopped,
// the state files stay, and the manager sees the new definitions run. A
// change of pool's state file restarts pool and, below it, mnt.
func TestLiveClusterReloadsDebianDummyAndRestartsOnState(t *testing.T) {
	for _, p := range []string{"heartbeat", "pacemaker"} {
		requireInstalled(t, filepath.Join(debianOCFRoot, "resource.d", p, "Dummy"))
	}
	dir := t.TempDir()
	lc := newLiveClusterOpts(t, []string{"h1"}, liveOptions{ocfRoot: debianOCFRoot, resources: reloadResources(dir, "pool.state", "a")})
	runs := func(digests map[string]string) func() bool {
		return func() bool {
			ok := false
			lc.mgr.View(func(m *manager.Manager) {
				ok = m.Idle()
				for r, d := range digests {
					o := m.Observed(r, "h1")
					ok = ok && o.State == planner.Running && (d == "" || o.Digest == d)
				}
			})
			return ok
		}
	}
	lc.await("pool and mnt running on h1", runs(map[string]string{"pool": "", "mnt": ""}))
	poolIno, mntIno := inode(t, filepath.Join(dir, "pool.state")), inode(t, filepath.Join(dir, "mnt.state"))
	_, before := events(lc, 0, "", "")

	apply := func(resources string) map[string]string {
		t.Helper()
		cfg := strings.Replace(lc.text, reloadResources(dir, "pool.state", "a"), resources, 1)
		require.NotEqual(t, lc.text, cfg)
		_, err := lc.mgr.Admin(manager.Request{Command: manager.CmdConfigApply, Config: cfg})
		require.NoError(t, err)
		want := map[string]string{}
		lc.mgr.View(func(m *manager.Manager) {
			for _, r := range []string{"pool", "mnt"} {
				rsc, _ := m.Model().Resource(r)
				want[r] = rsc.Digest()
			}
		})
		return want
	}

	lc.await("pool and mnt reloaded with fake=b", runs(apply(reloadResources(dir, "pool.state", "b"))))
	for _, r := range []string{"pool", "mnt"} {
		reloaded, _ := events(lc, before, "reloaded", r)
		stopped, _ := events(lc, before, "stopped", r)
		require.Equal(t, 1, reloaded, "%s reloaded", r)
		require.Zero(t, stopped, "%s was not stopped", r)
	}
	require.Equal(t, poolIno, inode(t, filepath.Join(dir, "pool.state")), "pool's state file stayed")
	require.Equal(t, mntIno, inode(t, filepath.Join(dir, "mnt.state")), "mnt's state file stayed")
	_, before = events(lc, 0, "", "")

	lc.await("pool restarted with a new state file", runs(apply(reloadResources(dir, "pool-v2.state", "b"))))
	for _, r := range []string{"pool", "mnt"} {
		stopped, _ := events(lc, before, "stopped", r)
		started, _ := events(lc, before, "started", r)
		reloaded, _ := events(lc, before, "reloaded", r)
		require.Equal(t, 1, stopped, "%s stopped", r)
		require.Equal(t, 1, started, "%s started", r)
		require.Zero(t, reloaded, "%s was not reloaded", r)
	}
	require.NoFileExists(t, filepath.Join(dir, "pool.state"), "stopped with its old definition")
	require.FileExists(t, filepath.Join(dir, "pool-v2.state"))
}
