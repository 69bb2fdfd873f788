package fencer

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/proto"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newFencer(t *testing.T) *Fencer {
	data, err := os.ReadFile("../../testdata/configs/three-host-domain.yaml")
	require.NoError(t, err)
	m, err := model.Load("three-host-domain.yaml", data)
	require.NoError(t, err)
	var op proto.OpID
	var timer effect.TimerID
	f := New(m, Hooks{
		NextOp:    func() proto.OpID { op++; return op },
		NextTimer: func() effect.TimerID { timer++; return timer },
		Epoch:     func() proto.Epoch { return 7 },
	})
	f.SetOnline([]string{"a", "b", "c"})
	return f
}

func sends(effs []effect.Effect) []proto.FenceExec {
	var out []proto.FenceExec
	for _, e := range effs {
		if s, ok := e.(*effect.Send); ok {
			fe := s.Msg.(proto.FenceExec)
			out = append(out, fe)
		}
	}
	return out
}

func done(effs []effect.Effect) *Done {
	for _, e := range effs {
		if d, ok := e.(Done); ok {
			return &d
		}
	}
	return nil
}

func TestOffIsConfirmedByStatus(t *testing.T) {
	f := newFencer(t)
	effs := f.Request(t0, "c", proto.FenceOff, "manager")
	s := sends(effs)
	require.Len(t, s, 1)
	require.Equal(t, "ipmi-c", s[0].Device)
	require.Equal(t, "c", s[0].Plug)
	require.Equal(t, proto.Epoch(7), s[0].Epoch)
	// off succeeded: a status check follows, and only "off" (rc 2) counts.
	effs = f.Result(t0, proto.FenceResult{Op: s[0].Op, Device: "ipmi-c", Action: proto.FenceOff, Target: "c", RC: 0})
	st := sends(effs)
	require.Len(t, st, 1)
	require.Equal(t, proto.FenceStatus, st[0].Action)
	require.Nil(t, done(effs))
	effs = f.Result(t0, proto.FenceResult{Op: st[0].Op, Device: "ipmi-c", Action: proto.FenceStatus, Target: "c", RC: 2})
	d := done(effs)
	require.NotNil(t, d)
	require.True(t, d.OK)
	require.Equal(t, []string{"ipmi-c"}, d.Devices)
	require.False(t, f.Pending("c"))
	require.Len(t, f.History(), 1)
}

func TestExecutorPrefersVerifiedPeerNeverTarget(t *testing.T) {
	f := newFencer(t)
	f.DeviceMonitored("ipmi-a", "c", true)
	effs := f.Request(t0, "a", proto.FenceOff, "manager")
	var to string
	for _, e := range effs {
		if s, ok := e.(*effect.Send); ok {
			to = s.To
		}
	}
	require.Equal(t, "c", to, "the peer that verified the device runs it")
	f2 := newFencer(t)
	effs = f2.Request(t0, "a", proto.FenceOff, "manager")
	for _, e := range effs {
		if s, ok := e.(*effect.Send); ok {
			require.NotEqual(t, "a", s.To)
		}
	}
}

func TestDuplicatesMergeAndLevelsFallThrough(t *testing.T) {
	f := newFencer(t)
	s := sends(f.Request(t0, "b", proto.FenceOff, "manager"))
	require.Empty(t, sends(f.Request(t0, "b", proto.FenceOff, "admin")), "merged: no second fencing")
	// Level 1 fails: level 2 runs both PDUs.
	effs := f.Result(t0, proto.FenceResult{Op: s[0].Op, RC: 1})
	l2 := sends(effs)
	require.Len(t, l2, 2)
	require.Equal(t, "pdu1", l2[0].Device)
	require.Equal(t, "pdu2", l2[1].Device)
	var status []proto.FenceExec
	for _, x := range l2 {
		status = append(status, sends(f.Result(t0, proto.FenceResult{Op: x.Op, RC: 0}))...)
	}
	require.Len(t, status, 2)
	require.Nil(t, done(f.Result(t0, proto.FenceResult{Op: status[0].Op, RC: 2})), "one PDU is not enough")
	d := done(f.Result(t0, proto.FenceResult{Op: status[1].Op, RC: 2}))
	require.True(t, d.OK)
	require.Equal(t, []string{"pdu1", "pdu2"}, d.Devices)
	require.Equal(t, []string{"manager", "admin"}, f.History()[0].Origins)
}

