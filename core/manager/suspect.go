package manager

import (
	"log/slog"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/planner"
)

// Fast failover: an agent that died on a host that runs.
//
// Silence alone cannot tell a dead agent from a partition, a dead kernel
// or a frozen VM, so a silent host is judged after the dead timeout. But
// when the agent process dies and the host stays up, the host's kernel
// says so: it resets (or closes) the agent's connection, and refuses the
// manager's redial since nothing listens any more. Both together, with no
// word from the agent in between, are the host answering "nobody is
// here": the manager makes the host suspect and declares it lost after
// suspectHeartbeats heartbeat intervals more without a word, instead of
// the whole dead timeout. Either alone is not enough: a reset without a
// refusal is a connection that broke (a restarted middlebox, a manager's
// own stall), and a refusal without a reset is a dial that raced a
// restart.
//
// What it gives up: an agent crash that systemd restarts within the
// suspect window (the redial, at most half a heartbeat in the live
// manager, plus two heartbeat intervals) is not fenced — its hello clears the suspicion, as any word
// does, and its resources are re-probed as after any restart — but a
// slower restart is, where the dead timeout would have spared it. Fencing
// it is safe (what it runs is unknown while nobody manages it); it costs
// the host a reboot. A planned restart says goodbye first and is never
// suspect. A firewall that rejects the agent's port with TCP resets looks
// the same as a dead agent, and gets a running host fenced as soon.
// Pacemaker and corosync have nothing like it: their membership
// layer judges by silence (the token timeout) alone. Off
// (cluster.fast-failover: false), every loss waits for the dead timeout.
//
// The drivers only report what the kernel said (ConnEnd); the manager
// decides.

// ConnEnd is how a connection to an agent ended, or a dial failed, as the
// driver's kernel told it.
type ConnEnd int

const (
	// EndSilent: a timeout, no route, or anything the driver cannot tell
	// apart; what HostDisconnected reports. It says nothing of the host.
	EndSilent ConnEnd = iota
	// EndReset: the peer's kernel reset or closed an open connection (EOF
	// or ECONNRESET) without a goodbye first.
	EndReset
	// EndRefused: a dial got ECONNREFUSED: the host's kernel answers and
	// nothing listens on the agent's port.
	EndRefused
)

// String names the end as logs and tests print it.
func (e ConnEnd) String() string {
	switch e {
	case EndReset:
		return "reset"
	case EndRefused:
		return "refused"
	}
	return "silent"
}

// suspectHeartbeats is how many heartbeat intervals a suspect host has to
// say a word before it is declared lost: one lets a heartbeat late by a
// hair (the agent was restarting when the manager redialled) count as
// missing; two cover a restart that systemd does at once.
const suspectHeartbeats = 2

// suspectWhy is the host-lost reason of a suspect host.
const suspectWhy = "agent gone, host answering: connection reset, redial refused"

// HostConnEnded tells the manager that connection conn to host ended, and
// how (HostDisconnected is HostConnEnded with EndSilent). Commands to host
// go nowhere until the next connection.
func (mg *Manager) HostConnEnded(now time.Time, host string, conn effect.ConnID, end ConnEnd) []effect.Effect {
	current := conn != 0 && mg.conns[host] == conn
	if current {
		delete(mg.conns, host)
	}
	if !current || end != EndReset {
		return nil // an earlier connection's end says nothing of this life
	}
	return mg.unreachable(now, host, end)
}

// HostDialFailed tells the manager that a dial of host's agent failed,
// and how (EndRefused: the host's kernel refused it).
func (mg *Manager) HostDialFailed(now time.Time, host string, end ConnEnd) []effect.Effect {
	if end != EndRefused {
		return nil
	}
	return mg.unreachable(now, host, end)
}

// unreachable notes a reset or a refusal from host, as an input of its own:
// it may set the host's dead timer.
func (mg *Manager) unreachable(now time.Time, host string, end ConnEnd) []effect.Effect {
	hi, ok := mg.hosts[host]
	if !ok || !mg.started || mg.deposed || !mg.m.Cluster.FastFailover {
		return nil
	}
	effs := mg.input(now)
	return mg.settle(now, append(effs, mg.suspect(now, hi, end)...))
}

