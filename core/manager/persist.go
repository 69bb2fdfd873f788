package manager

import (
	"log/slog"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// persistRecheck is how long an operation on a host that cannot persist is
// waited for again when its timer fires: the agent holds the command until
// it can record it, so the command is late, not lost.
const persistRecheck = 5 * time.Second

// hostPersist notes what a host's heartbeat says of its storage: a change
// becomes an event (and a log line), and the status shows it. A host that
// cannot persist is alive and answering; it is reported, never fenced for
// it.
func (mg *Manager) hostPersist(now time.Time, hi *hostInfo, m proto.Heartbeat) []effect.Effect {
	if hi.persistErr == m.PersistError {
		return nil
	}
	hi.persistErr = m.PersistError
	if m.PersistError == "" {
		return mg.appendLog(mg.event(now, Event{Kind: "host-persists", Host: m.Host, Message: "the agent persists its records again"}),
			effect.Log{Level: slog.LevelInfo, Msg: "agent persists again", Attrs: []slog.Attr{slog.String("host", m.Host)}})
	}
	return append(mg.event(now, Event{Kind: "host-cannot-persist", Host: m.Host,
		Message: "the agent cannot persist its records (" + m.PersistError + "); it holds commands until it can, and is not fenced for it"}),
		effect.Log{Level: slog.LevelError, Msg: "agent cannot persist; its commands wait, the host is not fenced for it",
			Attrs: []slog.Attr{slog.String("host", m.Host), slog.String("err", m.PersistError)}})
}

// awaitPersisting re-arms the timer of operation op, in flight on a host
// that cannot persist: failing it would make a stop count as failed, and so
// fence a live host for its full disk. Its timer was already dropped from
// the table when it fired.
func (mg *Manager) awaitPersisting(now time.Time, op proto.OpID, p *pendingOp) []effect.Effect {
	p.timer = mg.newTimer(timerUse{kind: opTimer, op: op})
	return []effect.Effect{mg.batches.SetTimer(effect.SetTimer{ID: p.timer, At: now.Add(persistRecheck)})}
}

// persisting reports whether host can persist, as its last heartbeat said.
func (mg *Manager) persisting(host string) bool {
	hi, ok := mg.hosts[host]
	return !ok || hi.persistErr == ""
}
