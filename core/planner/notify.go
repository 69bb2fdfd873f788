package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/basalt-ha/basalt/core/model"
)

// Clone notifications (Pacemaker's notify=true). Around each kind of role
// or activity change a transition makes to a clone's resource (demote, stop,
// start, promote, in that order), every instance that runs gets a pre
// notification before the first such action and a post notification after
// the last: pre to the instances running before it, post to those running
// after. The phases follow each other (a phase's pre waits for the earlier
// phase's post), as Pacemaker's notification pseudo-actions order them.
// Every notification of one resource in one transition carries the same
// lists (NotifyLists: what runs before the transition, what it changes), so
// that an agent computes what runs at any point as Pacemaker documents it
// (active minus stop, say). A notification's failure fails nothing: the
// manager logs it and goes on.

// Notify is the kind of a notification action.
const Notify Kind = "notify"

// Notification types.
const (
	NotifyPre  = "pre"
	NotifyPost = "post"
)

// notifyPhases are the kinds notified, in the order a transition runs them.
var notifyPhases = []Kind{Demote, Stop, Start, Promote}

// Notification is what a notify action tells its instance.
type Notification struct {
	// Type is NotifyPre or NotifyPost; Operation the kind it announces.
	Type      string
	Operation Kind
	// Lists are shared by every notification of the resource in the
	// transition.
	Lists *NotifyLists
}

// Instance names one clone instance: Resource is Pacemaker's "id:N" (N the
// host's place in the configuration, as the manager names instances), Host
// the host it is on.
type Instance struct {
	Resource string
	Host     string
}

// NotifyLists are a notification's instance and host lists.
type NotifyLists struct {
	// Active: instances that may run before the transition (running,
	// failed, stop-failed); Inactive: every other host's instance.
	Active, Inactive []Instance
	// Promoted and Unpromoted split Active by role (promotable groups;
	// both empty for any other clone, whose instances have no role).
	Promoted, Unpromoted []Instance
	// Start, Stop, Promote and Demote: what the transition does.
	Start, Stop, Promote, Demote []Instance
	// Available are the hosts that may run an instance now (online, not
	// in standby, no fence pending); All every configured host.
	Available, All []string
}

// Meta renders the notification as the meta attributes Pacemaker passes
// (each becomes OCF_RESKEY_CRM_meta_<name>): notify_type, notify_operation
// (and their notify_key_ twins), and every list twice, as resources
// (notify_<list>_resource) and as host names (notify_<list>_uname), with
// Pacemaker's older master/slave names beside promoted/unpromoted. Lists
// are space-separated; an empty one is a single space, as Pacemaker sends
// it.
func (n Notification) Meta() map[string]string {
	op := string(n.Operation)
	m := map[string]string{
		"notify_type": n.Type, "notify_operation": op,
		"notify_key_type": n.Type, "notify_key_operation": pastTense(n.Operation),
	}
	l := n.Lists
	if l == nil {
		l = &NotifyLists{}
	}
	for _, e := range []struct {
		name string
		list []Instance
	}{{"active", l.Active}, {"inactive", l.Inactive}, {"promoted", l.Promoted}, {"master", l.Promoted},
		{"unpromoted", l.Unpromoted}, {"slave", l.Unpromoted}, {"start", l.Start}, {"stop", l.Stop},
		{"promote", l.Promote}, {"demote", l.Demote}} {
		rs, hs := make([]string, len(e.list)), make([]string, len(e.list))
		for i, in := range e.list {
			rs[i], hs[i] = in.Resource, in.Host
		}
		m["notify_"+e.name+"_resource"] = spaced(rs)
		m["notify_"+e.name+"_uname"] = spaced(hs)
	}
	m["notify_available_uname"] = spaced(l.Available)
	m["notify_all_uname"] = spaced(l.All)
	// Each node's physical host, which ocf_attribute_target maps through
	// (a bundle's differ; a host is its own).
	m["notify_all_hosts"] = spaced(l.All)
	return m
}

// pastTense is Pacemaker's notify_key_operation: the operation done.
func pastTense(k Kind) string {
	switch k {
	case Start:
		return "running"
	case Stop:
		return "stopped"
	case Promote:
		return "promoted"
	case Demote:
		return "demoted"
	}
	return string(k)
}

// spaced joins a list as Pacemaker does: by spaces, " " when empty.
func spaced(list []string) string {
	if len(list) == 0 {
		return " "
	}
	return strings.Join(list, " ")
}

