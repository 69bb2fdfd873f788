package manager

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/fencer"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

// Command is an administrative request.
type Command string

// Administrative commands.
const (
	CmdStart       Command = "start"       // group: target role started
	CmdStop        Command = "stop"        // group: target role stopped
	CmdMove        Command = "move"        // group to Host, optionally for Lifetime
	CmdBan         Command = "ban"         // group off Host, optionally for Lifetime
	CmdClear       Command = "clear"       // group: drop its moves and bans
	CmdManage      Command = "manage"      // group: act on it again
	CmdUnmanage    Command = "unmanage"    // group: monitor only
	CmdCleanup     Command = "cleanup"     // resource or group: forget failures, re-probe
	CmdStandby     Command = "standby"     // host: move everything off it
	CmdUnstandby   Command = "unstandby"   // host: may run resources again
	CmdMaintenance Command = "maintenance" // cluster: Flag on or off
	CmdFence       Command = "fence"       // host: fence it now
)

// Request is one administrative request.
type Request struct {
	Command Command
	// Target is a group, a resource (cleanup) or a host.
	Target   string
	Host     string
	Lifetime time.Duration
	Flag     bool
}

// String renders the request as an operator would type it.
func (r Request) String() string {
	s := string(r.Command) + " " + r.Target
	if r.Host != "" {
		s += " " + r.Host
	}
	if r.Lifetime > 0 {
		s += " for " + r.Lifetime.String()
	}
	if r.Command == CmdMaintenance {
		s = fmt.Sprintf("maintenance %t", r.Flag)
	}
	return s
}

// Admin handles a request and returns the ID of the report that follows it.
// An invalid request changes nothing and returns an error naming what is
// wrong.
func (mg *Manager) Admin(now time.Time, req Request) (string, []effect.Effect, error) {
	if mg.deposed {
		return "", nil, fmt.Errorf("%s: this manager has been superseded by a newer one", req)
	}
	groups, err := mg.checkRequest(req)
	if err != nil {
		return "", nil, err
	}
	mg.nextRep++
	id := fmt.Sprintf("r%d-%d", mg.epoch, mg.nextRep)
	rep := &Report{ID: id, Request: req.String(), State: ReportOpen, Created: now, Groups: groups, Results: map[string]string{}}
	mg.reports[id] = rep
	mg.repOrder = append(mg.repOrder, id)
	if len(mg.repOrder) > maxReports {
		delete(mg.reports, mg.repOrder[0])
		mg.repOrder = mg.repOrder[1:]
	}
	var effs []effect.Effect
	ev := func(e Event) {
		e.Report = id
		effs = append(effs, mg.event(now, e)...)
	}
	// Logged first, so that a restarted manager still follows the request
	// to its end: no request is lost with the process that took it.
	ev(Event{Kind: "report-opened", Group: strings.Join(groups, ","), Message: req.String()})
	var until time.Time
	if req.Lifetime > 0 {
		until = now.Add(req.Lifetime)
	}
	switch req.Command {
	case CmdStart, CmdStop:
		role := model.RoleStarted
		if req.Command == CmdStop {
			role = model.RoleStopped
		}
		mg.cons.TargetRoles[req.Target] = role
		ev(Event{Kind: "target-role", Group: req.Target, Role: string(role)})
	case CmdMove:
		mg.cons.Moves[req.Target] = planner.Move{Host: req.Host, Until: until}
		ev(Event{Kind: "move", Group: req.Target, Host: req.Host, Until: until})
	case CmdBan:
		mg.cons.Bans = append(mg.cons.Bans, planner.Ban{Group: req.Target, Host: req.Host, Until: until})
		ev(Event{Kind: "ban", Group: req.Target, Host: req.Host, Until: until})
	case CmdClear:
		delete(mg.cons.Moves, req.Target)
		mg.cons.Bans = slices.DeleteFunc(mg.cons.Bans, func(b planner.Ban) bool { return b.Group == req.Target })
		ev(Event{Kind: "clear", Group: req.Target})
	case CmdManage, CmdUnmanage:
		mg.cons.Unmanaged[req.Target] = req.Command == CmdUnmanage
		ev(Event{Kind: "managed", Group: req.Target, Flag: req.Command == CmdManage})
	case CmdCleanup:
		rscs := []string{req.Target}
		if g, ok := mg.m.Group(req.Target); ok {
			rscs = g.Resources()
		}
		for _, r := range rscs {
			mg.cleanup(r)
			for _, h := range mg.m.Hosts {
				if o, ok := mg.observed[r][h.Name]; ok && o.State != planner.StopFailed {
					delete(mg.observed[r], h.Name) // re-probe
				}
			}
			ev(Event{Kind: "cleanup", Resource: r})
		}
	case CmdStandby, CmdUnstandby:
		mg.hosts[req.Target].standby = req.Command == CmdStandby
		ev(Event{Kind: "standby", Host: req.Target, Flag: req.Command == CmdStandby})
	case CmdMaintenance:
		mg.cons.Maintenance = req.Flag
		ev(Event{Kind: "maintenance", Flag: req.Flag})
	case CmdFence:
		ev(Event{Kind: "fence-requested", Host: req.Target, Message: "requested by an administrator"})
		hi := mg.hosts[req.Target]
		if !hi.fencing {
			hi.fencing = true
			hi.state = planner.Unclean // until confirmed, it may run anything
			mg.setOnline()
			effs = append(effs, mg.fenceEffects(now, mg.fencer.Request(now, req.Target, proto.FenceOff, "admin"))...)
		}
		rep.Groups = nil
		rep.Results[req.Target] = "fencing"
	}
	mg.markStale()
	return id, mg.settle(now, effs), nil
}

