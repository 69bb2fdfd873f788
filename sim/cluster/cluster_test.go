package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

func loadModel(t *testing.T, name string) *model.Model {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "configs", name))
	require.NoError(t, err)
	m, err := model.Load(name, data)
	require.NoError(t, err)
	return m
}

// safety watches ground truth: no resource of a single-instance group is
// ever active on two hosts at once.
type safety struct {
	t      *testing.T
	active map[string]map[string]bool
	limit  map[string]int
	bad    []string
}

func newSafety(t *testing.T, m *model.Model) *safety {
	s := &safety{t: t, active: map[string]map[string]bool{}, limit: map[string]int{}}
	for _, g := range m.Groups {
		for _, r := range g.Resources() {
			s.limit[r] = g.Placement.MaxInstances
		}
	}
	return s
}

func (s *safety) observe(ch Change) {
	if s.active[ch.Resource] == nil {
		s.active[ch.Resource] = map[string]bool{}
	}
	if ch.Active {
		s.active[ch.Resource][ch.Host] = true
	} else {
		delete(s.active[ch.Resource], ch.Host)
	}
	if n := len(s.active[ch.Resource]); n > s.limit[ch.Resource] {
		s.bad = append(s.bad, fmt.Sprintf("%s: %s active on %d hosts %v", ch.At.Sub(Start), ch.Resource, n, s.active[ch.Resource]))
	}
}

type world struct {
	*Cluster
	t     *testing.T
	s     *safety
	lines []string
}

func newWorld(t *testing.T, config string, opts Options) *world {
	m := loadModel(t, config)
	w := &world{t: t, s: newSafety(t, m)}
	opts.Observer = w.s.observe
	opts.Trace = func(l string) { w.lines = append(w.lines, l) }
	w.Cluster = New(m, opts)
	t.Cleanup(func() {
		if t.Failed() {
			n := max(0, len(w.lines)-80)
			t.Logf("last trace lines:\n%s", strings.Join(w.lines[n:], "\n"))
		}
	})
	return w
}

func (w *world) requireSafe() {
	w.t.Helper()
	require.Empty(w.t, w.s.bad, "safety violated")
}

// runningOn reports whether the whole group runs on host, in truth and in
// the manager's view.
func (w *world) runningOn(group, host string) bool {
	g, _ := w.Model.Group(group)
	mg := w.Manager()
	for _, r := range g.Resources() {
		if !w.Running(host, r) {
			return false
		}
		if mg != nil && mg.Observed(r, host).State != planner.Running {
			return false
		}
	}
	return true
}

func (w *world) settle(d time.Duration, cond func() bool, what string) {
	w.t.Helper()
	require.True(w.t, w.RunUntil(d, cond), "not reached within %s: %s", d, what)
	w.requireSafe()
}

func TestFailoverPairStartsOnPreferredHost(t *testing.T) {
	w := newWorld(t, "failover-pair.yaml", Options{Seed: 1})
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "fs1 on oss1")
	for _, r := range []string{"pool1", "ost0", "ost1"} {
		require.False(t, w.Running("oss2", r))
		require.True(t, w.Manager().Observed(r, "oss1").Monitored, "%s monitored", r)
	}
}

func TestHostLossFencesThenFailsOver(t *testing.T) {
	w := newWorld(t, "failover-pair.yaml", Options{Seed: 2})
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "start-up")

	// oss1's agent dies (kill -9): its resources keep running, so only a
	// fence makes it safe to start them on oss2.
	lost := w.Q.Now()
	w.CrashAgent("oss1", 0)
	w.settle(2*time.Minute, func() bool { return w.runningOn("fs1", "oss2") }, "failover to oss2")
	require.False(t, w.Powered("oss1"), "oss1 was fenced")
	hist := w.Manager().FenceHistory()
	require.Len(t, hist, 1)
	require.True(t, hist[0].OK)
	require.Equal(t, []string{"pid-oss1"}, hist[0].Devices)
	require.Equal(t, []string{"oss2"}, hist[0].Executors)
	// Nothing started on oss2 before the fence completed.
	var fencedAt, startedAt time.Duration
	for _, l := range w.lines {
		if fencedAt == 0 && strings.Contains(l, "host oss1 powered off") {
			fencedAt = parseAt(l)
		}
		if startedAt == 0 && strings.Contains(l, "truth oss2 pool1 active=true") {
			startedAt = parseAt(l)
		}
	}
	require.Positive(t, fencedAt)
	require.Greater(t, startedAt, fencedAt)
	require.GreaterOrEqual(t, fencedAt, lost.Sub(Start)+w.Model.Cluster.DeadTimeout)
}

func parseAt(line string) time.Duration {
	d, _ := time.ParseDuration(strings.Fields(line)[0])
	return d
}