// String renders the lists on one line, non-empty ones only, for the
// golden files.
func (l *NotifyLists) String() string {
	var parts []string
	for _, e := range []struct {
		name string
		list []Instance
	}{{"active", l.Active}, {"promoted", l.Promoted}, {"unpromoted", l.Unpromoted}, {"demote", l.Demote},
		{"stop", l.Stop}, {"start", l.Start}, {"promote", l.Promote}} {
		if len(e.list) == 0 {
			continue
		}
		s := make([]string, len(e.list))
		for i, in := range e.list {
			s[i] = in.Resource + "@" + in.Host
		}
		parts = append(parts, e.name+" "+strings.Join(s, " "))
	}
	parts = append(parts, "available "+strings.Join(l.Available, " "))
	return strings.Join(parts, "; ")
}

// isClone: the group's instances are clone instances (numbered, notified).
func isClone(g *model.Group) bool {
	return !g.Orphan && (g.Placement.MaxInstances > 1 || g.Placement.Clone.Promotable)
}

// InstanceName is rsc's instance on the host at index i of the model's
// hosts: "rsc:i", as the manager names it to the agent.
func InstanceName(rsc string, i int) string { return fmt.Sprintf("%s:%d", rsc, i) }

// notifications wraps the actions of a notify clone's group planned from
// index begin on with its notifications, and renumbers them so that every
// action still comes after those it waits for.
func (p *plan) notifications(g *model.Group, begin int) {
	if !g.Placement.Clone.Notify || !isClone(g) || len(p.actions) == begin {
		return
	}
	own := slices.Clone(p.actions[begin:])
	var extra []Action // notify actions, IDs from len(p.actions) on
	next := len(p.actions)
	for _, r := range p.startOrder(g) {
		extra = append(extra, p.notifyResource(g, r, own, &next)...)
	}
	if len(extra) == 0 {
		return
	}
	if ordered, ok := renumber(append(own, extra...), begin); ok {
		p.actions = append(p.actions[:begin], ordered...)
	}
}

// notifyResource plans r's notifications around its actions among own,
// adding their dependencies to own; the notify actions get IDs from *next
// on.
func (p *plan) notifyResource(g *model.Group, r string, own []Action, next *int) []Action {
	byPhase := map[Kind][]int{} // kind -> indexes into own
	for i, a := range own {
		if a.Resource == r && slices.Contains(notifyPhases, a.Kind) {
			byPhase[a.Kind] = append(byPhase[a.Kind], i)
		}
	}
	if len(byPhase) == 0 {
		return nil
	}
	lists := p.notifyLists(g, r, own, byPhase)
	running := p.notifyRecipients(r)
	var out []Action
	var barrier []int // the previous phase's post notifications (or actions)
	for _, k := range notifyPhases {
		idx := byPhase[k]
		if len(idx) == 0 {
			continue
		}
		var phaseIDs []int
		for _, i := range idx {
			phaseIDs = append(phaseIDs, own[i].ID)
		}
		var pre []int
		for _, h := range running {
			a := Action{ID: *next, Kind: Notify, Resource: r, Host: h, After: slices.Clone(barrier),
				Notify: &Notification{Type: NotifyPre, Operation: k, Lists: lists}}
			*next++
			pre = append(pre, a.ID)
			out = append(out, a)
		}
		for _, i := range idx {
			own[i].After = slices.Concat(own[i].After, barrier, pre) // a copy: own shares nothing with the plan's
		}
		running = afterPhase(running, k, own, idx, p.in.hostIdx)
		var post []int
		for _, h := range running {
			a := Action{ID: *next, Kind: Notify, Resource: r, Host: h, After: slices.Clone(phaseIDs),
				Notify: &Notification{Type: NotifyPost, Operation: k, Lists: lists}}
			*next++
			post = append(post, a.ID)
			out = append(out, a)
		}
		barrier = post
		if len(post) == 0 {
			barrier = phaseIDs
		}
	}
	return out
}

// notifyRecipients are the hosts, in host order, whose instance of r runs
// and can be told: running there, the host online and not to be fenced.
func (p *plan) notifyRecipients(r string) []string {
	var out []string
	for _, a := range p.ix.activeOf(r) {
		h := p.in.Hosts[a.host]
		if _, fenced := p.fences[h.Name]; a.obs.State == Running && h.State == Online && !h.Fencing && !fenced {
			out = append(out, h.Name)
		}
	}
	return out
}

