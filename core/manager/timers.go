package manager

import (
	"log/slog"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// timerKind says what a timer is for.
type timerKind int

const (
	// deadTimer: a host's dead timeout; one per host, moved by every sign
	// of life.
	deadTimer timerKind = iota + 1
	// opTimer: a command's result is overdue.
	opTimer
	// fenceRetryTimer: a failed fence's backoff has ended.
	fenceRetryTimer
	// expiryTimer: a time-bound constraint or failure expires.
	expiryTimer
	// fencerTimer: one of the fencer's own (a request's or a device run's
	// deadline); the fencer interprets it.
	fencerTimer
)

// String names the kind, as tests print it.
func (k timerKind) String() string {
	return [...]string{"?", "dead", "op", "fence-retry", "expiry", "fencer"}[k]
}

// timerUse is one entry of the timer table: every timer the manager (or
// its fencer) sets is registered here when its ID is allocated, and
// TimerFired dispatches through this table alone.
type timerUse struct {
	kind timerKind
	host string     // deadTimer, fenceRetryTimer
	op   proto.OpID // opTimer
	// at is when the timer is due, zero once it has fired: it tells a
	// manager that was paused (see noticeClockJump).
	at time.Time
	// queued is the instant of the timer's own entry in dues, at or before
	// at; zero when it has none.
	queued time.Time
}

// newTimer allocates a timer ID for a use.
func (mg *Manager) newTimer(use timerUse) effect.TimerID {
	mg.nextTimer++
	mg.timers[mg.nextTimer] = use
	return mg.nextTimer
}

// cancelTimer forgets a timer and returns the effect that cancels it.
func (mg *Manager) cancelTimer(id effect.TimerID) effect.Effect {
	delete(mg.timers, id)
	return mg.batches.CancelTimer(effect.CancelTimer{ID: id})
}

// timerFired dispatches a timer through the table. A timer the manager
// does not know (cancelled while the driver was already firing it, or a
// previous incarnation's) is dropped: that is input, not a broken
// invariant.
func (mg *Manager) timerFired(now time.Time, id effect.TimerID) []effect.Effect {
	use, ok := mg.timers[id]
	if !ok {
		if !mg.logs(slog.LevelDebug) {
			return nil
		}
		return []effect.Effect{effect.Log{Level: slog.LevelDebug, Msg: "unknown or cancelled timer fired: dropped",
			Attrs: []slog.Attr{slog.Uint64("timer", uint64(id))}}}
	}
	if use.kind == deadTimer {
		use.at = time.Time{}
		mg.timers[id] = use
	} else {
		delete(mg.timers, id)
	}
	if mg.deposed {
		return nil
	}
	switch use.kind {
	case deadTimer:
		return mg.deadline(now, mg.hosts[use.host])
	case opTimer:
		p, _ := mg.ops.get(use.op)
		if p == nil || p.timer != id {
			broken("op timer %d fired for op %d, which is not in flight with it", id, use.op)
		}
		if !mg.persisting(p.host) {
			return mg.awaitPersisting(now, use.op, p)
		}
		mg.wake()
		return mg.failPending(now, use.op, p, "no result in time")
	case fenceRetryTimer:
		mg.hosts[use.host].fence.retryTimer = 0
		mg.markStale()
	case expiryTimer:
		if id == mg.expiry {
			mg.expiry = 0
		}
		mg.markStale()
	case fencerTimer:
		if !mg.fencer.Owns(id) {
			broken("fencer timer %d fired but the fencer does not own it", id)
		}
		return mg.fenceEffects(now, mg.fencer.TimerFired(now, id))
	}
	return nil
}

// earliestDue is when the earliest pending timer was due; zero when none
// is set.
func (mg *Manager) earliestDue() time.Time { return mg.dues.earliest(mg.timers) }

// checkEffects is the last step of every input: every timer the manager
// sets must be one it owns (registered in the table, or cancelled in the
// same batch), and the table learns when each is due and which are gone.
func (mg *Manager) checkEffects(effs []effect.Effect) []effect.Effect {
	mg.noteCommands(effs)
	for _, e := range effs {
		switch e := e.(type) {
		case *effect.SetTimer:
			use, owned := mg.timers[e.ID]
			if !owned && !cancels(effs, e.ID) {
				broken("sets timer %d, which is not in its timer table", e.ID)
			}
			if owned {
				mg.dues.set(mg.timers, e.ID, use, e.At)
			}
		case *effect.CancelTimer:
			if use, ok := mg.timers[e.ID]; ok && use.kind != deadTimer {
				delete(mg.timers, e.ID)
			}
		}
	}
	mg.dues.trim(mg.timers)
	return effs
}

// cancels says whether effs cancel timer id. checkEffects asks only of a
// timer it does not own, which is rare: a set of the cancelled timers,
// made for every input, cost more than the look-ups it saved.
func cancels(effs []effect.Effect, id effect.TimerID) bool {
	for _, e := range effs {
		if c, ok := e.(*effect.CancelTimer); ok && c.ID == id {
			return true
		}
	}
	return false
}
