package manager

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
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
	CmdStandby     Command = "standby"     // host (or All hosts): move everything off it
	CmdUnstandby   Command = "unstandby"   // host (or All hosts): may run resources again
	CmdMaintenance Command = "maintenance" // cluster: Flag on or off
	CmdFence       Command = "fence"       // host: fence it now
	// CmdPowerOff is basalt power off: the operator's fence, as CmdFence.
	CmdPowerOff Command = "power-off"
	// CmdPowerOn is basalt power on: the host's fence devices run "on";
	// the host joins when its agent says hello.
	CmdPowerOn Command = "power-on"
	// CmdConfirmDown is basalt host confirm-down: the operator's word that
	// the host's power is off, taken as a fence (stonith_admin --confirm).
	CmdConfirmDown Command = "confirm-down"
	// CmdConfigApply is basalt config apply: Config becomes the running
	// configuration (config.go).
	CmdConfigApply Command = "config-apply"
)

// Request is one administrative request.
type Request struct {
	Command Command
	// Target is a group, a resource (cleanup) or a host.
	Target   string
	Host     string
	Lifetime time.Duration
	Flag     bool
	// By is who asked, as the driver proved it (the admin socket's peer:
	// "uid 1000 (alice)"); empty when unknown. The operator's power and
	// confirm-down events name it.
	By string
	// Config is the configuration file's text (CmdConfigApply).
	Config string `json:"-"`
	// All is a request of every host (standby, unstandby: pcs node
	// standby --all) or of every group (start, clear, manage, cleanup:
	// pcs resource cleanup with no resource) at once, with no Target: one
	// decision, one plan and one report, where a request each would plan
	// the whole cluster once each. Its log holds an event a host or group,
	// as the requests one at a time would have written.
	All bool
}

// operator names who asked for req in its events.
func (r Request) operator() string {
	if r.By == "" {
		return "the operator"
	}
	return "the operator (" + r.By + ")"
}

// String renders the request as an operator would type it.
func (r Request) String() string {
	s := string(r.Command) + " " + r.Target
	if r.All {
		s = string(r.Command) + " --all"
	}
	if r.Host != "" {
		s += " " + r.Host
	}
	if r.Lifetime > 0 {
		s += " for " + r.Lifetime.String()
	}
	switch r.Command {
	case CmdMaintenance:
		s = fmt.Sprintf("maintenance %t", r.Flag)
	case CmdPowerOff, CmdPowerOn, cmdPowerStatus:
		// As typed: basalt power off HOST.
		s = strings.Replace(s, "-", " ", 1)
	case CmdConfigApply:
		s = "config apply"
	}
	return s
}

// Admin handles a request and returns the ID of the report that follows it.
// An invalid request changes nothing and returns an error naming what is
// wrong.
func (mg *Manager) Admin(now time.Time, req Request) (string, []effect.Effect, error) {
	if !mg.started {
		return "", nil, fmt.Errorf("%s: the manager has not started", req)
	}
	if mg.deposed {
		return "", nil, fmt.Errorf("%s: this manager has been superseded by a newer one", req)
	}
	groups, err := mg.checkRequest(req)
	if err != nil {
		return "", nil, err
	}
	effs := mg.input(now)
	rep := mg.openReport(now, req, groups)
	ev := func(e Event) {
		e.Report = rep.ID
		effs = mg.appendEvent(effs, now, e)
	}
	// Logged first, so that a restarted manager still follows the request
	// to its end: no request is lost with the process that took it.
	ev(Event{Kind: "report-opened", Group: strings.Join(groups, ","), Message: req.String()})
	effs = append(effs, mg.supersede(now, req, rep.ID)...)
	switch req.Command {
	case CmdFence, CmdPowerOff:
		effs = append(effs, mg.adminFence(now, req, rep, ev)...)
	case CmdPowerOn:
		effs = append(effs, mg.adminPowerOn(now, req, rep, ev)...)
	case CmdConfirmDown:
		effs = append(effs, mg.adminConfirmDown(now, req, rep, ev)...)
	case CmdCleanup:
		for _, r := range oneByOne(req, groups) {
			effs = append(effs, mg.adminCleanup(r, ev)...)
		}
	case CmdConfigApply:
		effs = append(effs, mg.adminConfigApply(now, req, rep, ev)...)
	default:
		for _, r := range oneByOne(req, groups) {
			mg.applyRequest(now, r, rep.ID, ev)
		}
	}
	mg.markStale()
	return rep.ID, mg.settle(now, effs), nil
}

