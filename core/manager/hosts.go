package manager

import (
	"log/slog"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

// hostInfo is what the manager knows of one host: its state for the
// planner, whether it is heard from, and its fencing.
type hostInfo struct {
	name     string
	state    planner.HostState
	pending  bool // not heard from since the manager started
	standby  bool
	lastSeen time.Time
	// talking: heard from within the dead timeout.
	talking   bool
	deadTimer effect.TimerID
	// graceUntil: after a clock jump, the host is not judged lost before
	// this time (see noticeClockJump).
	graceUntil time.Time
	fence      fenceState
	// persistErr is what the host's last heartbeat said it cannot persist
	// ("" when it can): see persist.go.
	persistErr string
}

// hello: an agent (re)started. Whatever it ran before, its LRM may have
// forgotten; its resources are re-probed.
func (mg *Manager) hello(now time.Time, m proto.Hello) []effect.Effect {
	hi, ok := mg.hosts[m.Host]
	if !ok {
		return []effect.Effect{effect.Log{Level: slog.LevelWarn, Msg: "hello from an unknown host", Attrs: []slog.Attr{slog.String("host", m.Host)}}}
	}
	effs, poisoned := mg.poisonedHello(m)
	if m.Epoch > mg.epoch && !poisoned {
		return mg.newerManager(now, m.Host, m.Epoch, true)
	}
	if m.Epoch <= mg.epoch {
		mg.followsUs(m.Host)
	}
	effs = append(effs, mg.epochReused(now, m)...)
	if hi.state == planner.Online {
		for _, r := range mg.m.Resources {
			delete(mg.observed[r.ID], m.Host)
		}
		// Commands sent to the old agent will never be answered.
		effs = append(effs, mg.failHostOps(now, m.Host, "agent restarted")...)
		effs = append(effs, mg.event(now, Event{Kind: "agent-restarted", Host: m.Host})...)
	}
	effs = append(effs, mg.seen(now, m.Host)...)
	effs = append(effs, mg.monitorDevices(now, m.Host)...)
	mg.wake()
	return effs
}

// seen records a sign of life from host.
func (mg *Manager) seen(now time.Time, host string) []effect.Effect {
	hi, ok := mg.hosts[host]
	if !ok {
		return nil
	}
	hi.lastSeen = now
	effs := []effect.Effect{effect.SetTimer{ID: hi.deadTimer, At: now.Add(mg.m.Cluster.DeadTimeout)}}
	if !hi.talking {
		hi.talking = true
		mg.setOnline()
	}
	if hi.state == planner.Online {
		return effs
	}
	if hi.state == planner.Unclean && !hi.pending {
		// A lost host that speaks again is still fenced: its view of the
		// world is stale and it may act on it.
		return effs
	}
	was := "was " + string(hi.state)
	if hi.pending {
		was = "first contact since the manager started"
	}
	hi.state, hi.pending = planner.Online, false
	effs = append(effs, mg.event(now, Event{Kind: "host-online", Host: host, Message: was})...)
	mg.setOnline()
	mg.markStale()
	return effs
}

// setOnline tells the fencer which hosts can run fence agents: those we
// hear from. An unclean host that talks again still counts: it must be
// fenced before its resources move, but its agent can fence others — were
// it excluded, hosts lost together could never fence one another.
func (mg *Manager) setOnline() {
	var online []string
	for _, h := range mg.m.Hosts {
		hi := mg.hosts[h.Name]
		if hi.state == planner.Online || hi.state == planner.Unclean && !hi.pending && hi.talking {
			online = append(online, h.Name)
		}
	}
	mg.fencer.SetOnline(online)
}

// deadline: a host's dead timer fired.
func (mg *Manager) deadline(now time.Time, hi *hostInfo) []effect.Effect {
	if !hi.lastSeen.IsZero() && now.Sub(hi.lastSeen) < mg.m.Cluster.DeadTimeout {
		return nil // a heartbeat moved the deadline; this timer is stale
	}
	if now.Before(hi.graceUntil) {
		// The manager itself was away: what the host sent meanwhile may
		// still be queued. Judge it once the grace has passed.
		return []effect.Effect{effect.SetTimer{ID: hi.deadTimer, At: hi.graceUntil}}
	}
	hi.talking = false
	mg.setOnline()
	if hi.state != planner.Online && !hi.pending {
		return nil
	}
	return mg.hostLost(now, hi)
}

// hostLost: a host has been silent for the dead timeout. It may still run
// anything: it is unclean until fenced.
func (mg *Manager) hostLost(now time.Time, hi *hostInfo) []effect.Effect {
	why := "silent for " + mg.m.Cluster.DeadTimeout.String()
	if hi.pending {
		why = "not heard from since the manager started"
	}
	hi.state, hi.pending = planner.Unclean, false
	mg.setOnline()
	effs := mg.failHostOps(now, hi.name, "host lost")
	effs = append(effs, effect.Log{Level: slog.LevelError, Msg: "host lost", Attrs: []slog.Attr{slog.String("host", hi.name), slog.String("why", why)}})
	effs = append(effs, mg.event(now, Event{Kind: "host-lost", Host: hi.name, Message: why})...)
	effs = append(effs, mg.fenceEffects(now, mg.fencer.ExecutorLost(now, hi.name))...)
	if mg.m.Cluster.Fencing && !hi.fence.active && hi.fence.retryTimer == 0 {
		// Fence at once rather than when the planner next runs: the
		// current transition may be busy, and every second a lost host
		// is not fenced is a second its groups are down.
		effs = append(effs, mg.requestFence(now, hi, "host lost", "manager")...)
	}
	mg.markStale()
	return effs
}

// noticeClockJump: when an input comes more than two heartbeat intervals
// after the earliest timer the manager had set was due, the manager was not
// running (a stopped process, a frozen VM): a running manager's timers fire
// on time. The hosts kept talking meanwhile and their messages are queued
// behind this input, so no host is declared lost before it has had one
// heartbeat interval to be read.
func (mg *Manager) noticeClockJump(now time.Time) []effect.Effect {
	hb := mg.m.Cluster.HeartbeatInterval
	due := mg.earliestDue()
	if due.IsZero() || hb <= 0 || now.Sub(due) <= 2*hb {
		return nil
	}
	grace := now.Add(hb)
	extended := false
	for _, h := range mg.m.Hosts {
		if hi := mg.hosts[h.Name]; hi.graceUntil.Before(grace) {
			hi.graceUntil, extended = grace, true
		}
	}
	if !extended {
		return nil // already noticed in this instant
	}
	return []effect.Effect{effect.Log{Level: slog.LevelWarn, Msg: "clock jumped: the manager was paused; every host gets a heartbeat interval of grace",
		Attrs: []slog.Attr{slog.Duration("late", now.Sub(due))}}}
}
