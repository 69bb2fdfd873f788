package manager

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/fencer"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
)

// closeReports closes the open reports whose groups have nothing left to
// do, recording where each resource ended.
func (mg *Manager) closeReports(now time.Time, t planner.Transition) []effect.Effect {
	busy := mg.busyGroups(t)
	var effs []effect.Effect
	for _, id := range mg.repOrder {
		rep := mg.reports[id]
		if rep == nil || rep.State != ReportOpen || !mg.reportDone(rep, busy) {
			continue
		}
		mg.closeReport(now, rep)
		effs = mg.appendEvent(effs, now, mg.closedEvent(rep))
	}
	return effs
}

// busyGroups are the groups a transition still acts on; a fence keeps
// every group busy, for recovery waits for it.
func (mg *Manager) busyGroups(t planner.Transition) map[string]bool {
	busy := map[string]bool{}
	for _, a := range t.Actions {
		if a.Kind == planner.Fence {
			for _, g := range mg.m.Groups {
				busy[g.ID] = true
			}
			continue
		}
		if gid, ok := mg.m.GroupOf(a.Resource); ok {
			busy[gid] = true
		}
	}
	return busy
}

// reportDone: none of the report's groups is busy and none of its hosts is
// being fenced.
func (mg *Manager) reportDone(rep *Report, busy map[string]bool) bool {
	for _, g := range rep.Groups {
		if busy[g] {
			return false
		}
	}
	if po := mg.powerOns[rep.ID]; po != nil {
		return po.done // its host's fencing is another request's
	}
	for h := range rep.Results {
		if hi := mg.hosts[h]; hi != nil && hi.fence.active {
			return false
		}
	}
	return true
}

// closeReport records where each host and resource of a report ended, and
// whether that is what was asked.
func (mg *Manager) closeReport(now time.Time, rep *Report) {
	rep.State, rep.Closed = ReportClosed, now
	po := mg.powerOns[rep.ID]
	delete(mg.powerOns, rep.ID)
	if po != nil {
		// A power-on's outcome is the devices', not the host's state: the
		// host joins later, when its agent says hello.
		rep.Results[po.host], rep.Failed = po.result, !po.ok
		if !po.done {
			rep.Results[po.host], rep.Failed = "power on not confirmed", true
		}
	}
	for h := range rep.Results {
		if po != nil && po.host == h {
			continue
		}
		if hi := mg.hosts[h]; hi != nil {
			rep.Results[h] = "host " + string(hi.state)
			if hi.fence.failure != "" {
				rep.Results[h] += ", fencing failed: " + hi.fence.failure
				rep.Failed = true
			}
		}
	}
	var blocked func(rsc string) string // derived only if a result needs it
	for _, gid := range rep.Groups {
		g, ok := mg.m.Group(gid)
		if !ok { // an orphan, stopped everywhere and forgotten
			rep.Results[gid] = "removed: stopped everywhere"
			continue
		}
		want := g.Placement.TargetRole
		if r, ok := mg.cons.TargetRoles[gid]; ok {
			want = r
		}
		for _, r := range g.StartOrder() {
			on, promoted := mg.observed.runningOn(mg.m, r)
			if !g.Placement.Clone.Promotable {
				promoted = nil
			}
			switch {
			case len(on) > 0 && g.Placement.Clone.Promotable:
				rep.Results[r] = "running on " + strings.Join(on, ",") + ", promoted on " + orNone(promoted)
			case len(on) > 0:
				rep.Results[r] = "running on " + strings.Join(on, ",")
			case mg.fatal[r] != "":
				rep.Results[r] = "failed: " + mg.fatal[r]
			default:
				rep.Results[r] = "stopped"
			}
			if (want == model.RoleStarted) != (len(on) > 0) {
				rep.Failed = true
				if blocked == nil {
					blocked = planner.Blocks(mg.planInput(now))
				}
				if blocked(r) != "" {
					rep.Results[r] += " (blocked)"
				}
			}
		}
	}
	mg.judgeMove(rep)
}

// VerdictKey is the key of Report.Results that says why a request could not
// be honoured as asked, when that is more than where each resource ended (a
// move whose group runs elsewhere, a request superseded by a newer one).
const VerdictKey = "(verdict)"

// judgeMove compares a move's outcome with what was asked: the group's root
// running on the host named. A move that cannot be honoured fails, with the
// planner's reason for that host, and says that the preference stays.
func (mg *Manager) judgeMove(rep *Report) {
	f := strings.Fields(rep.Request)
	if len(f) < 3 || f[0] != string(CmdMove) {
		return
	}
	gid, host := f[1], f[2]
	g, ok := mg.m.Group(gid)
	if !ok || mg.observed.of(g.Root())[host].State == planner.Running {
		return
	}
	rep.Failed = true
	why := fmt.Sprintf("FAILED: %s does not run on %s as asked", gid, host)
	if reason := mg.placementOn(gid, host); reason != "" {
		why += " (" + reason + ")"
	}
	if mv, ok := mg.cons.Moves[gid]; ok && mv.Host == host {
		why += "; the move preference stays until cleared"
	}
	rep.Results[VerdictKey] = why
}