// oneByOne is a request of every group (All) as the requests of one group
// each that it stands for; any other request alone. Standby and unstandby
// take every host themselves (setStandby).
func oneByOne(req Request, groups []string) []Request {
	if !req.All || req.Command == CmdStandby || req.Command == CmdUnstandby {
		return []Request{req}
	}
	out := make([]Request, len(groups))
	for i, g := range groups {
		out[i] = req
		out[i].Target, out[i].All = g, false
	}
	return out
}

// openReport registers the report that follows a request, forgetting the
// oldest beyond the bound.
func (mg *Manager) openReport(now time.Time, req Request, groups []string) *Report {
	mg.nextRep++
	id := fmt.Sprintf("r%d-%d", mg.epoch, mg.nextRep)
	rep := &Report{ID: id, Request: req.String(), State: ReportOpen, Created: now, Groups: groups, Results: map[string]string{}}
	mg.reports[id] = rep
	mg.repOrder = append(mg.repOrder, id)
	if len(mg.repOrder) > maxReports {
		delete(mg.reports, mg.repOrder[0])
		mg.repOrder = mg.repOrder[1:]
	}
	return rep
}

// applyRequest records a (valid) request's decision, logging each change
// with ev so that replay rebuilds it.
// The constraints it sets name their report (by), for the status.
func (mg *Manager) applyRequest(now time.Time, req Request, by string, ev func(Event)) {
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
		if g, _ := mg.m.Group(req.Target); g.Orphan {
			return // stopping already; a constraint would outlive it
		}
		mg.cons.TargetRoles[req.Target] = role
		ev(Event{Kind: "target-role", Group: req.Target, Role: string(role)})
	case CmdMove:
		mg.cons.Moves[req.Target] = planner.Move{Host: req.Host, Until: until, By: by}
		ev(Event{Kind: "move", Group: req.Target, Host: req.Host, Until: until})
	case CmdBan:
		mg.cons.Bans = append(mg.cons.Bans, planner.Ban{Group: req.Target, Host: req.Host, Until: until, By: by})
		ev(Event{Kind: "ban", Group: req.Target, Host: req.Host, Until: until})
	case CmdClear:
		delete(mg.cons.Moves, req.Target)
		mg.cons.Bans = slices.DeleteFunc(mg.cons.Bans, func(b planner.Ban) bool { return b.Group == req.Target })
		ev(Event{Kind: "clear", Group: req.Target})
	case CmdManage, CmdUnmanage:
		mg.cons.Unmanaged[req.Target] = req.Command == CmdUnmanage
		ev(Event{Kind: "managed", Group: req.Target, Flag: req.Command == CmdManage})
	case CmdStandby, CmdUnstandby:
		mg.setStandby(req, ev)
	case CmdMaintenance:
		mg.cons.Maintenance = req.Flag
		ev(Event{Kind: "maintenance", Flag: req.Flag})
	}
}

// setStandby records a standby or an unstandby of the host named, or of
// every host whose flag it changes (All), each as an event of its own so
// that replay reads an --all as it reads the requests one host at a time.
// The unstandby has its own kind: "standby" with no flag read as a standby
// in the log. (Replay still takes an older log's standby without flag as
// an unstandby.)
func (mg *Manager) setStandby(req Request, ev func(Event)) {
	on := req.Command == CmdStandby
	set := func(h string) {
		mg.hosts[h].standby = on
		if on {
			ev(Event{Kind: "standby", Host: h, Flag: true})
		} else {
			ev(Event{Kind: "unstandby", Host: h})
		}
	}
	if !req.All {
		set(req.Target)
		return
	}
	for _, h := range mg.m.Hosts {
		if mg.hosts[h.Name].standby != on {
			set(h.Name)
		}
	}
}

