package whatif

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/sim/cluster"
	"github.com/basalt-ha/basalt/sim/faults"
	"github.com/basalt-ha/basalt/sim/swarm"
)

// inject starts the what-if: the watch goes on, and each event happens.
func (w *world) inject(ev Events, res *Result) error {
	w.t0, w.watching = w.c.Q.Now(), true
	w.mgr = w.c.Manager()
	if w.mgr == nil {
		return fmt.Errorf("the simulated manager is not running after the settling: nothing to ask")
	}
	w.base, w.steps = w.mgr.TransitionNumber(), map[int]map[int]*Step{} // the settling's are not the what-if's
	for _, h := range ev.HostDown {
		res.Injected = append(res.Injected, fmt.Sprintf("host %s goes down: power lost, its agent and resources gone", h))
		w.mark(check.MarkFault, h, "host down "+h)
		w.hostEvs = append(w.hostEvs, check.HostEvent{At: w.t0, Host: h, State: check.HostDown, Detail: "what-if: host down"})
		w.c.CrashHost(h, 0)
		mg, host := w.c.Manager, h
		w.noticed = append(w.noticed, func() bool { return mg() != nil && mg().HostState(host) != planner.Online })
	}
	for _, rf := range ev.ResourceFails {
		res.Injected = append(res.Injected, fmt.Sprintf("resource %s (%s) fails its next monitor on %s (rc 1)", rf.Resource, w.name(rf.Resource), rf.Host))
		w.mark(check.MarkFault, rf.Host, "monitor fails "+rf.Resource+"@"+rf.Host)
		w.c.FailResource(rf.Host, rf.Resource, "monitor", cluster.ResourceFault{RC: 1, Times: 1})
		w.noticed = append(w.noticed, w.failureSeen(rf))
	}
	if ev.Apply.Text != "" {
		if err := w.apply(ev.Apply, res); err != nil {
			return err
		}
	}
	if ev.Faults {
		w.drawFaults(ev, res)
	}
	return nil
}

// failureSeen: the manager has recorded a failure of rf since the start.
func (w *world) failureSeen(rf ResourceOn) func() bool {
	return func() bool {
		mg := w.c.Manager()
		if mg == nil {
			return false
		}
		for _, e := range mg.Events() {
			if e.Kind == "failure" && e.Resource == rf.Resource && e.Host == rf.Host && !e.Time.Before(w.t0) {
				return true
			}
		}
		return false
	}
}

// apply previews a configuration and applies it through the manager's
// config-apply path, as basalt config apply does.
func (w *world) apply(f File, res *Result) error {
	mg := w.c.Manager()
	p, err := mg.PreviewConfig(w.c.Q.Now(), f.Text)
	if err != nil {
		return fmt.Errorf("--apply %s: %w", f.Name, err)
	}
	res.Injected = append(res.Injected, fmt.Sprintf("configuration %s applied (version %d)", f.Name, p.Version))
	res.Preview = append(res.Preview, strings.Split(strings.TrimSpace(p.Change.String()), "\n")...)
	res.Preview = append(res.Preview, p.Warnings...)
	w.mark(check.MarkAdmin, "", "config apply "+f.Name)
	if _, err := w.c.Admin(manager.Request{Command: manager.CmdConfigApply, Target: f.Name, Config: f.Text}); err != nil {
		return fmt.Errorf("--apply %s: refused by the simulated manager: %w", f.Name, err)
	}
	return nil
}

// drawFaults draws a fault plan from the seed as the swarm does, for the
// what-if's duration, and schedules it from the what-if's start.
func (w *world) drawFaults(ev Events, res *Result) {
	plan := faults.Generate(w.m, ev.Seed, faults.Options{Chaos: ev.For, Heal: ev.For})
	off := w.t0.Sub(cluster.Start)
	shifted := make([]faults.Fault, len(plan.Faults))
	for i, f := range plan.Faults {
		res.Faults = append(res.Faults, fmt.Sprintf("+%s %s", f.At, f))
		f.At += off
		shifted[i] = f
		w.mark(check.MarkFault, f.Host, f.String())
	}
	res.Injected = append(res.Injected, fmt.Sprintf("%d seeded fault(s) (seed %d) during %s", len(plan.Faults), ev.Seed, ev.For))
	swarm.Schedule(w.c, shifted)
}

func (w *world) mark(kind, host, label string) {
	w.marks = append(w.marks, check.Mark{At: w.c.Q.Now(), Kind: kind, Host: host, Label: label})
}

func (w *world) name(rsc string) string {
	if r, ok := w.m.Resource(rsc); ok {
		return r.Name
	}
	return rsc
}

// run lets the what-if go on: for ev.For, or until every event has been
// noticed and the cluster has settled again.
func (w *world) run(ev Events) {
	if ev.For > 0 {
		_ = w.c.Run(ev.For)
		return
	}
	w.c.RunUntil(RunBound, func() bool {
		for _, n := range w.noticed {
			if !n() {
				return false
			}
		}
		return w.settled()
	})
}

