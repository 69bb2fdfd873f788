package manager

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/eventlog"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

// The running configuration. The file a manager starts with is only its
// first version: basalt config apply (and SIGHUP) hands the manager a new
// file, which it records in the event log whole, so that a restarted
// manager (or the next leader) runs the configuration last applied, not
// the file it was started with. mg.base is the configuration; mg.m is what
// the manager acts on: the configuration with its orphans (groups and
// resources configured no more that may still run, to be stopped).

// configName labels an applied configuration's errors.
const configName = "applied configuration"

// maxAppliedConfig bounds an applied configuration: it is recorded in one
// event log record, with room for the record's other fields.
const maxAppliedConfig = eventlog.MaxRecord - 64<<10

// ConfigPreview is what applying a configuration would do: what changes,
// and the transition the manager would plan right after.
type ConfigPreview struct {
	Change     model.Change
	Transition planner.Transition
	// Warnings are the new configuration's (model.Model.Warnings).
	Warnings []string
	// Version is the version it would be (the running one's plus one).
	Version int
	// Held are the transition's fences the manager would not run yet, by
	// action ID, with why: a host not heard from since the manager started
	// (or added by the file) gets the dead timeout to join before it is
	// fenced, so right after a start-up the plan lists fences that will
	// most likely never run.
	Held map[int]string
}

// Lines renders the transition one action per line, each held fence
// saying so.
func (p ConfigPreview) Lines() []string {
	var out []string
	for _, a := range p.Transition.Actions {
		line := a.String()
		if why, ok := p.Held[a.ID]; ok {
			line += " [held: " + why + "]"
		}
		out = append(out, line)
	}
	return out
}

// Config is the running configuration: its text ("" when it is the file
// the manager started with, which the manager does not hold), its version
// (0 for that file) and the model.
func (mg *Manager) Config() (text string, version int, m *model.Model) {
	return mg.configText, mg.configVersion, mg.base
}

// Model is what the manager acts on: the running configuration and its
// orphans. Callers must not change it.
func (mg *Manager) Model() *model.Model { return mg.m }

// PreviewConfig says what applying text would change and do, changing
// nothing.
func (mg *Manager) PreviewConfig(now time.Time, text string) (ConfigPreview, error) {
	next, err := mg.checkConfig(text)
	if err != nil {
		return ConfigPreview{}, err
	}
	eff := mg.effective(next)
	in := mg.planInput(now)
	in.Model, in.Notable = eff, nil
	in.Observed = maps.Clone(in.Observed)
	for _, r := range eff.Resources {
		if _, ok := in.Observed[r.ID]; !ok {
			in.Observed[r.ID] = map[string]planner.Observed{} // a new resource is probed first
		}
	}
	in.Hosts = slices.DeleteFunc(slices.Clone(in.Hosts), func(h planner.Host) bool { _, ok := next.Host(h.Name); return !ok })
	for _, h := range next.Hosts {
		if _, ok := mg.hosts[h.Name]; !ok {
			in.Hosts = append(in.Hosts, planner.Host{Name: h.Name, State: planner.Unclean})
		}
	}
	p := ConfigPreview{Change: model.Diff(mg.base, next), Transition: planner.Plan(in), Version: mg.configVersion + 1}
	p.Held = mg.heldFences(p.Transition)
	for _, w := range next.Warnings {
		p.Warnings = append(p.Warnings, w.Error())
	}
	return p, nil
}

// heldFences are the fences of t that ready would hold back, with why
// (fenceHeld).
func (mg *Manager) heldFences(t planner.Transition) map[int]string {
	held := map[int]string{}
	for _, a := range t.Actions {
		if a.Kind != planner.Fence {
			continue
		}
		if why := mg.fenceHeld(a.Host); why != "" {
			held[a.ID] = why
		}
	}
	if len(held) == 0 {
		return nil
	}
	return held
}

