// Package manager is the cluster manager's state machine: it tracks hosts
// through their heartbeats, learns every resource's state from probes and
// operation results, plans with core/planner, carries transitions out by
// sending commands to the host agents, fences lost hosts through
// core/fencer before recovering their groups, applies on-fail and recovery
// policies, serves administrative requests with reports, and keeps a durable
// event log.
//
// Reconciliation is level-triggered, as in Kubernetes controllers: the
// planner always works from the observed state, and the manager plans again
// whenever nothing is in flight. An event that invalidates the current
// transition (a failure, a lost host, an admin request) stops new actions
// from being dispatched; once those in flight end, it plans afresh.
package manager

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/eventlog"
	"github.com/basalt-ha/basalt/core/fencer"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

// Bounds on what the manager keeps in memory.
const (
	maxEvents  = 1024
	maxReports = 1024
)

// opSlack is added to an operation's timeout before the manager gives up on
// hearing its result: the agent enforces the timeout and needs time to
// report.
const opSlack = 10 * time.Second

// Fence retry backoff, doubling from min to max: a failed fence blocks
// recovery and is retried, never guessed around.
const (
	fenceRetryMin = 5 * time.Second
	fenceRetryMax = 2 * time.Minute
)

// Config tunes a manager.
type Config struct {
	Model *model.Model
	// Canaries: known defects the simulator injects to show its checkers
	// catch them. Never set in production.
	SkipFence bool // recover a lost host's groups without waiting for the fence
	NoProbe   bool // treat unprobed resources as stopped
}

type hostInfo struct {
	name     string
	state    planner.HostState
	pending  bool
	standby  bool
	lastSeen time.Time
	// talking: heard from within the dead timeout.
	talking   bool
	deadTimer effect.TimerID
	// fencing
	fencing      bool
	fenceFails   int
	retryAt      time.Time
	retryTimer   effect.TimerID
	fenceFailure string
}

// pendingOp is a command in flight.
type pendingOp struct {
	action   planner.Action // Kind "" for commands outside a transition
	host     string
	resource string
	timer    effect.TimerID
	// monitor setups stay registered after their first result: every
	// later change of the recurring monitor comes back with this op.
	monitor   int
	recurring bool
	answered  bool
}

type transition struct {
	actions []planner.Action
	state   []actionState
	stale   bool
}

type actionState int

const (
	waiting actionState = iota
	running
	succeeded
	failed
)

// Manager is the manager state machine.
type Manager struct {
	cfg       Config
	m         *model.Model
	epoch     proto.Epoch
	deposed   bool
	nextOp    proto.OpID
	nextTimer effect.TimerID
	hosts     map[string]*hostInfo
	observed  map[string]map[string]planner.Observed
	failures  map[string]map[string]planner.Failure
	fatal     map[string]string
	cons      planner.Constraints
	trans     *transition
	ops       map[proto.OpID]*pendingOp
	opTimers  map[effect.TimerID]proto.OpID
	fencer    *fencer.Fencer
	fenceAct  map[string]int // host -> action index of the current transition's fence
	reports   map[string]*Report
	repOrder  []string
	nextRep   int
	events    []Event
	seq       uint64
	expiry    effect.TimerID
	lastPlan  planner.Transition
	planned   bool
}

// New returns a manager for the configured cluster. Start must be called
// before any other input.
func New(cfg Config) *Manager {
	mg := &Manager{
		cfg: cfg, m: cfg.Model,
		hosts:    map[string]*hostInfo{},
		observed: map[string]map[string]planner.Observed{},
		failures: map[string]map[string]planner.Failure{},
		fatal:    map[string]string{},
		cons: planner.Constraints{Moves: map[string]planner.Move{}, TargetRoles: map[string]model.Role{},
			Unmanaged: map[string]bool{}, Blocked: map[string]bool{}},
		ops: map[proto.OpID]*pendingOp{}, opTimers: map[effect.TimerID]proto.OpID{},
		fenceAct: map[string]int{}, reports: map[string]*Report{},
	}
	mg.fencer = fencer.New(cfg.Model, fencer.Hooks{
		NextOp: mg.op, NextTimer: mg.timer, Epoch: func() proto.Epoch { return mg.epoch },
	})
	for _, h := range cfg.Model.Hosts {
		mg.hosts[h.Name] = &hostInfo{name: h.Name, state: planner.Unclean, pending: true}
	}
	for _, r := range cfg.Model.Resources {
		mg.observed[r.ID] = map[string]planner.Observed{}
	}
	return mg
}

func (mg *Manager) op() proto.OpID {
	mg.nextOp++
	return mg.nextOp
}

func (mg *Manager) timer() effect.TimerID {
	mg.nextTimer++
	return mg.nextTimer
}

