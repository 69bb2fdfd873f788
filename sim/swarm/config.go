package swarm

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/sim/cluster"
	"github.com/basalt-ha/basalt/sim/faults"
)

// Configuration changes in a run (the config-apply fault): the change is
// drawn on the configuration running when it happens, applied through the
// manager's admin path, and the judges learn the new configuration's
// resources. The safety judge goes on watching every resource it knew: an
// orphan keeps its ID, so a removed resource active twice is caught as
// any other.

var _ faults.ConfigApplier = (*simTarget)(nil)

// ApplyConfigChange draws f's edits (or takes f.Edits) on the running
// configuration and applies them. A change the manager refuses is part of
// the run, counted; so is a draw that found no valid edit.
func (t *simTarget) ApplyConfigChange(f faults.Fault) error {
	text, m := t.c.RunningConfig()
	edits := f.Edits
	var next []byte
	if len(edits) > 0 {
		var err error
		if next, err = model.Edit("applied configuration", []byte(text), edits); err != nil {
			t.configRefusals++
			t.c.Note(fmt.Sprintf("config change refused: %v", err))
			return err
		}
	} else {
		edits, next = faults.DrawEdits([]byte(text), m, rand.New(rand.NewPCG(f.Draw, 0x636f6e666967)), f.Times) // "config"
	}
	for _, e := range edits {
		t.c.Note("config change: " + e.String())
	}
	id, err := t.c.ApplyConfig(string(next))
	if err != nil {
		t.configRefusals++
		t.c.Note(fmt.Sprintf("config change refused: %v", err))
		return err
	}
	t.configApplies++
	t.reports = append(t.reports, id)
	if t.onConfig != nil {
		t.onConfig(t.c.RunningModel())
	}
	return nil
}

// model is the configuration the heal and the judges go by: the start-up
// one until a change is applied, then the running one.
func (t *simTarget) model(start *model.Model) *model.Model {
	if t.configApplies == 0 {
		return start
	}
	return t.c.RunningModel()
}

// learnConfig makes the judges know the resources of a configuration
// applied: their instance limits, and a truth watch of its groups.
func learnConfig(c *cluster.Cluster, m *model.Model, safety *check.Safety, limits map[string]int) *truthWatch {
	for _, g := range m.Groups {
		for _, r := range g.Resources() {
			if _, ok := limits[r]; !ok {
				safety.SetLimit(r, g.Placement.MaxInstances)
			}
			if g.Placement.Clone.Promotable {
				safety.SetPromotedLimit(r, g.Placement.Clone.PromotedMax)
			}
		}
	}
	w := newTruthWatch(m)
	for _, h := range m.HostNames() {
		for _, in := range c.Instances(h) {
			w.observe(cluster.Change{Host: h, Resource: in.Resource, Active: true})
		}
	}
	for _, r := range m.Resources {
		for _, h := range c.PromotedOn(r.ID) {
			w.observe(cluster.Change{Host: h, Resource: r.ID, Active: true, Role: true, Promoted: true})
		}
	}
	return w
}

// staleTruth says what runs in the world that the running configuration
// does not have, "" when nothing does: a resource it configures no more,
// an instance of another definition than the configured one, or an
// orphan the manager still holds.
func staleTruth(c *cluster.Cluster) string {
	mg := c.Manager()
	if mg == nil {
		return "no manager"
	}
	_, _, m := mg.Config()
	for _, h := range m.HostNames() {
		for _, in := range c.Instances(h) {
			r, ok := m.Resource(in.Resource)
			switch {
			case !ok:
				return fmt.Sprintf("%s runs on %s but is configured no more", in.Resource, h)
			case r.Digest() != in.Digest:
				return fmt.Sprintf("%s runs on %s with definition %s, not the configured %s", in.Resource, h, in.Digest, r.Digest())
			}
		}
	}
	if i := slices.IndexFunc(mg.Model().Groups, func(g model.Group) bool { return g.Orphan }); i >= 0 {
		return fmt.Sprintf("orphan group %s is not forgotten", mg.Model().Groups[i].ID)
	}
	return ""
}
