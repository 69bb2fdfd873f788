package planner

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
)

// Kind is an action's kind.
type Kind string

// Action kinds.
const (
	Fence   Kind = "fence"
	Probe   Kind = "probe"
	Stop    Kind = "stop"
	Start   Kind = "start"
	Monitor Kind = "monitor"
	// Reload runs the agent's reload action with the configured
	// definition, in place of a stop and start (see reloadable).
	Reload Kind = "reload"
	// Promote and Demote change the role of a promotable clone's
	// instance (see promote.go).
	Promote Kind = "promote"
	Demote  Kind = "demote"
)

// Action is one step of a transition.
type Action struct {
	// ID is the action's index in Transition.Actions.
	ID       int
	Kind     Kind
	Resource string
	Host     string
	// Monitor is the index of the monitor in the resource's configuration
	// (Kind Monitor only).
	Monitor int
	// After lists the IDs of actions that must succeed first.
	After  []int
	Reason string
	// ReloadAction is the agent action a Reload runs (reload-agent or
	// reload), as the running instance's agent said it reloads.
	ReloadAction ocf.Action `json:",omitempty"`
	// Notify is what a notify action tells (Kind Notify only).
	Notify *Notification `json:",omitempty"`
}

// String renders an action on one line, as the golden files show it.
func (a Action) String() string {
	var s string
	switch a.Kind {
	case Fence:
		s = fmt.Sprintf("%d: fence %s", a.ID, a.Host)
	case Monitor:
		s = fmt.Sprintf("%d: monitor#%d %s on %s", a.ID, a.Monitor, a.Resource, a.Host)
	case Notify:
		n := Notification{}
		if a.Notify != nil {
			n = *a.Notify
		}
		s = fmt.Sprintf("%d: notify %s-%s %s on %s", a.ID, n.Type, n.Operation, a.Resource, a.Host)
	default:
		s = fmt.Sprintf("%d: %s %s on %s", a.ID, a.Kind, a.Resource, a.Host)
	}
	if len(a.After) > 0 {
		parts := make([]string, len(a.After))
		for i, d := range a.After {
			parts[i] = fmt.Sprint(d)
		}
		s += " after " + strings.Join(parts, ",")
	}
	if a.Reason != "" {
		s += " (" + a.Reason + ")"
	}
	return s
}

// Placement is where a group is to run, and why.
type Placement struct {
	Group string
	// Hosts are the chosen hosts, best first; empty when the group is to
	// be stopped or cannot run anywhere.
	Hosts []string
	// Scores lists every host considered with its score or the reason it
	// was excluded, in host order: the "why" of the decision. Plan always
	// sets it (to no lines where the group was not placed).
	Scores ScoreLines
	// Note says why the group gets no actions, when it gets none on
	// purpose (blocked, unmanaged, waiting for probes or fencing).
	Note string
	// FoundActive lists the hosts where the group was found active when
	// they are more than it may run on (see the multiple-active policies).
	FoundActive []string
	// AwaitsCleanup: a policy holds the group (blocked, or stopped) until
	// an administrator's cleanup; Note says which.
	AwaitsCleanup bool
	// Promoted lists, for a promotable group, the hosts whose instance is
	// promoted or to be promoted by this plan, in host order; Promotion
	// explains the choice, one line per host considered (empty for any
	// other group).
	Promoted  []string `json:",omitempty"`
	Promotion []string `json:",omitempty"`
}

// ScoreLines yields a placement's explanation, one line per host in host
// order with its index: "host: score N (terms)" or "host: excluded: why".
// Plan builds the lines as they are read, from what it decided: a cluster
// of a thousand hosts would otherwise get a thousand lines for every group
// on every plan, and nobody reads them but "basalt resource why".
type ScoreLines func(yield func(int, string) bool)

// All is s, or no lines when s is nil (a Placement built without Lines),
// so that ranging over it never calls a nil function.
func (s ScoreLines) All() ScoreLines {
	if s == nil {
		return noLines
	}
	return s
}

// Lines returns ScoreLines yielding lines, for placements built by hand.
func Lines(lines ...string) ScoreLines {
	return func(yield func(int, string) bool) {
		for i, l := range lines {
			if !yield(i, l) {
				return
			}
		}
	}
}

var noLines = Lines()

// Transition is Plan's result.
type Transition struct {
	Actions    []Action
	Placements []Placement
}

// Empty reports whether there is nothing to do.
func (t Transition) Empty() bool { return len(t.Actions) == 0 }