// adminCleanup forgets the failures of a resource (or of every member of a
// group) and has it probed again. A failed stop that a fence will end stays
// (the fence settles it); one that no fence will end (fencing off, or the
// stop's on-fail is block) is probed again too: only a probe can say what
// it left behind, and the cleanup is the administrator saying it is dealt
// with. The resource's recurring monitors are cancelled: they watched what
// the cleanup forgets, and the planner sets them up again where the probes
// find it running.
func (mg *Manager) adminCleanup(req Request, ev func(Event)) []effect.Effect {
	var effs []effect.Effect
	rscs := []string{req.Target}
	if g, ok := mg.m.Group(req.Target); ok {
		rscs = g.Resources()
	}
	for _, r := range rscs {
		mg.cleanup(r)
		effs = append(effs, mg.cancelAllMonitors(r)...)
		unfenced := mg.stopFailureBlocks(r)
		for _, id := range mg.ops.ofResource(r) {
			if p, ok := mg.ops.get(id); ok && p.oneShot() {
				p.cleanedUp = true // its failure, if it fails, is one the cleanup wiped
			}
		}
		for h, o := range mg.observed.of(r) { // purity:unordered each entry is forgotten alone, whatever the order
			if o.State != planner.StopFailed || unfenced {
				mg.observed.forget(r, h) // re-probe
			}
		}
		ev(Event{Kind: "cleanup", Resource: r})
	}
	return effs
}

// adminFence fences a host at an administrator's request (basalt host
// fence, or basalt power off): it is unclean from now on, until the fence
// confirms it is off, and then a fenced host like any other. A request
// during a fence in progress joins it, so that the history names it.
func (mg *Manager) adminFence(now time.Time, req Request, rep *Report, ev func(Event)) []effect.Effect {
	why, origin := "requested by an administrator", "admin"
	if req.Command == CmdPowerOff {
		why, origin = "power off requested by "+req.operator(), "operator (power off)"
	}
	ev(Event{Kind: "fence-requested", Host: req.Target, Message: why})
	rep.Groups = nil
	rep.Results[req.Target] = "fencing"
	hi := mg.hosts[req.Target]
	if hi.fence.active {
		if req.Command == CmdPowerOff {
			return mg.fenceEffects(now, mg.fencer.Request(now, req.Target, proto.FenceOff, origin))
		}
		return nil
	}
	hi.fence.active = true
	mg.setHostState(hi, planner.Unclean, hi.pending) // until confirmed, it may run anything
	mg.setOnline()
	return mg.fenceEffects(now, mg.fencer.Request(now, req.Target, proto.FenceOff, origin))
}

