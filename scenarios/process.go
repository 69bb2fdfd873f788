package scenarios

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/harness"
	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/sim/faults"
	"github.com/basalt-ha/basalt/sim/swarm"
)

// ProcessRun says how to run a scenario against real processes.
type ProcessRun struct {
	// Bin holds the built binaries, Repo is the repository root, Dir the
	// run's working directory (logs, state, history).
	Bin, Repo, Dir string
	// Scale multiplies the scenario's timeline and the configuration's
	// durations (0.2: five times faster than written).
	Scale float64
	// Grace is how long past its (scaled) time an expectation may take to
	// come true: real processes are not on the simulator's clock.
	Grace time.Duration
	// ManagerArgs and AgentArgs are extra daemon flags (canaries).
	ManagerArgs, AgentArgs []string
	// Network is how partitions are made: harness.NetProxy (the default)
	// or harness.NetNetns.
	Network string
	// Logf narrates the run (t.Logf); nil for none.
	Logf func(format string, args ...any)
}

// ProcessResult is what a run against real processes found.
type ProcessResult struct {
	harness.Record
	Scenario string
	// Unmet lists the expectations that did not hold in time.
	Unmet []string
	// Violations are the safety checker's (on the hosts' state files) and
	// the linearizability checker's (on the agents' operation history).
	Violations []check.Violation
	// Fences are the fences the hosts' power logs saw.
	Fences []check.Op
}

// Failed reports whether anything did not hold.
func (r ProcessResult) Failed() bool { return len(r.Unmet) > 0 || len(r.Violations) > 0 }

// Summary is one paragraph about the run.
func (r ProcessResult) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (real processes, %s): %d operations, %d fences", r.Scenario, r.End.Sub(r.Start).Truncate(time.Millisecond), len(r.Ops), len(r.Fences))
	for _, u := range r.Unmet {
		fmt.Fprintf(&b, "\n  unmet: %s", u)
	}
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "\n  violation: %s", v)
	}
	return b.String()
}

// event is one moment of the scenario's timeline: a step of a fault, or an
// expectation, at its time in the scenario (before scaling).
type event struct {
	at     time.Duration
	step   faults.Step
	expect *swarm.Expectation
}

// RunProcess runs the scenario against the real daemons: the same
// configuration (realized for this machine), the same timeline of faults
// and admin actions applied through the same faults.Apply as in the
// simulator, on the process cluster's target (kill -9, SIGSTOP, a proxy
// dropping bytes, a failure marker, an admin request), scaled in time, and
// the same checkers. The error is for a harness that
// could not run; what the cluster did wrong is in the result.
func (sc *Scenario) RunProcess(o ProcessRun) (ProcessResult, error) {
	res := ProcessResult{Scenario: sc.Name}
	if o.Scale <= 0 {
		return res, fmt.Errorf("scenario %s: scale %v", sc.Name, o.Scale)
	}
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) * o.Scale) }
	evs, early := sc.timeline()
	prepare := func(pc *harness.ProcessCluster) error {
		for _, s := range early {
			pc.Mark("0s: %s", s)
			if err := faults.Apply(pc.FaultTarget(), scaleStep(s, o.Scale)); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	}
	if o.Network == "" {
		o.Network = harness.NetProxy
	}
	pc, err := harness.StartProcessCluster(harness.ProcessOptions{Name: sc.Name, Config: sc.Config, Scale: o.Scale, Dir: o.Dir,
		Bin: o.Bin, Repo: o.Repo, Network: o.Network, RebootAfter: scale(swarm.RebootAfter), ManagerArgs: o.ManagerArgs,
		AgentArgs: o.AgentArgs, Logf: o.Logf, Prepare: prepare, Replicas: sc.Replicas})
	if err != nil {
		return res, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	defer pc.Stop()
	truth := harness.WatchTruth(pc, check.Limits(pc.Model))
	start := time.Now()
	for _, ev := range evs {
		time.Sleep(time.Until(start.Add(scale(ev.at)))) // the scenario's schedule, not a guess
		if ev.expect != nil {
			if why := awaitExpectation(pc, *ev.expect, o.Grace); why != "" {
				res.Unmet = append(res.Unmet, fmt.Sprintf("by %s (%s real): %s", ev.at, scale(ev.at).Truncate(time.Millisecond), why))
			}
			continue
		}
		pc.Mark("%s: %s", ev.at, ev.step)
		if err := faults.Apply(pc.FaultTarget(), scaleStep(ev.step, o.Scale)); err != nil {
			res.Unmet = append(res.Unmet, fmt.Sprintf("at %s: %s: %v", ev.at, ev.step, err))
		}
	}
	rec, violations, err := harness.Finish(pc, truth, "Basalt scenario "+sc.Name+" on real processes", start)
	res.Record, res.Violations, res.Fences = rec, violations, pc.Fences()
	if err != nil {
		return res, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	return res, nil
}

// timeline turns the steps and expectations into events in time order
// (steps before expectations at the same instant, as in the simulator).
// Steps at time zero that need no running process (failure markers,
// broken devices) are returned apart, to be in place before anything
// starts.
func (sc *Scenario) timeline() (evs []event, early []faults.Step) {
	for _, s := range faults.Steps(sc.Steps) {
		if s.At() == 0 && !s.End && isMarker(s.Fault.Kind) {
			early = append(early, s)
			continue
		}
		evs = append(evs, event{at: s.At(), step: s})
	}
	for i := range sc.Expect {
		evs = append(evs, event{at: sc.Expect[i].By, expect: &sc.Expect[i]})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
	return evs, early
}

// scaleStep is a step of the scenario in real time: every duration of its
// fault scaled, as the configuration's are.
func scaleStep(s faults.Step, k float64) faults.Step {
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) * k) }
	s.Fault.At, s.Fault.For, s.Fault.Delay = scale(s.Fault.At), scale(s.Fault.For), scale(s.Fault.Delay)
	return s
}

