package manager

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// The manager's side of the epoch rule (core/proto: MaxEpoch), and what it
// says when the agents know a higher epoch than its own.
//
// A standalone manager's epoch is its persisted record plus one. When the
// agents report more, the record is older than what they have seen: it was
// restored from a backup, deleted, or another manager runs with a newer
// epoch. The manager cannot tell which, so it stands down as before (the
// majority rule of conn.go), but it says what it knows and how to recover
// (basalt-manager epoch --set), rather than that a newer manager took over.
// An agent reporting an epoch above the ceiling holds a poisoned record
// (written before the rule existed): that says nothing of other managers
// and deposes nobody; the agent is to be reset (basalt-agent epoch --reset).

// checkStartEpoch refuses a persisted epoch whose successor would pass the
// ceiling: the manager never wraps, and no agent would accept it.
func checkStartEpoch(persisted proto.Epoch) error {
	if persisted >= proto.MaxEpoch {
		return fmt.Errorf("persisted manager epoch %d: the next one would pass the ceiling %d that agents accept (a damaged or hand-edited %q record); "+
			"with every manager stopped, set it to the epoch the agents report: basalt-manager epoch --state-dir DIR --set N",
			persisted, proto.MaxEpoch, EpochRecord)
	}
	return nil
}

// poisonedHello reports (and logs once per greeting) an agent whose epoch
// is above the ceiling: its record is garbage, not news of a manager.
func (mg *Manager) poisonedHello(m proto.Hello) ([]effect.Effect, bool) {
	if m.Epoch <= proto.MaxEpoch {
		return nil, false
	}
	if mg.poisoned == nil {
		mg.poisoned = map[string]bool{}
	}
	mg.poisoned[m.Host] = true
	return []effect.Effect{effect.Log{Level: slog.LevelError,
		Msg: "an agent reports an epoch above the ceiling: its epoch record is poisoned and it refuses every manager; " +
			"stop it and run basalt-agent epoch --state-dir DIR --reset N (N: this manager's epoch)",
		Attrs: []slog.Attr{slog.String("host", m.Host), slog.Uint64("seen", uint64(m.Epoch)), slog.Uint64("epoch", uint64(mg.epoch))}}}, true
}

// epochReused warns when a host greets with this manager's own epoch
// before this incarnation has sent it any command: another incarnation
// used the same epoch (a state directory restored from a backup one
// restart old). The agents obey this one from now on, on its connections;
// should the other still run, it must be stopped.
func (mg *Manager) epochReused(now time.Time, m proto.Hello) []effect.Effect {
	if m.Epoch != mg.epoch || mg.commanded[m.Host] || mg.reuseNoted {
		return nil
	}
	mg.reuseNoted = true
	msg := fmt.Sprintf("%s already holds epoch %d, this manager's, before this manager commanded it: another manager used this epoch "+
		"(this state directory was restored from a backup, or another manager runs: stop it)", m.Host, mg.epoch)
	return append([]effect.Effect{effect.Log{Level: slog.LevelWarn, Msg: msg}}, mg.event(now, Event{Kind: "epoch-reused", Host: m.Host, Message: msg})...)
}

// noteCommands records the hosts this incarnation has sent commands to.
func (mg *Manager) noteCommands(effs []effect.Effect) {
	for _, e := range effs {
		s, ok := e.(*effect.Send)
		if !ok {
			continue
		}
		switch s.Msg.(type) {
		case proto.Exec, proto.Cancel, proto.FenceExec:
			if mg.commanded == nil {
				mg.commanded = map[string]bool{}
			}
			mg.commanded[s.To] = true
		}
	}
}

// deposedMessage says what the hosts that deposed the manager know.
func (mg *Manager) deposedMessage() string {
	hosts := slices.Sorted(maps.Keys(mg.newer))
	var highest proto.Epoch
	for _, h := range hosts {
		highest = max(highest, mg.newer[h])
	}
	if highest == 0 {
		return fmt.Sprintf("%s refused this manager's commands as stale: they have seen a newer epoch than ours (%d); "+
			"another manager runs, or this manager's epoch record (%d) is older than what the agents hold (restored from a backup, or deleted); "+
			"this manager stops acting. If no other manager runs, stop this one and move its epoch above the agents': basalt-manager epoch --state-dir DIR --set N",
			strings.Join(hosts, ", "), mg.epoch, mg.epoch-1)
	}
	return fmt.Sprintf("%s report manager epoch %d; this manager's epoch is %d (its epoch record said %d): "+
		"the record is missing or older than what the agents have seen (restored from a backup, or deleted), or another manager runs with epoch %d; "+
		"this manager stops acting. If no other manager runs, stop this one and run basalt-manager epoch --state-dir DIR --set %d (its next start takes %d)",
		strings.Join(hosts, ", "), highest, mg.epoch, mg.epoch-1, highest, highest, highest+1)
}

// DeposedReason is why the manager stood down ("" while it acts).
func (mg *Manager) DeposedReason() string { return mg.deposedWhy }