// suspect records end for hi and, once both a reset and a refusal are in
// since its last word, makes it suspect: its dead timer is moved to
// suspectHeartbeats heartbeat intervals from now. A host whose agent said
// goodbye, one not heard from since the manager started and one already
// lost are left alone.
func (mg *Manager) suspect(now time.Time, hi *hostInfo, end ConnEnd) []effect.Effect {
	if hi.state != planner.Online || hi.pending || now.Before(hi.goodbyeUntil) || !hi.suspectUntil.IsZero() {
		return nil
	}
	if _, outranked := mg.newer[hi.name]; outranked {
		// The host obeys a newer manager (it said so before letting this
		// one's connection go): its connection's end and a refused redial
		// say nothing of its agent's life (seed 4579: a stale manager
		// declared a healthy host lost in two heartbeats).
		return nil
	}
	switch end {
	case EndReset:
		hi.reset = true
	case EndRefused:
		hi.refused = true
	}
	if !hi.reset || !hi.refused {
		return nil
	}
	window := time.Duration(suspectHeartbeats) * mg.m.Cluster.HeartbeatInterval
	hi.suspectUntil = now.Add(window)
	msg := suspectWhy + "; lost unless it speaks within " + window.String()
	effs := []effect.Effect{effect.Log{Level: slog.LevelWarn, Msg: "host suspect", Attrs: []slog.Attr{
		slog.String("host", hi.name), slog.String("why", msg)}}}
	effs = mg.appendEvent(effs, now, Event{Kind: "host-suspect", Host: hi.name, Message: msg})
	if hi.lastSeen.IsZero() || hi.suspectUntil.Before(hi.lastSeen.Add(mg.m.Cluster.DeadTimeout)) {
		effs = append(effs, mg.batches.SetTimer(effect.SetTimer{ID: hi.deadTimer, At: hi.suspectUntil}))
	}
	return effs
}

// clearSuspicion: a word from the host (any message) shows its agent is
// there, whatever the kernel said before.
func (hi *hostInfo) clearSuspicion() {
	hi.reset, hi.refused, hi.suspectUntil = false, false, time.Time{}
}

// rearmSuspect: hi's dead timer fired before its time while hi is
// suspect. The suspicion had moved it; if fast failover was turned off
// since, the suspicion goes and the timer goes back to the dead timeout,
// else it waits for the suspicion's end. Without it the host would be left
// with no dead timer at all.
func (mg *Manager) rearmSuspect(hi *hostInfo) []effect.Effect {
	if hi.suspectUntil.IsZero() {
		return nil
	}
	at := hi.suspectUntil
	if !mg.m.Cluster.FastFailover {
		hi.clearSuspicion()
		at = hi.lastSeen.Add(mg.m.Cluster.DeadTimeout)
	}
	return []effect.Effect{mg.batches.SetTimer(effect.SetTimer{ID: hi.deadTimer, At: at})}
}

// suspectDue reports whether hi's suspicion has run its window, fast
// failover still on (a configuration applied meanwhile may have turned it
// off: the host is then judged by the dead timeout alone).
func (mg *Manager) suspectDue(now time.Time, hi *hostInfo) bool {
	return mg.m.Cluster.FastFailover && !hi.suspectUntil.IsZero() && !now.Before(hi.suspectUntil)
}

// heard clears the suspicion of host hi (nil: not configured) on a word
// from it. A suspicion that had moved the dead timer earlier puts it back
// where the host's last sign of life set it: the message may be one that
// is no sign of life (a previous incarnation's result), and the early
// timer would otherwise fire as a stale one and leave the host with no
// dead timer at all.
func (mg *Manager) heard(hi *hostInfo) []effect.Effect {
	if hi == nil || !hi.reset && !hi.refused {
		return nil
	}
	moved := !hi.suspectUntil.IsZero()
	hi.clearSuspicion()
	if !moved || hi.lastSeen.IsZero() {
		return nil
	}
	return []effect.Effect{mg.batches.SetTimer(effect.SetTimer{ID: hi.deadTimer, At: hi.lastSeen.Add(mg.m.Cluster.DeadTimeout)})}
}