func TestFenceFailureFallsToNextLevel(t *testing.T) {
	m := loadModel(t, "three-host-domain.yaml")
	_ = m
	w := newWorld(t, "three-host-domain.yaml", Options{Seed: 3})
	w.Boot()
	w.settle(2*time.Minute, func() bool { return w.runningOn("service", "c") && w.Manager().Idle() }, "start-up on c")
	w.FailDevice("ipmi-c", DeviceFault{Fail: true})
	w.CrashAgent("c", 0)
	w.settle(5*time.Minute, func() bool { return w.runningOn("service", "a") }, "failover to a")
	hist := w.Manager().FenceHistory()
	require.Len(t, hist, 1)
	require.True(t, hist[0].OK)
	require.Equal(t, []string{"pdu1", "pdu2"}, hist[0].Devices, "level 2: both PDUs")
}

func TestLyingFenceDeviceIsCaughtByStatusCheck(t *testing.T) {
	w := newWorld(t, "three-host-domain.yaml", Options{Seed: 4})
	w.Boot()
	w.settle(2*time.Minute, func() bool { return w.runningOn("service", "c") && w.Manager().Idle() }, "start-up on c")
	w.FailDevice("ipmi-c", DeviceFault{Lie: true})
	w.CrashAgent("c", 0)
	w.settle(5*time.Minute, func() bool { return w.runningOn("service", "a") }, "failover to a")
	hist := w.Manager().FenceHistory()
	require.Equal(t, []string{"pdu1", "pdu2"}, hist[len(hist)-1].Devices, "the lie was not trusted")
}

func TestFenceFailureBlocksRecoveryAndRetries(t *testing.T) {
	w := newWorld(t, "failover-pair.yaml", Options{Seed: 5})
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "start-up")
	w.FailDevice("pid-oss1", DeviceFault{Fail: true})
	w.CrashAgent("oss1", 0)
	require.NoError(t, w.Run(2*time.Minute))
	w.requireSafe()
	require.False(t, w.Running("oss2", "pool1"), "never guess: no recovery without a confirmed fence")
	st := w.Manager().Status()
	require.Contains(t, st.Hosts[0].Fencing, "failed")
	fails := 0
	for _, h := range w.Manager().FenceHistory() {
		if !h.OK {
			fails++
		}
	}
	require.GreaterOrEqual(t, fails, 2, "the fence is retried")
	w.ClearDeviceFaults()
	w.settle(5*time.Minute, func() bool { return w.runningOn("fs1", "oss2") }, "recovery once the fence works")
}

func TestMonitorFailureRestartsThenRelocates(t *testing.T) {
	w := newWorld(t, "failover-pair.yaml", Options{Seed: 6})
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "start-up")
	for i := 1; i <= 3; i++ {
		w.KillResource("oss1", "ost0")
		if i < 3 {
			w.settle(time.Minute, func() bool {
				return w.Manager().Status().Resources[1].Fails["oss1"].Count == i && w.runningOn("fs1", "oss1") && w.Manager().Idle()
			}, fmt.Sprintf("restart in place %d", i))
		}
	}
	// The third failure reaches the migration threshold (3): relocate.
	w.settle(2*time.Minute, func() bool { return w.runningOn("fs1", "oss2") && w.Manager().Idle() }, "relocated to oss2")
	require.False(t, w.Running("oss1", "pool1"))
	why, ok := w.Manager().Why("fs1")
	require.True(t, ok)
	require.Contains(t, why, "ost0 failed 3 times here (threshold 3)")
}

func TestStopFailureFences(t *testing.T) {
	w := newWorld(t, "failover-pair.yaml", Options{Seed: 7})
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "start-up")
	w.FailResource("oss1", "ost1", "stop", ResourceFault{RC: 1})
	_, err := w.Admin(manager.Request{Command: manager.CmdMove, Target: "fs1", Host: "oss2"})
	require.NoError(t, err)
	w.settle(3*time.Minute, func() bool { return w.runningOn("fs1", "oss2") }, "moved after fencing oss1")
	require.False(t, w.Powered("oss1"), "the failed stop was resolved by fencing")
}

func TestManagerRestartAdoptsRunningGroups(t *testing.T) {
	w := newWorld(t, "failover-pair.yaml", Options{Seed: 8})
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "start-up")
	before := w.Manager().Epoch()
	w.CrashManager()
	require.NoError(t, w.Run(3*time.Second))
	w.StartManager()
	require.Greater(t, w.Manager().Epoch(), before)
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "adopted")
	for _, l := range w.lines {
		require.NotContains(t, l, "active=false", "a manager restart never stops running resources")
	}
	for _, r := range []string{"pool1", "ost0", "ost1"} {
		require.True(t, w.Manager().Observed(r, "oss1").Monitored)
	}
}