// watch follows the manager's transitions, after every input it handled:
// a new one is recorded, and each step's dispatch and end are timed. The
// one before the latest is read too: its last action may have ended in
// the input that planned the latest.
func (w *world) watch(mg *manager.Manager, now time.Time) {
	if !w.watching {
		return
	}
	if mg != w.mgr {
		// A manager started during the what-if (a fault restarted it):
		// its transitions are numbered from 1 again, all the what-if's.
		w.mgr, w.base, w.steps = mg, 0, map[int]map[int]*Step{}
	}
	latest := mg.TransitionNumber()
	for n := max(w.base+1, latest-1); n <= latest; n++ {
		acts, ok := mg.Transition(n)
		if !ok {
			continue
		}
		steps := w.steps[n]
		if steps == nil {
			steps = w.record(now, acts)
			w.steps[n] = steps
		}
		for _, a := range acts {
			w.progress(steps[a.Action.ID], a.State, now.Sub(w.t0))
		}
	}
}

// MaxTransitions bounds the transitions a what-if records; the ones after
// are counted (Result.MoreTransitions). A cluster that cannot settle (every
// fence failing) plans again and again.
const MaxTransitions = 50

// MaxEvents bounds the manager's events a what-if lists, likewise.
const MaxEvents = 200

// record adds a transition seen for the first time.
func (w *world) record(now time.Time, acts []manager.ActionProgress) map[int]*Step {
	steps := map[int]*Step{}
	if len(w.trans) >= MaxTransitions {
		w.more++
		return steps
	}
	t := &Transition{At: now.Sub(w.t0)}
	for _, a := range acts {
		if a.Action.Kind == planner.Probe || a.Action.Kind == planner.Monitor {
			t.Checks++
			continue
		}
		s := &Step{ID: a.Action.ID, Kind: string(a.Action.Kind), Resource: a.Action.Resource,
			Name: w.nameOrEmpty(a.Action.Resource), Host: a.Action.Host, Reason: a.Action.Reason, Result: "not run"}
		t.Steps = append(t.Steps, s)
		steps[a.Action.ID] = s
	}
	w.trans = append(w.trans, t)
	return steps
}

// progress moves a step on to the state its action is in.
func (w *world) progress(s *Step, state string, at time.Duration) {
	if s == nil || s.done {
		return
	}
	if state != "waiting" && !s.started {
		s.At, s.started, s.Result = at, true, "running"
	}
	if state == "succeeded" || state == "failed" {
		s.End, s.done, s.Result = at, true, map[string]string{"succeeded": "ok", "failed": "FAILED"}[state]
	}
}

func (w *world) nameOrEmpty(rsc string) string {
	if rsc == "" {
		return ""
	}
	return w.name(rsc)
}

// outcome reads where everything ended up, and the judges' verdicts.
func (w *world) outcome(res *Result) {
	res.Transitions, res.MoreTransitions = w.trans, w.more
	res.Elapsed = w.c.Q.Now().Sub(w.t0)
	mg := w.c.Manager()
	if mg == nil {
		res.Outcome.Problems = append(res.Outcome.Problems, "the simulated manager is down at the end")
		w.judge(res)
		return
	}
	w.fenceDevices(mg, res)
	for _, e := range mg.Events() {
		if e.Time.Before(w.t0) || !slices.Contains(notableEvents, e.Kind) {
			continue
		}
		if len(res.Events) == MaxEvents {
			res.MoreEvents++
			continue
		}
		res.Events = append(res.Events, EventLine{At: e.Time.Sub(w.t0), Kind: e.Kind, Host: e.Host, Resource: e.Resource, Message: e.Message})
		if e.Kind == "fenced" {
			res.Outcome.Fenced = append(res.Outcome.Fenced, e.Host)
			w.hostEvs = append(w.hostEvs, check.HostEvent{At: e.Time, Host: e.Host, State: check.HostFenced, Detail: e.Message})
			w.marks = append(w.marks, check.Mark{At: e.Time, Kind: check.MarkFence, Host: e.Host, Label: "fenced " + e.Host})
		}
		if e.Kind == "host-lost" {
			w.hostEvs = append(w.hostEvs, check.HostEvent{At: e.Time, Host: e.Host, State: check.HostLost, Detail: e.Message})
		}
	}
	st := mg.Status()
	for _, h := range st.Hosts {
		res.Outcome.Hosts = append(res.Outcome.Hosts, HostOutcome{Name: h.Name, State: string(h.State), Standby: h.Standby})
	}
	w.groups(mg.Model(), st, res)
	w.judge(res)
}

// notableEvents are the manager's events a what-if lists beside its
// transitions: what made the manager act.
var notableEvents = []string{"host-lost", "fence-requested", "fenced", "fence-failed", "failure", "stop-failed", "fatal",
	"config-applied", "orphan-removed", "host-online"}

// fenceDevices names, for each fence step, the devices that fenced.
func (w *world) fenceDevices(mg *manager.Manager, res *Result) {
	hist := mg.FenceHistory()
	for _, t := range w.trans {
		for _, s := range t.Steps {
			if s.Kind != string(planner.Fence) || !s.started {
				continue
			}
			for _, h := range hist {
				if h.Target == s.Host && !h.Completed.Before(w.t0.Add(s.At)) {
					s.Devices = slices.Clone(h.Devices)
					break
				}
			}
		}
	}
}