func isMarker(k faults.Kind) bool {
	return k == faults.FailStart || k == faults.FailStop || k == faults.HangAction ||
		k == faults.FailDevice || k == faults.HangDevice || k == faults.LieDevice
}

// cutsNetwork says whether a step of the scenario acts on the network
// between the manager and a host.
func (sc *Scenario) cutsNetwork() bool {
	for _, f := range sc.Steps {
		switch f.Kind {
		case faults.Partition, faults.CutOneWay, faults.Isolate, faults.Clog:
			return true
		}
	}
	return false
}

// awaitExpectation polls (bounded by grace) until e holds, and returns
// what still did not hold at the deadline, or "".
func awaitExpectation(pc *harness.ProcessCluster, e swarm.Expectation, grace time.Duration) string {
	deadline := time.Now().Add(grace)
	for {
		why := checkReal(pc, e)
		if why == "" || time.Now().After(deadline) {
			return why
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkReal is the scenario's expectation check (the simulator's) on the
// real cluster.
func checkReal(pc *harness.ProcessCluster, e swarm.Expectation) string {
	w, err := observe(pc)
	why := e.Check(w)
	if err != nil {
		why = strings.TrimSuffix(fmt.Sprintf("manager status: %v; %s", err, why), "; ")
	}
	return why
}

// realWorld is the real cluster as a swarm.World, at one moment: the state
// files are the truth, the manager's status its view, the hosts' fence
// logs the fences.
type realWorld struct {
	pc   *harness.ProcessCluster
	view map[string][]string // resource → hosts the manager says it runs on
	// promoted: resource → hosts the manager says it is promoted on.
	promoted map[string][]string
	fenced   map[string]bool
}

// observe takes the manager's status and the fences once, so that one
// check reads one moment of each.
func observe(pc *harness.ProcessCluster) (realWorld, error) {
	w := realWorld{pc: pc, view: map[string][]string{}, promoted: map[string][]string{}, fenced: map[string]bool{}}
	st, err := pc.Status()
	for _, g := range st.Groups {
		for _, r := range g.Resources {
			w.view[r.ID] = r.RunningOn
			w.promoted[r.ID] = r.PromotedOn
		}
	}
	for _, op := range pc.Fences() {
		w.fenced[op.Host] = true
	}
	return w, err
}

func (w realWorld) Model() *model.Model           { return w.pc.Model }
func (w realWorld) Running(h, r string) bool      { return w.pc.Running(h, r) }
func (w realWorld) ManagerRuns(r string) []string { return w.view[r] }
func (w realWorld) Fenced(h string) bool          { return w.fenced[h] }

// Promoted and ManagerPromoted make the real cluster a swarm.Roles: the
// statefile agent's role markers, and the manager's status.
func (w realWorld) Promoted(h, r string) bool         { return w.pc.Promoted(h, r) }
func (w realWorld) ManagerPromoted(r string) []string { return w.promoted[r] }