// String renders the transition as readable text, one line per action and
// placement.
func (t Transition) String() string {
	var b strings.Builder
	var lists []*NotifyLists // each resource's, once, after the actions
	var listLines []string
	for _, a := range t.Actions {
		b.WriteString(a.String() + "\n")
		if a.Kind == Notify && a.Notify != nil && a.Notify.Lists != nil && !slices.Contains(lists, a.Notify.Lists) {
			lists = append(lists, a.Notify.Lists)
			listLines = append(listLines, fmt.Sprintf("notify %s: %s\n", a.Resource, a.Notify.Lists))
		}
	}
	for _, l := range listLines {
		b.WriteString(l)
	}
	for _, p := range t.Placements {
		hosts := "nowhere"
		if len(p.Hosts) > 0 {
			hosts = strings.Join(p.Hosts, ",")
		}
		fmt.Fprintf(&b, "place %s on %s", p.Group, hosts)
		if p.Note != "" {
			fmt.Fprintf(&b, " (%s)", p.Note)
		}
		b.WriteString("\n")
		if len(p.FoundActive) > 0 {
			fmt.Fprintf(&b, "  found active on %s, more hosts than it may run on\n", strings.Join(p.FoundActive, ", "))
		}
		for _, s := range p.Scores.All() {
			b.WriteString("  " + s + "\n")
		}
		for _, s := range p.Promotion {
			b.WriteString("  promotion: " + s + "\n")
		}
	}
	return b.String()
}

// Why explains a group's placement in a few lines.
func (t Transition) Why(group string) (string, bool) {
	for _, p := range t.Placements {
		if p.Group == group {
			var b strings.Builder
			if len(p.Hosts) == 0 {
				fmt.Fprintf(&b, "%s runs nowhere", group)
			} else {
				fmt.Fprintf(&b, "%s runs on %s", group, strings.Join(p.Hosts, ","))
			}
			if p.Note != "" {
				fmt.Fprintf(&b, ": %s", p.Note)
			}
			b.WriteString("\n")
			for _, s := range p.Scores.All() {
				b.WriteString("  " + s + "\n")
			}
			for _, s := range p.Promotion {
				b.WriteString("  promotion: " + s + "\n")
			}
			return b.String(), true
		}
	}
	return "", false
}

// Scores. Domain priority dominates, then a move constraint's wish, then
// stickiness; failback=false keeps a group where it runs whatever the domain
// prefers, but yields to an explicit move.
const (
	scoreMove       = 100_000_000
	scoreNoFailback = 10_000_000
	scoreDomainBase = 1_000_000
	scorePriority   = 1_000
)

type plan struct {
	in      *Input // &input
	input   Input
	pol     policies
	ix      *index
	actions []Action
	fences  map[string]int   // host -> fence action ID; nil when none
	bans    map[string][]Ban // group -> its bans, in input order; nil when none
	// cur is the group being planned; every step of its plan asks for its
	// start order (parents first), its stop order and the hosts where a
	// member is active, which are computed once for it (active on first
	// use, hasActive then), in buffers that the next group reuses.
	cur         *model.Group
	start, stop []string
	active      []int
	hasActive   bool
	orderBuf    []string
	activeBuf   []int
	specialBuf  []int
	candBuf     []cand
	lineBuf     []hostLine // every group's explanation, one after another
	hostBuf     []string   // every group's chosen hosts, one after another
	afterBuf    []int      // every action's After, one after another
	afterTmp    []int      // an After being built
	rscBuf      []string   // members being stopped
}

// startOrder is g.StartOrder, computed once for the group being planned;
// callers must neither change it nor keep it past the group's plan.
func (p *plan) startOrder(g *model.Group) []string {
	if g != p.cur {
		return g.StartOrder()
	}
	return p.start
}

// stopOrder is g.StopOrder, as startOrder.
func (p *plan) stopOrder(g *model.Group) []string {
	if g != p.cur {
		return g.StopOrder()
	}
	return p.stop
}

// activeHosts lists the hosts where a member of g is active, in host
// order (ix.activeOn of its members): computed once for the group being
// planned; callers must neither change it nor keep it past the group's
// plan (it has no room to append in place).
func (p *plan) activeHosts(g *model.Group) []int {
	if g != p.cur {
		return slices.Clip(p.ix.activeOn(nil, g.StartOrder()))
	}
	if !p.hasActive {
		out := p.ix.activeOn(p.activeBuf[:0], p.start)
		if out != nil {
			p.activeBuf = out[:0]
		}
		p.active, p.hasActive = slices.Clip(out), true
	}
	return p.active
}