// placementOn is what the last plan said of host for group: its score or
// why it was excluded, and the placement's note.
func (mg *Manager) placementOn(gid, host string) string {
	for _, pl := range mg.lastPlan.Placements {
		if pl.Group != gid {
			continue
		}
		var parts []string
		for _, line := range pl.Scores.All() {
			if rest, ok := strings.CutPrefix(line, host+": "); ok {
				parts = append(parts, rest)
			}
		}
		if pl.Note != "" {
			parts = append(parts, pl.Note)
		}
		return strings.Join(parts, "; ")
	}
	return ""
}

// supersede closes the open reports that a new request on the same group
// overrides (a move, start or stop followed by another of them): they say
// so, and fail, for what they asked will not be done.
func (mg *Manager) supersede(now time.Time, req Request, newID string) []effect.Effect {
	placing := func(c string) bool {
		return c == string(CmdMove) || c == string(CmdStart) || c == string(CmdStop) || c == string(CmdClear)
	}
	if !placing(string(req.Command)) {
		return nil
	}
	// A request of every group (start --all, clear --all) supersedes
	// those of each group it concerns, and an earlier one of every group.
	targets := map[string]bool{req.Target: true}
	if req.All {
		targets = map[string]bool{"--all": true}
		for _, g := range mg.reports[newID].Groups {
			targets[g] = true
		}
	}
	var effs []effect.Effect
	for _, id := range mg.repOrder {
		rep := mg.reports[id]
		if rep == nil || rep.State != ReportOpen || id == newID {
			continue
		}
		if f := strings.Fields(rep.Request); len(f) < 2 || !placing(f[0]) || !targets[f[1]] {
			continue
		}
		mg.closeReport(now, rep)
		rep.Failed = true
		rep.Results[VerdictKey] = "SUPERSEDED by " + newID + " (" + req.String() + ")"
		effs = mg.appendEvent(effs, now, mg.closedEvent(rep))
	}
	return effs
}

// closedEvent is the log's record of a report's closing, with its
// results, so that replay gives them back.
func (mg *Manager) closedEvent(rep *Report) Event {
	return Event{Kind: "report-closed", Report: rep.ID, Message: rep.Request + ": " + summarize(rep, mg.resultOrder(rep)),
		Results: maps.Clone(rep.Results), Flag: rep.Failed}
}

// resultOrder lists a report's result keys as Report.Order says: hosts as
// configured, each group's resources in start order, the rest sorted.
func (mg *Manager) resultOrder(rep *Report) []string {
	order := make([]string, 0, len(rep.Results))
	seen := map[string]bool{}
	add := func(k string) {
		if _, ok := rep.Results[k]; ok && !seen[k] {
			order = append(order, k)
			seen[k] = true
		}
	}
	// The hosts among the keys, in configuration order: a report names a
	// few hosts, and the cluster may have many.
	var hosts []int
	for k := range rep.Results { // purity:unordered collected, then sorted by host
		if i, ok := mg.m.HostIndex(k); ok {
			hosts = append(hosts, i)
		}
	}
	slices.Sort(hosts)
	for _, i := range hosts {
		add(mg.m.Hosts[i].Name)
	}
	for _, gid := range rep.Groups {
		if g, ok := mg.m.Group(gid); ok {
			for _, r := range g.StartOrder() {
				add(r)
			}
		}
	}
	// The rest, sorted in place after the others: order has room for
	// every key.
	rest := len(order)
	for k := range rep.Results { // purity:unordered sorted below
		if !seen[k] {
			order = append(order, k)
		}
	}
	slices.Sort(order[rest:])
	return order
}

// summarize puts a report's results on one line, in order.
func summarize(rep *Report, order []string) string {
	if len(order) == 0 {
		return "no resource concerned" // a standby of a host no group may run on, say
	}
	// Built in one buffer, as strings.Join of "key result" parts would
	// read: a part and a list of them per key cost more than the line.
	var b strings.Builder
	n := 2 * (len(order) - 1)
	for _, k := range order {
		n += len(k) + 1 + len(rep.Results[k])
	}
	b.Grow(n)
	for i, k := range order {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(k)
		b.WriteByte(' ')
		b.WriteString(rep.Results[k])
	}
	return b.String()
}

// Report returns a copy of a report.
func (mg *Manager) Report(id string) (Report, bool) {
	r, ok := mg.reports[id]
	if !ok {
		return Report{}, false
	}
	c := *r
	c.Results = map[string]string{}
	for k, v := range r.Results {
		c.Results[k] = v
	}
	c.Groups = slices.Clone(r.Groups)
	c.Order = mg.resultOrder(r)
	return c, true
}

