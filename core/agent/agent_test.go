package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newAgent(t *testing.T, epoch proto.Epoch) *Agent {
	a, err := New(Config{Host: "h1", LRM: lrm.Config{OCFRoot: "/usr/lib/ocf"}, HeartbeatInterval: time.Second,
		FenceAgentDir: "/usr/sbin"}, epoch)
	require.NoError(t, err)
	a.Connected(t0, 1)
	return a
}

func exec(epoch proto.Epoch, op proto.OpID, action ocf.Action) proto.Exec {
	return proto.Exec{Epoch: epoch, Op: op, Resource: lrm.Resource{ID: "r", Agent: ocf.Agent{Provider: "heartbeat", Type: "Dummy"}},
		Request: lrm.OpRequest{Resource: "r", Action: action, Timeout: time.Second}}
}

// only keeps the effects of one type, in order.
func only[T effect.Effect](effs []effect.Effect) []T {
	var out []T
	for _, e := range effs {
		if t, ok := e.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

func kinds(effs []effect.Effect) []string {
	var out []string
	for _, e := range effs {
		switch e := e.(type) {
		case *effect.Send:
			out = append(out, "send:"+e.Msg.Describe()[:5])
		case *effect.Persist:
			out = append(out, "persist:"+e.Name+"="+string(e.Data))
		case *effect.StartProcess:
			out = append(out, "start-process")
		}
	}
	return out
}

func TestEpochIsPersistedBeforeActingAndStaleRefused(t *testing.T) {
	a := newAgent(t, 3)
	effs := a.Receive(t0, 1, exec(5, 1, ocf.Start))
	k := kinds(effs)
	require.Equal(t, "persist:agent-epoch=5", k[0], "durable before acting")
	require.Contains(t, k, "start-process")
	require.Equal(t, proto.Epoch(5), a.Epoch())

	effs = a.Receive(t0, 1, exec(4, 2, ocf.Stop))
	require.Len(t, effs, 2)
	ref := effs[1].(*effect.Send).Msg.(proto.Refused)
	require.True(t, ref.Stale)
	require.Contains(t, ref.Reason, "epoch 4 is lower than 5")
	require.NotContains(t, kinds(effs), "start-process")
}

func TestDuplicateCommandRunsOnce(t *testing.T) {
	a := newAgent(t, 0)
	require.Contains(t, kinds(a.Receive(t0, 1, exec(1, 1, ocf.Start))), "start-process")
	require.NotContains(t, kinds(a.Receive(t0, 1, exec(1, 1, ocf.Start))), "start-process")
}

func TestFenceStdin(t *testing.T) {
	in, err := FenceStdin(proto.FenceExec{Action: proto.FenceOff, Plug: "h2",
		Params: map[string]string{"ipaddr": "127.0.0.1", "login": "x"}})
	require.NoError(t, err)
	require.Equal(t, "action=off\nplug=h2\nipaddr=127.0.0.1\nlogin=x\n", string(in))
}

// The agent checks a fence request itself rather than trusting that the
// manager's loader did: before, "\r", a parameter "option" (read as the
// action by fence agents) and an action "self-destruct" went straight to
// the fence agent.
func TestFenceStdinRefusesWhatAFenceAgentWouldMisread(t *testing.T) {
	for name, m := range map[string]proto.FenceExec{
		"newline":         {Action: proto.FenceOff, Params: map[string]string{"x": "1\naction=on"}},
		"carriage return": {Action: proto.FenceOff, Params: map[string]string{"x": "1\raction=on"}},
		"vertical tab":    {Action: proto.FenceOff, Params: map[string]string{"x": "1\vaction=on"}},
		"next line":       {Action: proto.FenceOff, Params: map[string]string{"x": "1\u0085action=on"}},
		"line separator":  {Action: proto.FenceOff, Params: map[string]string{"x": "1\u2028action=on"}},
		"in a key":        {Action: proto.FenceOff, Params: map[string]string{"x\u2029action": "on"}},
		"in the plug":     {Action: proto.FenceOff, Plug: "h2\raction=on"},
		"invalid UTF-8":   {Action: proto.FenceOff, Params: map[string]string{"x": "\xff"}},
		"option param":    {Action: proto.FenceStatus, Params: map[string]string{"option": "off"}},
		"action param":    {Action: proto.FenceStatus, Params: map[string]string{"action": "off"}},
		"port param":      {Action: proto.FenceStatus, Params: map[string]string{"port": "h3"}},
		"unknown action":  {Action: "self-destruct"},
	} {
		_, err := FenceStdin(m)
		require.Error(t, err, name)
	}
}

func TestFenceExecRunsTheAgentAndTimesOut(t *testing.T) {
	a := newAgent(t, 0)
	effs := a.Receive(t0, 1, proto.FenceExec{Epoch: 1, Op: 9, Device: "d", Agent: "fence_dummy", Action: proto.FenceOff,
		Target: "h2", Plug: "h2", Timeout: time.Second})
	var sp *effect.StartProcess
	var timer *effect.SetTimer
	for _, e := range effs {
		switch e := e.(type) {
		case *effect.StartProcess:
			sp = e
		case *effect.SetTimer:
			timer = e
		}
	}
	require.Equal(t, "/usr/sbin/fence_dummy", sp.Spec.Path)
	require.Contains(t, string(sp.Spec.Stdin), "action=off\n")
	kill := a.TimerFired(t0.Add(time.Second), timer.ID)
	require.IsType(t, &effect.KillProcess{}, kill[0])
	res := a.ProcessExited(t0.Add(time.Second), sp.ID, procExitKilled())
	fr := res[2].(*effect.Send).Msg.(proto.FenceResult)
	require.True(t, fr.Timeout)
	require.Equal(t, 1, fr.RC)
	bad := a.Receive(t0, 1, proto.FenceExec{Epoch: 1, Op: 10, Agent: "../bin/sh", Action: proto.FenceOff, Timeout: time.Second})
	require.Contains(t, bad[1].(*effect.Send).Msg.(proto.FenceResult).Output, "not a plain file name")
}

func TestHeartbeats(t *testing.T) {
	a, err := New(Config{Host: "h1", LRM: lrm.Config{OCFRoot: "/usr/lib/ocf"}, HeartbeatInterval: time.Second}, 2)
	require.NoError(t, err)
	effs := a.Start(t0)
	timer := effs[0].(*effect.SetTimer)
	effs = a.Connected(t0, 7)
	hello := effs[1].(*effect.Send)
	require.Equal(t, proto.Epoch(2), hello.Msg.(proto.Hello).Epoch)
	require.Equal(t, effect.ConnID(7), hello.Conn, "the greeting goes to the new connection")
	effs = a.TimerFired(timer.At, timer.ID)
	hb := effs[0].(*effect.Send).Msg.(proto.Heartbeat)
	require.Equal(t, uint64(1), hb.Seq)
	require.Equal(t, t0.Add(2*time.Second), effs[1].(*effect.SetTimer).At)
}

func procExitKilled() proc.Exit { return proc.Exit{Code: -1, Signal: "killed"} }

func TestResourcesArePersistedAndRestoredWithProbes(t *testing.T) {
	a := newAgent(t, 0)
	st := storage.NewMem()
	require.True(t, storeRecord(t, st, a.Receive(t0, 1, exec(1, 1, ocf.Start))), "a new resource is persisted before the agent acts")
	require.Empty(t, kindsOf(a.Receive(t0, 1, exec(1, 2, ocf.Monitor)), "persist:"+ResourcesRecord), "an unchanged one is not rewritten")
	rs := storedResources(t, st)
	require.Equal(t, "r", rs[0].ID)

	// A restarted agent knows the resource again and probes it.
	b := newAgent(t, 1)
	effs := b.Restore(t0, rs)
	require.Contains(t, kinds(effs), "start-process")
	_, ok := b.LRM().Resource("r")
	require.True(t, ok)
	var sp *effect.StartProcess
	for _, e := range effs {
		if s, ok := e.(*effect.StartProcess); ok {
			sp = s
		}
	}
	require.Equal(t, []string{"monitor"}, sp.Spec.Args, "a probe, never a start or stop")
	res := b.ProcessExited(t0, sp.ID, proc.Exit{Code: 0})
	var sent proto.OpResult
	for _, e := range res {
		if s, ok := e.(*effect.Send); ok {
			sent, _ = s.Msg.(proto.OpResult)
		}
	}
	require.Equal(t, proto.OpID(0), sent.Op, "reported as no command of the manager's")
	require.Equal(t, ocf.OK, sent.Result.RC)
}

func kindsOf(effs []effect.Effect, want string) []string {
	var out []string
	for _, k := range kinds(effs) {
		if strings.HasPrefix(k, want) {
			out = append(out, k)
		}
	}
	return out
}

// A cancel names the setup it means, and ends only that one: a cancel
// meant for an earlier setup of a monitor that reaches the agent after a
// newer setup of it (a copy of the new setup delivered first; config-apply
// seeds 3249 and 3353) is refused, and the newer monitor goes on. A cancel
// naming no setup (an older manager's) still goes by key.
func TestCancelEndsOnlyTheSetupItNames(t *testing.T) {
	a := newAgent(t, 0)
	require.True(t, a.Hello().CancelsBySetup)
	key := lrm.OpKey{Action: ocf.Monitor, Interval: 10 * time.Second}
	monitor := func(op proto.OpID, timeout time.Duration) proto.Exec {
		m := exec(1, op, ocf.Monitor)
		m.Request.Interval, m.Request.Timeout, m.Request.StartDelay = key.Interval, timeout, time.Second
		return m
	}
	sent := func(effs []effect.Effect) []effect.Message {
		var out []effect.Message
		for _, s := range only[*effect.Send](effs) {
			out = append(out, s.Msg)
		}
		return out
	}
	a.Receive(t0, 1, monitor(2, time.Second))
	replaced := sent(a.Receive(t0, 1, monitor(4, 2*time.Second)))
	require.Len(t, replaced, 1)
	require.Equal(t, proto.OpID(2), replaced[0].(proto.OpResult).Op, "the new setup replaced the old one")
	require.Equal(t, lrm.Cancelled, replaced[0].(proto.OpResult).Result.Status)

	late := sent(a.Receive(t0, 1, proto.Cancel{Epoch: 1, Op: 3, Resource: "r", Key: key, Setup: 2}))
	require.Len(t, late, 1)
	ref := late[0].(proto.Refused)
	require.Equal(t, proto.OpID(3), ref.Op)
	require.False(t, ref.Stale)
	require.Contains(t, ref.Reason, "no such recurring operation")
	require.Equal(t, 2*time.Second, a.LRM().Recurring("r")[0].Timeout, "the newer monitor goes on")

	meant := sent(a.Receive(t0, 1, proto.Cancel{Epoch: 1, Op: 5, Resource: "r", Key: key, Setup: 4}))
	require.Len(t, meant, 1)
	require.Equal(t, proto.OpID(4), meant[0].(proto.OpResult).Op)
	require.Equal(t, lrm.Cancelled, meant[0].(proto.OpResult).Result.Status)
	require.Empty(t, a.LRM().Recurring("r"))

	a.Receive(t0, 1, monitor(6, time.Second))
	byKey := sent(a.Receive(t0, 1, proto.Cancel{Epoch: 1, Op: 7, Resource: "r", Key: key}))
	require.Len(t, byKey, 1)
	require.Equal(t, proto.OpID(6), byKey[0].(proto.OpResult).Op, "a cancel naming no setup ends whichever runs")
	require.Empty(t, a.LRM().Recurring("r"))
}
