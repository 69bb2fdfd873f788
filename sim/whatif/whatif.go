package whatif

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/invariant"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/sim/cluster"
)

// Bounds of the simulated time a what-if may take: the settling in the
// saved state, and the what-if itself when no --for says how long.
const (
	SettleBound = 30 * time.Minute
	RunBound    = 30 * time.Minute
	// DefaultFaultsFor is how long seeded faults are drawn for when no
	// duration is given.
	DefaultFaultsFor = 5 * time.Minute
	// MaxFor bounds --for.
	MaxFor = 24 * time.Hour
)

// Events are what a what-if injects at its start.
type Events struct {
	// HostDown are hosts that die: power lost, agent and resources gone.
	HostDown []string
	// ResourceFails are resources whose next monitor fails on a host.
	ResourceFails []ResourceOn
	// Apply, when Apply.Text is set, is a configuration applied through
	// the manager's config-apply path.
	Apply File
	// For is how long the what-if runs (0: until the cluster settles,
	// bounded by RunBound; with Faults, DefaultFaultsFor).
	For time.Duration
	// Seed seeds the simulation, and the fault plan with Faults.
	Seed uint64
	// Faults draws seeded random faults during For, as the swarm does.
	Faults bool
}

// ResourceOn names a resource on a host (R@H).
type ResourceOn struct {
	Resource, Host string
}

// File is a configuration file: its name, for messages, and its text.
type File struct {
	Name, Text string
}

// ParseResourceOn reads R@H.
func ParseResourceOn(s string) (ResourceOn, error) {
	r, h, ok := strings.Cut(s, "@")
	if !ok || r == "" || h == "" || strings.Contains(h, "@") {
		return ResourceOn{}, fmt.Errorf("%q: want RESOURCE@HOST", s)
	}
	return ResourceOn{Resource: r, Host: h}, nil
}

// Run builds a cluster in the state st, injects ev and reports what the
// manager does. config is the configuration to use when st holds none. A
// core machine's broken invariant ends it with an error naming it.
func Run(st State, config File, ev Events) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := invariant.Recovered(r)
			if !ok {
				panic(r) // a bug of the simulator, not of the what-if
			}
			res, err = nil, fmt.Errorf("the simulated cluster stopped on a broken invariant of the core (a bug: please report it with the state and the flags): %w", e)
		}
	}()
	text, name := config.Text, config.Name
	var warns []string
	if st.Config != nil && st.Config.Text != "" {
		if text != "" && text != st.Config.Text {
			warns = append(warns, fmt.Sprintf("%s is not the state's configuration (version %d): the state's is used", name, st.Config.Version))
		}
		text, name = st.Config.Text, "the state's configuration"
	}
	if text == "" {
		return nil, errNoConfig
	}
	m, err := model.Load(name, []byte(text))
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", name, err)
	}
	if err := checkEvents(m, ev); err != nil {
		return nil, err
	}
	if ev.For < 0 || ev.For > MaxFor {
		return nil, eventErr("--for %s: want a duration above 0 and at most %s", ev.For, MaxFor)
	}
	if ev.Faults && ev.For == 0 {
		ev.For = DefaultFaultsFor
	}
	if ev.Seed == 0 {
		ev.Seed = 1
	}
	w := newWorld(m, ev.Seed)
	res = &Result{Cluster: m.Cluster.Name, Seed: ev.Seed}
	if st.Config != nil {
		res.ConfigVersion = st.Config.Version
	}
	res.Warnings = append(warns, w.build(st)...)
	settled := w.settle()
	if later := unmanaged(st, w.m); settled && len(later) > 0 {
		res.Warnings = append(res.Warnings, w.request(later)...)
		settled = w.settle()
	}
	if !settled {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the simulated cluster did not settle in the saved state within %s: the what-if starts from where it got", SettleBound))
	}
	res.Warnings = append(res.Warnings, w.differences(st)...)
	if err := w.inject(ev, res); err != nil {
		return nil, err
	}
	w.run(ev)
	w.outcome(res)
	return res, nil
}

// EventError is an event that cannot be injected as given (an unknown
// host or resource, a duration out of bounds): a mistake on the command
// line, as the CLI reports it.
type EventError struct{ msg string }

func (e *EventError) Error() string { return e.msg }

func eventErr(format string, args ...any) error {
	return &EventError{msg: fmt.Sprintf(format, args...)}
}

