package agent

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/proto"
)

// timerWorld plays a driver's timers for one agent: it fires them in time
// order and records when each heartbeat went out.
type timerWorld struct {
	a      *Agent
	timers map[effect.TimerID]time.Time
	beats  []time.Time
	logs   []effect.Log
}

func newTimerWorld(t *testing.T, every time.Duration) *timerWorld {
	a, err := New(Config{Host: "h1", LRM: lrm.Config{OCFRoot: "/usr/lib/ocf"}, HeartbeatInterval: every}, 0)
	require.NoError(t, err)
	w := &timerWorld{a: a, timers: map[effect.TimerID]time.Time{}}
	w.apply(t0, a.Start(t0))
	return w
}

func (w *timerWorld) apply(now time.Time, effs []effect.Effect) {
	for _, e := range effs {
		switch e := e.(type) {
		case *effect.SetTimer:
			w.timers[e.ID] = e.At
		case *effect.CancelTimer:
			delete(w.timers, e.ID)
		case *effect.Send:
			if _, ok := e.Msg.(proto.Heartbeat); ok {
				w.beats = append(w.beats, now)
			}
		case effect.Log:
			w.logs = append(w.logs, e)
		}
	}
}

// runUntil fires every timer due by end, earliest first.
func (w *timerWorld) runUntil(end time.Time) {
	for {
		var next effect.TimerID
		var at time.Time
		for id, t := range w.timers {
			if !t.After(end) && (next == 0 || t.Before(at) || t.Equal(at) && id < next) {
				next, at = id, t
			}
		}
		if next == 0 {
			return
		}
		delete(w.timers, next)
		w.apply(at, w.a.TimerFired(at, next))
	}
}

func at(d time.Duration) time.Time { return t0.Add(d) }

// An agent started at 4 s and told 1 s by the manager heartbeats every
// second from the Welcome on: its next heartbeat comes a second after the
// Welcome, not at the 4 s its flag had set.
func TestAgentAdoptsTheManagersHeartbeat(t *testing.T) {
	w := newTimerWorld(t, 4*time.Second)
	w.apply(at(0), w.a.Connected(at(0), 1))
	hello := only[*effect.Send](w.a.Connected(at(0), 2))
	require.Equal(t, proto.Hello{Host: "h1", Heartbeat: 4 * time.Second, Lists: true, Resources: []string{}, Attrs: true, CancelsBySetup: true, Instances: true, Meta: true}, hello[0].Msg, "the hello says the interval in use")
	w.apply(at(0), w.a.Disconnected(at(0), 2))
	w.apply(at(300*time.Millisecond), w.a.Receive(at(300*time.Millisecond), 1,
		proto.Welcome{Epoch: 1, HeartbeatInterval: time.Second, DeadTimeout: 3 * time.Second}))
	require.Equal(t, time.Second, w.a.HeartbeatInterval())
	w.runUntil(at(5 * time.Second))
	require.Equal(t, []time.Time{at(1300 * time.Millisecond), at(2300 * time.Millisecond), at(3300 * time.Millisecond), at(4300 * time.Millisecond)}, w.beats)
	require.Equal(t, time.Second, w.a.Hello().Heartbeat, "a reconnect reports the adopted interval")
}

// A longer interval than the agent's own waits for the heartbeat already
// due: it is never pushed later than it was set.
func TestLongerHeartbeatKeepsTheOneDue(t *testing.T) {
	w := newTimerWorld(t, time.Second)
	w.apply(at(0), w.a.Connected(at(0), 1))
	w.apply(at(0), w.a.Receive(at(0), 1, proto.Welcome{HeartbeatInterval: 2 * time.Second, DeadTimeout: 10 * time.Second}))
	w.runUntil(at(5 * time.Second))
	require.Equal(t, []time.Time{at(time.Second), at(3 * time.Second), at(5 * time.Second)}, w.beats)
}

// An interval that the dead timeout sent with it would not survive is not
// obeyed silently: the agent beats three times per dead timeout and says
// so at error level.
func TestHeartbeatThatCannotKeepTheHostAliveIsRefused(t *testing.T) {
	w := newTimerWorld(t, 4*time.Second)
	w.apply(at(0), w.a.Connected(at(0), 1))
	w.apply(at(0), w.a.Receive(at(0), 1, proto.Welcome{HeartbeatInterval: 4 * time.Second, DeadTimeout: 3 * time.Second}))
	require.Equal(t, time.Second, w.a.HeartbeatInterval())
	last := w.logs[len(w.logs)-2] // before "heartbeat interval set by the manager"
	require.Equal(t, slog.LevelError, last.Level)
	require.Contains(t, last.Msg, "cannot keep this host alive")
	w.runUntil(at(3 * time.Second))
	require.Equal(t, []time.Time{at(time.Second), at(2 * time.Second), at(3 * time.Second)}, w.beats)
}

// The timing comes from the manager the agent obeys: a candidate's Welcome
// counts once it takes over, and a superseded manager's never.
func TestHeartbeatComesFromTheObeyedManager(t *testing.T) {
	w := newTimerWorld(t, 4*time.Second)
	w.apply(at(0), w.a.Connected(at(0), 1))
	w.apply(at(0), w.a.Receive(at(0), 1, exec(5, 1, "monitor")))
	w.apply(at(0), w.a.Connected(at(0), 2))
	w.apply(at(0), w.a.Receive(at(0), 2, proto.Welcome{Epoch: 6, HeartbeatInterval: time.Second, DeadTimeout: 3 * time.Second}))
	require.Equal(t, 4*time.Second, w.a.HeartbeatInterval(), "a candidate's timing waits for it to take over")
	w.apply(at(0), w.a.Receive(at(0), 1, proto.Welcome{Epoch: 4, HeartbeatInterval: 2 * time.Second, DeadTimeout: 10 * time.Second}))
	require.Equal(t, 4*time.Second, w.a.HeartbeatInterval(), "a superseded manager's timing is not taken")
	w.apply(at(0), w.a.Receive(at(0), 2, exec(6, 1, "monitor")))
	cur, _ := w.a.Conns()
	require.Equal(t, effect.ConnID(2), cur)
	require.Equal(t, time.Second, w.a.HeartbeatInterval(), "the candidate took over with its timing")
}
