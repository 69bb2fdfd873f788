// Package swarm runs simulated clusters under fault plans and judges them:
// one seed (RunPlan), or many in parallel (Swarm), each with every checker
// on. A run has a chaos phase, in which its plan's faults happen, and a heal
// phase, in which faults are lifted, an operator's cleanup is applied and the
// cluster must recover within a bound computed from its configuration.
package swarm

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/invariant"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/sim/canary"
	"github.com/basalt-ha/basalt/sim/cluster"
	"github.com/basalt-ha/basalt/sim/faults"
)

//go:embed default-cluster.yaml
var defaultCluster []byte

//go:embed promotable-cluster.yaml
var promotableCluster []byte

// PromotableConfig is the cluster of basalt-sim run --promotable: the
// default one and a promotable clone.
func PromotableConfig() []byte { return append([]byte(nil), promotableCluster...) }

// PromotableModel is PromotableConfig loaded.
func PromotableModel() (*model.Model, error) {
	return model.Load("promotable-cluster.yaml", promotableCluster)
}

// RebootAfter is how long a fenced host stays off before it boots again
// (its BMC's power-on policy, or an operator).
const RebootAfter = 30 * time.Second

// DefaultConfig is the simulator's default cluster configuration file.
func DefaultConfig() []byte { return append([]byte(nil), defaultCluster...) }

// DefaultModel is the simulator's default cluster.
func DefaultModel() (*model.Model, error) { return model.Load("default-cluster.yaml", defaultCluster) }

// Canaries are known manager and agent defects that the checkers must
// catch.
var Canaries = []string{"skip-fence", "no-probe", "ignore-epoch", "obey-every-connection", "no-orphan-kill",
	"no-clock-jump-grace", "ignore-lease", "promote-before-fence"}

// Config describes runs.
type Config struct {
	Model  *model.Model
	Canary string
	Chaos  time.Duration
	Heal   time.Duration
	// Trace receives the trace of the run (replay); nil for none.
	Trace func(string)
	// KeepHistory keeps the ground-truth changes and operations in the
	// result, for the HTML timeline.
	KeepHistory bool
	// Expect lists what must hold at given times (scenarios).
	Expect []Expectation
	// ManagerIntercept, when set, wraps the manager's effects after the
	// canary's (tests use it to break the run from inside).
	ManagerIntercept func(m *manager.Manager, now time.Time, effs []effect.Effect) []effect.Effect
	// Shapes, when set, draws each seed's own cluster (sim/shape) instead
	// of running every seed on Model, and names the features it exercises
	// (for coverage by shape feature). It is a function of the seed alone,
	// so a seed still replays exactly. An error is a generator bug and is
	// reported as the seed's violation.
	Shapes func(seed uint64) (*model.Model, []string, error)
	// ShapeText, with Shapes, is the seed's shape's file (Text).
	ShapeText func(seed uint64) []byte
	// Replicas, when set, runs that many manager replicas on a simulated
	// etcd instead of one manager (sim/cluster, replicas.go): the manager
	// faults strike the leader, the etcd faults are drawn too, and the
	// leadership judge runs. A canary that needs replicas gets them.
	Replicas int
	// Text is the configuration file Model was loaded from (for Shapes,
	// the seed's shape's, which Shapes returns): the running
	// configuration a config-apply edits.
	Text []byte
	// ConfigApply lets the config-apply fault switch on (faults.Options):
	// a random valid change of the running configuration at a random
	// time, after which the judges go by the new configuration and the
	// heal requires the world to run exactly it (staleTruth).
	ConfigApply bool
	// Promotable lets the promotion faults switch on (faults.Options):
	// a failed promote, a hung demote, the promoted instance's death, a
	// failed or hung notification.
	Promotable bool
	// healthCheck, when set (tests), sees every verdict of the heal
	// phase's health check beside the full scan's.
	healthCheck func(incremental, full bool)
}