// afterPhase is who runs once a phase is done: stops take hosts away,
// starts add them (in host order); role changes change neither.
func afterPhase(running []string, k Kind, own []Action, idx []int, hostIdx map[string]int) []string {
	out := slices.Clone(running)
	for _, i := range idx {
		h := own[i].Host
		switch {
		case k == Stop:
			out = slices.DeleteFunc(out, func(x string) bool { return x == h })
		case k == Start && !slices.Contains(out, h):
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return hostIdx[a] - hostIdx[b] })
	return out
}

// notifyLists computes r's lists for this transition.
func (p *plan) notifyLists(g *model.Group, r string, own []Action, byPhase map[Kind][]int) *NotifyLists {
	l := &NotifyLists{}
	name := map[string]string{} // host -> instance name
	for i, h := range p.in.Model.Hosts {
		name[h.Name] = InstanceName(r, i)
	}
	activeOn := map[string]bool{}
	for _, a := range p.ix.activeOf(r) {
		activeOn[p.in.Hosts[a.host].Name] = true
	}
	for _, h := range p.in.Model.Hosts {
		in := Instance{Resource: name[h.Name], Host: h.Name}
		if !activeOn[h.Name] {
			l.Inactive = append(l.Inactive, in)
			continue
		}
		l.Active = append(l.Active, in)
		if g.Placement.Clone.Promotable {
			if p.state(r, h.Name).Promoted {
				l.Promoted = append(l.Promoted, in)
			} else {
				l.Unpromoted = append(l.Unpromoted, in)
			}
		}
	}
	for k, dst := range map[Kind]*[]Instance{Start: &l.Start, Stop: &l.Stop, Promote: &l.Promote, Demote: &l.Demote} { // purity:unordered each list is filled from its own kind's actions only
		for _, i := range byPhase[k] {
			*dst = append(*dst, Instance{Resource: name[own[i].Host], Host: own[i].Host})
		}
		slices.SortFunc(*dst, func(a, b Instance) int { return p.in.hostIdx[a.Host] - p.in.hostIdx[b.Host] })
	}
	for _, h := range p.in.Hosts {
		l.All = append(l.All, h.Name)
		if _, fenced := p.fences[h.Name]; p.hostStateExcluded(h) == "" && !fenced {
			l.Available = append(l.Available, h.Name)
		}
	}
	return l
}

// renumber gives the actions IDs from base on in an order where each comes
// after every action it waits for: their given order wherever that holds
// (the planned actions keep theirs, a notification comes as early as it
// may). IDs in After below base (a fence, another group's) are kept. It
// reports false if no such order exists (a cycle, which the phases' order
// never makes: the caller then keeps the plan without notifications).
func renumber(acts []Action, base int) ([]Action, bool) {
	pos := make(map[int]int, len(acts)) // old ID -> index in acts
	for i, a := range acts {
		pos[a.ID] = i
	}
	// Kahn's algorithm, always taking the earliest ready action: linear
	// in the dependencies but for keeping ready sorted.
	waits := make([]int, len(acts))
	dependents := make([][]int, len(acts))
	var ready []int
	for i, a := range acts {
		for _, d := range a.After {
			if j, ok := pos[d]; ok {
				waits[i]++
				dependents[j] = append(dependents[j], i)
			}
		}
		if waits[i] == 0 {
			ready = append(ready, i)
		}
	}
	newID := make(map[int]int, len(acts))
	out := make([]Action, 0, len(acts))
	for len(ready) > 0 { // bounded: each action enters ready once
		i := ready[0]
		ready = ready[1:]
		newID[acts[i].ID] = base + len(out)
		out = append(out, acts[i])
		for _, j := range dependents[i] {
			if waits[j]--; waits[j] == 0 {
				k, _ := slices.BinarySearch(ready, j)
				ready = slices.Insert(ready, k, j)
			}
		}
	}
	if len(out) != len(acts) {
		return nil, false
	}
	for i := range out {
		out[i].ID = newID[out[i].ID]
		after := make([]int, 0, len(out[i].After))
		for _, d := range out[i].After {
			if n, ok := newID[d]; ok {
				after = append(after, n)
			} else if d < base {
				after = append(after, d)
			}
		}
		slices.Sort(after)
		out[i].After = slices.Compact(after)
	}
	return out, true
}
