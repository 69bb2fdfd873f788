package swarm

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/sim/cluster"
)

// Expectation is what must hold at a point of a scripted run.
type Expectation struct {
	By time.Duration
	// Running maps a group to the host it must run on (every member
	// running there in truth, and in the manager's view).
	Running map[string]string
	// RunningOn maps a clone to the hosts it must run on, no more and no
	// fewer (every member running on each, in truth and in the manager's
	// view).
	RunningOn map[string][]string
	// Promoted maps a promotable clone to the one host where it must be
	// promoted (every member, in truth and in the manager's view), and
	// nowhere else, or to "*": promoted on exactly one host, any (which
	// instance is promoted first depends on which reported first);
	// checked in a world that tells roles (Roles).
	Promoted map[string]string
	// Stopped groups run nowhere.
	Stopped []string
	// Down resources run nowhere (their group may run in part).
	Down []string
	// Fenced hosts have been fenced successfully by then; NotFenced not.
	Fenced    []string
	NotFenced []string
	// Gone groups are not in the configuration, nor held as orphans:
	// removed, stopped everywhere and forgotten.
	Gone []string
	// Current resources run only with their configured definition (a
	// changed parameter's restart is over); a world that cannot tell
	// definitions apart (Definitions) cannot check it.
	Current []string
}

// Definitions is a World that tells which definition of a resource runs:
// the digests (ocf.Digest) of what runs on h, and of the configured one.
type Definitions interface {
	Definitions(h, r string) (running []string, configured string)
}

// AnyHost in Expectation.Promoted: exactly one host, whichever.
const AnyHost = "*"

// Roles is a World that tells roles: whether r runs promoted on h in
// truth, and where the manager believes it does (configuration order).
type Roles interface {
	Promoted(h, r string) bool
	ManagerPromoted(r string) []string
}

// World is what an expectation is checked against. A scenario runs in two
// worlds, the simulator and real processes, and is judged by the same
// Check in both: only where the facts come from differs.
type World interface {
	// Model is the cluster's configuration as the manager acts on it: the
	// running one (changed by config-apply steps) with its orphans.
	Model() *model.Model
	// Running reports whether resource r is active on host h in truth
	// (its state file), whatever anyone believes.
	Running(h, r string) bool
	// ManagerRuns lists the hosts where the manager believes r runs, in
	// configuration order; none when there is no manager to ask.
	ManagerRuns(r string) []string
	// Fenced reports whether h has been fenced successfully so far.
	Fenced(h string) bool
}

// Check returns what does not hold in w, or "".
func (e Expectation) Check(w World) string {
	m := w.Model()
	var bad []string
	runsOn := func(r string) []string {
		var on []string
		for _, h := range m.HostNames() {
			if w.Running(h, r) {
				on = append(on, h)
			}
		}
		return on
	}
	members := func(gid string) []string {
		g, ok := m.Group(gid)
		if !ok {
			bad = append(bad, fmt.Sprintf("no group %q", gid))
			return nil
		}
		return g.Resources()
	}
	for _, gid := range sortedKeys(e.Running) {
		want := e.Running[gid]
		for _, r := range members(gid) {
			on, says := runsOn(r), w.ManagerRuns(r)
			if !slices.Equal(on, []string{want}) || !slices.Equal(says, []string{want}) {
				bad = append(bad, fmt.Sprintf("%s should run on %s only, runs on %v (manager says %v)", r, want, on, says))
			}
		}
	}
	for _, gid := range sortedKeys(e.RunningOn) {
		want := e.RunningOn[gid]
		for _, r := range members(gid) {
			on, says := runsOn(r), w.ManagerRuns(r)
			if !slices.Equal(on, want) || !slices.Equal(says, want) {
				bad = append(bad, fmt.Sprintf("%s should run on %v, runs on %v (manager says %v)", r, want, on, says))
			}
		}
	}
	bad = append(bad, e.checkPromoted(w, members)...)
	for _, gid := range e.Stopped {
		for _, r := range members(gid) {
			if on := runsOn(r); len(on) > 0 {
				bad = append(bad, fmt.Sprintf("%s should be stopped, runs on %v", r, on))
			}
		}
	}
	for _, r := range e.Down {
		if on := runsOn(r); len(on) > 0 {
			bad = append(bad, fmt.Sprintf("%s should be down, runs on %v", r, on))
		}
	}
	for _, h := range e.Fenced {
		if !w.Fenced(h) {
			bad = append(bad, fmt.Sprintf("%s should have been fenced", h))
		}
	}
	for _, h := range e.NotFenced {
		if w.Fenced(h) {
			bad = append(bad, fmt.Sprintf("%s should not have been fenced", h))
		}
	}
	for _, gid := range e.Gone {
		if _, ok := m.Group(gid); ok {
			bad = append(bad, fmt.Sprintf("group %s should be gone, the manager still holds it", gid))
		}
	}
	bad = append(bad, e.checkCurrent(w)...)
	return strings.Join(bad, "; ")
}

