package scenarios

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/harness"
	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/live/api"
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

// event is one moment of the scenario's timeline.
type event struct {
	at     time.Duration
	label  string
	apply  func(pc *harness.ProcessCluster) error
	expect *swarm.Expectation
}

// RunProcess runs the scenario against the real daemons: the same
// configuration (realized for this machine), the same timeline of faults
// and admin actions with each mapped to its real counterpart (kill -9,
// SIGSTOP, a proxy dropping bytes, a failure marker, an admin request),
// scaled in time, and the same checkers. The error is for a harness that
// could not run; what the cluster did wrong is in the result.
func (sc *Scenario) RunProcess(o ProcessRun) (ProcessResult, error) {
	res := ProcessResult{Scenario: sc.Name}
	if o.Scale <= 0 {
		return res, fmt.Errorf("scenario %s: scale %v", sc.Name, o.Scale)
	}
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) * o.Scale) }
	evs, early, err := sc.timeline(scale)
	if err != nil {
		return res, err
	}
	if o.Network == "" {
		o.Network = harness.NetProxy
	}
	pc, err := harness.StartProcessCluster(harness.ProcessOptions{Name: sc.Name, Config: sc.Config, Scale: o.Scale, Dir: o.Dir,
		Bin: o.Bin, Repo: o.Repo, Network: o.Network, RebootAfter: scale(swarm.RebootAfter), ManagerArgs: o.ManagerArgs,
		AgentArgs: o.AgentArgs, Logf: o.Logf, Prepare: early})
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
		pc.Mark("%s: %s", ev.at, ev.label)
		if err := ev.apply(pc); err != nil {
			res.Unmet = append(res.Unmet, fmt.Sprintf("at %s: %s: %v", ev.at, ev.label, err))
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
func (sc *Scenario) timeline(scale func(time.Duration) time.Duration) ([]event, func(*harness.ProcessCluster) error, error) {
	var evs, early []event
	for i, f := range sc.Steps {
		now, later, err := realStep(f, scale)
		if err != nil {
			return nil, nil, fmt.Errorf("scenario %s: steps[%d]: %w", sc.Name, i, err)
		}
		label := describe(f)
		if f.At == 0 && isMarker(f.Kind) {
			early = append(early, event{label: label, apply: now})
		} else {
			evs = append(evs, event{at: f.At, label: label, apply: now})
		}
		if later != nil && f.For > 0 {
			evs = append(evs, event{at: f.At + f.For, label: "end of " + label, apply: later})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
	for i := range sc.Expect {
		e := sc.Expect[i]
		evs = append(evs, event{at: e.By, expect: &e})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
	prepare := func(pc *harness.ProcessCluster) error {
		for _, ev := range early {
			pc.Mark("0s: %s", ev.label)
			if err := ev.apply(pc); err != nil {
				return fmt.Errorf("%s: %w", ev.label, err)
			}
		}
		return nil
	}
	return evs, prepare, nil
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

func describe(f faults.Fault) string {
	parts := []string{string(f.Kind)}
	for _, s := range []string{f.Host, f.Peer, f.Group, f.Resource, f.Device, f.Action} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

// realStep maps one fault to what the process harness does for it, and
// what it does when the fault's For runs out.
func realStep(f faults.Fault, scale func(time.Duration) time.Duration) (now, later func(*harness.ProcessCluster) error, err error) {
	admin := func(cmd manager.Command, target, host string, flag bool) func(*harness.ProcessCluster) error {
		return func(pc *harness.ProcessCluster) error {
			return pc.Admin(api.Request{Command: string(cmd), Target: target, Host: host, Flag: flag})
		}
	}
	do := func(fn func(pc *harness.ProcessCluster)) func(*harness.ProcessCluster) error {
		return func(pc *harness.ProcessCluster) error { fn(pc); return nil }
	}
	// link is the manager↔host link a network fault names, and the
	// direction it names; agents never talk to one another, so a fault
	// between two hosts has no traffic to act on, in the simulator or here.
	link := func(pc *harness.ProcessCluster) (harness.Link, int) {
		switch {
		case f.Peer == effect.Manager:
			return pc.Links[f.Host], harness.FromTarget
		case f.Host == effect.Manager:
			return pc.Links[f.Peer], harness.ToTarget
		}
		return nil, 0
	}
	switch f.Kind {
	// A crashed agent restarts (a crashed host boots) For after the crash,
	// 0 meaning not until it is fenced: the harness times that itself.
	case faults.CrashAgent:
		return do(func(pc *harness.ProcessCluster) { pc.CrashAgent(f.Host, scale(f.For)) }), nil, nil
	case faults.CrashHost:
		return do(func(pc *harness.ProcessCluster) { pc.CrashHost(f.Host, scale(f.For)) }), nil, nil
	case faults.PauseHost:
		return do(func(pc *harness.ProcessCluster) { pc.Pause(f.Host) }), do(func(pc *harness.ProcessCluster) { pc.Resume(f.Host) }), nil
	case faults.Partition, faults.CutOneWay:
		cut := func(on bool) func(*harness.ProcessCluster) error {
			return func(pc *harness.ProcessCluster) error {
				l, dir := link(pc)
				if l == nil {
					return nil
				}
				if f.Kind == faults.Partition {
					return errors.Join(l.Drop(harness.ToTarget, on), l.Drop(harness.FromTarget, on))
				}
				return l.Drop(dir, on)
			}
		}
		return cut(true), cut(false), nil
	case faults.Isolate:
		return func(pc *harness.ProcessCluster) error { return pc.Links[f.Host].Partition() },
			func(pc *harness.ProcessCluster) error { return pc.Links[f.Host].Heal() }, nil
	case faults.Clog:
		clog := func(d time.Duration) func(*harness.ProcessCluster) error {
			return func(pc *harness.ProcessCluster) error {
				if l, dir := link(pc); l != nil {
					return l.Delay(dir, d)
				}
				return nil
			}
		}
		return clog(f.Delay), clog(0), nil
	case faults.KillResource:
		return func(pc *harness.ProcessCluster) error { return pc.KillResource(f.Host, f.Resource) }, nil, nil
	case faults.FailStart, faults.FailStop:
		action := strings.TrimPrefix(string(f.Kind), "fail-")
		return func(pc *harness.ProcessCluster) error {
			return pc.FailResource(f.Host, f.Resource, action, f.RC, f.Times, false)
		}, nil, nil
	case faults.HangAction:
		return func(pc *harness.ProcessCluster) error {
			return pc.FailResource(f.Host, f.Resource, f.Action, 0, f.Times, true)
		}, nil, nil
	case faults.FailDevice, faults.HangDevice, faults.LieDevice:
		kind := strings.TrimSuffix(string(f.Kind), "-device")
		return func(pc *harness.ProcessCluster) error { return pc.FailDevice(f.Device, kind) },
			do(func(pc *harness.ProcessCluster) { pc.ClearDeviceFault(f.Device) }), nil
	case faults.CrashManager:
		return do(func(pc *harness.ProcessCluster) { pc.CrashManager() }), func(pc *harness.ProcessCluster) error { return pc.StartManager() }, nil
	case faults.PauseManager:
		return func(pc *harness.ProcessCluster) error { return pc.PauseManager() }, do(func(pc *harness.ProcessCluster) { pc.ResumeStaleManagers() }), nil
	case faults.AdminMove:
		return admin(manager.CmdMove, f.Group, f.Host, false), nil, nil
	case faults.AdminStandby:
		return admin(manager.CmdStandby, f.Host, "", false), admin(manager.CmdUnstandby, f.Host, "", false), nil
	case faults.AdminStop:
		return admin(manager.CmdStop, f.Group, "", false), admin(manager.CmdStart, f.Group, "", false), nil
	case faults.AdminCleanup:
		return admin(manager.CmdCleanup, f.Group, "", false), nil, nil
	case faults.AdminUnmanage:
		return admin(manager.CmdUnmanage, f.Group, "", false), admin(manager.CmdManage, f.Group, "", false), nil
	case faults.AdminStart:
		return admin(manager.CmdStart, f.Group, "", false), nil, nil
	case faults.AdminBan:
		return admin(manager.CmdBan, f.Group, f.Host, false), nil, nil
	case faults.AdminClear:
		return admin(manager.CmdClear, f.Group, "", false), nil, nil
	case faults.AdminMaintenance:
		return admin(manager.CmdMaintenance, "", "", f.Action == "on"), nil, nil
	case faults.HealAll:
		return do(func(pc *harness.ProcessCluster) { pc.Heal() }), nil, nil
	}
	return nil, nil, fmt.Errorf("fault kind %q has no real-process equivalent", f.Kind)
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
	pc     *harness.ProcessCluster
	view   map[string][]string // resource → hosts the manager says it runs on
	fenced map[string]bool
}

// observe takes the manager's status and the fences once, so that one
// check reads one moment of each.
func observe(pc *harness.ProcessCluster) (realWorld, error) {
	w := realWorld{pc: pc, view: map[string][]string{}, fenced: map[string]bool{}}
	st, err := pc.Status()
	for _, g := range st.Groups {
		for _, r := range g.Resources {
			w.view[r.ID] = r.RunningOn
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
