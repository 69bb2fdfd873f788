package agent

import (
	"log/slog"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// PersistFailed tells the agent that its driver could not carry out a
// Persist effect (the state directory is full or failing). The driver holds
// that effect and everything after it until it can persist again, so the
// agent acts on nothing it has not recorded; meanwhile the agent goes on
// heartbeating, each heartbeat saying it cannot persist, so that the manager
// reports it and does not take the host for lost. A heartbeat goes out at
// once, so that the manager knows before its operations time out.
func (a *Agent) PersistFailed(now time.Time, record, why string) []effect.Effect {
	was := a.persistErr
	a.persistErr = record + ": " + why
	if was != "" {
		return nil
	}
	return []effect.Effect{
		a.log(slog.LevelError, "cannot persist; holding commands until the state directory takes writes again",
			slog.String("record", record), slog.String("err", why)),
		a.heartbeat(),
	}
}

// PersistRecovered tells the agent that its driver persists again (and has
// carried out what it held).
func (a *Agent) PersistRecovered(now time.Time) []effect.Effect {
	if a.persistErr == "" {
		return nil
	}
	a.persistErr = ""
	return []effect.Effect{a.log(slog.LevelInfo, "persists again; carried out the held commands"), a.heartbeat()}
}

// PersistError is why the agent cannot persist, "" while it can.
func (a *Agent) PersistError() string { return a.persistErr }

// heartbeat is the next heartbeat on the obeyed connection.
func (a *Agent) heartbeat() effect.Effect {
	a.hbSeq++
	return a.send(proto.Heartbeat{Host: a.cfg.Host, Epoch: a.epoch, Seq: a.hbSeq, PersistError: a.persistErr})
}

// compactRecords rewrites the resource list and ops records as bases
// alone, without change lines, where they hold any (or may, from an
// earlier life). An agent before the records became logs reads a base
// and refuses a change line, so an agent stopped cleanly can be replaced
// by an older release (docs/production.md); the next life appends again.
func (a *Agent) compactRecords() []effect.Effect {
	if a.rec.lastLife > 0 || len(a.rec.resources) > 0 || len(a.rec.left) > 0 {
		return nil // what Recover read waits for Resume: the agent knows none of it yet
	}
	var effs []effect.Effect
	if rr := &a.record; !rr.based || rr.tail > 0 {
		effs = append(effs, rr.rebase())
	}
	if r := &a.runEnc; !r.based || r.tail > 0 || len(r.pending) > 0 {
		r.rebase = true
		effs = append(effs, a.persistOps())
	}
	return effs
}