// enter makes g the group being planned.
func (p *plan) enter(g *model.Group) {
	buf := g.AppendStartOrder(slices.Grow(p.orderBuf[:0], 2*len(g.Members)))
	n := len(buf)
	for i := n - 1; i >= 0; i-- {
		buf = append(buf, buf[i])
	}
	p.orderBuf = buf
	p.cur, p.start, p.stop = g, buf[:n:n], buf[n:2*n:2*n]
	if n == 0 {
		p.start, p.stop = nil, nil // as the model's: a group with no root has no order
	}
	p.active, p.hasActive = nil, false
}

// add appends a to the plan's actions. It copies a.After, to an array
// that every action's shares, so that callers may build theirs in a
// scratch buffer.
func (p *plan) add(a Action) int {
	a.ID = len(p.actions)
	if len(a.After) > 0 {
		if cap(p.afterBuf) == 0 {
			p.afterBuf = make([]int, 0, 32)
		}
		from := len(p.afterBuf)
		p.afterBuf = append(p.afterBuf, a.After...)
		after := p.afterBuf[from:]
		slices.Sort(after)
		after = slices.Compact(after)
		p.afterBuf = p.afterBuf[:from+len(after)]
		a.After = after[:len(after):len(after)]
	}
	if cap(p.actions) == 0 {
		p.actions = make([]Action, 0, 16) // past the first few doublings
	}
	p.actions = append(p.actions, a)
	return a.ID
}

// Plan computes the next transition. It is deterministic: the same input
// gives the same transition, byte for byte.
func Plan(in Input) Transition {
	p := &plan{input: in} // one allocation for both
	p.in = &p.input
	p.in.hostIdx = indexHosts(in.Hosts)
	p.pol = derivePolicies(p.in)
	p.input = p.pol.effective(p.input)
	p.ix = newIndex(p.in)
	m := p.in.Model
	var t Transition

	// Fence first: an unclean host, or one where a stop failed, may still
	// run resources, and nothing it may run can start elsewhere until it
	// is confirmed off.
	if fences := fencesOf(p.in, &p.pol, p.ix); len(fences) > 0 {
		p.fences = make(map[string]int, len(fences))
		for _, f := range fences {
			p.fences[f.host] = p.add(Action{Kind: Fence, Host: f.host, Reason: f.why})
		}
	}
	p.pol.settleStopBlocks(p.fences)
	p.setExclusions()
	if bans := p.in.Constraints.Bans; len(bans) > 0 {
		p.bans = map[string][]Ban{}
		for _, b := range bans {
			p.bans[b.Group] = append(p.bans[b.Group], b)
		}
	}
	if len(m.Groups) > 0 {
		t.Placements = make([]Placement, 0, len(m.Groups))
		p.lineBuf = make([]hostLine, 0, 2*len(m.Groups)) // a domain of two, say
		p.hostBuf = make([]string, 0, len(m.Groups))
	}
	for gi := range m.Groups {
		p.enter(&m.Groups[gi])
		t.Placements = append(t.Placements, p.group(&m.Groups[gi]))
	}
	t.Actions = p.actions
	return t
}

type fenceReason struct{ host, why string }

// fencesOf lists the hosts to fence, in host order, with the reason: an
// unclean host, a host that a failure's on-fail=fence names, and a host
// where a stop failed that no block answers (the first such resource in
// model order names it).
func fencesOf(in *Input, pol *policies, ix *index) []fenceReason {
	if !in.Model.Cluster.Fencing {
		return nil
	}
	stopFailed := map[int]string{} // host -> first resource whose stop failed there
	for ri, r := range in.Model.Resources {
		for _, a := range ix.active[ri] {
			if _, seen := stopFailed[a.host]; !seen && a.obs.State == StopFailed &&
				pol.stopBlocks[r.ID][in.Hosts[a.host].Name] == "" && pol.blocked[r.ID] == "" {
				stopFailed[a.host] = r.ID
			}
		}
	}
	var out []fenceReason
	for i, h := range in.Hosts {
		reason := ""
		if h.State == Unclean {
			reason = "host lost"
		} else if h.State == Online {
			reason = pol.fence[h.Name]
			if r, ok := stopFailed[i]; ok && reason == "" {
				reason = "stop of " + r + " failed"
			}
		}
		if reason != "" {
			out = append(out, fenceReason{h.Name, reason})
		}
	}
	return out
}

