package canary

import (
	"time"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/core/proto"
)

// Agent canary names.
const (
	IgnoreEpochName         = "ignore-epoch"
	ObeyEveryConnectionName = "obey-every-connection"
	NoOrphanKillName        = "no-orphan-kill"
)

// Agent wraps a correct agent machine with the named defect, or reports
// false for a name that is not an agent defect.
func Agent(name string) (func(*agent.Agent) agent.Machine, bool) {
	switch name {
	case ObeyEveryConnectionName:
		return func(a *agent.Agent) agent.Machine { return ObeyEveryConnection(a) }, true
	case IgnoreEpochName:
		return func(a *agent.Agent) agent.Machine { return IgnoreEpoch(a) }, true
	case NoOrphanKillName:
		return func(a *agent.Agent) agent.Machine { return NoOrphanKill(a) }, true
	}
	return nil, false
}

// obeyEvery is an agent without the candidate rule.
type obeyEvery struct {
	agent.Machine
	// cur is the newest connection: the inner machine knows it as its
	// only one.
	cur effect.ConnID
	// closeOld: a newcomer replaces the connection obeyed, which is
	// closed; otherwise older connections stay open and obeyed.
	closeOld bool
}

// ObeyEveryConnection is an agent with no candidate rule: every manager
// connection that arrives takes over at once and the one it replaces is
// closed, whatever epoch either manager runs at. A superseded manager that
// wakes up and redials thus takes the agent from the live one.
func ObeyEveryConnection(a agent.Machine) agent.Machine {
	return &obeyEvery{Machine: a, closeOld: true}
}

// obeyAll is an agent that obeys every connection it has: commands from
// any open one are handled as if they came on the newest (which gets the
// heartbeats and results), and none is closed.
func obeyAll(a agent.Machine) agent.Machine { return &obeyEvery{Machine: a} }

// Connected implements agent.Machine: the new connection is the one obeyed.
func (w *obeyEvery) Connected(now time.Time, conn effect.ConnID) []effect.Effect {
	var effs []effect.Effect
	if w.cur != 0 {
		// The inner machine lets go of the old one ...
		effs = w.Machine.Disconnected(now, w.cur)
		if w.closeOld {
			// ... which is closed, or stays open and obeyed.
			effs = append(effs, effect.CloseConn{Conn: w.cur, Why: effect.CloseSuperseded})
		}
	}
	w.cur = conn
	return append(effs, w.Machine.Connected(now, conn)...)
}

// Disconnected implements agent.Machine.
func (w *obeyEvery) Disconnected(now time.Time, conn effect.ConnID) []effect.Effect {
	if conn != w.cur {
		return nil
	}
	w.cur = 0
	return w.Machine.Disconnected(now, conn)
}

// Receive implements agent.Machine: whatever the connection, as if on the
// newest.
func (w *obeyEvery) Receive(now time.Time, _ effect.ConnID, msg effect.Message) []effect.Effect {
	return w.Machine.Receive(now, w.cur, msg)
}

// ignoreEpoch is the ignore-epoch defect.
type ignoreEpoch struct {
	agent.Machine
	// lowered remembers the epoch each raised command really carried, by
	// operation and the epoch it was raised to, so that its results go
	// back under the epoch of the manager that sent it.
	lowered map[opEpoch]proto.Epoch
}

type opEpoch struct {
	op    proto.OpID
	epoch proto.Epoch
}

// IgnoreEpoch is an agent without the epoch guard: it obeys commands of
// superseded managers. Without epochs it cannot tell managers apart, so it
// obeys every connection it has, as the agent daemon's ignore-epoch
// canary always did. A command of an epoch
// lower than the agent's is handed to the machine raised to the agent's
// epoch (which the guard then lets through), and its results are lowered
// back on their way out.
func IgnoreEpoch(a agent.Machine) agent.Machine {
	return &ignoreEpoch{Machine: obeyAll(a), lowered: map[opEpoch]proto.Epoch{}}
}

// Receive implements agent.Machine.
func (w *ignoreEpoch) Receive(now time.Time, conn effect.ConnID, msg effect.Message) []effect.Effect {
	seen := w.Epoch()
	switch m := msg.(type) {
	case proto.Exec:
		if m.Epoch < seen {
			w.lowered[opEpoch{m.Op, seen}], m.Epoch = m.Epoch, seen
		}
		msg = m
	case proto.Cancel:
		if m.Epoch < seen {
			w.lowered[opEpoch{m.Op, seen}], m.Epoch = m.Epoch, seen
		}
		msg = m
	case proto.FenceExec:
		if m.Epoch < seen {
			w.lowered[opEpoch{m.Op, seen}], m.Epoch = m.Epoch, seen
		}
		msg = m
	}
	return w.lower(w.Machine.Receive(now, conn, msg))
}

// ProcessExited implements agent.Machine.
func (w *ignoreEpoch) ProcessExited(now time.Time, id proc.ID, exit proc.Exit) []effect.Effect {
	return w.lower(w.Machine.ProcessExited(now, id, exit))
}

// OrphanEnded implements agent.Machine: the commands held for an orphan
// run then.
func (w *ignoreEpoch) OrphanEnded(now time.Time, life, run uint64, gone bool) []effect.Effect {
	return w.lower(w.Machine.OrphanEnded(now, life, run, gone))
}

// TimerFired implements agent.Machine.
func (w *ignoreEpoch) TimerFired(now time.Time, id effect.TimerID) []effect.Effect {
	return w.lower(w.Machine.TimerFired(now, id))
}

// lower puts back the real epoch of raised commands in their results.
func (w *ignoreEpoch) lower(effs []effect.Effect) []effect.Effect {
	for i, e := range effs {
		s, ok := e.(*effect.Send)
		if !ok {
			continue
		}
		switch m := s.Msg.(type) {
		case proto.OpResult:
			if orig, ok := w.lowered[opEpoch{m.Op, m.Epoch}]; ok {
				m.Epoch = orig
				s.Msg = m
			}
		case proto.FenceResult:
			if orig, ok := w.lowered[opEpoch{m.Op, m.Epoch}]; ok {
				m.Epoch = orig
				s.Msg = m
			}
		case proto.Refused:
			if orig, ok := w.lowered[opEpoch{m.Op, m.Epoch}]; ok {
				m.Epoch = orig
				s.Msg = m
			}
		}
		effs[i] = s
	}
	return effs
}

// noOrphanKill is the no-orphan-kill defect.
type noOrphanKill struct{ agent.Machine }

// NoOrphanKill is an agent that does not deal with what its predecessor
// left running: the kill of each orphaned process group is never carried
// out, and the machine is told at once that the group is gone. The
// resource is probed (and commanded) beside an action that may still be
// under way, so a start cut short by the agent's death is reported "not
// running", started elsewhere, and then ends here: active on two hosts.
func NoOrphanKill(a agent.Machine) agent.Machine { return &noOrphanKill{Machine: a} }

// Resume implements agent.Machine.
func (w *noOrphanKill) Resume(now time.Time) []effect.Effect {
	return w.forget(now, w.Machine.Resume(now))
}

// forget drops the KillOrphan effects of a batch, answering each at once
// as if its group were gone.
func (w *noOrphanKill) forget(now time.Time, effs []effect.Effect) []effect.Effect {
	var out, answers []effect.Effect
	for _, e := range effs {
		k, ok := e.(agent.KillOrphan)
		if !ok {
			out = append(out, e)
			continue
		}
		answers = append(answers, w.Machine.OrphanEnded(now, k.Life, k.Run, true)...)
	}
	return append(out, answers...)
}