// checkEvents refuses events naming what the configuration does not have.
func checkEvents(m *model.Model, ev Events) error {
	for _, h := range ev.HostDown {
		if _, ok := m.Host(h); !ok {
			return eventErr("--host-down %s: unknown host (the hosts are %s)", h, strings.Join(m.HostNames(), ", "))
		}
	}
	for _, rf := range ev.ResourceFails {
		if _, ok := m.Resource(rf.Resource); !ok {
			return eventErr("--resource-fails %s@%s: unknown resource %s", rf.Resource, rf.Host, rf.Resource)
		}
		if _, ok := m.Host(rf.Host); !ok {
			return eventErr("--resource-fails %s@%s: unknown host %s (the hosts are %s)", rf.Resource, rf.Host, rf.Host, strings.Join(m.HostNames(), ", "))
		}
	}
	return nil
}

// world is the simulated cluster of one what-if and what is watched in it.
type world struct {
	m      *model.Model
	c      *cluster.Cluster
	safety *check.Safety
	// changes are the ground truth's changes, for the timeline.
	changes []check.Change
	marks   []check.Mark
	hostEvs []check.HostEvent
	// t0 is when the what-if begins (the end of the settling); watching
	// is on from then.
	t0       time.Time
	watching bool
	// mgr is the manager watched; base is the number of its last
	// transition before the what-if (the settling's); trans are
	// the what-if's, and steps their steps by number and action ID.
	mgr     *manager.Manager
	base    int
	trans   []*Transition
	more    int
	steps   map[int]map[int]*Step
	noticed []func() bool
}

func newWorld(m *model.Model, seed uint64) *world {
	w := &world{m: m, safety: check.NewSafety(check.Limits(m))}
	for r, n := range check.PromotedLimits(m) { // purity:unordered each key set once
		w.safety.SetPromotedLimit(r, n)
	}
	w.c = cluster.New(m, cluster.Options{Seed: seed,
		Observer: func(ch cluster.Change) {
			if ch.Role {
				// The what-if judges roles too; the lanes show activity.
				w.safety.ObserveRole(ch.At, ch.Host, ch.Resource, ch.Promoted)
				return
			}
			w.safety.Observe(ch.At, ch.Host, ch.Resource, ch.Active)
			w.changes = append(w.changes, check.Change{At: ch.At, Host: ch.Host, Resource: ch.Resource, Active: ch.Active, Cause: ch.Cause})
		},
		ManagerIntercept: func(mg *manager.Manager, now time.Time, effs []effect.Effect) []effect.Effect {
			w.watch(mg, now)
			return effs
		},
	})
	return w
}

// build puts the simulated cluster in the state: resources preloaded on
// the hosts that run them, those hosts booted, the manager started, and
// the administrators' settings requested again. It returns what it could
// not reproduce.
func (w *world) build(st State) []string {
	var warns []string
	online := map[string]bool{}
	known := map[string]bool{}
	for _, h := range st.Hosts {
		if _, ok := w.m.Host(h.Name); !ok {
			warns = append(warns, fmt.Sprintf("host %s of the state is not in the configuration: left out", h.Name))
			continue
		}
		known[h.Name] = true
		online[h.Name] = h.State == string(planner.Online)
	}
	for _, h := range w.m.HostNames() {
		if !known[h] {
			warns = append(warns, fmt.Sprintf("host %s is not in the state: simulated as online", h))
			online[h] = true
		}
	}
	warns = append(warns, w.preload(st, online)...)
	for _, h := range w.m.HostNames() {
		if online[h] {
			w.c.PowerOn(h)
		}
	}
	w.c.StartManager()
	return append(warns, w.settings(st)...)
}

// preload makes each resource active where the state says it runs.
func (w *world) preload(st State, online map[string]bool) []string {
	var warns []string
	for _, g := range st.Groups {
		for _, r := range g.Resources {
			if _, ok := w.m.Resource(r.ID); !ok {
				warns = append(warns, fmt.Sprintf("resource %s of the state is not in the configuration (an orphan): left out", r.ID))
				continue
			}
			for _, h := range r.RunningOn {
				if !online[h] {
					warns = append(warns, fmt.Sprintf("resource %s runs on %s in the state, a host not online in the state: left out", r.ID, h))
					continue
				}
				w.c.Preload(h, r.ID)
			}
			for _, h := range slices.Sorted(maps.Keys(r.FailCount)) {
				if n := r.FailCount[h]; n > 0 {
					warns = append(warns, fmt.Sprintf("resource %s has %d failure(s) on %s in the state: the simulation starts with none", r.ID, n, h))
				}
			}
		}
	}
	return warns
}