// DecodeEpoch parses a persisted epoch record (proto.DecodeEpoch, the
// codec the agents' records share).
func DecodeEpoch(data []byte) (proto.Epoch, error) { return proto.DecodeEpoch(data) }

// Start begins a new incarnation: the epoch after the persisted one is made
// durable before anything is sent, the event log's records (payloads as
// eventlog.Decode returns them) are replayed to rebuild durable decisions,
// and every host gets the dead timeout to say hello before it is treated as
// lost. Running resources are never stopped by a restart: they are probed
// and adopted.
func (mg *Manager) Start(now time.Time, persisted proto.Epoch, records [][]byte) ([]effect.Effect, error) {
	for i, rec := range records {
		var e Event
		if err := json.Unmarshal(rec, &e); err != nil {
			return nil, fmt.Errorf("event log record %d: %w", i, err)
		}
		mg.replay(e)
	}
	mg.epoch = persisted + 1
	effs := []effect.Effect{effect.Persist{Name: EpochRecord, Data: proto.EncodeEpoch(mg.epoch)}}
	effs = append(effs, mg.event(now, Event{Kind: "manager-started", Message: fmt.Sprintf("epoch %d", mg.epoch)})...)
	for _, h := range mg.m.Hosts {
		hi := mg.hosts[h.Name]
		hi.deadTimer = mg.timer()
		effs = append(effs, effect.SetTimer{ID: hi.deadTimer, At: now.Add(mg.m.Cluster.DeadTimeout)})
	}
	return effs, nil
}

// Epoch is the manager's current epoch.
func (mg *Manager) Epoch() proto.Epoch { return mg.epoch }

// Deposed reports whether an agent has told the manager that a newer one
// exists; a deposed manager sends nothing more.
func (mg *Manager) Deposed() bool { return mg.deposed }

// Receive handles a message from an agent.
func (mg *Manager) Receive(now time.Time, msg effect.Message) []effect.Effect {
	if mg.deposed {
		return nil
	}
	switch m := msg.(type) {
	case proto.Hello:
		return mg.hello(now, m)
	case proto.Heartbeat:
		if m.Epoch > mg.epoch {
			return mg.depose(now, m.Host, m.Epoch)
		}
		return mg.seen(now, m.Host)
	case proto.OpResult:
		if m.Epoch != mg.epoch {
			return nil // a previous incarnation's command
		}
		effs := mg.seen(now, m.Host)
		return append(effs, mg.opResult(now, m)...)
	case proto.FenceResult:
		if m.Epoch != mg.epoch {
			return nil
		}
		effs := mg.seen(now, m.Host)
		if mg.fencer.OwnsOp(m.Op) {
			effs = append(effs, mg.fenceEffects(now, mg.fencer.Result(now, m))...)
		} else if p, ok := mg.ops[m.Op]; ok && m.Action == proto.FenceMonitor {
			delete(mg.ops, m.Op)
			delete(mg.opTimers, p.timer)
			effs = append(effs, effect.CancelTimer{ID: p.timer})
			mg.fencer.DeviceMonitored(m.Device, m.Host, m.RC == 0)
		}
		return effs
	case proto.Refused:
		if m.Epoch != mg.epoch {
			return nil // refused a command of another incarnation: not ours
		}
		if m.Stale {
			return mg.depose(now, m.Host, 0)
		}
		effs := mg.seen(now, m.Host)
		if p, ok := mg.ops[m.Op]; ok {
			effs = append(effs, mg.failPending(now, m.Op, p, "refused by "+m.Host+": "+m.Reason)...)
		}
		return append(effs, mg.reconcile(now)...)
	}
	return nil
}

func (mg *Manager) depose(now time.Time, host string, seen proto.Epoch) []effect.Effect {
	mg.deposed = true
	msg := fmt.Sprintf("%s has seen a newer manager epoch; this manager (epoch %d) stops acting", host, mg.epoch)
	if seen > 0 {
		msg = fmt.Sprintf("%s has seen manager epoch %d, newer than ours (%d); this manager stops acting", host, seen, mg.epoch)
	}
	return append([]effect.Effect{effect.Log{Level: slog.LevelError, Msg: msg}}, mg.event(now, Event{Kind: "deposed", Host: host, Message: msg})...)
}

