package planner

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/basalt-ha/basalt/core/model"
)

// Promotable clones (Pacemaker's): every instance starts unpromoted; the
// plan then promotes the best running instances by promotion score, up to
// promoted-max across the cluster. The rules, in the order they apply:
//
//   - An instance that may still be promoted counts against promoted-max,
//     wherever it is: running promoted, failed or stop-failed promoted, on
//     a host being fenced or lost (unknown there too), or being demoted by
//     this very plan. A promotion is planned only while fewer than
//     promoted-max instances count; so a lost promoted host is fenced
//     first, and another instance is promoted by a later plan, once the
//     fence is confirmed, never in the same transition.
//   - A promotion score is the node attribute master-<member> on the host
//     (model.PromotionAttribute); an instance's is the sum of its
//     members'. No score at all, or a negative one on any member, and it is
//     never promoted (Pacemaker's rule). A promoted instance whose score
//     turned negative is demoted; one whose score went away stays.
//   - Only an instance that runs healthily, with nothing else planned for
//     it, and whose unpromoted monitors are set up, is promoted: its
//     score comes from its agent, after its start.
//   - Members are promoted parents first and demoted children first; a
//     healthy promoted instance is demoted before it stops (stopChain).
//   - More healthy promoted instances than promoted-max (found so, never
//     planned so): the lowest-scored are demoted.

// scoreInfinity is Pacemaker's INFINITY, the bound of a score.
const scoreInfinity = 1_000_000

// noScore is why an instance without any promotion score is not promoted.
const noScore = "no promotion score"

// promotionScore is the score of g's instance on host, and whether it may
// be promoted at all.
func (p *plan) promotionScore(g *model.Group, host string) (int, bool, string) {
	sum, scored := 0, false
	for _, r := range p.startOrder(g) {
		v, ok := p.in.Attributes[host][model.PromotionAttribute(r)]
		if !ok {
			continue
		}
		n, ok := parseScore(v)
		if !ok {
			return 0, false, fmt.Sprintf("%s=%q is not a score", model.PromotionAttribute(r), v)
		}
		if n < 0 {
			return n, false, fmt.Sprintf("negative score %d for %s", n, r)
		}
		sum, scored = min(scoreInfinity, sum+n), true
	}
	if !scored {
		return 0, false, noScore
	}
	return sum, true, ""
}

// parseScore reads a score as Pacemaker writes one: a whole number, or
// INFINITY with an optional sign, bounded by INFINITY.
func parseScore(v string) (int, bool) {
	switch strings.TrimSpace(v) {
	case "INFINITY", "+INFINITY":
		return scoreInfinity, true
	case "-INFINITY":
		return -scoreInfinity, true
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, false
	}
	return max(-scoreInfinity, min(scoreInfinity, n)), true
}

// monitorFits: a monitor runs on an instance in the role given (promoted
// or not); every monitor of a group that is not promotable fits.
func monitorFits(g *model.Group, m model.Monitor, promoted bool) bool {
	if !g.Placement.Clone.Promotable {
		return true
	}
	return m.ForPromoted() == promoted
}

// instance is what the promotion step knows of g's instance on one host.
type instance struct {
	host     string
	order    int
	promoted bool // some member may be promoted there
	complete bool // every member runs promoted
	healthy  bool // every member runs, nothing planned for it, monitored
	score    int
	usable   bool
	why      string // why it cannot be promoted, when !usable
}

// promotion plans the role changes of a promotable group, after its stops
// and starts (actions from index from on are this group's).
func (p *plan) promotion(g *model.Group, chosen []string, from int, pl *Placement) {
	c := g.Placement.Clone
	if !c.Promotable {
		return
	}
	busy := map[string]bool{}
	demoting := map[string]bool{}
	for _, a := range p.actions[from:] {
		if a.Kind != Monitor {
			busy[a.Host] = true
		}
		if a.Kind == Demote {
			demoting[a.Host] = true
		}
	}
	insts := p.instances(g, chosen, busy)
	counted := 0 // instances that may be promoted, wherever they are
	var kept []*instance
	for _, it := range insts {
		if !it.promoted {
			continue
		}
		counted++
		if it.healthy && slices.Contains(chosen, it.host) {
			kept = append(kept, it)
		}
	}
	// A healthy promoted instance stays, unless its score says it must
	// not be promoted, or more are promoted than may be.
	sort.SliceStable(kept, func(i, j int) bool { return better(kept[i], kept[j]) })
	for i, it := range kept {
		switch {
		case it.usable || it.why == noScore:
			if i < c.PromotedMax {
				pl.Promoted = append(pl.Promoted, it.host)
				if !it.complete {
					p.promoteOn(g, it.host, "complete the promotion")
				}
				continue
			}
			p.demoteOn(g, it.host, fmt.Sprintf("more than %d promoted", c.PromotedMax))
		default:
			p.demoteOn(g, it.host, "demote: "+it.why)
		}
		demoting[it.host] = true
	}
	var cands []*instance
	for _, it := range insts {
		if !it.promoted && it.healthy && it.usable && slices.Contains(chosen, it.host) {
			cands = append(cands, it)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return better(cands[i], cands[j]) })
	free := c.PromotedMax - counted
	for i := 0; i < len(cands) && i < free; i++ {
		p.promoteOn(g, cands[i].host, "")
		pl.Promoted = append(pl.Promoted, cands[i].host)
	}
	slices.SortFunc(pl.Promoted, func(a, b string) int { return p.in.hostIdx[a] - p.in.hostIdx[b] })
	pl.Promotion = promotionLines(insts, pl.Promoted, demoting, counted, c.PromotedMax)
}