// Reports returns a copy of every report the manager remembers (the last
// maxReports), oldest first.
func (mg *Manager) Reports() []Report {
	out := make([]Report, 0, len(mg.repOrder))
	for _, id := range mg.repOrder {
		if r, ok := mg.Report(id); ok {
			out = append(out, r)
		}
	}
	return out
}

// Events returns the most recent events, oldest first.
func (mg *Manager) Events() []Event { return slices.Clone(mg.recentEvents()) }

// Why explains a group's placement.
func (mg *Manager) Why(group string) (string, bool) { return mg.lastPlan.Why(group) }

// Idle reports whether nothing is in flight and the last plan had nothing
// to do.
func (mg *Manager) Idle() bool {
	return mg.planned && mg.trans == nil && mg.lastPlan.Empty() && mg.unheard == 0
}

// Observed returns a resource's state on a host.
func (mg *Manager) Observed(rsc, host string) planner.Observed { return mg.observed.of(rsc)[host] }

// HostState returns what the manager believes of a host.
func (mg *Manager) HostState(host string) planner.HostState {
	if hi := mg.hosts[host]; hi != nil {
		return hi.state
	}
	return ""
}

// HostStateVersion counts the changes of what HostState answers: while it
// stays the same, so does HostState for every host, and a driver that asks
// after every input (the simulator's health watch) need not ask them all.
func (mg *Manager) HostStateVersion() uint64 { return mg.hostsVersion }

// FenceHistory returns the fencer's history.
func (mg *Manager) FenceHistory() []fencer.HistoryEntry { return mg.fencer.History() }

// Constraints returns the moves and bans in force at now (an expired one
// stays recorded until cleared, but no longer counts), group by group in
// configuration order, each group's move before its bans.
func (mg *Manager) Constraints(now time.Time) []Constraint {
	live := func(until time.Time) bool { return until.IsZero() || now.Before(until) }
	var out []Constraint
	for _, g := range mg.m.Groups {
		if mv, ok := mg.cons.Moves[g.ID]; ok && live(mv.Until) {
			out = append(out, Constraint{Kind: "move", Group: g.ID, Host: mv.Host, Until: mv.Until, By: mv.By})
		}
		for _, b := range mg.cons.Bans {
			if b.Group == g.ID && live(b.Until) {
				out = append(out, Constraint{Kind: "ban", Group: g.ID, Host: b.Host, Until: b.Until, By: b.By})
			}
		}
	}
	return out
}

// Status returns a snapshot for status displays.
func (mg *Manager) Status() Status {
	s := Status{Epoch: uint64(mg.epoch), Deposed: mg.deposed, Maintenance: mg.cons.Maintenance, Busy: mg.trans != nil,
		Placements: slices.Clone(mg.lastPlan.Placements), TargetRoles: map[string]model.Role{}, Managed: map[string]bool{}}
	for _, g := range mg.m.Groups {
		s.TargetRoles[g.ID] = g.Placement.TargetRole
		if r, ok := mg.cons.TargetRoles[g.ID]; ok {
			s.TargetRoles[g.ID] = r
		}
		s.Managed[g.ID] = g.Placement.Managed
		if u, ok := mg.cons.Unmanaged[g.ID]; ok {
			s.Managed[g.ID] = !u
		}
	}
	for _, h := range mg.m.Hosts {
		hi := mg.hosts[h.Name]
		hs := HostStatus{Name: h.Name, State: hi.state, Standby: hi.standby, Pending: hi.pending, LastSeen: hi.lastSeen,
			PersistError: hi.persistErr}
		if hi.fence.active {
			hs.Fencing = "in progress"
		} else if hi.fence.failure != "" {
			hs.Fencing = "failed: " + hi.fence.failure
		}
		s.Hosts = append(s.Hosts, hs)
	}
	blocked := planner.Blocks(mg.planInput(time.Time{}))
	for _, r := range mg.m.Resources {
		gid, _ := mg.m.GroupOf(r.ID)
		g, _ := mg.m.Group(gid)
		rs := ResourceStatus{ID: r.ID, Name: r.Name, Group: gid, Parent: g.Parent(r.ID), States: map[string]planner.Observed{},
			Fails: map[string]planner.Failure{}, Fatal: mg.fatal[r.ID], Blocked: blocked(r.ID) != ""}
		for h, o := range mg.observed.byRsc[r.ID] {
			rs.States[h] = o
		}
		for h, f := range mg.failures[r.ID] {
			rs.Fails[h] = f
		}
		s.Resources = append(s.Resources, rs)
	}
	for _, id := range mg.repOrder {
		if r := mg.reports[id]; r != nil && r.State == ReportOpen {
			c, _ := mg.Report(id)
			s.OpenReports = append(s.OpenReports, c)
		}
	}
	return s
}

// orNone joins hosts, or says "none".
func orNone(hosts []string) string {
	if len(hosts) == 0 {
		return "none"
	}
	return strings.Join(hosts, ",")
}