// group plans one group and returns its placement.
func (p *plan) group(g *model.Group) Placement {
	in := p.in
	pl := Placement{Group: g.ID, Scores: noLines}
	members := p.startOrder(g)

	if in.Constraints.Maintenance {
		pl.Hosts, pl.Note = p.current(g), "maintenance mode: no actions"
		return pl
	}
	managed := g.Placement.Managed
	if u, ok := in.Constraints.Unmanaged[g.ID]; ok && !g.Orphan {
		managed = !u
	}
	if !managed {
		pl.Hosts, pl.Note = p.current(g), "unmanaged: monitored, never acted on"
		return pl
	}
	for _, r := range members {
		if why := p.pol.blocked[r]; why != "" {
			pl.Hosts, pl.Note, pl.AwaitsCleanup = p.current(g), "blocked: "+why, true
			return pl
		}
	}

	// Probe before anything: a resource of unknown state on an online
	// host might be running there.
	probing := false
	for _, r := range members {
		for _, hi := range p.ix.unknownOf(r) {
			if h := in.Hosts[hi]; h.State == Online {
				p.add(Action{Kind: Probe, Resource: r, Host: h.Name})
				probing = true
			}
		}
	}
	if probing {
		pl.Hosts, pl.Note = p.current(g), "waiting for probes"
		return pl
	}
	if p.multipleActive(g, &pl) {
		return pl
	}

	chosen, scores, why := p.place(g)
	pl.Hosts, pl.Note = chosen, why
	if scores != nil {
		pl.Scores = scores
	}
	pl.AwaitsCleanup = p.pol.stopped[g.ID] != "" // on-fail=stop, recovery=disable

	begin := len(p.actions)
	defer p.notifications(g, begin)
	clearIDs, blockedBy := p.clearElsewhere(g, chosen)
	if blockedBy != "" {
		if pl.Note != "" {
			pl.Note += "; "
		}
		pl.Note += "blocked: " + blockedBy
		pl.Hosts = nil
		return pl
	}

	from := len(p.actions)
	prev := -1
	for _, host := range chosen {
		after := clearIDs
		if prev >= 0 && g.Placement.Clone.Ordered {
			// ordered: an instance starts once the one before it did.
			after = append(slices.Clone(clearIDs), prev)
		}
		if id := p.startOn(g, host, after); id >= 0 {
			prev = id
		}
	}
	p.promotion(g, chosen, from, &pl)
	return pl
}

// clearElsewhere plans what must happen before the group starts on its
// chosen hosts: where a member may be active outside them, it is stopped
// (online hosts) or its host fenced (unclean, stop failed); every start
// waits for all of that. It returns those actions' IDs, or why the group
// cannot be recovered safely at all.
func (p *plan) clearElsewhere(g *model.Group, chosen []string) ([]int, string) {
	in := p.in
	var clearIDs []int
	blockedBy := ""
	stopOrder := p.stopOrder(g)
	for _, hi := range p.mayRunOn(g) {
		h := in.Hosts[hi]
		if slices.Contains(chosen, h.Name) {
			continue
		}
		hostActive := p.rscBuf[:0]
		mayRun := false
		for _, r := range stopOrder {
			st := p.state(r, h.Name).State
			if active(st) {
				hostActive = append(hostActive, r)
			}
			if active(st) || (h.State == Unclean && st == Unknown) {
				mayRun = true
			}
		}
		p.rscBuf = hostActive[:0] // stopChain reads it only
		if !mayRun {
			continue
		}
		if fid, ok := p.fences[h.Name]; ok {
			// The fence stops everything there; stops would race it.
			clearIDs = append(clearIDs, fid)
			continue
		}
		if h.State == Unclean {
			if _, ok := p.fences[h.Name]; !ok {
				blockedBy = fmt.Sprintf("%s is lost and fencing is off: its resources cannot be recovered safely", h.Name)
			}
			continue
		}
		why := "not placed here"
		if g.Orphan {
			why = "orphan: configured no more"
		}
		clearIDs = append(clearIDs, p.stopChain(g, hostActive, h.Name, func(string) string { return why })...)
	}
	if blockedBy != "" {
		return clearIDs, blockedBy
	}
	startOrder := p.startOrder(g)
	for _, hi := range p.activeHosts(g) { // stop-failed is active
		h := in.Hosts[hi]
		for _, r := range startOrder {
			if p.state(r, h.Name).State == StopFailed {
				if _, ok := p.fences[h.Name]; !ok {
					blockedBy = fmt.Sprintf("stop of %s failed on %s and fencing is off", r, h.Name)
				}
			}
		}
	}
	return clearIDs, blockedBy
}