// hello: an agent (re)started. Whatever it ran before, its LRM may have
// forgotten; its resources are re-probed.
func (mg *Manager) hello(now time.Time, m proto.Hello) []effect.Effect {
	hi, ok := mg.hosts[m.Host]
	if !ok {
		return []effect.Effect{effect.Log{Level: slog.LevelWarn, Msg: "hello from an unknown host", Attrs: []slog.Attr{slog.String("host", m.Host)}}}
	}
	if m.Epoch > mg.epoch {
		return mg.depose(now, m.Host, m.Epoch)
	}
	var effs []effect.Effect
	if hi.state == planner.Online {
		for _, r := range mg.m.Resources {
			delete(mg.observed[r.ID], m.Host)
		}
		// Commands sent to the old agent will never be answered.
		for _, id := range sortedOps(mg.ops) {
			if p := mg.ops[id]; p.host == m.Host {
				effs = append(effs, mg.failPending(now, id, p, "agent restarted")...)
			}
		}
		effs = append(effs, mg.event(now, Event{Kind: "agent-restarted", Host: m.Host})...)
	}
	effs = append(effs, mg.seen(now, m.Host)...)
	// Verify every fence device from this host, so that fencing can prefer
	// devices known to answer.
	for _, d := range mg.m.FenceDevices {
		op := mg.op()
		t := mg.timer()
		mg.ops[op] = &pendingOp{host: m.Host, timer: t}
		mg.opTimers[t] = op
		effs = append(effs,
			effect.Send{To: m.Host, Msg: proto.FenceExec{Epoch: mg.epoch, Op: op, Device: d.ID, Agent: d.Agent, Params: d.Params,
				Action: proto.FenceMonitor, Timeout: mg.m.Cluster.FenceTimeout}},
			effect.SetTimer{ID: t, At: now.Add(mg.m.Cluster.FenceTimeout + opSlack)})
	}
	return append(effs, mg.reconcile(now)...)
}

// seen records a sign of life from host.
func (mg *Manager) seen(now time.Time, host string) []effect.Effect {
	hi, ok := mg.hosts[host]
	if !ok {
		return nil
	}
	hi.lastSeen = now
	effs := []effect.Effect{effect.SetTimer{ID: hi.deadTimer, At: now.Add(mg.m.Cluster.DeadTimeout)}}
	if !hi.talking {
		hi.talking = true
		mg.setOnline()
	}
	if hi.state == planner.Online {
		return effs
	}
	if hi.state == planner.Unclean && !hi.pending {
		// A lost host that speaks again is still fenced: its view of the
		// world is stale and it may act on it.
		return effs
	}
	was := "was " + string(hi.state)
	if hi.pending {
		was = "first contact since the manager started"
	}
	hi.state, hi.pending = planner.Online, false
	effs = append(effs, mg.event(now, Event{Kind: "host-online", Host: host, Message: was})...)
	mg.setOnline()
	mg.markStale()
	return append(effs, mg.reconcile(now)...)
}

// setOnline tells the fencer which hosts can run fence agents: those we
// hear from. An unclean host that talks again still counts: it must be
// fenced before its resources move, but its agent can fence others — were
// it excluded, hosts lost together could never fence one another.
func (mg *Manager) setOnline() {
	var online []string
	for _, h := range mg.m.Hosts {
		hi := mg.hosts[h.Name]
		if hi.state == planner.Online || hi.state == planner.Unclean && !hi.pending && hi.talking {
			online = append(online, h.Name)
		}
	}
	mg.fencer.SetOnline(online)
}

// TimerFired handles the manager's timers.
func (mg *Manager) TimerFired(now time.Time, id effect.TimerID) []effect.Effect {
	if mg.deposed {
		return nil
	}
	if mg.fencer.Owns(id) {
		return mg.fenceEffects(now, mg.fencer.TimerFired(now, id))
	}
	if op, ok := mg.opTimers[id]; ok {
		delete(mg.opTimers, id)
		p := mg.ops[op]
		if p.recurring && p.answered {
			return nil
		}
		effs := mg.failPending(now, op, p, "no result in time")
		return append(effs, mg.reconcile(now)...)
	}
	if id == mg.expiry {
		mg.expiry = 0
		mg.markStale()
		return mg.reconcile(now)
	}
	for _, h := range mg.m.Hosts {
		hi := mg.hosts[h.Name]
		switch id {
		case hi.deadTimer:
			return mg.deadline(now, hi)
		case hi.retryTimer:
			hi.retryTimer = 0
			mg.markStale()
			return mg.reconcile(now)
		}
	}
	return nil
}

