package harness_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/live/api"
)

// TestProcessAgentKilledMidStartIsNotActiveTwice is the hardening issue
// "Active on two hosts after an agent dies mid-start" with the shipped
// binaries: mnt's start takes 3 s (the statefile agent's delay, its state
// file written at the end); h1's agent is killed with kill -9 1.5 s into it
// and restarted at once, and the group is moved to h2 right after. The
// orphaned start must not finish on h1 while mnt runs on h2, and the
// operation history must show it.
func TestProcessAgentKilledMidStartIsNotActiveTwice(t *testing.T) {
	hosts := []string{"h1", "h2"}
	config := strings.Replace(string(testConfig(hosts)), `{id: mnt, name: test mount, agent: "ocf:basalt:statefile",`,
		`{id: mnt, name: test mount, agent: "ocf:basalt:statefile", params: {delay: "3"},`, 1)
	pc := newProcClusterOpts(t, hosts, procOpts{config: []byte(config)})
	mnt := func(h string) bool {
		_, err := os.Stat(filepath.Join(pc.ResourceDir(h), "statefile-mnt.state"))
		return err == nil
	}
	// mnt's start is dispatched as soon as the pool runs.
	pc.poll("pool running on h1", 90*time.Second, func() bool { return pc.Running("h1", "pool") })
	since := time.Now()
	pc.poll("1.5 s into mnt's start", 10*time.Second, func() bool { return time.Since(since) >= 1500*time.Millisecond })
	require.False(t, mnt("h1"), "mnt's start is still under way")

	pc.CrashAgent("h1", time.Millisecond)
	pc.poll("h1's agent restarted", 30*time.Second, func() bool { return pc.AgentPID("h1") != 0 })
	require.NoError(t, pc.Admin(api.Request{Command: string(manager.CmdMove), Target: "g", Host: "h2"}))

	var twice bool
	pc.poll("g on h2, and well past the orphan's end", 90*time.Second, func() bool {
		twice = twice || mnt("h1") && mnt("h2")
		v, rc := pc.status()
		onH2 := rc == 0 && len(v.Groups) == 1 && len(v.Groups[0].Resources) == 2 &&
			equal(v.Groups[0].Resources[1].RunningOn, []string{"h2"}) && mnt("h2")
		return twice || onH2 && time.Since(since) > 6*time.Second
	})
	require.False(t, twice, "mnt was active on h1 and h2 at once")
	require.False(t, mnt("h1"))

	ops, err := pc.Ops()
	require.NoError(t, err)
	var starts []check.Op
	for _, op := range ops {
		if op.Resource == "mnt" && op.Host == "h1" && op.Kind == "start" {
			starts = append(starts, op)
		}
	}
	require.True(t, slices.ContainsFunc(starts, func(op check.Op) bool { return op.Orphan && op.Killed }),
		"the history holds the orphaned start, killed by the restarted agent: %+v", starts)
	for _, lr := range check.CheckOwnership(ops, check.Limits(pc.Model)) {
		require.True(t, lr.OK, "%s's history is linearizable", lr.Resource)
	}
}

// poll checks cond every 20 ms until it holds, for at most bound.
func (pc *procCluster) poll(what string, bound time.Duration, cond func() bool) {
	pc.t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			pc.t.Fatalf("not reached within %s: %s", bound, what)
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
}
