package agent

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/core/proto"
)

// Which manager connection the agent obeys.
//
// The agent obeys one manager connection at a time: it takes the agent's
// commands and gets its heartbeats and results. A connection that arrives
// while another is up becomes the candidate. Handing it the connection at
// once would let a superseded manager (one that was frozen and woke up)
// take the connection from the live one, which would then see the agent as
// restarted. So the candidate is greeted with the agent's epoch, which tells
// a superseded manager to stand down, and takes over only when it sends a
// command of an epoch not lower than the agent's, which a newer manager does
// at once (it checks every fence device from the host it greets). A
// candidate whose command carries a lower epoch speaks for a replaced
// manager: the command is refused as stale, which tells that manager to
// stand down at once rather than redial into the same refusal, and the
// connection is closed. Should the candidate stay silent for two heartbeat
// intervals while the current connection stays up, it takes over anyway: a
// quiet manager that stays connected has not stood down, and the agent must
// not be left heartbeating to one that may be gone. When the current
// connection closes, the candidate is the only manager left and takes over.

// connState is the agent's view of its manager connections.
type connState struct {
	// cur is the connection obeyed (0: none).
	cur effect.ConnID
	// cand is a connection that arrived while cur was up (0: none).
	cand effect.ConnID
	// candTimer promotes cand when it stays silent.
	candTimer effect.TimerID
	// candWelcome is cand's Welcome, adopted when cand takes over.
	candWelcome *proto.Welcome
}

// Machine is the agent as its drivers see it. *Agent implements it; the
// simulator's canaries wrap it at this boundary, to show the checkers catch
// an agent that breaks the rules, without putting the defect in *Agent.
type Machine interface {
	Start(now time.Time) []effect.Effect
	Restore(now time.Time, rs []lrm.Resource) []effect.Effect
	Resume(now time.Time) []effect.Effect
	Goodbye(now time.Time) []effect.Effect
	ProcessStarted(now time.Time, id proc.ID, pgid int) []effect.Effect
	OrphanEnded(now time.Time, life, run uint64, gone bool) []effect.Effect
	Connected(now time.Time, conn effect.ConnID) []effect.Effect
	Disconnected(now time.Time, conn effect.ConnID) []effect.Effect
	Receive(now time.Time, conn effect.ConnID, msg effect.Message) []effect.Effect
	ProcessExited(now time.Time, id proc.ID, exit proc.Exit) []effect.Effect
	TimerFired(now time.Time, id effect.TimerID) []effect.Effect
	PersistFailed(now time.Time, record, why string) []effect.Effect
	PersistRecovered(now time.Time) []effect.Effect
	AttrRequest(now time.Time, r AttrRequest) []effect.Effect
	Attributes() (map[string][]proto.Attribute, bool)
	Epoch() proto.Epoch
	HeartbeatInterval() time.Duration
	Conns() (cur, cand effect.ConnID)
	LRM() *lrm.LRM
}

var _ Machine = (*Agent)(nil)

// Conns names the connection the agent obeys and its candidate (0: none).
func (a *Agent) Conns() (cur, cand effect.ConnID) { return a.conn.cur, a.conn.cand }

// Goodbye is what the agent says when it stops cleanly: the manager it
// obeys hears that the host is restarting rather than lost, and gives it a
// grace before judging it (core/manager). Its records are left as bases
// alone (compactRecords), which any release of the agent reads. Nothing
// else changes: the resources and the operations under way are left to
// the next life.
func (a *Agent) Goodbye(now time.Time) []effect.Effect {
	effs := a.compactRecords()
	if a.conn.cur == 0 && a.conn.cand == 0 {
		return effs
	}
	effs = append(effs, a.log(slog.LevelInfo, "stopping cleanly: saying goodbye to the manager"))
	// The candidate too: a manager that has just connected (a replacement
	// of a paused one) judges the host as much as the one obeyed, and
	// without a word it took the close and the refused redial that follow
	// for a dead agent (seed 10732).
	for _, c := range []effect.ConnID{a.conn.cur, a.conn.cand} {
		if c != 0 {
			effs = append(effs, a.batches.Send(effect.Send{To: effect.Manager, Conn: c, Msg: proto.Goodbye{Host: a.cfg.Host, Epoch: a.epoch}}))
		}
	}
	return effs
}

// Connected tells the agent that a manager opened connection conn. The
// agent greets it with its host and epoch, from which a superseded manager
// learns it was replaced.
func (a *Agent) Connected(now time.Time, conn effect.ConnID) []effect.Effect {
	hello := a.batches.Send(effect.Send{To: effect.Manager, Conn: conn, Msg: a.Hello()})
	if a.conn.cur == 0 {
		a.conn.cur = conn
		return []effect.Effect{a.log(slog.LevelInfo, "manager connected", slog.Uint64("conn", uint64(conn))), hello}
	}
	var effs []effect.Effect
	if a.conn.cand != 0 {
		effs = append(effs, effect.CloseConn{Conn: a.conn.cand, Why: effect.CloseReplaced}, a.batches.CancelTimer(effect.CancelTimer{ID: a.conn.candTimer}))
	}
	a.conn.cand, a.conn.candTimer, a.conn.candWelcome = conn, a.id(), nil
	return append(effs,
		a.log(slog.LevelInfo, "another manager connected; it takes over when it shows its epoch",
			slog.Uint64("conn", uint64(conn)), slog.Uint64("epoch", uint64(a.epoch))),
		hello,
		a.batches.SetTimer(effect.SetTimer{ID: a.conn.candTimer, At: now.Add(2 * a.hbEvery)}))
}