// deadline: a host has been silent for the dead timeout.
func (mg *Manager) deadline(now time.Time, hi *hostInfo) []effect.Effect {
	if !hi.lastSeen.IsZero() && now.Sub(hi.lastSeen) < mg.m.Cluster.DeadTimeout {
		return nil // a heartbeat moved the deadline; this timer is stale
	}
	hi.talking = false
	mg.setOnline()
	if hi.state != planner.Online && !hi.pending {
		return nil
	}
	why := "silent for " + mg.m.Cluster.DeadTimeout.String()
	if hi.pending {
		why = "not heard from since the manager started"
	}
	hi.state, hi.pending = planner.Unclean, false
	mg.setOnline()
	var effs []effect.Effect
	for _, id := range sortedOps(mg.ops) {
		if p := mg.ops[id]; p.host == hi.name {
			effs = append(effs, mg.failPending(now, id, p, "host lost")...)
		}
	}
	effs = append(effs, effect.Log{Level: slog.LevelError, Msg: "host lost", Attrs: []slog.Attr{slog.String("host", hi.name), slog.String("why", why)}})
	effs = append(effs, mg.event(now, Event{Kind: "host-lost", Host: hi.name, Message: why})...)
	effs = append(effs, mg.fenceEffects(now, mg.fencer.ExecutorLost(now, hi.name))...)
	if mg.m.Cluster.Fencing && !mg.cfg.SkipFence && !hi.fencing && hi.retryTimer == 0 {
		// Fence at once rather than when the planner next runs: the
		// current transition may be busy, and every second a lost host
		// is not fenced is a second its groups are down.
		hi.fencing = true
		effs = append(effs, mg.event(now, Event{Kind: "fence-requested", Host: hi.name, Message: "host lost"})...)
		effs = append(effs, mg.fenceEffects(now, mg.fencer.Request(now, hi.name, proto.FenceOff, "manager"))...)
	}
	mg.markStale()
	return append(effs, mg.reconcile(now)...)
}

func (mg *Manager) markStale() {
	if mg.trans != nil {
		mg.trans.stale = true
	}
}

// failPending ends a command that will not be answered: its resource's
// state becomes unknown (to be probed) unless the host is lost, where the
// fence decides.
func (mg *Manager) failPending(now time.Time, id proto.OpID, p *pendingOp, why string) []effect.Effect {
	delete(mg.ops, id)
	var effs []effect.Effect
	if p.timer != 0 {
		delete(mg.opTimers, p.timer)
		effs = append(effs, effect.CancelTimer{ID: p.timer})
	}
	if p.resource != "" && !(p.recurring && p.answered) {
		if p.action.Kind == planner.Stop {
			// A stop we cannot confirm must be treated as failed: only a
			// fence makes the resource certainly stopped.
			mg.observed[p.resource][p.host] = planner.Observed{State: planner.StopFailed}
		} else {
			delete(mg.observed[p.resource], p.host)
		}
		effs = append(effs, mg.logRsc(slog.LevelWarn, p.resource, "operation lost", slog.String("host", p.host), slog.String("why", why)))
	}
	if p.recurring && p.answered {
		// The monitor is gone with its agent; what is known of the
		// resource stays as it is (or unknown, if the caller forgot it).
		if o, ok := mg.observed[p.resource][p.host]; ok {
			o.Monitored = false
			mg.observed[p.resource][p.host] = o
		}
	} else {
		mg.actionDone(p, false)
	}
	return effs
}

// actionDone records the end of a transition action.
func (mg *Manager) actionDone(p *pendingOp, ok bool) {
	if mg.trans == nil || p.action.Kind == "" {
		return
	}
	if p.action.ID < len(mg.trans.state) && mg.trans.actions[p.action.ID].Kind == p.action.Kind {
		if ok {
			mg.trans.state[p.action.ID] = succeeded
		} else {
			mg.trans.state[p.action.ID] = failed
			mg.trans.stale = true
		}
	}
}

