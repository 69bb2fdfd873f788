package manager

import (
	"fmt"
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
	// this time (see noticeClockJump). gracedSeen is the lastSeen the
	// grace was given for: one grace per silence.
	graceUntil time.Time
	gracedSeen time.Time
	// goodbyeUntil: the host's agent said goodbye (a clean stop), so it is
	// not judged lost before this time (see goodbye).
	goodbyeUntil time.Time
	// reset and refused: since the host's last word, its connection was
	// reset and a redial refused; suspectUntil, once both are in, is when
	// it is judged lost unless it speaks (suspect.go).
	reset, refused bool
	suspectUntil   time.Time
	fence          fenceState
	// persistErr is what the host's last heartbeat said it cannot persist
	// ("" when it can): see persist.go.
	persistErr string
	// lists: the agent's hello listed the resources it knows, known
	// (with those the manager has sent it commands about since), and it
	// takes Forget (config.go).
	lists bool
	known map[string]bool
	// attrs: the agent takes the manager's Attributes; boot is the boot
	// its last hello named ("" when unknown). See attrs.go.
	attrs bool
	boot  string
	// cancelsBySetup: the agent's hello says it cancels only the setup a
	// cancel names (proto.Cancel.Setup); an older agent is named none.
	cancelsBySetup bool
	// instances: the agent's hello says it takes numbered clone instance
	// names (proto.Hello.Instances); an older agent is sent none.
	instances bool
	// meta: the agent's hello says it takes meta attributes
	// (proto.Hello.Meta): its clone instances are sent their CRM_meta_*
	// and its notifications run; an older agent is sent neither.
	meta bool
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
	effs = append(effs, mg.welcome(now, m)...)
	hi.cancelsBySetup = m.CancelsBySetup
	hi.instances = m.Instances
	hi.meta = m.Meta
	hi.goodbyeUntil = time.Time{} // back: from now on, the usual dead timeout
	if hi.state == planner.Online {
		for _, r := range mg.m.Resources {
			mg.observed.forget(r.ID, m.Host)
		}
		// Commands sent to the old agent will never be answered. Those
		// sent on the connection this hello came on reached the new one
		// (the manager may address a new connection before its hello):
		// they will be, and forgetting them would take a start that runs
		// for one that never happened (seed 866023: active on two hosts).
		effs = append(effs, mg.failHostOpsBut(now, m.Host, "agent restarted", mg.conns[m.Host])...)
		effs = mg.appendEvent(effs, now, Event{Kind: "agent-restarted", Host: m.Host})
	}
	effs = append(effs, mg.foundOrphans(now, m)...)
	effs = append(effs, mg.seen(now, m.Host)...)
	effs = append(effs, mg.attrsHello(now, hi, m)...)
	effs = append(effs, mg.monitorDevices(now, m.Host)...)
	mg.wake()
	return effs
}

// welcome answers an agent's hello with the cluster's heartbeat interval
// and dead timeout, which the agent adopts (core/agent's heartbeat.go): its
// own --heartbeat-interval only paced it until now. An agent whose hello
// does not say its interval is older than Welcome and would refuse it; it
// keeps its flag, which the manager cannot check, and says so. One whose
// flag could not have kept the host alive is told, and the operator too:
// an older manager would have fenced it.
func (mg *Manager) welcome(now time.Time, m proto.Hello) []effect.Effect {
	c := mg.m.Cluster
	if m.Heartbeat == 0 {
		return []effect.Effect{effect.Log{Level: slog.LevelWarn,
			Msg:   "the agent does not learn the cluster's heartbeat interval (it is older than this manager): its --heartbeat-interval must be the cluster's",
			Attrs: []slog.Attr{slog.String("host", m.Host), slog.Duration("heartbeat_interval", c.HeartbeatInterval), slog.Duration("dead_timeout", c.DeadTimeout)}}}
	}
	effs := []effect.Effect{mg.batches.Send(effect.Send{To: m.Host, Conn: mg.connTo(m.Host),
		Msg: proto.Welcome{Epoch: mg.epoch, HeartbeatInterval: c.HeartbeatInterval, DeadTimeout: c.DeadTimeout, Attrs: m.Attrs}})}
	switch {
	case m.Heartbeat >= c.DeadTimeout:
		msg := fmt.Sprintf("the agent heartbeated every %s, which the dead timeout of %s does not survive (its --heartbeat-interval?); told the cluster's %s",
			m.Heartbeat, c.DeadTimeout, c.HeartbeatInterval)
		effs = append(effs, effect.Log{Level: slog.LevelWarn, Msg: msg, Attrs: []slog.Attr{slog.String("host", m.Host)}})
		effs = mg.appendEvent(effs, now, Event{Kind: "agent-heartbeat", Host: m.Host, Message: msg})
	case m.Heartbeat != c.HeartbeatInterval:
		effs = mg.appendLog(effs, effect.Log{Level: slog.LevelInfo, Msg: "the agent heartbeated at another interval than the cluster's; told the cluster's",
			Attrs: []slog.Attr{slog.String("host", m.Host), slog.Duration("was", m.Heartbeat), slog.Duration("heartbeat_interval", c.HeartbeatInterval)}})
	}
	return effs
}