// fenceHeld says why the manager would not run a fence of host yet ("":
// it would): a host not heard from since the manager started (or new in
// the file) gets the dead timeout to join, a failed fence its backoff.
// ready holds fences by it; a preview shows it.
func (mg *Manager) fenceHeld(host string) string {
	hi, known := mg.hosts[host]
	switch {
	case !known:
		return "new host: fenced only if its agent does not join within the dead timeout (" + mg.m.Cluster.DeadTimeout.String() + ")"
	case hi.pending:
		return "not heard from since the manager started: fenced only if still silent after the dead timeout (" + mg.m.Cluster.DeadTimeout.String() + ")"
	case hi.fence.retryTimer != 0:
		return "its last fence failed: retried after the backoff"
	}
	return ""
}

// checkConfig loads a configuration and checks that it can replace the
// running one now.
func (mg *Manager) checkConfig(text string) (*model.Model, error) {
	if len(text) > maxAppliedConfig {
		return nil, fmt.Errorf("the configuration is %d bytes, more than the %d an event log record holds", len(text), maxAppliedConfig)
	}
	next, err := model.Load(configName, []byte(text))
	if err != nil {
		return nil, err
	}
	for _, h := range mg.m.Hosts {
		if _, stays := next.Host(h.Name); stays {
			continue
		}
		if hi := mg.hosts[h.Name]; hi.state != planner.Offline || hi.fence.active {
			return nil, fmt.Errorf("host %s is removed but is %s: a host leaves the configuration once it is off (basalt power off %s, or stop its agent and let it be fenced)",
				h.Name, mg.hostWord(hi), h.Name)
		}
	}
	c := model.Diff(mg.base, next)
	if len(c.Devices.Added)+len(c.Devices.Removed)+len(c.Devices.Changed)+len(c.Topology) > 0 {
		for _, h := range mg.m.Hosts {
			if mg.hosts[h.Name].fence.active {
				return nil, fmt.Errorf("fence devices change while %s is being fenced: apply again once the fence is over", h.Name)
			}
		}
	}
	return next, nil
}

func (mg *Manager) hostWord(hi *hostInfo) string {
	if hi.fence.active {
		return "being fenced"
	}
	return string(hi.state)
}

// effective is next with the orphans of what the manager acts on now: the
// resources next configures no more that may still run somewhere.
func (mg *Manager) effective(next *model.Model) *model.Model {
	return model.WithOrphans(mg.m, next, mg.mayRun)
}

// mayRun: rsc may be active on some host, or has a command in flight
// (a start whose result is not in yet may be running it).
func (mg *Manager) mayRun(rsc string) bool {
	if len(mg.ops.ofResource(rsc)) > 0 {
		return true
	}
	for _, h := range mg.m.Hosts {
		if mg.planState(rsc, h.Name) != planner.Stopped {
			return true
		}
	}
	return false
}

// planState is rsc's state on host as the planner reads it: a host that
// may run things and has not said is unknown.
func (mg *Manager) planState(rsc, host string) planner.RscState {
	if o, ok := mg.observed.get(rsc, host); ok && o.State != "" {
		return o.State
	}
	if hi := mg.hosts[host]; hi != nil && hi.state != planner.Offline && mg.m.Discovers(rsc, host) {
		return planner.Unknown
	}
	return planner.Stopped
}

// adminConfigApply applies a checked configuration: recorded first, with
// the change it makes, then acted on. Its report follows every group the
// change touches, orphans included, until they are where it puts them.
func (mg *Manager) adminConfigApply(now time.Time, req Request, rep *Report, ev func(Event)) []effect.Effect {
	next, err := model.Load(configName, []byte(req.Config))
	if err != nil {
		broken("a checked configuration failed to load: %v", err)
	}
	change := model.Diff(mg.base, next)
	ev(Event{Kind: "config-applied", Count: mg.configVersion + 1, Config: req.Config,
		Message: strings.TrimSuffix(strings.ReplaceAll(change.String(), "\n", "; "), "; ")})
	effs := mg.setConfig(now, next, req.Config)
	rep.Groups = touchedGroups(change, mg.m)
	return effs
}

// touchedGroups are the groups a change adds or changes, those holding a
// changed resource, and the orphans, in model order.
func touchedGroups(c model.Change, m *model.Model) []string {
	touched := map[string]bool{}
	for _, g := range slices.Concat(c.Groups.Added, c.Groups.Changed) {
		touched[g] = true
	}
	for _, r := range slices.Concat(c.Resources.Added, c.Resources.Changed) {
		if g, ok := m.GroupOf(r); ok {
			touched[g] = true
		}
	}
	var out []string
	for _, g := range m.Groups {
		if touched[g.ID] || g.Orphan {
			out = append(out, g.ID)
		}
	}
	return out
}