// checkRequest validates a request and returns the groups it concerns.
func (mg *Manager) checkRequest(req Request) ([]string, error) {
	group := func() error {
		if _, ok := mg.m.Group(req.Target); !ok {
			return fmt.Errorf("%s: no group %q", req, req.Target)
		}
		return nil
	}
	host := func(h string) error {
		if _, ok := mg.m.Host(h); !ok {
			return fmt.Errorf("%s: no host %q", req, h)
		}
		return nil
	}
	if req.Lifetime < 0 {
		return nil, fmt.Errorf("%s: lifetime must not be negative", req)
	}
	switch req.Command {
	case CmdStart, CmdStop, CmdClear, CmdManage, CmdUnmanage:
		return []string{req.Target}, group()
	case CmdMove, CmdBan:
		if err := group(); err != nil {
			return nil, err
		}
		if err := host(req.Host); err != nil {
			return nil, err
		}
		if g, _ := mg.m.Group(req.Target); req.Command == CmdMove && g.Placement.Domain.Restricted {
			if _, ok := g.DomainPriority(req.Host); !ok {
				return nil, fmt.Errorf("%s: %s is outside group %s's restricted domain", req, req.Host, req.Target)
			}
		}
		return []string{req.Target}, nil
	case CmdCleanup:
		if g, ok := mg.m.Group(req.Target); ok {
			return []string{g.ID}, nil
		}
		if gid, ok := mg.m.GroupOf(req.Target); ok {
			return []string{gid}, nil
		}
		return nil, fmt.Errorf("%s: no resource or group %q", req, req.Target)
	case CmdStandby, CmdUnstandby:
		if err := host(req.Target); err != nil {
			return nil, err
		}
		return mg.allGroups(), nil
	case CmdFence:
		if err := host(req.Target); err != nil {
			return nil, err
		}
		if !mg.m.Cluster.Fencing {
			return nil, fmt.Errorf("%s: fencing is off in this cluster", req)
		}
		return nil, nil
	case CmdMaintenance:
		return mg.allGroups(), nil
	}
	return nil, fmt.Errorf("unknown command %q", req.Command)
}

func (mg *Manager) allGroups() []string {
	out := make([]string, len(mg.m.Groups))
	for i, g := range mg.m.Groups {
		out[i] = g.ID
	}
	return out
}

