package agent

import (
	"log/slog"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// refuseOutOfBounds applies the epoch rule (proto.CheckEpoch) to a
// command arriving on conn: an epoch above the ceiling, or too far above
// the stored one, is refused on that connection and never stored, since
// one stored garbage epoch would leave every later manager refused as
// stale. The refusal is not a stale one: the sender is not superseded, its
// epoch is impossible.
func (a *Agent) refuseOutOfBounds(conn effect.ConnID, msg effect.Message) ([]effect.Effect, bool) {
	epoch, ok := commandEpoch(msg)
	if !ok {
		return nil, false
	}
	err := proto.CheckEpoch(epoch, a.epoch, a.cfg.MaxEpochJump)
	if err == nil {
		return nil, false
	}
	return []effect.Effect{
		a.log(slog.LevelError, "refused a command with an impossible epoch", slog.Uint64("epoch", uint64(epoch)),
			slog.Uint64("seen", uint64(a.epoch)), slog.String("why", err.Error()), slog.String("msg", msg.Describe())),
		effect.Send{To: effect.Manager, Conn: conn, Msg: proto.Refused{Host: a.cfg.Host, Epoch: epoch, Op: commandOp(msg), Reason: err.Error()}},
	}, true
}

// commandOp is the operation ID of a command from a manager.
func commandOp(msg effect.Message) proto.OpID {
	switch m := msg.(type) {
	case proto.Exec:
		return m.Op
	case proto.Cancel:
		return m.Op
	case proto.FenceExec:
		return m.Op
	}
	return 0
}
