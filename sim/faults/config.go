package faults

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/basalt-ha/basalt/core/model"
)

// ConfigApply is basalt config apply with a random valid change: Times
// edits (model.Edit) drawn, when it happens, from the stream seeded by
// Draw, on the configuration then running (or Edits, when a scenario
// names them). The swarm draws it only when Options.ConfigApply is set, so
// that every plan drawn without it stays as it was.
const ConfigApply Kind = "config-apply"

// ConfigApplier is a Target that can change the running configuration.
// The cluster of real processes is not one yet: Apply says so.
type ConfigApplier interface {
	// ApplyConfigChange applies f's change (Fault.Edits, or Times edits
	// drawn by DrawEdits from Draw) to the running configuration.
	ApplyConfigChange(f Fault) error
}

// applyConfig carries a config-apply step into t.
func applyConfig(t Target, f Fault) error {
	ca, ok := t.(ConfigApplier)
	if !ok {
		return Unsupported("a configuration change: this world cannot apply one")
	}
	return ca.ApplyConfigChange(f)
}

// maxConfigEdits bounds the edits of one drawn change.
const maxConfigEdits = 3

// drawConfigApply fills in a config-apply fault: when, how many edits,
// and the seed of their draw (the edits themselves are drawn on the
// configuration running when it happens, which no plan can foresee).
func (d *drawer) drawConfigApply(f *Fault) {
	f.Times = 1 + d.rng.IntN(maxConfigEdits)
	f.Draw = d.rng.Uint64()
}

// drawTries bounds the draws of one edit that the configuration refuses
// (a monitor interval another monitor of the resource uses).
const drawTries = 8

// DrawEdits draws n edits of the configuration text (model m) from rng,
// each one checked by applying it: it returns the edits and the edited
// text. The change never adds or removes a host (a simulated host is the
// cluster's from the start), never removes the last group, and gives each
// added group a fresh ID ("<group>-c<N>").
func DrawEdits(text []byte, m *model.Model, rng *rand.Rand, n int) ([]model.EditOp, []byte) {
	var edits []model.EditOp
	for range min(n, maxConfigEdits) {
		for range drawTries {
			op, ok := drawEdit(m, rng)
			if !ok {
				continue
			}
			next, err := model.Edit("applied configuration", text, []model.EditOp{op})
			if err != nil {
				continue
			}
			nm, err := model.Load("applied configuration", next)
			if err != nil {
				continue
			}
			edits, text, m = append(edits, op), next, nm
			break
		}
	}
	return edits, text
}

// drawEdit draws one edit of m: remove a group, add a copy of one, change
// a resource's parameter or one of its monitors.
func drawEdit(m *model.Model, rng *rand.Rand) (model.EditOp, bool) {
	if len(m.Groups) == 0 || len(m.Resources) == 0 {
		return model.EditOp{}, false
	}
	var groups []string
	for _, g := range m.Groups {
		if !g.Orphan {
			groups = append(groups, g.ID)
		}
	}
	if len(groups) == 0 {
		return model.EditOp{}, false
	}
	r := &m.Resources[rng.IntN(len(m.Resources))]
	switch rng.IntN(4) {
	case 0:
		if len(groups) < 2 {
			return model.EditOp{}, false
		}
		return model.EditOp{Kind: model.EditRemoveGroup, Group: groups[rng.IntN(len(groups))]}, true
	case 1:
		g := groups[rng.IntN(len(groups))]
		return model.EditOp{Kind: model.EditAddGroup, Group: g, As: fmt.Sprintf("%s-c%d", g, rng.IntN(1000))}, true
	case 2:
		params := slices.Sorted(maps.Keys(r.Params))
		p := "sim_revision"
		if len(params) > 0 && rng.IntN(4) != 0 {
			p = params[rng.IntN(len(params))]
		}
		return model.EditOp{Kind: model.EditSetParam, Resource: r.ID, Param: p, Value: r.Params[p] + fmt.Sprintf(".v%d", rng.IntN(1000))}, true
	}
	if len(r.Monitors) == 0 {
		return model.EditOp{}, false
	}
	i := rng.IntN(len(r.Monitors))
	op := model.EditOp{Kind: model.EditSetMonitor, Resource: r.ID, Monitor: i}
	if rng.IntN(2) == 0 {
		op.Interval = time.Duration(5+rng.IntN(56)) * time.Second
	} else {
		op.Timeout = time.Duration(5+rng.IntN(26)) * time.Second
	}
	return op, true
}