// better orders instances for promotion: higher score, then the one
// promoted already, then host order.
func better(a, b *instance) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	if a.promoted != b.promoted {
		return a.promoted
	}
	return a.order < b.order
}

// instances describes g's instance on every host that matters to its
// promotion: the chosen ones, and wherever a member may be promoted.
func (p *plan) instances(g *model.Group, chosen []string, busy map[string]bool) []*instance {
	members := p.startOrder(g)
	var hosts []int
	for _, h := range chosen {
		hosts = append(hosts, p.in.hostIdx[h])
	}
	hosts = append(hosts, p.activeHosts(g)...)
	for _, r := range members {
		for _, hi := range p.ix.unknownOf(r) {
			if p.in.Hosts[hi].State == Unclean {
				hosts = append(hosts, hi)
			}
		}
	}
	slices.Sort(hosts)
	hosts = slices.Compact(hosts)
	var out []*instance
	for _, hi := range hosts {
		h := p.in.Hosts[hi]
		it := &instance{host: h.Name, order: hi, complete: true, healthy: !busy[h.Name] && h.State == Online}
		for _, r := range members {
			st := p.state(r, h.Name)
			if st.Promoted || (h.State == Unclean && st.State == Unknown) {
				it.promoted = true
			}
			if !(st.State == Running && st.Promoted) {
				it.complete = false
			}
			rsc, _ := p.in.Model.Resource(r)
			if st.State != Running || (!st.Monitored && hasMonitors(g, rsc, st.Promoted)) {
				it.healthy = false
			}
		}
		it.score, it.usable, it.why = p.promotionScore(g, h.Name)
		out = append(out, it)
	}
	return out
}

// hasMonitors: the resource has monitors for the role given.
func hasMonitors(g *model.Group, r *model.Resource, promoted bool) bool {
	if r == nil {
		return false
	}
	for _, m := range r.Monitors {
		if monitorFits(g, m, promoted) {
			return true
		}
	}
	return false
}

// promoteOn promotes g's members on host, parents first, each member's
// promoted monitors after it.
func (p *plan) promoteOn(g *model.Group, host, reason string) {
	prev := -1
	for _, r := range p.startOrder(g) {
		st := p.state(r, host)
		if st.Promoted {
			continue
		}
		var after []int
		if prev >= 0 {
			after = []int{prev}
		}
		prev = p.add(Action{Kind: Promote, Resource: r, Host: host, After: after, Reason: reason})
		p.roleMonitors(g, r, host, prev, true)
	}
}

// demoteOn demotes g's promoted members on host, children first, each
// member's unpromoted monitors after it.
func (p *plan) demoteOn(g *model.Group, host, reason string) {
	prev := -1
	for _, r := range p.stopOrder(g) {
		if st := p.state(r, host); !st.Promoted {
			continue
		}
		var after []int
		if prev >= 0 {
			after = []int{prev}
		}
		prev = p.add(Action{Kind: Demote, Resource: r, Host: host, After: after, Reason: reason})
		p.roleMonitors(g, r, host, prev, false)
	}
}

// roleMonitors sets up r's monitors of a role once the role change
// (action id) is done; the manager cancels the other role's.
func (p *plan) roleMonitors(g *model.Group, r, host string, id int, promoted bool) {
	rsc, ok := p.in.Model.Resource(r)
	if !ok {
		return
	}
	for i, m := range rsc.Monitors {
		if monitorFits(g, m, promoted) {
			p.add(Action{Kind: Monitor, Resource: r, Host: host, Monitor: i, After: []int{id}})
		}
	}
}

// promotionLines explains a promotable group's roles, one line per
// instance considered, then why no more are promoted.
func promotionLines(insts []*instance, promoted []string, demoting map[string]bool, counted, limit int) []string {
	var out []string
	for _, it := range insts {
		line := it.host + ": "
		if it.usable {
			line += fmt.Sprintf("score %d", it.score)
		} else {
			line += it.why
		}
		switch {
		case demoting[it.host]:
			line += ", demoted"
		case slices.Contains(promoted, it.host) && it.promoted:
			line += ", promoted"
		case slices.Contains(promoted, it.host):
			line += ", to be promoted"
		case it.promoted:
			line += ", may still be promoted: counts until it is stopped, demoted or fenced"
		case !it.healthy:
			line += ", not running healthily (or busy): not a candidate yet"
		}
		out = append(out, line)
	}
	if counted >= limit && len(promoted) < limit {
		out = append(out, fmt.Sprintf("no promotion: %d of at most %d may still be promoted", counted, limit))
	}
	return out
}