// goodbyeGraceFactor: a host whose agent said goodbye is declared lost
// only after this many dead timeouts without a word. A clean restart takes
// the old process's stop, the new one's start and recovery (an orphan's
// kill may take seconds) and the manager's redial (within half a
// heartbeat); one dead timeout more than usual covers a slow one, and is
// short enough that a host whose agent does not come back is fenced and
// failed over within a bound.
const goodbyeGraceFactor = 2

// goodbye: a host's agent is stopping cleanly and will be back. It is a
// sign of life, and it gives the host a grace: it is not declared lost
// before goodbyeGraceFactor dead timeouts have passed without a word, nor
// after if it has said hello meanwhile.
func (mg *Manager) goodbye(now time.Time, m proto.Goodbye) []effect.Effect {
	hi, ok := mg.hosts[m.Host]
	if !ok || m.Epoch > mg.epoch {
		return nil // unknown, or the agent follows a newer manager: not ours to judge
	}
	grace := time.Duration(goodbyeGraceFactor) * mg.m.Cluster.DeadTimeout
	hi.goodbyeUntil = now.Add(grace)
	effs := mg.seen(now, m.Host)
	return mg.appendEvent(effs, now, Event{Kind: "agent-goodbye", Host: m.Host,
		Message: "the agent stopped cleanly; it is not judged lost for " + grace.String()})
}

// seen records a sign of life from host.
func (mg *Manager) seen(now time.Time, host string) []effect.Effect {
	hi, ok := mg.hosts[host]
	if !ok {
		return nil
	}
	return mg.seenHost(now, hi)
}

// seenHost is seen of the host hi.
func (mg *Manager) seenHost(now time.Time, hi *hostInfo) []effect.Effect {
	host := hi.name
	hi.lastSeen = now
	effs := append(mg.batches.Take(1), mg.batches.SetTimer(effect.SetTimer{ID: hi.deadTimer, At: now.Add(mg.m.Cluster.DeadTimeout)}))
	if !hi.talking {
		hi.talking = true
		mg.setOnline()
	}
	if hi.state == planner.Online {
		return effs
	}
	was := "was " + string(hi.state)
	if hi.state == planner.Unclean && !hi.pending {
		if mg.m.Cluster.Fencing || hi.fence.active {
			// A lost host that speaks again is still fenced: its view
			// of the world is stale and it may act on it.
			return effs
		}
		// Fencing off: no fence will ever settle what it runs, but the
		// host itself can. It is online again and everything it may run
		// is probed afresh, as after an agent restart.
		for _, r := range mg.m.Resources {
			mg.observed.forget(r.ID, host)
		}
		was = "was lost; fencing is off, so it is probed again"
	}
	if hi.pending {
		was = "first contact since the manager started"
	}
	mg.setHostState(hi, planner.Online, false)
	effs = mg.appendEvent(effs, now, Event{Kind: "host-online", Host: host, Message: was})
	mg.setOnline()
	mg.markStale()
	return effs
}

// addHost makes a configured host known: as at start, unclean and pending
// until its agent says hello.
func (mg *Manager) addHost(name string) *hostInfo {
	hi := &hostInfo{name: name, state: planner.Unclean, pending: true}
	mg.hosts[name] = hi
	mg.unheard++
	mg.hostsVersion++
	return hi
}

// dropHost forgets a host the configuration no longer has.
func (mg *Manager) dropHost(name string) {
	if hi := mg.hosts[name]; hi != nil && hi.pending {
		mg.unheard--
	}
	delete(mg.hosts, name)
	mg.hostsVersion++
}