// Disconnected tells the agent that connection conn has closed.
func (a *Agent) Disconnected(now time.Time, conn effect.ConnID) []effect.Effect {
	switch {
	case conn == 0:
		return nil
	case conn == a.conn.cur:
		a.conn.cur = 0
		effs := append([]effect.Effect{a.log(slog.LevelWarn, "manager connection lost", slog.Uint64("conn", uint64(conn)))},
			a.attrsConnLost()...)
		if a.conn.cand != 0 {
			effs = append(effs, a.promote(now)...) // the only manager left
		}
		return effs
	case conn == a.conn.cand:
		a.conn.cand, a.conn.candWelcome = 0, nil
		return []effect.Effect{a.batches.CancelTimer(effect.CancelTimer{ID: a.conn.candTimer})}
	}
	return nil
}

// Receive handles a message from the manager on connection conn. Only the
// obeyed connection is heard; the candidate's first command decides whether
// it takes over or is closed.
func (a *Agent) Receive(now time.Time, conn effect.ConnID, msg effect.Message) []effect.Effect {
	if conn == 0 || conn != a.conn.cur && conn != a.conn.cand {
		return nil // a connection already let go of: nobody obeys it
	}
	if effs, bad := a.refuseOutOfBounds(conn, msg); bad {
		return effs // neither stored nor obeyed: a candidate does not take over with it
	}
	if w, ok := msg.(proto.Welcome); ok {
		return a.welcome(now, conn, w)
	}
	if m, ok := msg.(proto.Attributes); ok {
		if conn != a.conn.cur {
			return nil // a candidate's: it takes over with a command, not with this
		}
		return a.attributes(m)
	}
	var effs []effect.Effect
	if conn == a.conn.cand {
		epoch, _, ok := proto.Command(msg)
		if !ok {
			return nil
		}
		if epoch < a.epoch {
			a.conn.cand, a.conn.candWelcome = 0, nil
			refusal := a.refuseStale(msg)
			refusal.Conn = conn
			return []effect.Effect{
				a.log(slog.LevelWarn, "refused a superseded manager's connection", slog.Uint64("conn", uint64(conn)),
					slog.Uint64("epoch", uint64(epoch)), slog.Uint64("seen", uint64(a.epoch))),
				refusal,
				a.batches.CancelTimer(effect.CancelTimer{ID: a.conn.candTimer}),
				effect.CloseConn{Conn: conn, Why: effect.CloseStale},
			}
		}
		effs = effect.Concat(a.outranked(epoch), a.promote(now))
	}
	return effect.Concat(effs, a.command(now, msg))
}

// outranked tells the manager of the current connection, before the
// candidate's command at epoch takes it over, that a newer manager now has
// the agent: a stale refusal (op 0). Its connection then ends as a live
// agent lets go of it, and the manager, told a newer one exists, does not
// take the end for the agent's death (the fast failover path would fence a
// healthy host in its name). Nothing is said when the candidate is the
// same manager again (a new connection of the same epoch): that would count
// against a manager nobody outranks.
func (a *Agent) outranked(epoch proto.Epoch) []effect.Effect {
	if a.conn.cur == 0 || epoch <= a.epoch {
		return nil
	}
	return []effect.Effect{a.batches.Send(effect.Send{To: effect.Manager, Conn: a.conn.cur, Msg: proto.Refused{Host: a.cfg.Host, Epoch: a.epoch,
		Stale: true, Reason: fmt.Sprintf("a manager of epoch %d has taken this host over", epoch)}})}
}

// candidateSilent promotes a candidate that showed no epoch for two
// heartbeat intervals.
func (a *Agent) candidateSilent(now time.Time) []effect.Effect {
	if a.conn.cand == 0 {
		return nil
	}
	return append([]effect.Effect{a.log(slog.LevelWarn, "the other manager showed no epoch; it takes over",
		slog.Uint64("conn", uint64(a.conn.cand)))}, a.promote(now)...)
}

// promote hands the connection to the candidate and closes the old one;
// the candidate's Welcome, if it sent one, sets the heartbeat from now on.
func (a *Agent) promote(now time.Time) []effect.Effect {
	var effs []effect.Effect
	if a.conn.cur != 0 {
		effs = append(effs, effect.CloseConn{Conn: a.conn.cur, Why: effect.CloseSuperseded})
		effs = append(effs, a.attrsConnLost()...)
	}
	w := a.conn.candWelcome
	a.conn.cur, a.conn.cand, a.conn.candWelcome = a.conn.cand, 0, nil
	effs = append(effs, a.batches.CancelTimer(effect.CancelTimer{ID: a.conn.candTimer}),
		a.log(slog.LevelInfo, "manager connected", slog.Uint64("conn", uint64(a.conn.cur))))
	if w != nil && w.Epoch >= a.epoch {
		effs = append(effs, a.adoptHeartbeat(now, *w)...)
		effs = append(effs, a.attrsWelcome(*w)...)
	}
	return effs
}