// mayRunOn lists the hosts, in host order, where a member of g may run:
// where it is active, or unknown on a lost host.
func (p *plan) mayRunOn(g *model.Group) []int {
	hosts := p.activeHosts(g)
	lost := false // hosts is then a copy, which lost hosts join
	for _, r := range p.stopOrder(g) {
		for _, hi := range p.ix.unknownOf(r) {
			if p.in.Hosts[hi].State == Unclean {
				hosts, lost = append(hosts, hi), true
			}
		}
	}
	if lost {
		slices.Sort(hosts)
		hosts = slices.Compact(hosts)
	}
	return hosts
}

// current lists the hosts where the group's root may be active.
func (p *plan) current(g *model.Group) []string {
	var out []string
	for _, a := range p.ix.activeOf(g.Root()) {
		out = append(out, p.ix.names[a.host])
	}
	return out
}

// stopChain stops the given active members on host, children first, and
// returns the action IDs.
func (p *plan) stopChain(g *model.Group, activeMembers []string, host string, reason func(rsc string) string) []int {
	var ids []int
	byRsc := map[string]int{}
	for _, r := range p.stopOrder(g) {
		if !slices.Contains(activeMembers, r) {
			continue
		}
		if p.state(r, host).State == StopFailed {
			continue // only the fence ends it
		}
		after := p.afterTmp[:0]
		for _, mem := range g.Members { // g.Children(r), unlisted
			c := mem.Resource
			if mem.Parent != r || c == r {
				continue
			}
			if id, ok := byRsc[c]; ok {
				after = append(after, id)
			}
			for _, d := range p.startOrder(g) { // g.Descendants(c), unlisted
				if id, ok := byRsc[d]; ok && g.HasAncestor(d, c) {
					after = append(after, id)
				}
			}
		}
		p.afterTmp = after[:0] // add copies it
		if st := p.state(r, host); st.State == Running && st.Promoted {
			// A promoted instance is demoted before it stops (a failed
			// one is stopped directly: a stop ends any role).
			after = []int{p.add(Action{Kind: Demote, Resource: r, Host: host, After: after, Reason: "demote before stop"})}
		}
		id := p.add(Action{Kind: Stop, Resource: r, Host: host, After: after, Reason: reason(r)})
		byRsc[r] = id
		ids = append(ids, id)
	}
	return ids
}

// startOn brings the group up on host: failed members are restarted with
// everything below them (a failed child alone when its parents are healthy),
// a member running above an ancestor that is not running is stopped and
// started again in order, members not running are started after all their
// ancestors, and monitors are set up.
func (p *plan) startOn(g *model.Group, host string, clearIDs []int) int {
	in := p.in
	restart := map[string]string{}      // member -> why it is restarted
	var reload []string                 // members reloaded in place, parents first
	for _, r := range p.startOrder(g) { // parents first: a parent's mark reaches its children
		why := ""
		if parent := g.Parent(r); parent != "" && restart[parent] == "" && p.state(parent, host).State != Running {
			why = "restart in order: " + parent + " is not running"
		}
		switch st := p.state(r, host); {
		case st.State == Failed:
			why = "restart after failure"
		case st.State == Running && p.definitionChanged(r, st) && p.reloadable(r, st):
			reload = append(reload, r) // unless a parent's restart takes it down anyway
		case st.State == Running && p.definitionChanged(r, st):
			why = "restart: definition changed"
		}
		if why != "" && restart[r] == "" {
			restart[r] = why
			for _, d := range p.startOrder(g) { // g.Descendants(r), unlisted
				if restart[d] == "" && g.HasAncestor(d, r) {
					restart[d] = why
				}
			}
		}
	}
	stopIDs := p.stopChain(g, p.restartActive(g, host, restart), host, func(r string) string { return restart[r] })
	reloadIDs := map[string]int{}
	for _, r := range reload {
		if restart[r] == "" {
			// In place: its children run on untouched, as Pacemaker
			// reloads without restarting dependants.
			reloadIDs[r] = p.add(Action{Kind: Reload, Resource: r, Host: host, After: clearIDs,
				Reason: "reload: only reloadable parameters changed", ReloadAction: p.state(r, host).ReloadAction})
		}
	}
	startIDs := map[string]int{}
	for _, r := range p.startOrder(g) {
		st := p.state(r, host)
		needStart := restart[r] != "" || st.State != Running
		if needStart {
			after := append(append(p.afterTmp[:0], clearIDs...), stopIDs...)
			if parent := g.Parent(r); parent != "" {
				if id, ok := startIDs[parent]; ok {
					after = append(after, id)
				}
			}
			startIDs[r] = p.add(Action{Kind: Start, Resource: r, Host: host, After: after})
			p.afterTmp = after[:0]
		}
		rsc, _ := in.Model.Resource(r)
		if needStart || !st.Monitored {
			for i := range rsc.Monitors {
				if !monitorFits(g, rsc.Monitors[i], st.Promoted && !needStart) {
					continue // the other role's: set up when the role changes
				}
				var after []int
				if id, ok := startIDs[r]; ok {
					after = []int{id}
				} else if id, ok := reloadIDs[r]; ok {
					after = []int{id} // one command on a resource at a time
				}
				p.add(Action{Kind: Monitor, Resource: r, Host: host, Monitor: i, After: after})
			}
		}
	}
	if id, ok := startIDs[g.Root()]; ok {
		return id
	}
	return -1
}