// closeReports closes the open reports whose groups have nothing left to
// do, recording where each resource ended.
func (mg *Manager) closeReports(now time.Time, t planner.Transition) []effect.Effect {
	busy := map[string]bool{}
	for _, a := range t.Actions {
		if a.Kind == planner.Fence {
			for _, g := range mg.m.Groups {
				busy[g.ID] = true // recovery waits for the fence
			}
			continue
		}
		if gid, ok := mg.m.GroupOf(a.Resource); ok {
			busy[gid] = true
		}
	}
	var effs []effect.Effect
	for _, id := range mg.repOrder {
		rep := mg.reports[id]
		if rep == nil || rep.State != ReportOpen {
			continue
		}
		done := true
		for _, g := range rep.Groups {
			done = done && !busy[g]
		}
		for h := range rep.Results {
			if hi := mg.hosts[h]; hi != nil && hi.fencing {
				done = false
			}
		}
		if !done {
			continue
		}
		rep.State, rep.Closed = ReportClosed, now
		for h := range rep.Results {
			if hi := mg.hosts[h]; hi != nil {
				rep.Results[h] = "host " + string(hi.state)
				if hi.fenceFailure != "" {
					rep.Results[h] += ", fencing failed: " + hi.fenceFailure
					rep.Failed = true
				}
			}
		}
		for _, gid := range rep.Groups {
			g, _ := mg.m.Group(gid)
			want := g.Placement.TargetRole
			if r, ok := mg.cons.TargetRoles[gid]; ok {
				want = r
			}
			for _, r := range g.StartOrder() {
				var on []string
				for _, h := range mg.m.Hosts {
					if mg.observed[r][h.Name].State == planner.Running {
						on = append(on, h.Name)
					}
				}
				switch {
				case len(on) > 0:
					rep.Results[r] = "running on " + strings.Join(on, ",")
				case mg.fatal[r] != "":
					rep.Results[r] = "failed: " + mg.fatal[r]
				default:
					rep.Results[r] = "stopped"
				}
				if (want == model.RoleStarted) != (len(on) > 0) {
					rep.Failed = true
					if mg.cons.Blocked[r] {
						rep.Results[r] += " (blocked)"
					}
				}
			}
		}
		effs = append(effs, mg.event(now, Event{Kind: "report-closed", Report: id, Message: rep.Request + ": " + summarize(rep)})...)
	}
	return effs
}

func summarize(rep *Report) string {
	keys := make([]string, 0, len(rep.Results))
	for k := range rep.Results {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + rep.Results[k]
	}
	return strings.Join(parts, "; ")
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
	return c, true
}

// Events returns the most recent events, oldest first.
func (mg *Manager) Events() []Event { return slices.Clone(mg.events) }

// Why explains a group's placement.
func (mg *Manager) Why(group string) (string, bool) { return mg.lastPlan.Why(group) }

// Idle reports whether nothing is in flight and the last plan had nothing
// to do.
func (mg *Manager) Idle() bool {
	if !mg.planned || mg.trans != nil || !mg.lastPlan.Empty() {
		return false
	}
	for _, hi := range mg.hosts {
		if hi.pending {
			return false
		}
	}
	return true
}

// Observed returns a resource's state on a host.
func (mg *Manager) Observed(rsc, host string) planner.Observed { return mg.observed[rsc][host] }

// HostState returns what the manager believes of a host.
func (mg *Manager) HostState(host string) planner.HostState {
	if hi := mg.hosts[host]; hi != nil {
		return hi.state
	}
	return ""
}

// FenceHistory returns the fencer's history.
func (mg *Manager) FenceHistory() []fencer.HistoryEntry { return mg.fencer.History() }

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
		hs := HostStatus{Name: h.Name, State: hi.state, Standby: hi.standby, Pending: hi.pending, LastSeen: hi.lastSeen}
		if hi.fencing {
			hs.Fencing = "in progress"
		} else if hi.fenceFailure != "" {
			hs.Fencing = "failed: " + hi.fenceFailure
		}
		s.Hosts = append(s.Hosts, hs)
	}
	for _, r := range mg.m.Resources {
		gid, _ := mg.m.GroupOf(r.ID)
		g, _ := mg.m.Group(gid)
		rs := ResourceStatus{ID: r.ID, Name: r.Name, Group: gid, Parent: g.Parent(r.ID), States: map[string]planner.Observed{},
			Fails: map[string]planner.Failure{}, Fatal: mg.fatal[r.ID], Blocked: mg.cons.Blocked[r.ID]}
		for h, o := range mg.observed[r.ID] {
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
