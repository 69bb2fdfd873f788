package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/harness/check"
)

// judgedWorld is a world whose ground truth the harness's safety judge
// watches too, so that a test can also ask the ownership judge about the
// history.
type judgedWorld struct {
	*world
	judge *check.Safety
}

func newJudgedWorld(t *testing.T, config string, opts Options) *judgedWorld {
	m := loadModel(t, config)
	jw := &judgedWorld{world: &world{t: t, s: newSafety(t, m)}, judge: check.NewSafety(check.Limits(m))}
	opts.Observer = func(ch Change) {
		jw.s.observe(ch)
		jw.judge.Observe(ch.At, ch.Host, ch.Resource, ch.Active)
	}
	opts.Trace = func(l string) { jw.lines = append(jw.lines, l) }
	jw.Cluster = New(m, opts)
	t.Cleanup(func() {
		if t.Failed() {
			n := max(0, len(jw.lines)-80)
			t.Logf("last trace lines:\n%s", strings.Join(jw.lines[n:], "\n"))
		}
	})
	return jw
}

// requireJudged: the safety judge saw nothing active twice, and every
// resource's history is linearizable under the ownership model.
func (jw *judgedWorld) requireJudged() {
	jw.t.Helper()
	jw.requireSafe()
	require.Empty(jw.t, jw.judge.Violations, "safety judge")
	for _, r := range check.CheckOwnership(jw.History(), check.Limits(jw.Model)) {
		require.True(jw.t, r.OK, "ownership of %s is not linearizable", r.Resource)
	}
}

// awaitQuery runs until a power status query is done and returns it.
func (jw *judgedWorld) awaitQuery(id string) manager.PowerQuery {
	jw.t.Helper()
	var q manager.PowerQuery
	jw.settle(time.Minute, func() bool { q, _ = jw.Manager().Query(id); return q.Done }, "power query "+id+" done")
	return q
}

// basalt power off in the simulated world: the fencer's device powers the
// host off, its group fails over, the judges hold, and the history names
// the operator. Power status reads ON before and OFF after; power on boots
// the host, which joins when its agent says hello.
func TestPowerOffFailsOverAndPowerOnBoots(t *testing.T) {
	w := newJudgedWorld(t, "failover-pair.yaml", Options{Seed: 7})
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "fs1 on oss1")

	id, err := w.PowerStatus("oss1")
	require.NoError(t, err)
	q := w.awaitQuery(id)
	require.Equal(t, manager.PowerOn, q.Readings[0].State)
	require.Equal(t, "oss2", q.Readings[0].Executor)

	rep, err := w.Admin(manager.Request{Command: manager.CmdPowerOff, Target: "oss1"})
	require.NoError(t, err)
	w.settle(2*time.Minute, func() bool { return w.runningOn("fs1", "oss2") && w.Manager().Idle() }, "fs1 failed over to oss2")
	require.False(t, w.Powered("oss1"), "the device powered oss1 off")
	r, _ := w.Manager().Report(rep)
	require.Equal(t, manager.ReportClosed, r.State)
	require.False(t, r.Failed, "%v", r.Results)
	h := w.Manager().FenceHistory()
	require.Equal(t, []string{"operator (power off)"}, h[len(h)-1].Origins)
	w.requireJudged()

	id, err = w.PowerStatus("oss1")
	require.NoError(t, err)
	require.Equal(t, manager.PowerOff, w.awaitQuery(id).Readings[0].State)

	rep, err = w.Admin(manager.Request{Command: manager.CmdPowerOn, Target: "oss1"})
	require.NoError(t, err)
	w.settle(time.Minute, func() bool { r, _ := w.Manager().Report(rep); return r.State == manager.ReportClosed }, "power-on report closed")
	require.True(t, w.Powered("oss1"))
	w.settle(time.Minute, func() bool { return w.Manager().HostState("oss1") == "online" }, "oss1 joins once its agent says hello")
	w.requireJudged()
}

// A crashed host whose fence device fails blocks its group's recovery; the
// operator, having checked the power by hand, confirms it down, and
// recovery proceeds without any device, the judges holding (the
// confirmation is the fence the history sees).
func TestConfirmDownOfCrashedHostRecoversWithoutFence(t *testing.T) {
	w := newJudgedWorld(t, "failover-pair.yaml", Options{Seed: 11})
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "fs1 on oss1")
	w.FailDevice("pid-oss1", DeviceFault{Fail: true})
	w.CrashHost("oss1", 0)
	w.settle(time.Minute, func() bool {
		for _, h := range w.Manager().Status().Hosts {
			if h.Name == "oss1" && strings.HasPrefix(h.Fencing, "failed") {
				return true
			}
		}
		return false
	}, "oss1's fence failed")
	require.NoError(t, w.Run(30*time.Second))
	require.False(t, w.runningOn("fs1", "oss2"), "no recovery before the host is fenced")

	rep, err := w.Admin(manager.Request{Command: manager.CmdConfirmDown, Target: "oss1"})
	require.NoError(t, err)
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss2") && w.Manager().Idle() }, "fs1 recovered on oss2")
	r, _ := w.Manager().Report(rep)
	require.Equal(t, manager.ReportClosed, r.State)
	var kinds []string
	for _, e := range w.Manager().Events() {
		if e.Host == "oss1" {
			kinds = append(kinds, e.Kind)
		}
	}
	require.Contains(t, kinds, "confirm-down")
	w.requireJudged()
}