// restartActive lists, children first, the members to restart on host
// that may be active there, in a buffer that the next call reuses
// (stopChain only reads it).
func (p *plan) restartActive(g *model.Group, host string, restart map[string]string) []string {
	out := p.rscBuf[:0]
	for _, r := range p.stopOrder(g) {
		if restart[r] != "" && active(p.state(r, host).State) {
			out = append(out, r)
		}
	}
	p.rscBuf = out[:0]
	return out
}

// definitionChanged: the instance runs with a definition other than the
// configured one (its agent or parameters changed since it started).
func (p *plan) definitionChanged(rsc string, st Observed) bool {
	if st.Digest == "" {
		return false
	}
	r, ok := p.in.Model.Resource(rsc)
	return ok && r.Digest() != st.Digest
}

// reloadable: the instance's agent reloads, and the configured definition
// differs from the running one in parameters it reloads only: the same
// agent (the restart digest covers it) and the same values of every
// parameter that forces a restart.
func (p *plan) reloadable(rsc string, st Observed) bool {
	if st.ReloadAction == "" || st.RestartDigest == "" {
		return false
	}
	r, ok := p.in.Model.Resource(rsc)
	return ok && ocf.RestartDigest(r.Agent, r.Params, st.ForceRestart) == st.RestartDigest
}

// place chooses the hosts of a group and explains the choice.
func (p *plan) place(g *model.Group) ([]string, ScoreLines, string) {
	in := p.in
	if g.Orphan {
		// Its stopped target role wins over any override an admin gave
		// the group before it was removed.
		return nil, nil, "orphan: configured no more"
	}
	role := g.Placement.TargetRole
	if r, ok := in.Constraints.TargetRoles[g.ID]; ok {
		role = r
	}
	if role == model.RoleStopped {
		return nil, nil, "target role is stopped"
	}
	if why := p.pol.stopped[g.ID]; why != "" {
		return nil, nil, why
	}
	for _, r := range p.startOrder(g) {
		if why, ok := in.Fatal[r]; ok {
			return nil, nil, fmt.Sprintf("%s cannot run anywhere: %s", r, why)
		}
	}
	cands, special := p.candidates(g)
	lines := p.ix.scoreLines(special, g.Placement.Domain.Restricted)
	slices.SortStableFunc(cands, func(a, b cand) int {
		switch { // by hand: a subtraction of scores could overflow
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		case a.runs != b.runs && a.runs: // a tie never moves a healthy group
			return -1
		case a.runs != b.runs:
			return 1
		}
		return a.order - b.order // host indexes
	})
	n := min(g.Placement.MaxInstances, len(cands))
	if n == 0 {
		return nil, lines, "no allowed host"
	}
	from := len(p.hostBuf)
	for _, c := range cands[:n] {
		p.hostBuf = append(p.hostBuf, c.host)
	}
	return p.hostBuf[from:len(p.hostBuf):len(p.hostBuf)], lines, ""
}

// cand is a host allowed to run a group, with its score.
type cand struct {
	host  string
	score int
	order int
	runs  bool // runs here healthy
}

// scoreTerms are what a candidate's score is made of, for its line of
// the explanation.
type scoreTerms struct {
	inDomain   bool
	prio       int
	noFailback bool // runs here, and the domain does not fail back
	stickiness int  // 0: none counted
	move       bool
}

// scoreLine is a candidate's line of the explanation, "host: score N
// (term, term)", built in one allocation (fmt and strings.Join took
// several), and only when the explanation is read.
func scoreLine(host string, score int, t scoreTerms) string {
	var buf [160]byte
	b := append(append(buf[:0], host...), ": score "...)
	b = append(strconv.AppendInt(b, int64(score), 10), " ("...)
	if t.inDomain {
		b = strconv.AppendInt(append(b, "domain priority "...), int64(t.prio), 10)
	} else {
		b = append(b, "outside the domain"...)
	}
	if t.noFailback {
		b = append(b, ", runs here (no failback)"...)
	}
	if t.stickiness != 0 {
		b = strconv.AppendInt(append(b, ", stickiness "...), int64(t.stickiness), 10)
	}
	if t.move {
		b = append(b, ", move requested"...)
	}
	return string(append(b, ')'))
}