// setConfig makes next the running configuration (text its source, as
// recorded) and acts on it with its orphans: hosts come and go, a resource
// whose monitors changed has its old ones cancelled for the planner to set
// up the new, and what the model no longer names is forgotten. Replay calls
// it too, before the manager starts: it has no orphans then (nothing is
// observed), which the agents' hellos bring back.
func (mg *Manager) setConfig(now time.Time, next *model.Model, text string) []effect.Effect {
	eff := mg.effective(next)
	var effs []effect.Effect
	for _, r := range mg.m.Resources {
		if nr, ok := eff.Resource(r.ID); ok && !slices.Equal(nr.Monitors, r.Monitors) {
			effs = append(effs, mg.cancelMonitors(r.ID, "")...)
		}
	}
	effs = append(effs, mg.swapModel(now, eff)...)
	for _, g := range mg.m.Groups {
		if g.Orphan {
			mg.dropConstraints(g.ID)
		}
	}
	mg.base, mg.configText = next, text
	mg.configVersion++
	mg.markStale()
	return effs
}

// swapModel makes eff what the manager acts on, keeping its tables to the
// hosts and resources eff names.
func (mg *Manager) swapModel(now time.Time, eff *model.Model) []effect.Effect {
	var effs []effect.Effect
	for _, h := range mg.m.Hosts {
		if _, ok := eff.Host(h.Name); !ok {
			if hi := mg.hosts[h.Name]; hi.deadTimer != 0 {
				effs = append(effs, mg.cancelTimer(hi.deadTimer))
			}
			mg.dropHost(h.Name)
			mg.observed.dropHost(h.Name)
			delete(mg.attrs, h.Name) // as crm_node -R removes a node's attributes
		}
	}
	for _, h := range eff.Hosts {
		if _, ok := mg.hosts[h.Name]; ok {
			continue
		}
		// As at start: unclean until its agent says hello, fenced if it
		// stays silent for the dead timeout.
		hi := mg.addHost(h.Name)
		if mg.started {
			hi.deadTimer = mg.newTimer(timerUse{kind: deadTimer, host: h.Name})
			effs = append(effs, mg.batches.SetTimer(effect.SetTimer{ID: hi.deadTimer, At: now.Add(eff.Cluster.DeadTimeout)}))
		}
	}
	for _, r := range mg.m.Resources {
		if _, ok := eff.Resource(r.ID); !ok {
			mg.observed.dropResource(r.ID)
			delete(mg.failures, r.ID)
			delete(mg.fatal, r.ID)
		}
	}
	old := mg.m
	mg.m = eff // the observations read where each resource is probed from it
	names := eff.HostNames()
	for _, r := range eff.Resources {
		mg.observed.addResource(r.ID, names)
	}
	mg.observed.addHosts(names)
	for _, r := range eff.Resources {
		if !slices.Equal(old.ExclusiveDomain(r.ID), eff.ExclusiveDomain(r.ID)) {
			mg.observed.rediscover(r.ID, names)
		}
	}
	mg.fencer.SetModel(eff)
	mg.setOnline()
	return effs
}