// opResult handles a resource operation's result.
func (mg *Manager) opResult(now time.Time, m proto.OpResult) []effect.Effect {
	p, ok := mg.ops[m.Op]
	if !ok {
		return mg.unsolicited(now, m)
	}
	res := m.Result
	r, known := mg.m.Resource(p.resource)
	if !known {
		return nil
	}
	var effs []effect.Effect
	first := !p.answered
	if !p.recurring || res.Status == lrm.Cancelled {
		delete(mg.ops, m.Op)
		if p.timer != 0 {
			delete(mg.opTimers, p.timer)
			effs = append(effs, effect.CancelTimer{ID: p.timer})
		}
	} else if first && p.timer != 0 {
		delete(mg.opTimers, p.timer)
		effs = append(effs, effect.CancelTimer{ID: p.timer})
	}
	if res.Status == lrm.Cancelled {
		return effs
	}
	host := p.host
	obs := mg.observed[r.ID]
	okOutcome := !res.Failed()
	switch {
	case p.action.Kind == planner.Probe || (!p.recurring && res.Action == ocf.Monitor):
		switch res.Outcome {
		case ocf.Stopped:
			obs[host] = planner.Observed{State: planner.Stopped}
			if res.RC == ocf.ErrInstalled || res.Status == lrm.NotInstalled {
				mg.fail(now, r, host, true, "agent not installed")
			}
		case ocf.Success, ocf.Promoted, ocf.DegradedRunning:
			obs[host] = planner.Observed{State: planner.Running}
		default:
			obs[host] = planner.Observed{State: planner.Failed}
			effs = append(effs, mg.failure(now, r, host, res, model.OnFailRestart)...)
		}
		okOutcome = true // a probe that answers has done its job
	case res.Action == ocf.Start:
		if okOutcome {
			obs[host] = planner.Observed{State: planner.Running}
			effs = append(effs, mg.event(now, Event{Kind: "started", Host: host, Resource: r.ID, Name: r.Name})...)
		} else {
			obs[host] = planner.Observed{State: planner.Failed}
			// Start failure is fatal on that host (Pacemaker's default).
			mg.fail(now, r, host, true, res.ExitReason)
			effs = append(effs, mg.failure(now, r, host, res, r.Start.OnFail)...)
		}
	case res.Action == ocf.Stop:
		if okOutcome {
			obs[host] = planner.Observed{State: planner.Stopped}
			effs = append(effs, mg.event(now, Event{Kind: "stopped", Host: host, Resource: r.ID, Name: r.Name})...)
		} else {
			obs[host] = planner.Observed{State: planner.StopFailed}
			effs = append(effs, mg.event(now, Event{Kind: "stop-failed", Host: host, Resource: r.ID, Name: r.Name,
				Message: describe(res)})...)
			if r.Stop.OnFail == model.OnFailBlock || !mg.m.Cluster.Fencing {
				mg.cons.Blocked[r.ID] = true
				effs = append(effs, mg.event(now, Event{Kind: "blocked", Resource: r.ID, Name: r.Name, Flag: true})...)
			}
		}
	case res.Action == ocf.Monitor && p.recurring:
		if okOutcome {
			o := obs[host]
			if o.State == planner.Running || o.State == "" || first {
				obs[host] = planner.Observed{State: planner.Running, Monitored: true}
			}
		} else {
			mon := r.Monitors[p.monitor]
			obs[host] = planner.Observed{State: planner.Failed}
			effs = append(effs, mg.failure(now, r, host, res, mon.OnFail)...)
			if mon.OnFail == model.OnFailIgnore {
				obs[host] = planner.Observed{State: planner.Running, Monitored: true}
			}
			mg.markStale()
		}
		okOutcome = okOutcome || !first
	}
	if first || !p.recurring {
		mg.actionDone(p, okOutcome)
		if p.recurring {
			p.answered = true
		}
	}
	return append(effs, mg.reconcile(now)...)
}

func describe(res lrm.Result) string {
	s := fmt.Sprintf("%s %s (rc %d)", res.Status, res.RC, int(res.RC))
	if res.ExitReason != "" {
		s += ": " + res.ExitReason
	}
	return s
}

// fail records a failure of r on host (hard: ban the host for it).
func (mg *Manager) fail(now time.Time, r *model.Resource, host string, hard bool, why string) {
	if mg.failures[r.ID] == nil {
		mg.failures[r.ID] = map[string]planner.Failure{}
	}
	f := mg.failures[r.ID][host]
	f.Count++
	f.Last = now
	f.Hard = f.Hard || hard
	mg.failures[r.ID][host] = f
}

// failure applies an operation failure's consequences: fail counts, hard
// and fatal errors, and the on-fail and recovery policies.
func (mg *Manager) failure(now time.Time, r *model.Resource, host string, res lrm.Result, onFail model.OnFail) []effect.Effect {
	effs := []effect.Effect{mg.logRsc(slog.LevelWarn, r.ID, "operation failed", slog.String("host", host),
		slog.String("op", res.Key().String()), slog.String("result", describe(res)))}
	gid, _ := mg.m.GroupOf(r.ID)
	g, _ := mg.m.Group(gid)
	switch res.Outcome {
	case ocf.FatalFailure:
		mg.fatal[r.ID] = describe(res)
		effs = append(effs, mg.event(now, Event{Kind: "fatal", Resource: r.ID, Name: r.Name, Message: describe(res)})...)
		return effs
	case ocf.HardFailure:
		mg.fail(now, r, host, true, describe(res))
		effs = append(effs, mg.event(now, Event{Kind: "failure", Host: host, Resource: r.ID, Name: r.Name, Count: mg.failures[r.ID][host].Count,
			Flag: true, Message: describe(res)})...)
		return effs
	}
	if onFail == model.OnFailIgnore {
		return effs
	}
	if res.Action != ocf.Start {
		mg.fail(now, r, host, false, describe(res))
	}
	effs = append(effs, mg.event(now, Event{Kind: "failure", Host: host, Resource: r.ID, Name: r.Name,
		Count: mg.failures[r.ID][host].Count, Flag: mg.failures[r.ID][host].Hard, Message: res.Key().String() + ": " + describe(res)})...)
	switch onFail {
	case model.OnFailBlock:
		mg.cons.Blocked[r.ID] = true
		effs = append(effs, mg.event(now, Event{Kind: "blocked", Resource: r.ID, Name: r.Name, Flag: true})...)
	case model.OnFailStop:
		mg.cons.TargetRoles[gid] = model.RoleStopped
		effs = append(effs, mg.event(now, Event{Kind: "target-role", Group: gid, Role: string(model.RoleStopped), Message: "on-fail=stop"})...)
	case model.OnFailFence:
		if mg.m.Cluster.Fencing {
			mg.observed[r.ID][host] = planner.Observed{State: planner.StopFailed} // forces the fence
		}
	case model.OnFailStandby:
		if hi := mg.hosts[host]; hi != nil && !hi.standby {
			hi.standby = true
			effs = append(effs, mg.event(now, Event{Kind: "standby", Host: host, Flag: true, Message: "on-fail=standby"})...)
		}
	}
	if g != nil && g.Placement.Recovery == model.RecoveryDisable {
		mg.cons.TargetRoles[gid] = model.RoleStopped
		effs = append(effs, mg.event(now, Event{Kind: "target-role", Group: gid, Role: string(model.RoleStopped), Message: "recovery=disable"})...)
	}
	return effs
}