// candidates scores the hosts that matter to the group (its domain, where
// it runs, fails or is banned, where it is moved to) and explains each. Any
// other host is alike for it: excluded by its own state, or outside the
// domain with a score of nothing. Of those, only as many as the group may
// run on can be chosen, the first in host order, so only they are
// candidates; the explanation tells of all.
func (p *plan) candidates(g *model.Group) ([]cand, []hostLine) {
	in := p.in
	move, hasMove := in.Constraints.Moves[g.ID]
	if hasMove && !move.Until.IsZero() && !in.Now.Before(move.Until) {
		hasMove = false
	}
	root := g.Root()
	hosts := p.specialHosts(g, hasMove, move.Host)
	cands := slices.Grow(p.candBuf[:0], len(hosts)+g.Placement.MaxInstances)
	from := len(p.lineBuf)
	for _, order := range hosts {
		h := in.Hosts[order]
		excluded := p.excluded(g, h)
		prio, inDomain := g.DomainPriority(h.Name)
		if excluded == "" && !inDomain && g.Placement.Domain.Restricted {
			excluded = "outside the restricted domain"
		}
		if excluded != "" {
			p.lineBuf = append(p.lineBuf, hostLine{host: order, excluded: excluded})
			continue
		}
		wanted := hasMove && move.Host == h.Name
		runs := p.activeOnHost(root, h.Name)
		score, terms := p.score(g, h.Name, prio, inDomain, runs, wanted)
		cands = append(cands, cand{h.Name, score, order, runs && p.healthyHere(g, h.Name)})
		p.lineBuf = append(p.lineBuf, hostLine{host: order, score: score, terms: terms})
	}
	// The group's lines stay the explanation's: a later group's appends
	// go past them, or to a new array.
	special := p.lineBuf[from:len(p.lineBuf):len(p.lineBuf)]
	p.candBuf = cands[:0] // what place keeps of them it copies
	if g.Placement.Domain.Restricted {
		return cands, special
	}
	k, added := 0, 0
	for _, order := range p.ix.open {
		if added >= g.Placement.MaxInstances {
			break
		}
		for k < len(special) && special[k].host < order {
			k++
		}
		if k < len(special) && special[k].host == order {
			continue
		}
		cands = append(cands, cand{host: in.Hosts[order].Name, order: order})
		added++
	}
	p.candBuf = cands[:0]
	return cands, special
}

// activeOnHost: rsc may be active on the host named host (p.current's
// hosts, for its group's root, without listing them).
func (p *plan) activeOnHost(rsc, host string) bool {
	for _, a := range p.ix.activeOf(rsc) {
		if p.ix.names[a.host] == host {
			return true
		}
	}
	return false
}