// settings requests the administrators' settings of the state again:
// standby hosts, stopped groups, moves and bans. Unmanaged groups and
// maintenance wait for the settling (see unmanaged).
func (w *world) settings(st State) []string {
	var reqs []manager.Request
	for _, h := range st.Hosts {
		if h.Standby {
			reqs = append(reqs, manager.Request{Command: manager.CmdStandby, Target: h.Name})
		}
	}
	for _, g := range st.Groups {
		if _, ok := w.m.Group(g.ID); !ok {
			continue
		}
		if g.Target == string(model.RoleStopped) {
			reqs = append(reqs, manager.Request{Command: manager.CmdStop, Target: g.ID})
		}
	}
	var warns []string
	for _, c := range st.Constraints {
		cmd := manager.CmdBan
		if c.Kind == "move" {
			cmd = manager.CmdMove
		}
		reqs = append(reqs, manager.Request{Command: cmd, Target: c.Group, Host: c.Host})
		if !c.Until.IsZero() {
			warns = append(warns, fmt.Sprintf("the %s of %s to %s ends at %s in the real cluster: simulated as lasting", c.Kind, c.Group, c.Host, c.Until.UTC().Format(time.RFC3339)))
		}
	}
	return append(warns, w.request(reqs)...)
}

// unmanaged are the requests of maintenance mode and unmanaged groups,
// made once the settling's probes have found what runs where: the
// manager probes nothing it does not manage, and would know nothing of
// those resources.
func unmanaged(st State, m *model.Model) []manager.Request {
	var reqs []manager.Request
	for _, g := range st.Groups {
		if _, ok := m.Group(g.ID); ok && !g.Managed {
			reqs = append(reqs, manager.Request{Command: manager.CmdUnmanage, Target: g.ID})
		}
	}
	if st.Maintenance {
		reqs = append(reqs, manager.Request{Command: manager.CmdMaintenance, Flag: true})
	}
	return reqs
}

// request makes administrative requests, and says which were refused.
func (w *world) request(reqs []manager.Request) []string {
	var warns []string
	for _, r := range reqs {
		if _, err := w.c.Admin(r); err != nil {
			warns = append(warns, fmt.Sprintf("%s: refused by the simulated manager: %v", r, err))
		}
	}
	return warns
}

// settled: the manager has heard from every host it may, and has nothing
// left to do.
func (w *world) settled() bool {
	mg := w.c.Manager()
	if mg == nil || !mg.Idle() {
		return false
	}
	for _, h := range mg.Status().Hosts {
		if h.Pending || h.Fencing != "" || h.State == planner.Unclean {
			return false
		}
		if (h.State == planner.Online) != w.c.Powered(h.Name) {
			return false // a death not yet noticed, or a boot not yet heard
		}
	}
	return true
}

func (w *world) settle() bool { return w.c.RunUntil(SettleBound, w.settled) }

// differences lists where the settled simulation differs from the state.
func (w *world) differences(st State) []string {
	mg := w.c.Manager()
	if mg == nil {
		return []string{"the simulated manager is not running"}
	}
	var out []string
	status := mg.Status()
	hosts := map[string]manager.HostStatus{}
	for _, h := range status.Hosts {
		hosts[h.Name] = h
	}
	for _, h := range st.Hosts {
		sh, ok := hosts[h.Name]
		if !ok {
			continue
		}
		if string(sh.State) != h.State || sh.Standby != h.Standby {
			out = append(out, fmt.Sprintf("host %s: %s in the state, %s in the simulation", h.Name, hostWords(h.State, h.Standby), hostWords(string(sh.State), sh.Standby)))
		}
	}
	running := runningOn(status)
	for _, g := range st.Groups {
		for _, r := range g.Resources {
			if _, ok := w.m.Resource(r.ID); !ok {
				continue
			}
			want := slices.Sorted(slices.Values(r.RunningOn))
			if got := running[r.ID]; !slices.Equal(want, got) {
				out = append(out, fmt.Sprintf("resource %s: running on %s in the state, on %s in the simulation", r.ID, hostList(want), hostList(got)))
			}
		}
	}
	if len(out) > 0 {
		out = append([]string{"the simulation could not reproduce the state exactly; the what-if starts from the simulated one:"}, out...)
	}
	return out
}

func hostWords(state string, standby bool) string {
	if standby {
		return state + " (standby)"
	}
	return state
}

func hostList(hs []string) string {
	if len(hs) == 0 {
		return "no host"
	}
	return strings.Join(hs, ",")
}

// runningOn is where the manager sees each resource running, sorted.
func runningOn(st manager.Status) map[string][]string {
	out := map[string][]string{}
	for _, r := range st.Resources {
		for _, h := range slices.Sorted(maps.Keys(r.States)) {
			if r.States[h].State == planner.Running {
				out[r.ID] = append(out[r.ID], h)
			}
		}
	}
	return out
}