// fenceEffects turns the fencer's Done effects into state changes.
func (mg *Manager) fenceEffects(now time.Time, effs []effect.Effect) []effect.Effect {
	out := make([]effect.Effect, 0, len(effs))
	reconcile := false
	for _, e := range effs {
		d, ok := e.(fencer.Done)
		if !ok {
			out = append(out, e)
			continue
		}
		reconcile = true
		hi := mg.hosts[d.Target]
		if hi == nil {
			continue
		}
		hi.fencing = false
		if d.OK {
			hi.fenceFails, hi.fenceFailure = 0, ""
			mg.hostFenced(hi)
			out = append(out, mg.event(now, Event{Kind: "fenced", Host: d.Target, Message: fmt.Sprintf("by %v", d.Devices)})...)
		} else {
			hi.fenceFails++
			backoff := fenceRetryMin << min(hi.fenceFails-1, 5)
			backoff = min(backoff, fenceRetryMax)
			hi.retryAt = now.Add(backoff)
			hi.fenceFailure = d.Reason
			hi.retryTimer = mg.timer()
			out = append(out, effect.SetTimer{ID: hi.retryTimer, At: hi.retryAt})
			out = append(out, mg.event(now, Event{Kind: "fence-failed", Host: d.Target,
				Message: fmt.Sprintf("%s; retrying in %s", d.Reason, backoff)})...)
		}
		if idx, ok := mg.fenceAct[d.Target]; ok && mg.trans != nil && idx < len(mg.trans.state) {
			if d.OK {
				mg.trans.state[idx] = succeeded
			} else {
				mg.trans.state[idx] = failed
				mg.trans.stale = true
			}
			delete(mg.fenceAct, d.Target)
		}
		mg.markStale()
	}
	if reconcile {
		out = append(out, mg.reconcile(now)...)
	}
	return out
}

// hostFenced: the host is confirmed off; nothing runs there.
func (mg *Manager) hostFenced(hi *hostInfo) {
	hi.state, hi.pending, hi.talking = planner.Offline, false, false
	for _, r := range mg.m.Resources {
		delete(mg.observed[r.ID], hi.name)
	}
	for _, id := range sortedOps(mg.ops) {
		if p := mg.ops[id]; p.host == hi.name {
			delete(mg.ops, id)
			delete(mg.opTimers, p.timer)
			if !(p.recurring && p.answered) {
				mg.actionDone(p, false)
			}
		}
	}
	mg.setOnline()
}

// input builds the planner's view.
func (mg *Manager) input(now time.Time) planner.Input {
	in := planner.Input{Model: mg.m, Now: now, Observed: mg.observed, Failures: mg.failures, Fatal: mg.fatal, Constraints: mg.cons}
	for _, h := range mg.m.Hosts {
		hi := mg.hosts[h.Name]
		in.Hosts = append(in.Hosts, planner.Host{Name: h.Name, State: hi.state, Standby: hi.standby})
	}
	if mg.cfg.NoProbe {
		// Canary: what is not known is assumed stopped.
		obs := map[string]map[string]planner.Observed{}
		for _, r := range mg.m.Resources {
			obs[r.ID] = map[string]planner.Observed{}
			for _, h := range in.Hosts {
				if o, ok := mg.observed[r.ID][h.Name]; ok {
					obs[r.ID][h.Name] = o
				} else if h.State == planner.Online {
					obs[r.ID][h.Name] = planner.Observed{State: planner.Stopped}
				}
			}
		}
		in.Observed = obs
	}
	return in
}