func TestAdminMoveReportOpensAndCloses(t *testing.T) {
	w := newWorld(t, "failover-pair.yaml", Options{Seed: 9})
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "start-up")
	id, err := w.Admin(manager.Request{Command: manager.CmdMove, Target: "fs1", Host: "oss2", Lifetime: time.Hour})
	require.NoError(t, err)
	rep, ok := w.Manager().Report(id)
	require.True(t, ok)
	require.Equal(t, manager.ReportOpen, rep.State)
	w.settle(time.Minute, func() bool {
		r, _ := w.Manager().Report(id)
		return r.State == manager.ReportClosed
	}, "report closed")
	rep, _ = w.Manager().Report(id)
	require.False(t, rep.Failed)
	require.Equal(t, "running on oss2", rep.Results["pool1"])
	require.True(t, w.runningOn("fs1", "oss2"))

	_, err = w.Admin(manager.Request{Command: manager.CmdMove, Target: "fs1", Host: "nowhere"})
	require.ErrorContains(t, err, `no host "nowhere"`)
	_, err = w.Admin(manager.Request{Command: manager.CmdMove, Target: "nogroup", Host: "oss1"})
	require.ErrorContains(t, err, `no group "nogroup"`)
}

func TestStaleEpochIsRefused(t *testing.T) {
	w := newWorld(t, "failover-pair.yaml", Options{Seed: 10})
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "start-up")
	old := w.Manager().Epoch()
	w.CrashManager()
	w.StartManager()
	w.settle(time.Minute, func() bool { return w.Manager().Idle() }, "adopted")
	require.Equal(t, w.Manager().Epoch(), w.Agent("oss1").Epoch(), "the agent accepted and persisted the new epoch")
	// The old manager wakes up and tries to stop the pool.
	r, _ := w.Model.Resource("pool1")
	w.SendFromStaleManager("oss1", proto.Exec{Epoch: old, Op: 999, Resource: lrm.Resource{ID: r.ID, Name: r.Name, Agent: r.Agent, Params: r.Params},
		Request: lrm.OpRequest{Resource: "pool1", Action: ocf.Stop, Timeout: time.Minute}})
	require.NoError(t, w.Run(10*time.Second))
	require.True(t, w.Running("oss1", "pool1"), "the stale command was refused")
	refused := false
	for _, l := range w.lines {
		refused = refused || strings.Contains(l, "refused command from a superseded manager")
	}
	require.True(t, refused)
	require.False(t, w.Manager().Deposed(), "the refusal was of the old manager's command, not ours")
	// An agent restart keeps the epoch (it was persisted).
	w.CrashAgent("oss1", time.Second)
	require.NoError(t, w.Run(3*time.Second))
	require.Equal(t, w.Manager().Epoch(), w.Agent("oss1").Epoch())
}

// The same seed gives the same trace, byte for byte.
func TestDeterministicTrace(t *testing.T) {
	run := func() string {
		w := newWorld(t, "three-host-domain.yaml", Options{Seed: 42, Loss: 0.01, LatencyMax: 20 * time.Millisecond})
		w.Boot()
		require.NoError(t, w.Run(30*time.Second))
		w.CrashAgent("c", 0)
		require.NoError(t, w.Run(2*time.Minute))
		return w.Hash()
	}
	require.Equal(t, run(), run())
}

func TestDecisionsSurviveManagerRestartAndTornLog(t *testing.T) {
	w := newWorld(t, "failover-pair.yaml", Options{Seed: 11})
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "start-up")
	id, err := w.Admin(manager.Request{Command: manager.CmdBan, Target: "fs1", Host: "oss1"})
	require.NoError(t, err)
	w.settle(time.Minute, func() bool { r, _ := w.Manager().Report(id); return r.State == manager.ReportClosed }, "ban done")
	require.True(t, w.runningOn("fs1", "oss2"))
	_, err = w.Admin(manager.Request{Command: manager.CmdStandby, Target: "oss2"})
	require.NoError(t, err)
	w.settle(time.Minute, func() bool { return w.Manager().Idle() }, "standby done")
	require.False(t, w.Running("oss2", "pool1"), "banned from oss1, oss2 in standby: nowhere")

	// The manager crashes in the middle of an append: the log's tail is
	// torn. On restart the intact records are replayed and the torn one
	// is cut off.
	w.CrashManager()
	data, err := w.mstore.Read(manager.EventLog)
	require.NoError(t, err)
	w.mstore.TearTail(manager.EventLog, 3)
	w.StartManager()
	after, err := w.mstore.Read(manager.EventLog)
	require.NoError(t, err)
	require.Less(t, len(after), len(data), "the torn record was truncated")
	w.settle(time.Minute, func() bool { return w.Manager().Idle() }, "restarted")
	require.False(t, w.Running("oss1", "pool1"), "the ban survived the restart")
	require.False(t, w.Running("oss2", "pool1"), "the standby survived the restart")
	kinds := map[string]int{}
	for _, e := range w.Manager().Events() {
		kinds[e.Kind]++
	}
	require.Equal(t, 1, kinds["ban"], "the replayed log is visible in events")
	require.Equal(t, 2, kinds["manager-started"])

	_, err = w.Admin(manager.Request{Command: manager.CmdClear, Target: "fs1"})
	require.NoError(t, err)
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "cleared")
}
