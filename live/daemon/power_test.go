package daemon

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
)

// awaitQuery waits for a power status query to be done and returns it.
func (lc *liveCluster) awaitQuery(id string) manager.PowerQuery {
	lc.t.Helper()
	var q manager.PowerQuery
	lc.await("power query "+id+" done", func() bool {
		lc.mgr.View(func(m *manager.Manager) { q, _ = m.Query(id) })
		return q.Done
	})
	return q
}

// awaitReport waits for a report to close and returns it.
func (lc *liveCluster) awaitReport(id string) manager.Report {
	lc.t.Helper()
	var rep manager.Report
	lc.await("report "+id+" closed", func() bool {
		lc.mgr.View(func(m *manager.Manager) { rep, _ = m.Report(id) })
		return rep.State == manager.ReportClosed
	})
	return rep
}

// The operator's power commands on real daemons and the PID fence agent:
// power status reads ON through the peer, power off fences the host (its
// group fails over, the history says the operator asked), status then
// reads OFF, and power on switches the power back on (that it does not
// make the host a member is core/manager's power-on script: here the
// in-process agent outlives its "power"). A confirm-down of the host while it heartbeats is refused.
func TestLivePowerStatusOffOn(t *testing.T) {
	lc := newLiveCluster(t, []string{"h1", "h2"})
	lc.await("group running on h1", func() bool { return lc.running("h1") })

	id, err := lc.mgr.PowerStatus("h1")
	require.NoError(t, err)
	q := lc.awaitQuery(id)
	require.Len(t, q.Readings, 1)
	require.Equal(t, manager.PowerReading{Device: "pid-h1", Executor: "h2", Done: true, State: manager.PowerOn, RC: 0, Output: "Status: ON"}, q.Readings[0])

	_, err = lc.mgr.Admin(manager.Request{Command: manager.CmdConfirmDown, Target: "h1"})
	require.ErrorContains(t, err, "h1 is up: its agent is heartbeating", "confirming a live host down would be a lie")

	rid, err := lc.mgr.Admin(manager.Request{Command: manager.CmdPowerOff, Target: "h1"})
	require.NoError(t, err)
	rep := lc.awaitReport(rid)
	require.False(t, rep.Failed, "%v", rep.Results)
	require.Equal(t, "host offline", rep.Results["h1"])
	lc.await("failover to h2", func() bool { return lc.running("h2") })
	require.Equal(t, []string{"h2"}, lc.activeHosts("pool"), "never active twice")
	require.ErrorIs(t, syscall.Kill(lc.power["h1"].Process.Pid, 0), syscall.ESRCH, "h1's power went off")
	lc.mgr.View(func(m *manager.Manager) {
		h := m.FenceHistory()
		require.Len(t, h, 1)
		require.Equal(t, []string{"operator (power off)"}, h[0].Origins)
		require.True(t, h[0].OK)
	})

	id, err = lc.mgr.PowerStatus("h1")
	require.NoError(t, err)
	require.Equal(t, manager.PowerOff, lc.awaitQuery(id).Readings[0].State)

	rid, err = lc.mgr.Admin(manager.Request{Command: manager.CmdPowerOn, Target: "h1"})
	require.NoError(t, err)
	rep = lc.awaitReport(rid)
	require.False(t, rep.Failed, "%v", rep.Results)
	require.Contains(t, rep.Results["h1"], "powered on by pid-h1")
	power, err := os.ReadFile(filepath.Join(lc.hostsDir, "h1", "power"))
	require.NoError(t, err)
	require.Equal(t, "on\n", string(power))

	_, err = lc.mgr.PowerStatus("h9")
	require.ErrorContains(t, err, `no host "h9" (hosts: h1, h2)`)
}
