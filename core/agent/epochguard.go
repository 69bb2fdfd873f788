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
	epoch, op, ok := proto.Command(msg)
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
		a.batches.Send(effect.Send{To: effect.Manager, Conn: conn, Msg: proto.Refused{Host: a.cfg.Host, Epoch: epoch, Op: op, Reason: err.Error()}}),
	}, true
}
