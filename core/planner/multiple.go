package planner

import (
	"fmt"
	"strings"

	"github.com/basalt-ha/basalt/core/model"
)

// The multiple-active policies: what the plan does with a group found
// active on more hosts than it may run on (MaxInstances). That never comes
// of the planner's own plans (a start waits for every stop and fence
// elsewhere); it comes of a start outside the cluster, or of a fence
// device that said "off" without doing it.
//
//	stop-unexpected (default)  keep the hosts placement chooses, stop the rest
//	stop-start                 stop every instance; the next plan starts one
//	stop-only                  stop every instance; stopped until a cleanup
//	block                      act on no instance until a cleanup
//
// stop-only and block outlive the finding: the manager records it
// (Constraints.FoundActive) and only a cleanup of the group forgets it.
// stop-start needs no record: once every instance is stopped the group is
// an ordinary stopped group, and the next plan places it.

// foundActive returns the hosts where some member of g is active, when
// they are more than the group may run on; nil otherwise.
func (p *plan) foundActive(g *model.Group) []string {
	var hosts []string
	for _, hi := range p.activeHosts(g) {
		hosts = append(hosts, p.ix.names[hi])
	}
	if len(hosts) <= max(1, g.Placement.MaxInstances) {
		return nil
	}
	return hosts
}

// multipleActive applies g's multiple-active policy. It returns true when
// the policy decided the group's plan (pl is then complete), false when
// the group is placed as usual (stop-unexpected does just that).
func (p *plan) multipleActive(g *model.Group, pl *Placement) bool {
	found := p.foundActive(g)
	pl.FoundActive = found
	recorded, stands := p.in.Constraints.FoundActive[g.ID]
	policy := g.Placement.MultipleActive
	switch {
	case policy == model.MultipleBlock && (found != nil || stands):
		pl.Hosts, pl.AwaitsCleanup = p.current(g), true
		pl.Note = fmt.Sprintf("blocked: found active on %s (multiple-active=block): stop the extra instances by hand, then clean it up",
			foundOn(found, recorded))
		return true
	case policy == model.MultipleStopOnly && (found != nil || stands):
		pl.AwaitsCleanup = true
		pl.Note = fmt.Sprintf("found active on %s: multiple-active=stop-only stops every instance; clean it up to start it again",
			foundOn(found, recorded))
	case policy == model.MultipleStopStart && found != nil:
		pl.Note = fmt.Sprintf("found active on %s: multiple-active=stop-start stops every instance before it starts one",
			strings.Join(found, ", "))
	default:
		return false
	}
	if _, blockedBy := p.clearElsewhere(g, nil); blockedBy != "" {
		pl.Note += "; blocked: " + blockedBy
	}
	return true
}

// foundOn names the hosts of the finding: this plan's, or the recorded one.
func foundOn(found, recorded []string) string {
	if found == nil {
		found = recorded
	}
	return strings.Join(found, ", ")
}