// reconcile plans when nothing is in flight, and dispatches every action
// whose dependencies are met.
func (mg *Manager) reconcile(now time.Time) []effect.Effect {
	if mg.deposed {
		return nil
	}
	var effs []effect.Effect
	if mg.trans != nil && mg.inFlight() == 0 && (mg.trans.stale || mg.trans.finished()) {
		mg.trans = nil
	}
	if mg.trans == nil {
		in := mg.input(now)
		t := planner.Plan(in)
		mg.lastPlan, mg.planned = t, true
		effs = append(effs, mg.closeReports(now, t)...)
		if exp := planner.Expiry(in); !exp.IsZero() {
			mg.expiry = mg.timer()
			effs = append(effs, effect.SetTimer{ID: mg.expiry, At: exp})
		}
		if t.Empty() {
			return effs
		}
		mg.trans = &transition{actions: t.Actions, state: make([]actionState, len(t.Actions))}
		mg.fenceAct = map[string]int{}
	}
	if mg.trans.stale {
		return effs
	}
	for i, a := range mg.trans.actions {
		if mg.trans.state[i] != waiting || !mg.ready(a) {
			continue
		}
		effs = append(effs, mg.dispatch(now, a)...)
	}
	// Everything left waits for something that failed or cannot run yet
	// (a pending host's fence, a fence in backoff): plan again when the
	// world changes, not now.
	return effs
}

func (t *transition) finished() bool {
	for _, s := range t.state {
		if s == waiting || s == running {
			return false
		}
	}
	return true
}

func (mg *Manager) inFlight() int {
	n := 0
	if mg.trans != nil {
		for _, s := range mg.trans.state {
			if s == running {
				n++
			}
		}
	}
	return n
}

func (mg *Manager) ready(a planner.Action) bool {
	for _, d := range a.After {
		if mg.trans.state[d] != succeeded {
			return false
		}
	}
	if a.Kind == planner.Fence {
		hi := mg.hosts[a.Host]
		if hi.pending || hi.retryTimer != 0 {
			return false // a pending host gets its dead timeout; a failed fence its backoff
		}
	}
	return true
}

// dispatch carries out one action.
func (mg *Manager) dispatch(now time.Time, a planner.Action) []effect.Effect {
	mg.trans.state[a.ID] = running
	if a.Kind == planner.Fence {
		hi := mg.hosts[a.Host]
		mg.fenceAct[a.Host] = a.ID
		if mg.cfg.SkipFence {
			// Canary: believe the host is gone without confirmation.
			mg.trans.state[a.ID] = succeeded
			hi.fencing = true
			effs := mg.fencer.Request(now, a.Host, proto.FenceOff, "manager")
			mg.hostFenced(hi)
			delete(mg.fenceAct, a.Host)
			return mg.fenceEffects(now, effs)
		}
		if hi.fencing {
			return nil
		}
		hi.fencing = true
		effs := []effect.Effect{effect.Log{Level: slog.LevelWarn, Msg: "fencing host", Attrs: []slog.Attr{slog.String("host", a.Host), slog.String("why", a.Reason)}}}
		effs = append(effs, mg.event(now, Event{Kind: "fence-requested", Host: a.Host, Message: a.Reason})...)
		return append(effs, mg.fenceEffects(now, mg.fencer.Request(now, a.Host, proto.FenceOff, "manager"))...)
	}
	r, _ := mg.m.Resource(a.Resource)
	req := lrm.OpRequest{Resource: r.ID}
	switch a.Kind {
	case planner.Probe:
		req.Action, req.Timeout = ocf.Monitor, r.Start.Timeout
		if len(r.Monitors) > 0 {
			req.Timeout = r.Monitors[0].Timeout
		}
	case planner.Start:
		req.Action, req.Timeout = ocf.Start, r.Start.Timeout
	case planner.Stop:
		req.Action, req.Timeout = ocf.Stop, r.Stop.Timeout
	case planner.Monitor:
		mon := r.Monitors[a.Monitor]
		req.Action, req.Interval, req.Timeout, req.Depth = ocf.Monitor, mon.Interval, mon.Timeout, mon.Depth
	}
	op := mg.op()
	t := mg.timer()
	mg.ops[op] = &pendingOp{action: a, host: a.Host, resource: r.ID, timer: t, monitor: a.Monitor, recurring: a.Kind == planner.Monitor}
	mg.opTimers[t] = op
	return []effect.Effect{
		effect.Send{To: a.Host, Msg: proto.Exec{Epoch: mg.epoch, Op: op,
			Resource: lrm.Resource{ID: r.ID, Name: r.Name, Agent: r.Agent, Params: r.Params}, Request: req}},
		effect.SetTimer{ID: t, At: now.Add(req.Timeout + opSlack)},
		mg.logRsc(slog.LevelInfo, r.ID, "dispatching", slog.String("action", string(a.Kind)), slog.String("host", a.Host)),
	}
}