// specialHosts lists, by index in host order, the hosts where planning g
// may differ from planning it anywhere else: its domain, its move target,
// its bans, and where a member is active or has a failure record.
func (p *plan) specialHosts(g *model.Group, hasMove bool, moveHost string) []int {
	active := p.activeHosts(g)
	out := slices.Grow(p.specialBuf[:0], len(g.Placement.Domain.Hosts)+1+len(p.bans[g.ID])+len(active))
	idx := p.in.hostIdx
	for _, d := range g.Placement.Domain.Hosts {
		if i, ok := idx[d.Host]; ok {
			out = append(out, i)
		}
	}
	if i, ok := idx[moveHost]; hasMove && ok {
		out = append(out, i)
	}
	for _, b := range p.bans[g.ID] {
		if i, ok := idx[b.Host]; ok {
			out = append(out, i)
		}
	}
	out = append(out, active...)
	for _, r := range p.startOrder(g) {
		for name := range p.in.Failures[r] { // purity:unordered collected, then sorted below
			if i, ok := idx[name]; ok {
				out = append(out, i)
			}
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	p.specialBuf = out[:0] // candidates reads it before the next group asks
	return out
}

// score rates a host allowed to run the group, and says of what.
func (p *plan) score(g *model.Group, host string, prio int, inDomain, runsHere, moveHere bool) (int, scoreTerms) {
	pol := g.Placement
	score, t := 0, scoreTerms{inDomain: inDomain, prio: prio, move: moveHere}
	if inDomain {
		score += scoreDomainBase - prio*scorePriority
	}
	if runsHere && p.healthyHere(g, host) {
		if !pol.Domain.Failback {
			score += scoreNoFailback
			t.noFailback = true
		}
		if pol.Stickiness > 0 {
			score += pol.Stickiness
			t.stickiness = pol.Stickiness
		}
	}
	if moveHere {
		score += scoreMove
	}
	return score, t
}

// healthyHere: the group runs on host without a failure that would make it
// move (a failed member restarts in place unless banned).
func (p *plan) healthyHere(g *model.Group, host string) bool {
	return active(p.state(g.Root(), host).State)
}

// excluded returns why a host cannot run the group, or "".
func (p *plan) excluded(g *model.Group, h Host) string {
	if why := p.hostExcluded(g, h); why != "" {
		return why
	}
	if why := p.failureExcluded(g, h.Name); why != "" {
		return why
	}
	if fid, ok := p.fences[h.Name]; ok {
		return fenceExcluded(p.actions[fid])
	}
	return ""
}

// fenceExcluded: a host to be fenced is no place to start anything, the
// start would race the fence.
func fenceExcluded(fence Action) string { return "to be fenced (" + fence.Reason + ")" }

// hostExcluded: the host's own state, or an administrator's ban.
func (p *plan) hostExcluded(g *model.Group, h Host) string {
	if why := p.hostStateExcluded(h); why != "" {
		return why
	}
	for _, b := range p.bans[g.ID] {
		if b.Host == h.Name && (b.Until.IsZero() || p.in.Now.Before(b.Until)) {
			return "banned by an administrator"
		}
	}
	return ""
}

// hostStateExcluded: the host's own state keeps every group off it.
func (p *plan) hostStateExcluded(h Host) string {
	switch {
	case h.State != Online:
		return "host " + string(h.State)
	case h.Fencing:
		return "a fence of this host is in progress"
	case h.Standby && p.pol.standby[h.Name] != "":
		return "host in standby (" + p.pol.standby[h.Name] + ")"
	case h.Standby:
		return "host in standby"
	}
	return ""
}

// failureExcluded: a member's failed stop there, or its failures there
// (hard, or past the threshold) that have not expired.
func (p *plan) failureExcluded(g *model.Group, host string) string {
	in := p.in
	pol := g.Placement
	// Only where a member is active may its stop have failed: elsewhere
	// its state need not be looked up.
	hi, indexed := in.hostIdx[host]
	activeHere := !indexed || slices.Contains(p.activeHosts(g), hi)
	for _, r := range p.startOrder(g) {
		if activeHere && p.state(r, host).State == StopFailed {
			return fmt.Sprintf("stop of %s failed here", r)
		}
		f, ok := in.Failures[r][host]
		if !ok || p.pol.ignored[r][host] {
			continue
		}
		if pol.FailureTimeout > 0 && !f.Last.IsZero() && in.Now.Sub(f.Last) >= pol.FailureTimeout {
			// Expired, hard failures too (Pacemaker's failure-timeout
			// expires any fail count): a transient start failure on every
			// host must not leave the group down for good.
			continue
		}
		if f.Hard {
			return fmt.Sprintf("%s cannot run here (hard failure)", r)
		}
		threshold := pol.MigrationThreshold
		if pol.Recovery == model.RecoveryRelocate {
			threshold = 1
		}
		if threshold > 0 && f.Count >= threshold {
			return fmt.Sprintf("%s failed %d times here (threshold %d)", r, f.Count, threshold)
		}
	}
	return ""
}

// Expiry returns when the earliest time-bound input of in changes the plan
// (a failure expiring, a move or ban ending), so that the manager can plan
// again then; zero when nothing is time-bound.
func Expiry(in Input) time.Time {
	next := time.Time{}
	consider := func(t time.Time) {
		if !t.IsZero() && t.After(in.Now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	// purity:unordered consider keeps the earliest instant, a minimum
	for _, mv := range in.Constraints.Moves {
		consider(mv.Until)
	}
	for _, b := range in.Constraints.Bans {
		consider(b.Until)
	}
	// purity:unordered consider keeps the earliest instant, a minimum
	for _, g := range in.Model.Groups {
		if g.Placement.FailureTimeout <= 0 {
			continue
		}
		for _, r := range g.Resources() {
			for _, f := range in.Failures[r] { // purity:unordered a minimum, as above
				if !f.Last.IsZero() && (f.Count > 0 || f.Hard) {
					consider(f.Last.Add(g.Placement.FailureTimeout))
				}
			}
		}
	}
	return next
}