// foundOrphans takes in the resources a host's agent knows: one the
// manager's model does not name is an orphan (an earlier configuration's,
// left running across a manager restart, or on a host that was away when
// it was forgotten), to be probed and stopped wherever it runs. Hosts
// whose agents listed what they know and did not list it are known not to
// run it: an agent records a resource before it acts on it.
func (mg *Manager) foundOrphans(now time.Time, m proto.Hello) []effect.Effect {
	hi := mg.hosts[m.Host]
	hi.lists = m.Lists
	hi.known = map[string]bool{}
	var found []string
	for _, id := range m.Resources {
		hi.known[id] = true
		if _, ok := mg.m.Resource(id); !ok {
			found = append(found, id)
		} else if _, seen := mg.observed.get(id, m.Host); !seen && !mg.m.Discovers(id, m.Host) {
			// Known where it is not probed (its domain changed since it
			// ran here, or it was started by hand): probed all the same.
			mg.observed.set(id, m.Host, planner.Observed{State: planner.Unknown})
		}
	}
	if m.Lists {
		// The orphans already known are not running here unless listed.
		for _, g := range mg.m.Groups {
			for _, r := range g.Resources() {
				if _, seen := mg.observed.get(r, m.Host); g.Orphan && !hi.known[r] && !seen && !mg.ops.has(r, m.Host) {
					mg.observed.set(r, m.Host, planner.Observed{State: planner.Stopped})
				}
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	eff := mg.m
	for _, id := range found {
		eff = eff.WithFoundOrphan(model.Resource{ID: id, Name: id})
	}
	effs := mg.swapModel(now, eff)
	for _, id := range found {
		for _, h := range mg.m.Hosts {
			if hi := mg.hosts[h.Name]; hi.lists && !hi.known[id] {
				mg.observed.set(id, h.Name, planner.Observed{State: planner.Stopped})
			}
		}
		effs = mg.appendEvent(effs, now, Event{Kind: "orphan-found", Host: m.Host, Resource: id,
			Message: "configured nowhere: stopped wherever it runs, then forgotten"})
	}
	mg.markStale()
	return effs
}

// pruneOrphans forgets the orphan groups whose resources are known stopped
// everywhere, with nothing in flight, and tells the agents that know them
// to forget them too. It runs between transitions, so that no action of a
// running one names a resource the model lost.
func (mg *Manager) pruneOrphans(now time.Time) []effect.Effect {
	gone := map[string]bool{}
	var rscs []string
	for _, g := range mg.m.Groups {
		if g.Orphan && !slices.ContainsFunc(g.Resources(), mg.mayRun) {
			gone[g.ID] = true
			rscs = append(rscs, g.Resources()...)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	effs := mg.swapModel(now, mg.m.WithoutGroups(gone))
	for _, g := range slices.Sorted(maps.Keys(gone)) {
		mg.dropConstraints(g)
	}
	for _, r := range rscs {
		effs = mg.appendEvent(effs, now, Event{Kind: "orphan-removed", Resource: r, Message: "stopped everywhere: forgotten"})
		for _, h := range mg.m.Hosts {
			if hi := mg.hosts[h.Name]; hi.state == planner.Online && hi.lists && hi.known[r] {
				delete(hi.known, r)
				effs = append(effs, mg.batches.Send(effect.Send{To: h.Name, Conn: mg.connTo(h.Name), Msg: proto.Forget{Epoch: mg.epoch, Op: mg.op(), Resource: r}}))
			}
		}
	}
	return mg.appendLog(effs, effect.Log{Level: slog.LevelInfo, Msg: fmt.Sprintf("%d orphaned resources stopped everywhere and forgotten", len(rscs))})
}

// dropConstraints forgets the admin constraints of a group that is an
// orphan now: they went with its configuration. A start, move or unmanage
// given before the change would keep the orphan running, or placed, or
// left alone, where the change says it stops; and a group added again
// later under the same ID starts from its own configuration.
func (mg *Manager) dropConstraints(gid string) {
	delete(mg.cons.TargetRoles, gid)
	delete(mg.cons.Moves, gid)
	delete(mg.cons.Unmanaged, gid)
	mg.cons.Bans = slices.DeleteFunc(mg.cons.Bans, func(b planner.Ban) bool { return b.Group == gid })
}

// replayConfig makes a recorded configuration the running one. A record
// that no longer loads (written by a version that knew keys this one does
// not) leaves the configuration as it was, and says so when the manager
// starts.
func (mg *Manager) replayConfig(e Event) {
	next, err := model.Load(configName, []byte(e.Config))
	if err != nil {
		mg.configErr = fmt.Sprintf("configuration version %d in the event log does not load: %v", e.Count, err)
		return
	}
	change := model.Diff(mg.base, next)
	mg.setConfig(e.Time, next, e.Config)
	mg.configVersion = e.Count
	mg.configErr = ""
	if rep := mg.reports[e.Report]; rep != nil {
		rep.Groups = touchedGroups(change, mg.m)
	}
}