// checkRequest validates a request and returns the groups it concerns.
func (mg *Manager) checkRequest(req Request) ([]string, error) {
	group := func() error {
		if _, ok := mg.m.Group(req.Target); !ok {
			return fmt.Errorf("%s: %w", req, mg.NoGroup(req.Target))
		}
		return nil
	}
	host := func(h string) error {
		if _, ok := mg.m.Host(h); !ok {
			return fmt.Errorf("%s: no host %q (hosts: %s)", req, h, strings.Join(mg.m.HostNames(), ", "))
		}
		return nil
	}
	// An orphan (a group a configuration change removed) is stopping,
	// whatever it was told before: only stop and cleanup make sense for
	// it, and nothing may place, start or leave it alone.
	configured := func() error {
		if g, ok := mg.m.Group(req.Target); ok && g.Orphan {
			return fmt.Errorf("%s: group %s is configured no more: it is stopping", req, req.Target)
		}
		return nil
	}
	if req.Lifetime < 0 {
		return nil, fmt.Errorf("%s: lifetime must not be negative", req)
	}
	if req.All {
		return mg.checkAll(req)
	}
	switch req.Command {
	case CmdStop:
		return []string{req.Target}, group()
	case CmdStart, CmdClear, CmdManage, CmdUnmanage:
		if err := group(); err != nil {
			return nil, err
		}
		return []string{req.Target}, configured()
	case CmdMove, CmdBan:
		if err := group(); err != nil {
			return nil, err
		}
		if err := configured(); err != nil {
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
		return nil, fmt.Errorf("%s: no resource or group %q (groups: %s)", req, req.Target, strings.Join(mg.allGroups(), ", "))
	case CmdStandby, CmdUnstandby:
		if err := host(req.Target); err != nil {
			return nil, err
		}
		return mg.hostGroups(req.Target), nil
	case CmdFence, CmdPowerOff:
		if err := host(req.Target); err != nil {
			return nil, err
		}
		if !mg.m.Cluster.Fencing {
			return nil, fmt.Errorf("%s: fencing is off in this cluster", req)
		}
		return nil, mg.hasDevices(req)
	case CmdPowerOn:
		if err := host(req.Target); err != nil {
			return nil, err
		}
		if err := mg.hasDevices(req); err != nil {
			return nil, err
		}
		return nil, mg.mayPowerOn(req)
	case CmdConfirmDown:
		if err := host(req.Target); err != nil {
			return nil, err
		}
		return nil, mg.mayConfirmDown(req)
	case CmdMaintenance:
		return mg.allGroups(), nil
	case CmdConfigApply:
		// The groups it touches are known once it is applied.
		_, err := mg.checkConfig(req.Config)
		return nil, err
	}
	return nil, fmt.Errorf("unknown command %q", req.Command)
}

// checkAll validates a request of every host or group (Request.All) and
// returns the groups it concerns: every group, but for start, clear and
// manage the groups still configured (an orphan is stopping, and those
// make no sense for it; cleanup does).
func (mg *Manager) checkAll(req Request) ([]string, error) {
	switch req.Command {
	case CmdStandby, CmdUnstandby, CmdCleanup, CmdStart, CmdClear, CmdManage:
	default:
		return nil, fmt.Errorf("%s: only standby, unstandby, start, clear, manage and cleanup take --all", req)
	}
	if req.Target != "" {
		return nil, fmt.Errorf("%s %s --all: name a %s or --all, not both", req.Command, req.Target, allNoun(req.Command))
	}
	if req.Command != CmdStart && req.Command != CmdClear && req.Command != CmdManage {
		return mg.allGroups(), nil
	}
	var out []string
	for _, g := range mg.m.Groups {
		if !g.Orphan {
			out = append(out, g.ID)
		}
	}
	return out, nil
}

// allNoun is what a request of req's command names one of.
func allNoun(c Command) string {
	switch c {
	case CmdStandby, CmdUnstandby:
		return "host"
	case CmdCleanup:
		return "group or resource"
	}
	return "group"
}

// NoGroup is the error for a request naming a group that does not exist:
// it lists the groups, in configuration order, and when the name is a
// resource's it names that resource's group, since an operator who reads
// resource IDs in the status output easily types one where a group is
// wanted.
func (mg *Manager) NoGroup(name string) error {
	if gid, ok := mg.m.GroupOf(name); ok {
		return fmt.Errorf("%q is a resource of group %s; name the group", name, gid)
	}
	return fmt.Errorf("no group %q (groups: %s)", name, strings.Join(mg.allGroups(), ", "))
}

// hostGroups are the groups a standby or unstandby of host concerns, in
// configuration order: those allowed on it, which it may stop there or
// start there again, and any with an instance there that is not plainly
// stopped (one left outside its domain by a configuration change, say).
// The planner places each group on its own, with no ordering or colocation
// between groups, so no other group moves for it: the report waits for
// these and names their resources alone, where naming every group made a
// host's standby at 1,000 hosts wait for the whole cluster and write a
// 300 KB record of 10,000 results.
func (mg *Manager) hostGroups(host string) []string {
	var out []string
	for i := range mg.m.Groups {
		g := &mg.m.Groups[i]
		if _, in := g.DomainPriority(host); in || !g.Placement.Domain.Restricted || mg.activeOn(g, host) {
			out = append(out, g.ID)
		}
	}
	return out
}

// activeOn: some member of g is, as far as the manager knows, not plainly
// stopped on host.
func (mg *Manager) activeOn(g *model.Group, host string) bool {
	for _, mem := range g.Members {
		if mg.observed.notable[mem.Resource][host] {
			return true
		}
	}
	return false
}

func (mg *Manager) allGroups() []string {
	out := make([]string, len(mg.m.Groups))
	for i, g := range mg.m.Groups {
		out[i] = g.ID
	}
	return out
}

// stopFailureBlocks: a failed stop of rsc is answered by a block, not a
// fence (fencing is off, or the stop's policy is block).
func (mg *Manager) stopFailureBlocks(rsc string) bool {
	return planner.OnFail(mg.m, rsc, planner.Failure{Op: planner.FailedStop}) != model.OnFailFence
}