func TestTimeoutsAndExhaustion(t *testing.T) {
	f := newFencer(t)
	effs := f.Request(t0, "a", proto.FenceOff, "manager")
	var timers []*effect.SetTimer
	for _, e := range effs {
		if st, ok := e.(*effect.SetTimer); ok {
			timers = append(timers, st)
		}
	}
	require.Len(t, timers, 2, "the request's deadline and the device's")
	// The device never answers: its status is asked once, and when that
	// is not answered either, level 2 runs.
	asked := f.TimerFired(t0.Add(time.Hour), timers[1].ID)
	status := sends(asked)
	require.Len(t, status, 1)
	require.Equal(t, proto.FenceStatus, status[0].Action)
	l2 := sends(f.TimerFired(t0.Add(time.Hour), timerOf(t, asked)))
	require.Len(t, l2, 2)
	// A late answer from level 1 is ignored.
	require.Nil(t, f.Result(t0, proto.FenceResult{Op: 1, RC: 0}))
	// Level 2 fails too: the request fails, naming both levels.
	d := done(f.Result(t0, proto.FenceResult{Op: l2[0].Op, RC: 1}))
	require.NotNil(t, d)
	require.False(t, d.OK)
	require.Contains(t, d.Reason, "level 1")
	require.Contains(t, d.Reason, "level 2")
}

// A fence agent that fails says why in its output: the failure reason (the
// fence history's, the fence-failed event's) quotes its first line, the
// start error of a missing program included, not only its rc.
func TestFailureReasonQuotesTheAgent(t *testing.T) {
	f := newFencer(t)
	s := sends(f.Request(t0, "b", proto.FenceOff, "manager"))
	l2 := sends(f.Result(t0, proto.FenceResult{Op: s[0].Op, RC: 1,
		Output: "fork/exec /usr/sbin/fence_ipmilam: no such file or directory"}))
	require.Len(t, l2, 2)
	d := done(f.Result(t0, proto.FenceResult{Op: l2[0].Op, RC: 1, Output: "\n\x1b[31mERROR: Failed: Unable to connect\x1b[0m\nTraceback\n"}))
	require.NotNil(t, d)
	require.False(t, d.OK)
	require.Contains(t, d.Reason, "rc 1: fork/exec /usr/sbin/fence_ipmilam: no such file or directory")
	require.Contains(t, d.Reason, "rc 1: [31mERROR: Failed: Unable to connect[0m", "the first non-empty line, control characters dropped")
	require.NotContains(t, d.Reason, "Traceback")
	require.Equal(t, d.Reason, f.History()[0].Reason)
}

// A lost answer does not fail a power-off's level: the status check asks
// whether the target is off, whichever answer (the off's or the status's)
// never came (shaped seed 3320: a status answer lost, the level failed and
// the retry came minutes later).
func TestLostAnswerAsksStatus(t *testing.T) {
	for _, lost := range []string{"off", "status"} {
		t.Run(lost, func(t *testing.T) {
			f := newFencer(t)
			effs := f.Request(t0, "a", proto.FenceOff, "manager")
			off := sends(effs)
			require.Len(t, off, 1)
			timer := timerOf(t, effs)
			if lost == "status" {
				effs = f.Result(t0, proto.FenceResult{Op: off[0].Op, RC: 0})
				timer = timerOf(t, effs)
			}
			effs = f.TimerFired(t0.Add(time.Minute), timer)
			status := sends(effs)
			require.Len(t, status, 1, "one status check, asked again")
			require.Equal(t, proto.FenceStatus, status[0].Action)
			d := done(f.Result(t0, proto.FenceResult{Op: status[0].Op, RC: 2}))
			require.NotNil(t, d)
			require.True(t, d.OK, d.Reason)
		})
	}
	// A reboot has no such check: its silence fails the level.
	f := newFencer(t)
	effs := f.Request(t0, "a", proto.FenceReboot, "manager")
	next := sends(f.TimerFired(t0.Add(time.Minute), timerOf(t, effs)))
	require.Len(t, next, 2, "level 2's devices")
	require.Equal(t, proto.FenceReboot, next[0].Action)
}

// timerOf is the device timer among effs: the last SetTimer.
func timerOf(t *testing.T, effs []effect.Effect) effect.TimerID {
	t.Helper()
	var id effect.TimerID
	for _, e := range effs {
		if st, ok := e.(*effect.SetTimer); ok {
			id = st.ID
		}
	}
	require.NotZero(t, id, "a device timer")
	return id
}

func TestNoDeviceOrNoPeer(t *testing.T) {
	f := newFencer(t)
	d := done(f.Request(t0, "ghost", proto.FenceOff, "manager"))
	require.False(t, d.OK)
	require.Contains(t, d.Reason, "no fence device can fence ghost")
	f.SetOnline([]string{"a"})
	d = done(f.Request(t0, "a", proto.FenceOff, "manager"))
	require.False(t, d.OK)
	require.Contains(t, d.Reason, "no peer can run device")
}

func TestLostExecutorIsReplacedAtOnce(t *testing.T) {
	f := newFencer(t)
	effs := f.Request(t0, "c", proto.FenceOff, "manager")
	var first *effect.Send
	for _, e := range effs {
		if s, ok := e.(*effect.Send); ok {
			first = s
		}
	}
	require.Equal(t, "a", first.To)
	f.SetOnline([]string{"b", "c"}) // a is gone too
	effs = f.ExecutorLost(t0, "a")
	var again *effect.Send
	for _, e := range effs {
		if s, ok := e.(*effect.Send); ok {
			again = s
		}
	}
	require.Equal(t, "b", again.To, "another peer runs the device, at once")
	require.Equal(t, "ipmi-c", again.Msg.(proto.FenceExec).Device, "same level, same device")
	require.Nil(t, f.Result(t0, proto.FenceResult{Op: first.Msg.(proto.FenceExec).Op, RC: 0}), "the lost executor's late answer is ignored")
}