// setHostState is the one way a host's state and pending flag change,
// which keeps the counts Idle and HostStateVersion read.
func (mg *Manager) setHostState(hi *hostInfo, st planner.HostState, pending bool) {
	if hi.pending != pending {
		if pending {
			mg.unheard++
		} else {
			mg.unheard--
		}
	}
	hi.state, hi.pending = st, pending
	mg.hostsVersion++
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
	if !mg.suspectDue(now, hi) && !hi.lastSeen.IsZero() && now.Sub(hi.lastSeen) < mg.m.Cluster.DeadTimeout {
		return mg.rearmSuspect(hi) // a heartbeat moved the deadline; this timer is stale
	}
	if now.Before(hi.graceUntil) {
		// The manager itself was away: what the host sent meanwhile may
		// still be queued. Judge it once the grace has passed.
		return []effect.Effect{mg.batches.SetTimer(effect.SetTimer{ID: hi.deadTimer, At: hi.graceUntil})}
	}
	if now.Before(hi.goodbyeUntil) {
		// Its agent said goodbye and is restarting: wait for its hello.
		return []effect.Effect{mg.batches.SetTimer(effect.SetTimer{ID: hi.deadTimer, At: hi.goodbyeUntil})}
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
	if !hi.goodbyeUntil.IsZero() {
		why = "said goodbye and did not come back within " + (time.Duration(goodbyeGraceFactor) * mg.m.Cluster.DeadTimeout).String()
	}
	if mg.suspectDue(now, hi) {
		why = suspectWhy
	}
	hi.clearSuspicion()
	mg.setHostState(hi, planner.Unclean, false)
	mg.setOnline()
	effs := mg.failHostOps(now, hi.name, "host lost")
	effs = append(effs, effect.Log{Level: slog.LevelError, Msg: "host lost", Attrs: []slog.Attr{slog.String("host", hi.name), slog.String("why", why)}})
	effs = mg.appendEvent(effs, now, Event{Kind: "host-lost", Host: hi.name, Message: why})
	effs = append(effs, mg.endTransient(now, hi.name, "the host was lost", nil)...)
	effs = append(effs, mg.fenceEffects(now, mg.fencer.ExecutorLost(now, hi.name))...)
	switch {
	case !mg.m.Cluster.Fencing:
	case hi.fence.active:
		// Said, so that the time to the next "fencing host" line is
		// explained: the fence under way settles this loss too.
		effs = mg.appendLog(effs, effect.Log{Level: slog.LevelInfo, Msg: "host lost while a fence of it is under way: that fence settles it",
			Attrs: []slog.Attr{slog.String("host", hi.name)}})
	case hi.fence.retryTimer != 0:
		effs = mg.appendLog(effs, effect.Log{Level: slog.LevelInfo, Msg: "host lost while its failed fence waits out its retry backoff: fenced when it ends",
			Attrs: []slog.Attr{slog.String("host", hi.name)}})
	default:
		// Fence at once rather than when the planner next runs: the
		// current transition may be busy, and every second a lost host
		// is not fenced is a second its groups are down.
		effs = append(effs, mg.requestFence(now, hi, "host lost", "manager")...)
	}
	mg.markStale()
	return effs
}

// noticeClockJump: when an input comes after the earliest timer the
// manager had set was due, the manager was not running meanwhile (a stopped
// process, a frozen VM, a stall of its runtime): a running manager's timers
// fire on time. The hosts kept talking meanwhile and their messages are
// queued behind this input, so no host is declared lost before the manager
// has had as long again as it was away, up to one heartbeat interval, to
// read them. However short the absence, the messages it queued are as
// unread: a pause that ends just after the dead timers came due fences
// every healthy host as surely as a long one (the simulator found it with
// a pause of 4.8 s against a dead timeout of 5 s, late by 0.8 s, when only
// lateness beyond two heartbeat intervals counted). A timer late by a hair
// costs a hair.
//
// A host gets one such grace per silence: the grace is for reading what it
// sent while the manager was away, and if nothing has come from it by the
// grace's end it is judged. Without that bound a real clock, whose timers
// always fire a little late, made every re-armed dead timer a new "jump"
// and a new grace, and a dead host was never declared lost (the
// simulator's timers fire on time, so only real processes showed it). A
// second absence longer than a heartbeat interval within the same silence
// is a real stop again and earns another grace.
func (mg *Manager) noticeClockJump(now time.Time) []effect.Effect {
	if !mg.dues.lateAt(now) {
		return nil // no timer is due before now (dues.floor)
	}
	hb := mg.m.Cluster.HeartbeatInterval
	due := mg.earliestDue()
	late := now.Sub(due)
	if due.IsZero() || hb <= 0 || late <= 0 {
		return nil
	}
	grace := now.Add(min(hb, late))
	extended := false
	for _, h := range mg.m.Hosts {
		hi := mg.hosts[h.Name]
		if !hi.graceUntil.IsZero() && hi.gracedSeen.Equal(hi.lastSeen) && late <= hb {
			continue // this silence had its grace; a hiccup earns no other
		}
		if hi.graceUntil.Before(grace) {
			hi.graceUntil, hi.gracedSeen, extended = grace, hi.lastSeen, true
		}
	}
	if !extended {
		return nil // already noticed in this instant
	}
	level := slog.LevelDebug
	if late > 2*hb {
		level = slog.LevelWarn // longer than any stall of a running process: it was stopped
	}
	if !mg.logs(level) {
		return nil
	}
	return []effect.Effect{effect.Log{Level: level, Msg: "clock jumped: the manager was not running; every host gets a grace to be read",
		Attrs: []slog.Attr{slog.Duration("late", late), slog.Duration("grace", min(hb, late))}}}
}