// withCanaryReplicas gives a canary that needs manager replicas its
// replicas.
func withCanaryReplicas(cfg Config) Config {
	cfg.Replicas = max(cfg.Replicas, canary.Replicas(cfg.Canary))
	if canary.NeedsPromotable(cfg.Canary) && !hasPromotable(cfg.Model) && cfg.Shapes == nil {
		// A defect of promotion needs a promotable clone to show: the
		// simulator's promotable cluster, as a lease canary gets replicas.
		if m, err := PromotableModel(); err == nil {
			cfg.Model, cfg.Text = m, PromotableConfig()
		}
	}
	return cfg
}

// hasPromotable reports whether m has a promotable clone.
func hasPromotable(m *model.Model) bool {
	if m == nil {
		return false
	}
	for _, g := range m.Groups {
		if g.Placement.Clone.Promotable {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Coverage counts what a run exercised, so that a green run shows what it
// actually tested.
type Coverage struct {
	Fences          int `json:"fences"`
	FenceFailures   int `json:"fence_failures"`
	Failovers       int `json:"failovers"`
	StopFailures    int `json:"stop_failures"`
	MonitorFailures int `json:"monitor_failures"`
	Partitions      int `json:"partitions"`
	Pauses          int `json:"pauses"`
	Crashes         int `json:"crashes"`
	ManagerRestarts int `json:"manager_restarts"`
	StaleRefusals   int `json:"stale_refusals"`
	// ConnTakeovers counts manager connections an agent promoted from
	// candidate; StaleConnsRefused those it closed for a superseded
	// manager's epoch; DeposedConnsClosed those a deposed manager let go.
	ConnTakeovers      int `json:"conn_takeovers"`
	StaleConnsRefused  int `json:"stale_conns_refused"`
	DeposedConnsClosed int `json:"deposed_conns_closed"`
	AdminRequests      int `json:"admin_requests"`
	Recoveries         int `json:"recoveries"`
	// ManagerFreezes counts the manager stopped with no replacement;
	// SlowHosts the hosts made slow to start and stop; QuickRestarts the
	// agent crashes restarted within a few seconds; Orphans the actions a
	// dead agent left running that its next life found.
	ManagerFreezes int `json:"manager_freezes"`
	SlowHosts      int `json:"slow_hosts"`
	QuickRestarts  int `json:"quick_restarts"`
	Orphans        int `json:"orphans"`
	// CleanRestarts counts agents stopped cleanly (a goodbye) and
	// restarted.
	CleanRestarts int `json:"clean_restarts"`
	// SecondCleanups counts the groups the operator cleaned up a second
	// time after the heal (see secondLook).
	SecondCleanups int `json:"second_cleanups"`
	// LeaderTakeovers counts the crashes of an acting leader that a new
	// leader took over from.
	LeaderTakeovers int `json:"leader_takeovers"`
	// EtcdCuts and EtcdOutages count the leader cut from etcd, and etcd
	// down.
	EtcdCuts    int `json:"etcd_cuts"`
	EtcdOutages int `json:"etcd_outages"`
	// ConfigApplies and ConfigRefusals count the configuration changes
	// the manager applied and refused (config-apply).
	ConfigApplies  int `json:"config_applies,omitempty"`
	ConfigRefusals int `json:"config_refusals,omitempty"`
	// Promotions, Demotions and PromoteFailures count the promotable
	// clones' role changes the agents carried out (and the promotes that
	// failed or were killed).
	Promotions      int `json:"promotions,omitempty"`
	Demotions       int `json:"demotions,omitempty"`
	PromoteFailures int `json:"promote_failures,omitempty"`
	// Notifications counts the clone notifications the agents ran
	// (notify: true; the promotable cluster's clone sets it).
	Notifications int `json:"notifications,omitempty"`
	// NotifyFaults counts the notification faults injected (fail-notify,
	// hang-notify); NotifyFailures the notifications that ended failed or
	// killed at their timeout, which must have failed nothing (the notify
	// judge).
	NotifyFaults   int `json:"notify_faults,omitempty"`
	NotifyFailures int `json:"notify_failures,omitempty"`
}

// Add sums coverage.
func (c *Coverage) Add(o Coverage) {
	c.Fences += o.Fences
	c.FenceFailures += o.FenceFailures
	c.Failovers += o.Failovers
	c.Promotions += o.Promotions
	c.Demotions += o.Demotions
	c.PromoteFailures += o.PromoteFailures
	c.Notifications += o.Notifications
	c.NotifyFaults += o.NotifyFaults
	c.NotifyFailures += o.NotifyFailures
	c.StopFailures += o.StopFailures
	c.MonitorFailures += o.MonitorFailures
	c.Partitions += o.Partitions
	c.Pauses += o.Pauses
	c.Crashes += o.Crashes
	c.ManagerRestarts += o.ManagerRestarts
	c.StaleRefusals += o.StaleRefusals
	c.ConnTakeovers += o.ConnTakeovers
	c.StaleConnsRefused += o.StaleConnsRefused
	c.DeposedConnsClosed += o.DeposedConnsClosed
	c.AdminRequests += o.AdminRequests
	c.Recoveries += o.Recoveries
	c.ManagerFreezes += o.ManagerFreezes
	c.SlowHosts += o.SlowHosts
	c.QuickRestarts += o.QuickRestarts
	c.Orphans += o.Orphans
	c.CleanRestarts += o.CleanRestarts
	c.SecondCleanups += o.SecondCleanups
	c.LeaderTakeovers += o.LeaderTakeovers
	c.EtcdCuts += o.EtcdCuts
	c.EtcdOutages += o.EtcdOutages
	c.ConfigApplies += o.ConfigApplies
	c.ConfigRefusals += o.ConfigRefusals
}

// Result is the verdict of one run.
type Result struct {
	Seed       uint64
	Plan       faults.Plan
	Hash       string
	Events     uint64
	Virtual    time.Duration
	Violations []check.Violation
	// Lin holds the resources whose history is not linearizable.
	Lin      []check.LinResult
	Coverage Coverage
	// Recovery is the time from the heal to full recovery; negative when
	// the cluster did not recover.
	Recovery time.Duration
	Bound    time.Duration
	// History, when kept.
	Changes []cluster.Change
	Ops     []cluster.Op
	// Features are the seed's shape's features (Config.Shapes), if any.
	Features []string
	// Takeovers are, with manager replicas, how long each crash of the
	// acting leader left the cluster without one: from the kill -9 to the
	// first act of a new leadership.
	Takeovers []time.Duration
}

// Failed reports whether any checker found a violation.
func (r Result) Failed() bool { return len(r.Violations) > 0 || len(r.Lin) > 0 }

// Summary is the first violation on one line.
func (r Result) Summary() string {
	if len(r.Violations) > 0 {
		return r.Violations[0].String()
	}
	if len(r.Lin) > 0 {
		return fmt.Sprintf("[linearizability] history of %s is not linearizable (%d operations)", r.Lin[0].Resource, r.Lin[0].Ops)
	}
	return "ok"
}

// RecoveryBound is how long a healed cluster may take to recover: the
// dead timeout, every fencing level with its status check, and each
// group's stops and starts twice over, plus slack for probing.
func RecoveryBound(m *model.Model) time.Duration {
	levels := 1
	for _, h := range m.Hosts {
		levels = max(levels, len(m.FencingLevels(h.Name)))
	}
	// Each level: the fence and its status check. (The fencer allows a
	// level one more status check, fencer.LevelBudget, for an answer that
	// never came; a healed network loses none.)
	b := m.Cluster.DeadTimeout + time.Duration(levels)*2*(m.Cluster.FenceTimeout+5*time.Second)
	var worst time.Duration
	for _, g := range m.Groups {
		var sum time.Duration
		for _, r := range g.Resources() {
			res, _ := m.Resource(r)
			sum += res.Start.Timeout + res.Stop.Timeout
			for _, mon := range res.Monitors {
				sum += mon.Timeout
			}
		}
		worst = max(worst, sum)
	}
	return b + 2*worst + 2*time.Minute
}

// lossSlack is the unjust-loss judge's slack: the simulator's clock is
// exact, so a millisecond.
const lossSlack = time.Millisecond

// lossGrace is how long a lost command can go unnoticed: the longest
// operation timeout plus the manager's slack, doubled.
func lossGrace(m *model.Model) time.Duration {
	longest := m.Cluster.FenceTimeout
	for _, r := range m.Resources {
		longest = max(longest, r.Start.Timeout, r.Stop.Timeout)
		for _, mon := range r.Monitors {
			longest = max(longest, mon.Timeout)
		}
	}
	return 2 * (longest + 10*time.Second)
}

// managerIntercept is the manager canary's intercept (none for the agents'
// canary), followed by the configuration's own.
func managerIntercept(cfg Config) func(*manager.Manager, time.Time, []effect.Effect) []effect.Effect {
	defect, _ := canary.ForManager(cfg.Canary)
	extra := cfg.ManagerIntercept
	switch {
	case defect == nil && extra == nil:
		return nil
	case extra == nil:
		return defect
	case defect == nil:
		return extra
	}
	return func(m *manager.Manager, now time.Time, effs []effect.Effect) []effect.Effect {
		return extra(m, now, defect(m, now, effs))
	}
}

// PlanFor is the fault plan of a seed on cfg's cluster: what RunSeed runs,
// and what a replay or a shrink of the seed starts from.
func PlanFor(cfg Config, seed uint64) faults.Plan {
	cfg = withCanaryReplicas(cfg)
	return faults.Generate(cfg.Model, seed, faults.Options{Chaos: cfg.Chaos, Heal: cfg.Heal, Replicas: cfg.Replicas > 0,
		ConfigApply: cfg.ConfigApply, Promotable: cfg.Promotable})
}

// RunSeed generates the plan of a seed and runs it.
func RunSeed(cfg Config, seed uint64) Result {
	var features []string
	if cfg.Shapes != nil {
		m, tags, err := cfg.Shapes(seed)
		if err != nil {
			return Result{Seed: seed, Recovery: -1, Violations: []check.Violation{{At: cluster.Start, Checker: "shape", Message: err.Error()}}}
		}
		cfg.Model, features = m, tags
		if cfg.ShapeText != nil {
			cfg.Text = cfg.ShapeText(seed)
		}
	}
	plan := PlanFor(cfg, seed)
	r := RunPlan(cfg, plan)
	r.Features = features
	return r
}

// RunPlan runs one plan with every checker on. A core machine's broken
// invariant (a panic with an invariant.Error) ends the run as a violation of
// this seed; any other panic is a bug of the simulator and goes on up.
func RunPlan(cfg Config, plan faults.Plan) (res Result) {
	var c *cluster.Cluster
	defer func() {
		if r := recover(); r != nil {
			e, ok := invariant.Recovered(r)
			if !ok {
				panic(r)
			}
			res.Seed, res.Plan, res.Recovery = plan.Seed, plan, -1
			at := cluster.Start
			if c != nil {
				at = c.Q.Now()
				res.Hash, res.Events, res.Virtual = c.Hash(), c.Q.Handled(), c.Q.Now().Sub(cluster.Start)
			}
			res.Violations = append(res.Violations, check.Violation{At: at, Checker: "assertion", Message: e.Error()})
		}
	}()
	cfg = withCanaryReplicas(cfg)
	m := cfg.Model
	limits := check.Limits(m)
	safety := check.NewSafety(limits)
	for r, n := range check.PromotedLimits(m) { // purity:unordered each key set once
		safety.SetPromotedLimit(r, n)
	}
	truth := newTruthWatch(m)
	t := &simTarget{}
	healthy := func() bool {
		ok := truth.healthy(c, m) && (t.configApplies == 0 || staleTruth(c) == "")
		if cfg.healthCheck != nil {
			cfg.healthCheck(ok, whyNot(c, t.model(m)) == "")
		}
		return ok
	}
	res = Result{Seed: plan.Seed, Plan: plan, Bound: RecoveryBound(m)}
	opts := cluster.Options{
		Seed: plan.Seed, LatencyMin: plan.Network.LatencyMin, LatencyMax: plan.Network.LatencyMax, Loss: plan.Network.Loss,
		RebootAfter: RebootAfter, Trace: cfg.Trace, Config: cfg.Text,
		// Only a configuration change makes a reload: runs without one
		// keep the traces of the runs before reloads.
		LearnMetaData:    cfg.ConfigApply,
		ManagerIntercept: managerIntercept(cfg),
		Replicas:         cfg.Replicas, IgnoreLease: canary.IgnoresLease(cfg.Canary),
		ManagerEvent: t.notify.record,
		Observer: func(ch cluster.Change) {
			if ch.Role {
				safety.ObserveRole(ch.At, ch.Host, ch.Resource, ch.Promoted)
			} else {
				safety.ObserveInstance(ch.At, ch.Host, ch.Resource, ch.Digest, ch.Active)
			}
			truth.observe(ch)
			if cfg.KeepHistory {
				res.Changes = append(res.Changes, ch)
			}
		},
	}
	if wrap, ok := canary.Agent(cfg.Canary); ok {
		opts.WrapAgent = wrap
	}
	if clock, ok := canary.ManagerTimerClock(cfg.Canary); ok {
		opts.ManagerTimerAt = clock
	}
	c = cluster.New(m, opts)
	c.SetDuplication(plan.Network.Duplication)
	c.Boot()
	t.c = c
	t.onConfig = func(next *model.Model) { truth = learnConfig(c, next, safety, limits) }
	schedule(t, plan.Faults, &res.Coverage)
	for _, e := range cfg.Expect {
		c.Q.At(cluster.Start.Add(e.By), func() {
			if why := e.Check(SimWorld{c}); why != "" {
				res.Violations = append(res.Violations, check.Violation{At: c.Q.Now(), Checker: "expectation",
					Message: fmt.Sprintf("at %s: %s", e.By, why)})
			}
		})
	}
	if plan.Scripted {
		end := plan.Chaos
		for _, e := range cfg.Expect {
			end = max(end, e.By)
		}
		_ = c.Run(end + time.Millisecond)
		res.Recovery = -1
		return finish(cfg, c, res, safety, limits, t)
	}
	healAt := cluster.Start.Add(plan.Chaos)
	c.Q.At(healAt, func() { applyRecovery(t, faults.Recovery(), recoveryTries) })
	c.Q.At(healAt.Add(lossGrace(m)/2), func() { secondLook(t, t.model(m), &res.Coverage) })
	_ = c.Run(plan.Chaos)

	// Heal phase: recover within the bound.
	deadline := min(plan.Heal, res.Bound)
	recovered := c.RunUntil(deadline, healthy)
	res.Recovery = -1
	if recovered {
		res.Recovery = c.Q.Now().Sub(healAt)
		res.Coverage.Recoveries++
	} else {
		res.Violations = append(res.Violations, check.Violation{At: c.Q.Now(), Checker: "liveness",
			Message: fmt.Sprintf("not recovered %s after the heal (bound %s): %s", deadline, res.Bound, whyNotNow(c, t, m))})
	}
	// Let the rest of the heal phase run: recovered must stay recovered.
	// Message loss goes on after the heal, so a command may still be lost
	// and noticed only at its timeout: the cluster gets that long to come
	// back before a dip counts as a violation.
	_ = c.Q.RunUntil(healAt.Add(plan.Heal), 50_000_000)
	if recovered && !healthy() && !c.RunUntil(lossGrace(m), healthy) {
		res.Violations = append(res.Violations, check.Violation{At: c.Q.Now(), Checker: "liveness",
			Message: "recovered, then fell apart with no fault: " + whyNotNow(c, t, m)})
	}

	return finish(cfg, c, res, safety, limits, t)
}

// finish runs the checkers that judge a whole run.
func finish(cfg Config, c *cluster.Cluster, res Result, safety *check.Safety, limits map[string]int, t *simTarget) Result {
	reports := t.reports
	res.Coverage.ConfigApplies, res.Coverage.ConfigRefusals = t.configApplies, t.configRefusals
	if t.configApplies > 0 && res.Recovery >= 0 && !slices.ContainsFunc(res.Violations, func(v check.Violation) bool { return v.Checker == "liveness" }) {
		if why := staleTruth(c); why != "" {
			res.Violations = append(res.Violations, check.Violation{At: c.Q.Now(), Checker: "stale-truth", Message: why})
		}
	}
	res.Violations = append(safety.Violations, res.Violations...)
	acts := make([]check.Act, 0, len(c.Acts))
	for _, a := range c.Acts {
		acts = append(acts, check.Act{At: a.At, Host: a.Host, Epoch: uint64(a.Epoch), What: a.What})
	}
	res.Violations = append(res.Violations, check.CheckEpochs(acts)...)
	hs := make([]check.Handover, len(c.Handovers))
	for i, h := range c.Handovers {
		hs[i] = check.Handover{At: h.At, Host: h.Host, To: uint64(h.To), Accepted: uint64(h.Accepted), AcceptedOpen: h.AcceptedOpen}
	}
	res.Violations = append(res.Violations, check.CheckHandovers(hs)...)
	res.Violations = append(res.Violations, check.CheckLeadership(leaderActs(c), tenures(c))...)
	res.Takeovers = takeovers(c.LeaderCrashes(), c.LeaderActs())
	res.Coverage.LeaderTakeovers = len(res.Takeovers)
	var losses []check.Loss
	for _, l := range c.Losses() {
		losses = append(losses, check.Loss{At: l.At, Host: l.Host, Epoch: uint64(l.Epoch), LastHeard: l.LastHeard,
			AgentDied: l.AgentDied})
	}
	res.Violations = append(res.Violations, check.CheckLosses(losses, c.Model.Cluster.DeadTimeout, lossSlack)...)
	ops := c.History()
	res.Violations = append(res.Violations, check.CheckFlapping(ops, 5*time.Minute, 30)...)
	for _, lr := range check.CheckOwnership(ops, limits) {
		if !lr.OK {
			res.Lin = append(res.Lin, lr)
		}
	}
	if mg := c.Manager(); mg != nil {
		res.Violations = append(res.Violations, checkReports(c.Q.Now(), reports, mg.Report)...)
		for _, h := range mg.FenceHistory() {
			if h.OK {
				res.Coverage.Fences++
			} else {
				res.Coverage.FenceFailures++
			}
		}
		for _, e := range mg.Events() {
			switch e.Kind {
			case "stop-failed":
				res.Coverage.StopFailures++
			case "failure":
				res.Coverage.MonitorFailures++
			}
		}
	}
	res.Violations = append(res.Violations, t.notify.judge()...)
	last := map[string]string{}
	for i := range ops { // by index: an Op is 200 bytes to copy
		o := &ops[i]
		if o.Orphan {
			res.Coverage.Orphans++
		}
		done := !o.Return.IsZero() && o.RC == 0 && !o.Killed
		switch {
		case o.Kind == "promote" && done:
			res.Coverage.Promotions++
		case o.Kind == "promote":
			res.Coverage.PromoteFailures++
		case o.Kind == "demote" && done:
			res.Coverage.Demotions++
		case o.Kind == "notify" && done:
			res.Coverage.Notifications++
		case o.Kind == "notify" && !o.Return.IsZero():
			res.Coverage.NotifyFailures++
		}
		if o.Kind == "start" && !o.Return.IsZero() && o.RC == 0 && !o.Killed {
			if prev, ok := last[o.Resource]; ok && prev != o.Host {
				res.Coverage.Failovers++
			}
			last[o.Resource] = o.Host
		}
	}
	res.Coverage.AdminRequests = len(reports)
	res.Hash, res.Events, res.Virtual = c.Hash(), c.Q.Handled(), c.Q.Now().Sub(cluster.Start)
	res.Coverage.StaleRefusals = c.StaleRefusals()
	cc := c.ConnCoverage()
	res.Coverage.ConnTakeovers, res.Coverage.StaleConnsRefused, res.Coverage.DeposedConnsClosed = cc.Takeovers, cc.StaleRefused, cc.DeposedClosed
	if cfg.KeepHistory {
		res.Ops = ops
	}
	sort.SliceStable(res.Violations, func(i, j int) bool { return res.Violations[i].At.Before(res.Violations[j].At) })
	return res
}

// Schedule puts each fault of a plan on a cluster's event queue, applied
// at its time (measured from cluster.Start) as a swarm run applies it, and
// returns the IDs of the admin requests' reports as they are accepted:
// what basalt simulate --faults injects into a what-if.
func Schedule(c *cluster.Cluster, plan []faults.Fault) *[]string {
	t := &simTarget{c: c}
	schedule(t, plan, &Coverage{})
	return &t.reports
}

// schedule puts each fault on the event queue, applied to t at its time.
// A fault's end is scheduled when it begins, For later: the order the
// queue gives events at the same instant, hence every seed's trace, stays
// what it has always been. A refused admin request is part of the run;
// the simulator supports every fault.
func schedule(t *simTarget, plan []faults.Fault, cov *Coverage) {
	q := t.c.Q
	for _, f := range plan {
		q.At(cluster.Start.Add(f.At), func() {
			count(cov, f)
			_ = faults.Apply(t, faults.Step{Fault: f})
			if f.Ends() {
				q.After(f.For, func() { _ = faults.Apply(t, faults.Step{Fault: f, End: true}) })
			}
		})
	}
}

// quickRestart is the longest agent crash counted as a quick restart.
const quickRestart = 3 * time.Second

// count notes in the coverage a fault that begins.
func count(cov *Coverage, f faults.Fault) {
	switch f.Kind {
	case faults.CrashAgent:
		cov.Crashes++
		if f.For > 0 && f.For <= quickRestart {
			cov.QuickRestarts++
		}
	case faults.CrashHost:
		cov.Crashes++
	case faults.PauseHost:
		cov.Pauses++
	case faults.Partition, faults.CutOneWay, faults.Isolate:
		cov.Partitions++
	case faults.CrashManager:
		cov.ManagerRestarts++
	case faults.PauseManager:
		cov.ManagerRestarts++
		cov.Pauses++
	case faults.FreezeManager:
		cov.ManagerFreezes++
		cov.Pauses++
	case faults.CutLeaderStore:
		cov.EtcdCuts++
	case faults.StoreDown:
		cov.EtcdOutages++
	case faults.SlowHost:
		cov.SlowHosts++
	case faults.RestartAgent:
		cov.CleanRestarts++
	case faults.CrashMidway:
		cov.Crashes++
		cov.QuickRestarts++
	case faults.FailNotify, faults.HangNotify:
		cov.NotifyFaults++
	}
}

// recoveryTries bounds how often the heal asks again, a second apart, for
// requests refused while no manager replica leads: an election takes a
// TTL, an etcd coming back two.
const recoveryTries = 60

// applyRecovery applies the heal's steps in order. With manager replicas, a
// request refused because nobody leads yet is asked again a second later,
// with the steps after it, as an operator would; any other refusal is
// part of the run.
func applyRecovery(t *simTarget, steps []faults.Fault, tries int) {
	for i, f := range steps {
		err := faults.Apply(t, faults.Step{Fault: f})
		if errors.Is(err, cluster.ErrNoLeader) && tries > 0 {
			rest := steps[i:]
			t.c.Q.After(time.Second, func() { applyRecovery(t, rest, tries-1) })
			return
		}
	}
}

// secondLook is the operator looking at the status again once every
// operation of the chaos phase has ended (the longest timeout after the
// heal), and cleaning up, once more, each group that waits for a cleanup.
// An operation that ran across the heal's cleanup (a stop that hung on a
// slow host, then timed out) can fail after it; under block, stop-only,
// disable and the like that failure waits for an administrator, as it
// should, and a real one would answer it. Only groups that say so are
// cleaned up, and the count is in the coverage.
func secondLook(t *simTarget, m *model.Model, cov *Coverage) {
	mg := t.c.Manager()
	if mg == nil {
		return
	}
	waits := map[string]bool{} // read once: a scan of the placements per group is groups² at 10,000 groups
	for _, pl := range mg.Status().Placements {
		waits[pl.Group] = waits[pl.Group] || pl.AwaitsCleanup
	}
	for _, g := range m.Groups {
		if waits[g.ID] {
			cov.SecondCleanups++
			_ = faults.Apply(t, faults.Step{Fault: faults.Fault{Kind: faults.AdminCleanup, Group: g.ID}})
		}
	}
}

// whyNot says why the cluster is not healthy, "" when it is: the manager
// is idle with every host online, and every group runs, in truth, on
// exactly its number of instances of allowed hosts. It scans everything;
// the heal phase asks a truthWatch after each event and this only for the
// message.
func whyNot(c *cluster.Cluster, m *model.Model) string {
	mg := c.Manager()
	if mg == nil {
		return "no manager"
	}
	if mg.Deposed() {
		return "manager deposed"
	}
	for _, h := range m.HostNames() {
		if st := mg.HostState(h); st != planner.Online {
			return fmt.Sprintf("host %s is %s", h, st)
		}
	}
	for _, g := range m.Groups {
		for _, r := range g.Resources() {
			var on []string
			for _, h := range m.HostNames() {
				if c.Running(h, r) {
					on = append(on, h)
				}
			}
			if len(on) != g.Placement.MaxInstances {
				return fmt.Sprintf("%s runs on %v", r, on)
			}
			if p := c.PromotedOn(r); g.Placement.Clone.Promotable && len(p) != g.Placement.Clone.PromotedMax {
				return fmt.Sprintf("%s is promoted on %v, wanted %d promoted", r, p, g.Placement.Clone.PromotedMax)
			}
			for _, h := range on {
				if _, ok := g.DomainPriority(h); !ok && g.Placement.Domain.Restricted {
					return fmt.Sprintf("%s runs on %s, outside its domain", r, h)
				}
			}
		}
	}
	if !mg.Idle() {
		return "manager still busy"
	}
	return ""
}

// whyNotNow is whyNot on the configuration running, with what runs that
// it does not have once a change was applied.
func whyNotNow(c *cluster.Cluster, t *simTarget, m *model.Model) string {
	why := whyNot(c, t.model(m))
	if t.configApplies > 0 && why == "" {
		why = staleTruth(c)
	}
	return why
}

// leaderActs are the replicas' acts, for the leadership judge.
func leaderActs(c *cluster.Cluster) []check.LeaderAct {
	var out []check.LeaderAct
	for _, a := range c.LeaderActs() {
		out = append(out, check.LeaderAct{At: a.At, Name: a.Name, Rev: int64(a.Rev), Epoch: uint64(a.Epoch), What: a.What})
	}
	return out
}

// tenures are the store's leaderships, for the leadership judge.
func tenures(c *cluster.Cluster) []check.Tenure {
	var out []check.Tenure
	for _, t := range c.Tenures() {
		out = append(out, check.Tenure{Rev: t.Rev, Name: t.Name, From: t.From, To: t.To})
	}
	return out
}

// takeovers measures each crash of an acting leader: the time from the
// kill -9 to the first act of a later leadership.
func takeovers(crashes []cluster.LeaderCrash, acts []cluster.LeaderAct) []time.Duration {
	var out []time.Duration
	for _, cr := range crashes {
		for _, a := range acts {
			if a.Rev > cr.Rev && a.At.After(cr.At) {
				out = append(out, a.At.Sub(cr.At))
				break
			}
		}
	}
	return out
}

// checkReports judges the reports of the requests accepted (ids, in
// order, "" for a refused one): each must be closed by the end, and known
// to the manager unless more than manager.MaxReports were opened after it,
// since the manager forgets the oldest beyond that bound (the heal phase of
// a 256-host cluster asks over a thousand clears and unstandbys at once).
func checkReports(now time.Time, ids []string, report func(id string) (manager.Report, bool)) []check.Violation {
	var out []check.Violation
	newer := 0 // reports opened after ids[i]
	for i := len(ids) - 1; i >= 0 && newer < manager.MaxReports; i-- {
		id := ids[i]
		if id == "" {
			continue
		}
		newer++
		switch rep, ok := report(id); {
		case !ok:
			out = append(out, check.Violation{At: now, Checker: "reports", Message: fmt.Sprintf("report %s was lost", id)})
		case rep.State != manager.ReportClosed:
			out = append(out, check.Violation{At: now, Checker: "reports",
				Message: fmt.Sprintf("report %s (%s) never closed", id, rep.Request)})
		}
	}
	return out
}
