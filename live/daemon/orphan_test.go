package daemon

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/planner"
)

// TestLiveClusterAgentDeathMidStartIsNotActiveTwice is the hardening issue
// "Active on two hosts after an agent dies mid-start" with the real
// daemons and the statefile agent: mnt's start takes 3 s (delay: 3, the
// state file written at its end); the agent dies 1.5 s into it and is
// restarted at once; a move to h2 follows. The start's process outlives
// its agent, so the restarted agent must deal with it before it reports
// anything about mnt, or mnt ends up active on both hosts.
func TestLiveClusterAgentDeathMidStartIsNotActiveTwice(t *testing.T) {
	lc := newLiveClusterOf(t, []string{"h1", "h2"}, false, `resources:
  - {id: pool, name: test pool, agent: "ocf:basalt:statefile", ops: {monitor: [{interval: 1s}]}}
  - {id: mnt, name: test mount, agent: "ocf:basalt:statefile", params: {delay: "3"}, ops: {monitor: [{interval: 1s}]}}
`, nil)
	mntState := func(h string) string { return filepath.Join(lc.hostsDir, h, "resources", "statefile-mnt.state") }
	// mnt's start is dispatched as soon as the pool runs.
	lc.await("pool running on h1", func() bool {
		ok := false
		lc.mgr.View(func(m *manager.Manager) { ok = m.Observed("pool", "h1").State == planner.Running })
		return ok
	})
	dispatched := time.Now()
	lc.awaitFor("1.5 s into mnt's start", 10*time.Second, func() bool { return time.Since(dispatched) >= 1500*time.Millisecond })
	_, err := os.Stat(mntState("h1"))
	require.ErrorIs(t, err, os.ErrNotExist, "mnt's start is still under way")

	lc.agents["h1"].Stop() // its resource agents keep running, as after kill -9
	lc.startAgent("h1")
	_, err = lc.mgr.Admin(manager.Request{Command: manager.CmdMove, Target: "g", Host: "h2"})
	require.NoError(t, err)

	// Watch the state files until the group runs on h2 and well past the
	// end of the orphaned start.
	var twice []string
	lc.awaitFor("g moved to h2, and the orphan's time over", 60*time.Second, func() bool {
		if hosts := lc.activeHosts("mnt"); len(hosts) > 1 {
			slices.Sort(hosts)
			twice = hosts
		}
		return twice != nil || lc.running("h2") && time.Since(dispatched) > 6*time.Second
	})
	require.Nil(t, twice, "mnt was active on two hosts at once")
	require.Equal(t, []string{"h2"}, lc.activeHosts("mnt"))
}

// awaitFor is await with its own bound, polling every 20 ms (and on every
// change of the manager).
func (lc *liveCluster) awaitFor(what string, bound time.Duration, cond func() bool) {
	lc.t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			lc.t.Fatalf("not reached within %s: %s", bound, what)
		}
		select {
		case <-lc.mgr.Changed():
		case <-time.After(20 * time.Millisecond):
		}
	}
}