// A power-on runs the device's "on" and is trusted once its status says on
// (rc 0); status saying off fails the level, and the next one runs.
func TestPowerOnIsConfirmedByStatus(t *testing.T) {
	f := newFencer(t)
	on := sends(f.Request(t0, "c", proto.FenceOn, "operator"))
	require.Len(t, on, 1)
	require.Equal(t, proto.FenceOn, on[0].Action)
	st := sends(f.Result(t0, proto.FenceResult{Op: on[0].Op, RC: 0}))
	require.Len(t, st, 1)
	require.Equal(t, proto.FenceStatus, st[0].Action)
	d := done(f.Result(t0, proto.FenceResult{Op: st[0].Op, RC: 0}))
	require.NotNil(t, d)
	require.True(t, d.OK)
	require.Equal(t, proto.FenceOn, d.Action)
	require.Equal(t, proto.FenceOn, f.History()[0].Action)

	on = sends(f.Request(t0, "b", proto.FenceOn, "operator"))
	st = sends(f.Result(t0, proto.FenceResult{Op: on[0].Op, RC: 0}))
	l2 := sends(f.Result(t0, proto.FenceResult{Op: st[0].Op, RC: 2}))
	require.Len(t, l2, 2, "status says off: level 2's devices")
	require.Equal(t, proto.FenceOn, l2[0].Action)
	require.Contains(t, f.active["b"].reasons[0], "device ipmi-b reported on but status says b is still off")
}

// A power-on never merges with a fence: one asked during a fence fails at
// once, and a fence asked during a power-on supersedes it.
func TestPowerOnAndFenceNeverMerge(t *testing.T) {
	f := newFencer(t)
	off := sends(f.Request(t0, "c", proto.FenceOff, "manager"))
	d := done(f.Request(t0, "c", proto.FenceOn, "operator"))
	require.NotNil(t, d)
	require.False(t, d.OK)
	require.Equal(t, proto.FenceOn, d.Action)
	require.Contains(t, d.Reason, "a fence of c is in progress")
	require.True(t, f.Pending("c"), "the fence goes on")
	require.Equal(t, []string{"manager"}, f.active["c"].origins)
	require.NotNil(t, f.active["c"].run(off[0].Op))

	f = newFencer(t)
	on := sends(f.Request(t0, "c", proto.FenceOn, "operator"))
	effs := f.Request(t0, "c", proto.FenceOff, "manager")
	d = done(effs)
	require.NotNil(t, d, "the power-on ends")
	require.Equal(t, proto.FenceOn, d.Action)
	require.False(t, d.OK)
	require.Contains(t, d.Reason, "superseded by a fence request (manager)")
	s := sends(effs)
	require.Len(t, s, 1)
	require.Equal(t, proto.FenceOff, s[0].Action, "the fence runs")
	require.Nil(t, f.Result(t0, proto.FenceResult{Op: on[0].Op, RC: 0}), "the power-on's late answer is ignored")
}

// The operator's confirmation ends a fence in progress as a success without
// its devices, and without one it is recorded as a fence done; the devices'
// late answers change nothing.
func TestConfirmEndsFencingWithoutDevices(t *testing.T) {
	f := newFencer(t)
	off := sends(f.Request(t0, "c", proto.FenceOff, "manager"))
	d := done(f.Confirm(t0.Add(time.Minute), "c", "operator", "confirmed down by the operator"))
	require.NotNil(t, d)
	require.True(t, d.OK)
	require.Empty(t, d.Devices)
	require.Equal(t, proto.FenceOff, d.Action)
	require.False(t, f.Pending("c"))
	require.Nil(t, f.Result(t0, proto.FenceResult{Op: off[0].Op, RC: 0}))
	h := f.History()
	require.Len(t, h, 1)
	require.Equal(t, []string{"manager", "operator"}, h[0].Origins)
	require.Equal(t, t0, h[0].Requested)
	require.Equal(t, "confirmed down by the operator", h[0].Reason)

	d = done(f.Confirm(t0, "a", "operator", "confirmed down by the operator"))
	require.True(t, d.OK)
	require.Len(t, f.History(), 2)
	require.Equal(t, []string{"operator"}, f.History()[1].Origins)
}

// A lost answer of a power-on asks its status too.
func TestPowerOnLostAnswerAsksStatus(t *testing.T) {
	f := newFencer(t)
	effs := f.Request(t0, "a", proto.FenceOn, "operator")
	status := sends(f.TimerFired(t0.Add(time.Minute), timerOf(t, effs)))
	require.Len(t, status, 1)
	require.Equal(t, proto.FenceStatus, status[0].Action)
	d := done(f.Result(t0, proto.FenceResult{Op: status[0].Op, RC: 0}))
	require.True(t, d.OK, d.Reason)
}