// event appends to the event log (durably) and the in-memory list.
func (mg *Manager) event(now time.Time, e Event) []effect.Effect {
	mg.seq++
	e.Seq, e.Time = mg.seq, now
	mg.events = append(mg.events, e)
	if len(mg.events) > maxEvents {
		mg.events = slices.Delete(mg.events, 0, len(mg.events)-maxEvents)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return []effect.Effect{effect.Log{Level: slog.LevelError, Msg: "encode event", Attrs: []slog.Attr{slog.String("err", err.Error())}}}
	}
	rec, err := eventlog.Encode(data)
	if err != nil {
		return []effect.Effect{effect.Log{Level: slog.LevelError, Msg: "encode event", Attrs: []slog.Attr{slog.String("err", err.Error())}}}
	}
	return []effect.Effect{effect.Persist{Name: EventLog, Data: rec, Append: true}}
}

// replay rebuilds durable decisions from one logged event.
func (mg *Manager) replay(e Event) {
	mg.seq = max(mg.seq, e.Seq)
	mg.events = append(mg.events, e)
	if len(mg.events) > maxEvents {
		mg.events = slices.Delete(mg.events, 0, len(mg.events)-maxEvents)
	}
	switch e.Kind {
	case "move":
		mg.cons.Moves[e.Group] = planner.Move{Host: e.Host, Until: e.Until}
	case "ban":
		mg.cons.Bans = append(mg.cons.Bans, planner.Ban{Group: e.Group, Host: e.Host, Until: e.Until})
	case "clear":
		delete(mg.cons.Moves, e.Group)
		mg.cons.Bans = slices.DeleteFunc(mg.cons.Bans, func(b planner.Ban) bool { return b.Group == e.Group })
	case "target-role":
		mg.cons.TargetRoles[e.Group] = model.Role(e.Role)
	case "managed":
		mg.cons.Unmanaged[e.Group] = !e.Flag
	case "standby":
		if hi := mg.hosts[e.Host]; hi != nil {
			hi.standby = e.Flag
		}
	case "maintenance":
		mg.cons.Maintenance = e.Flag
	case "blocked":
		if e.Flag {
			mg.cons.Blocked[e.Resource] = true
		}
	case "fatal":
		mg.fatal[e.Resource] = e.Message
	case "failure":
		if mg.failures[e.Resource] == nil {
			mg.failures[e.Resource] = map[string]planner.Failure{}
		}
		mg.failures[e.Resource][e.Host] = planner.Failure{Count: e.Count, Last: e.Time, Hard: e.Flag}
	case "cleanup":
		mg.cleanup(e.Resource)
	case "report-opened":
		rep := &Report{ID: e.Report, Request: e.Message, State: ReportOpen, Created: e.Time, Results: map[string]string{}}
		if e.Group != "" {
			rep.Groups = strings.Split(e.Group, ",")
		}
		if _, dup := mg.reports[e.Report]; !dup {
			mg.repOrder = append(mg.repOrder, e.Report)
		}
		mg.reports[e.Report] = rep
	case "report-closed":
		if rep := mg.reports[e.Report]; rep != nil {
			rep.State, rep.Closed = ReportClosed, e.Time
		}
	}
}

func (mg *Manager) cleanup(rsc string) {
	delete(mg.failures, rsc)
	delete(mg.fatal, rsc)
	delete(mg.cons.Blocked, rsc)
}

func (mg *Manager) logRsc(level slog.Level, rsc string, msg string, attrs ...slog.Attr) effect.Log {
	name := rsc
	if r, ok := mg.m.Resource(rsc); ok {
		name = r.Name
	}
	return effect.Log{Level: level, Msg: msg, Attrs: append([]slog.Attr{slog.String("resource", rsc), slog.String("name", name)}, attrs...)}
}

func sortedOps(m map[proto.OpID]*pendingOp) []proto.OpID {
	ids := make([]proto.OpID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// unsolicited takes in a probe a restarted agent ran on its own (Op 0): a
// fresh observation is welcome, as long as no command of ours about that
// resource on that host is in flight (its result decides then).
func (mg *Manager) unsolicited(now time.Time, m proto.OpResult) []effect.Effect {
	res := m.Result
	if m.Op != 0 || res.Action != ocf.Monitor || res.Interval != 0 {
		return nil
	}
	if _, ok := mg.m.Resource(res.Resource); !ok {
		return nil
	}
	for _, p := range mg.ops {
		if p.resource == res.Resource && p.host == m.Host {
			return nil
		}
	}
	if _, known := mg.observed[res.Resource][m.Host]; known {
		return nil // ours is as fresh: the manager probed after the hello
	}
	switch res.Outcome {
	case ocf.Stopped:
		mg.observed[res.Resource][m.Host] = planner.Observed{State: planner.Stopped}
	case ocf.Success, ocf.Promoted, ocf.DegradedRunning:
		mg.observed[res.Resource][m.Host] = planner.Observed{State: planner.Running}
	default:
		return nil // let the manager's own probe judge a failure
	}
	mg.markStale()
	return mg.reconcile(now)
}