// checkPromoted checks the Promoted clones.
func (e Expectation) checkPromoted(w World, members func(string) []string) []string {
	if len(e.Promoted) == 0 {
		return nil
	}
	rw, ok := w.(Roles)
	if !ok {
		return []string{"this world cannot tell roles"}
	}
	var bad []string
	for _, gid := range sortedKeys(e.Promoted) {
		want := e.Promoted[gid]
		for _, r := range members(gid) {
			var on []string
			for _, h := range w.Model().HostNames() {
				if rw.Promoted(h, r) {
					on = append(on, h)
				}
			}
			says := rw.ManagerPromoted(r)
			if want == AnyHost && len(on) == 1 && slices.Equal(says, on) {
				continue
			}
			if want == AnyHost || !slices.Equal(on, []string{want}) || !slices.Equal(says, []string{want}) {
				bad = append(bad, fmt.Sprintf("%s should be promoted on %s only, is on %v (manager says %v)", r, want, on, says))
			}
		}
	}
	return bad
}

// checkCurrent checks the Current resources.
func (e Expectation) checkCurrent(w World) []string {
	if len(e.Current) == 0 {
		return nil
	}
	d, ok := w.(Definitions)
	if !ok {
		return []string{"this world cannot tell a resource's definitions apart"}
	}
	var bad []string
	for _, r := range e.Current {
		for _, h := range w.Model().HostNames() {
			running, want := d.Definitions(h, r)
			for _, got := range running {
				if got != want {
					bad = append(bad, fmt.Sprintf("%s runs on %s with definition %s, not the configured %s", r, h, got, want))
				}
			}
		}
	}
	return bad
}

// SimWorld is a simulated cluster as a World: the simulated hosts' state
// files, its manager's observations, and the fences in its history.
type SimWorld struct{ C *cluster.Cluster }

// Model implements World: the manager's model, or while no manager
// answers the configuration last applied.
func (w SimWorld) Model() *model.Model {
	if mg := w.C.Manager(); mg != nil {
		return mg.Model()
	}
	return w.C.RunningModel()
}

// Definitions implements Definitions from the simulated hosts' state
// files.
func (w SimWorld) Definitions(h, r string) (running []string, configured string) {
	for _, in := range w.C.Instances(h) {
		if in.Resource == r {
			running = append(running, in.Digest)
		}
	}
	if res, ok := w.C.RunningModel().Resource(r); ok {
		configured = res.Digest()
	}
	return running, configured
}

// Running implements World.
func (w SimWorld) Running(h, r string) bool { return w.C.Running(h, r) }

// ManagerRuns implements World.
func (w SimWorld) ManagerRuns(r string) []string {
	mgr := w.C.Manager()
	if mgr == nil {
		return nil
	}
	var on []string
	for _, h := range w.C.Model.HostNames() {
		if mgr.Observed(r, h).State == planner.Running {
			on = append(on, h)
		}
	}
	return on
}

// Promoted implements Roles from the simulated hosts' truth.
func (w SimWorld) Promoted(h, r string) bool { return slices.Contains(w.C.PromotedOn(r), h) }

// ManagerPromoted implements Roles.
func (w SimWorld) ManagerPromoted(r string) []string {
	mgr := w.C.Manager()
	if mgr == nil {
		return nil
	}
	var on []string
	for _, h := range w.C.Model.HostNames() {
		if ob := mgr.Observed(r, h); ob.State == planner.Running && ob.Promoted {
			on = append(on, h)
		}
	}
	return on
}

// Fenced implements World.
func (w SimWorld) Fenced(h string) bool {
	for _, op := range w.C.Fences() {
		if op.Kind == "fence" && op.Host == h {
			return true
		}
	}
	return false
}
