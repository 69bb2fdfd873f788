package manager

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
)

// recordFound records the plan's multiple-active findings (groups found
// active on more hosts than they may run on). The planner decided what to
// do with each; the manager keeps what must outlive the plan: for
// stop-only and block, a durable "found-active" event that holds the group
// until a cleanup (Constraints.FoundActive); for the other policies, an
// event for the operator, once per finding.
func (mg *Manager) recordFound(now time.Time, t planner.Transition) []effect.Effect {
	var effs []effect.Effect
	for _, pl := range t.Placements {
		if pl.FoundActive == nil {
			delete(mg.foundSeen, pl.Group)
			continue
		}
		g, ok := mg.m.Group(pl.Group)
		if !ok {
			continue
		}
		policy := g.Placement.MultipleActive
		if policy == "" {
			policy = model.MultipleStopUnexpected // a model built without the loader
		}
		held := policy == model.MultipleStopOnly || policy == model.MultipleBlock
		hosts := strings.Join(pl.FoundActive, ", ")
		if _, recorded := mg.cons.FoundActive[g.ID]; held && recorded || !held && mg.foundSeen[g.ID] == hosts {
			continue
		}
		mg.foundSeen[g.ID] = hosts
		if held {
			mg.cons.FoundActive[g.ID] = slices.Clone(pl.FoundActive)
		}
		msg := fmt.Sprintf("found active on %s, more hosts than it may run on (multiple-active=%s)", hosts, policy)
		effs = append(effs, effect.Log{Level: slog.LevelWarn, Msg: "group " + msg,
			Attrs: []slog.Attr{slog.String("group", g.ID)}})
		effs = mg.appendEvent(effs, now, Event{Kind: "found-active", Group: g.ID, Hosts: slices.Clone(pl.FoundActive),
			Flag: held, Message: msg})
	}
	return effs
}
