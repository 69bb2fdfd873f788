package manager

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

// A real clock fires every timer a little late. Before the fix, each late
// dead timer counted as a clock jump whose grace re-armed the same timer,
// which fired a little late again: a dead host was never declared lost on
// real processes (the simulator's timers fire on time, so it stayed green).
func TestTimersFiringALittleLateStillDeclareASilentHostLost(t *testing.T) {
	mg := started(t) // three hosts, heartbeat 1s, dead timeout 5s
	timers := map[effect.TimerID]time.Time{}
	note := func(effs []effect.Effect) {
		for _, e := range effs {
			switch e := e.(type) {
			case *effect.SetTimer:
				timers[e.ID] = e.At
			case *effect.CancelTimer:
				delete(timers, e.ID)
			}
		}
	}
	now := t0
	for _, h := range []string{"h1", "h2", "h3"} {
		mg.HostConnected(now, h, effect.ConnID(len(h)))
		note(mg.Receive(now, h, proto.Hello{Host: h, Epoch: mg.Epoch()}))
	}
	// h1 falls silent; h2 and h3 heartbeat every second. Every timer fires
	// 3 ms after it was due, as a loaded runtime's do.
	const lateness = 3 * time.Millisecond
	end, beat := t0.Add(time.Minute), t0.Add(time.Second)
	for now.Before(end) && mg.HostState("h1") == planner.Online {
		next, id := beat, effect.TimerID(0)
		for tid, at := range timers { // purity:unordered test driver: the earliest timer, ties by id
			if due := at.Add(lateness); due.Before(next) || due.Equal(next) && id != 0 && tid < id {
				next, id = due, tid
			}
		}
		now = next
		if id != 0 {
			delete(timers, id)
			note(mg.TimerFired(now, id))
			continue
		}
		beat = now.Add(time.Second)
		for _, h := range []string{"h2", "h3"} {
			note(mg.Receive(now, h, proto.Heartbeat{Host: h, Epoch: mg.Epoch()}))
		}
	}
	require.NotEqual(t, planner.Online, mg.HostState("h1"), "h1 silent for a minute is still online")
	require.Less(t, now.Sub(t0), 7*time.Second, "lost after its dead timeout and at most one heartbeat of grace")
	require.Equal(t, planner.Online, mg.HostState("h2"))
}
