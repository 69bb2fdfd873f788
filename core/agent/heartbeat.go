package agent

import (
	"log/slog"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// The heartbeat interval.
//
// The cluster's configuration decides how often agents heartbeat
// (heartbeat-interval) and how long the manager waits for one
// (dead-timeout); an agent does not read that file. It used to be told the
// interval on its command line as well, and the two drifted apart: an agent
// at 4 s against a dead timeout of 3 s got its healthy host fenced 3 s
// after it joined. So the manager tells every agent the cluster's timing
// in its answer to the agent's Hello (proto.Welcome), and the agent
// heartbeats at that interval from then on. Config.HeartbeatInterval only
// paces the heartbeats before any manager spoke, which go nowhere anyway.
//
// The agent takes the timing from the manager it obeys: a candidate's
// Welcome is kept until the candidate takes over, and a superseded
// manager's (a lower epoch than the agent has seen) is not taken. An
// interval that could not keep the host alive under the dead timeout that
// comes with it is not obeyed silently: the agent heartbeats three times
// per dead timeout instead, and says so at error level.

// DefaultHeartbeatInterval is basalt-agent's interval before a manager
// tells it the cluster's.
const DefaultHeartbeatInterval = time.Second

// beatsPerDeadTimeout is how many heartbeats an agent sends per dead
// timeout when the interval it was told would not keep it alive: the
// configuration loader warns below three (core/model).
const beatsPerDeadTimeout = 3

// HeartbeatInterval is the interval the agent heartbeats at now.
func (a *Agent) HeartbeatInterval() time.Duration { return a.hbEvery }

// welcome handles a manager's Welcome on connection conn (the obeyed one
// or the candidate: Receive checked).
func (a *Agent) welcome(now time.Time, conn effect.ConnID, w proto.Welcome) []effect.Effect {
	if w.Epoch < a.epoch {
		return []effect.Effect{a.log(slog.LevelWarn, "ignored a superseded manager's heartbeat interval",
			slog.Uint64("conn", uint64(conn)), slog.Uint64("epoch", uint64(w.Epoch)), slog.Uint64("seen", uint64(a.epoch)),
			slog.Duration("interval", w.HeartbeatInterval))}
	}
	if conn == a.conn.cand {
		a.conn.candWelcome = &w // taken if the candidate takes over
		return nil
	}
	return append(a.adoptHeartbeat(now, w), a.attrsWelcome(w)...)
}

// adoptHeartbeat makes the interval w tells the agent's own, checked
// against w's dead timeout, and brings the next heartbeat forward when the
// new interval is shorter.
func (a *Agent) adoptHeartbeat(now time.Time, w proto.Welcome) []effect.Effect {
	every := w.HeartbeatInterval
	var effs []effect.Effect
	switch {
	case w.DeadTimeout <= 0 && every <= 0:
		return []effect.Effect{a.log(slog.LevelError, "the manager sent no heartbeat interval and no dead timeout; keeping this agent's",
			slog.Duration("interval", a.hbEvery))}
	case w.DeadTimeout <= 0:
		// Nothing to check it against; the manager's is still the one
		// its dead timeout was set for.
	case every <= 0 || every >= w.DeadTimeout:
		every = w.DeadTimeout / beatsPerDeadTimeout
		effs = append(effs, a.log(slog.LevelError, "the manager's heartbeat interval cannot keep this host alive under its dead timeout; "+
			"heartbeating three times per dead timeout instead: fix the cluster's heartbeat-interval",
			slog.Duration("told", w.HeartbeatInterval), slog.Duration("dead_timeout", w.DeadTimeout), slog.Duration("interval", every)))
	}
	if every <= 0 || every == a.hbEvery {
		return effs
	}
	effs = append(effs, a.log(slog.LevelInfo, "heartbeat interval set by the manager",
		slog.Duration("interval", every), slog.Duration("was", a.hbEvery)))
	a.hbEvery = every
	if due := now.Add(every); a.hbTimer != 0 && due.Before(a.hbDue) {
		a.hbDue = due
		effs = append(effs, a.batches.SetTimer(effect.SetTimer{ID: a.hbTimer, At: due}))
	}
	return effs
}

// beat sends a heartbeat and sets the next one.
func (a *Agent) beat(now time.Time) []effect.Effect {
	a.hbTimer = a.id()
	a.hbDue = now.Add(a.hbEvery)
	return append(a.batches.Take(2), a.heartbeat(), a.batches.SetTimer(effect.SetTimer{ID: a.hbTimer, At: a.hbDue}))
}
