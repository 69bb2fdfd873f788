// Package fencer coordinates fencing, after Pacemaker's fencer: a request to
// fence a target is served level by level of the target's fencing topology;
// each device of a level is run by a peer host (never the target), preferring
// a peer that has verified the device; an "off" is trusted only once a status
// check confirms the power is off; a failed level falls to the next one; the
// outcome is recorded in the history and reported to the requester.
// Duplicate requests for the same target merge into one.
//
// An operator's power-on (basalt power on) is served the same way, level by
// level, its "on" trusted once a status check says the power is on; it never
// merges with a fence, and a fence requested meanwhile supersedes it. An
// operator's word that a host is down (Confirm) ends its fencing without any
// device.
//
// The fencer runs inside the manager and is sans-I/O: it asks for fence
// agents to be run by sending proto.FenceExec to hosts, and learns the
// outcome from proto.FenceResult.
package fencer

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proto"
)

// historyLen bounds the fencing history kept in memory.
const historyLen = 256

// resultSlack is added to a device's timeout before the fencer gives up on
// hearing its result: the agent enforces the timeout itself and needs a
// moment to report.
const resultSlack = 5 * time.Second

// LevelBudget is the longest one fencing level may take with devices that
// answer within fenceTimeout: the off or reboot, its status check, and one
// more status check asked when an answer never came (TimerFired).
func LevelBudget(fenceTimeout time.Duration) time.Duration {
	return 3 * (fenceTimeout + resultSlack)
}

// Done is the effect that ends a fence request.
type Done struct {
	Target string
	Action proto.FenceAction
	OK     bool
	Reason string
	// Devices lists the devices that fenced the target (on success).
	Devices []string
}

// Describe implements effect.Effect.
func (d Done) Describe() string {
	return fmt.Sprintf("fence-done target=%s action=%s ok=%t devices=%v reason=%q", d.Target, d.Action, d.OK, d.Devices, d.Reason)
}

// HistoryEntry is one finished fence request.
type HistoryEntry struct {
	Target    string
	Action    proto.FenceAction
	Origins   []string
	Requested time.Time
	Completed time.Time
	OK        bool
	Reason    string
	Devices   []string
	Executors []string
}

// Hooks are what the fencer needs from the machine that embeds it: unique
// operation and timer IDs, from the embedder's own counters, so that its
// messages and timers share one namespace with the embedder's.
type Hooks struct {
	NextOp    func() proto.OpID
	NextTimer func() effect.TimerID
	// Epoch stamps every command.
	Epoch func() proto.Epoch
	// Conn addresses a command to the connection the manager knows for
	// the executor (nil: none, for tests of the fencer alone).
	Conn func(host string) effect.ConnID
}

type step int

const (
	stepFence  step = iota // running the off/reboot action
	stepStatus             // confirming the power state
)

type deviceRun struct {
	device   string
	executor string
	op       proto.OpID
	timer    effect.TimerID
	step     step
	done     bool
	// askedAgain: an answer of this run never came and its status was
	// asked instead; a second silence fails the level.
	askedAgain bool
}

type request struct {
	target    string
	action    proto.FenceAction
	origins   []string
	requested time.Time
	levels    [][]string
	level     int
	runs      []*deviceRun
	reasons   []string
	executors []string
	deadline  effect.TimerID
}

// Fencer is the fencing coordinator state machine.
type Fencer struct {
	model    *model.Model
	hooks    Hooks
	online   []string                   // peers that may run fence agents, sorted
	verified map[string]map[string]bool // device -> host -> last monitor ok
	active   map[string]*request        // by target
	byOp     map[proto.OpID]*request
	byTimer  map[effect.TimerID]*request
	history  []HistoryEntry
}

// New returns a fencer for the cluster described by m.
func New(m *model.Model, hooks Hooks) *Fencer {
	return &Fencer{
		model: m, hooks: hooks, verified: map[string]map[string]bool{},
		active: map[string]*request{}, byOp: map[proto.OpID]*request{}, byTimer: map[effect.TimerID]*request{},
	}
}

// SetModel replaces the configuration the fencer reads its devices and
// topology from (a configuration applied while no fence is in progress;
// what it verified of the devices that stay is kept).
func (f *Fencer) SetModel(m *model.Model) { f.model = m }

// SetOnline tells the fencer which hosts can run fence agents now.
func (f *Fencer) SetOnline(hosts []string) {
	f.online = slices.Sorted(slices.Values(hosts))
}

// DeviceMonitored records a device monitor's result on a host: a verified
// device is preferred when choosing who runs it.
func (f *Fencer) DeviceMonitored(device, host string, ok bool) {
	if f.verified[device] == nil {
		f.verified[device] = map[string]bool{}
	}
	f.verified[device][host] = ok
}

// Pending reports whether a request for target is in progress.
func (f *Fencer) Pending(target string) bool { _, ok := f.active[target]; return ok }

// History returns the finished requests, oldest first.
func (f *Fencer) History() []HistoryEntry { return slices.Clone(f.history) }

// Request asks for target to be fenced (off or reboot), or powered on (on).
// A request for a target already being fenced merges into it: one fencing
// serves every requester. A power-on never merges with a fence: one asked
// during a fence fails at once, and a fence asked during a power-on
// supersedes it (a host that must be fenced is never left to boot).
func (f *Fencer) Request(now time.Time, target string, action proto.FenceAction, origin string) []effect.Effect {
	var effs []effect.Effect
	if r, ok := f.active[target]; ok {
		switch {
		case (r.action == proto.FenceOn) == (action == proto.FenceOn):
			if !slices.Contains(r.origins, origin) {
				r.origins = append(r.origins, origin)
			}
			return []effect.Effect{f.log(slog.LevelInfo, r, "fence request merged with the one in progress", slog.String("origin", origin))}
		case action == proto.FenceOn:
			return []effect.Effect{Done{Target: target, Action: action, Reason: fmt.Sprintf("a fence of %s is in progress", target)}}
		default:
			effs = f.finish(now, r, false, fmt.Sprintf("superseded by a fence request (%s)", origin))
		}
	}
	if action != proto.FenceOff && action != proto.FenceReboot && action != proto.FenceOn {
		return append(effs, Done{Target: target, Action: action, Reason: fmt.Sprintf("action %q cannot fence a host", action)})
	}
	r := &request{target: target, action: action, origins: []string{origin}, requested: now,
		levels: f.model.FencingLevels(target)}
	if len(r.levels) == 0 {
		return append(effs, f.finish(now, r, false, fmt.Sprintf("no fence device can fence %s", target))...)
	}
	f.active[target] = r
	// The whole request is bounded too: every level's devices in turn,
	// each with its status check.
	r.deadline = f.hooks.NextTimer()
	f.byTimer[r.deadline] = r
	total := time.Duration(len(r.levels)) * LevelBudget(f.model.Cluster.FenceTimeout)
	effs = append(effs,
		&effect.SetTimer{ID: r.deadline, At: now.Add(total)},
		f.log(slog.LevelWarn, r, r.what()+" requested", slog.String("origin", origin), slog.String("action", string(action))),
	)
	return append(effs, f.startLevel(now, r)...)
}

// Confirm ends target's fencing on an operator's word that its power is
// off (basalt host confirm-down, Pacemaker's stonith_admin --confirm): a
// request in progress succeeds without its devices (their late answers are
// ignored), a power-on in progress fails, and without a request one is
// recorded as done. Either way the history holds it with why, and a Done
// that succeeded, with no device, tells the requester.
func (f *Fencer) Confirm(now time.Time, target, origin, why string) []effect.Effect {
	var effs []effect.Effect
	r, ok := f.active[target]
	if ok && r.action == proto.FenceOn {
		effs = f.finish(now, r, false, "superseded by the operator's confirmation that the host is down")
		ok = false
	}
	if !ok {
		r = &request{target: target, action: proto.FenceOff, requested: now}
	}
	if !slices.Contains(r.origins, origin) {
		r.origins = append(r.origins, origin)
	}
	return append(effs, f.finishWith(now, r, true, why, nil)...)
}

// Executor is the peer that would run device against target now: never
// the target itself, preferably one that verified the device ("" when no
// peer is online). A power status query runs its device there.
func (f *Fencer) Executor(device, target string) string { return f.executor(device, target) }

// startLevel runs every device of the current level, falling through levels
// that cannot even start (no peer can run a device).
func (f *Fencer) startLevel(now time.Time, r *request) []effect.Effect {
	var effs []effect.Effect
	for ; r.level < len(r.levels); r.level++ {
		r.runs = nil
		ok := true
		for _, dev := range r.levels[r.level] {
			exec := f.executor(dev, r.target)
			if exec == "" {
				r.reasons = append(r.reasons, fmt.Sprintf("level %d: no peer can run device %s", r.level+1, dev))
				ok = false
				break
			}
			r.runs = append(r.runs, &deviceRun{device: dev, executor: exec})
		}
		if !ok {
			continue
		}
		for _, run := range r.runs {
			effs = append(effs, f.send(now, r, run, r.action)...)
		}
		return effs
	}
	return append(effs, f.finish(now, r, false, "every fencing level failed")...)
}

// executor picks the peer that runs device against target: never the target
// itself, preferably one that verified the device, then by name.
func (f *Fencer) executor(device, target string) string {
	best := ""
	for _, h := range f.online {
		if h == target {
			continue
		}
		if f.verified[device][h] {
			return h
		}
		if best == "" {
			best = h
		}
	}
	return best
}

func (f *Fencer) send(now time.Time, r *request, run *deviceRun, action proto.FenceAction) []effect.Effect {
	d, _ := f.model.Device(run.device)
	run.op = f.hooks.NextOp()
	run.timer = f.hooks.NextTimer()
	f.byOp[run.op] = r
	f.byTimer[run.timer] = r
	if !slices.Contains(r.executors, run.executor) {
		r.executors = append(r.executors, run.executor)
	}
	var conn effect.ConnID
	if f.hooks.Conn != nil {
		conn = f.hooks.Conn(run.executor)
	}
	return []effect.Effect{
		&effect.Send{To: run.executor, Conn: conn, Msg: proto.FenceExec{
			Epoch: f.hooks.Epoch(), Op: run.op, Device: d.ID, Agent: d.Agent, Params: d.Params,
			Action: action, Target: r.target, Plug: d.Plugs[r.target], Timeout: f.model.Cluster.FenceTimeout,
		}},
		&effect.SetTimer{ID: run.timer, At: now.Add(f.model.Cluster.FenceTimeout + resultSlack)},
	}
}

// Result handles a fence agent's report.
func (f *Fencer) Result(now time.Time, res proto.FenceResult) []effect.Effect {
	r, ok := f.byOp[res.Op]
	if !ok {
		return nil // late or foreign: the request already moved on
	}
	delete(f.byOp, res.Op)
	run := r.run(res.Op)
	if run == nil {
		return nil
	}
	delete(f.byTimer, run.timer)
	effs := []effect.Effect{&effect.CancelTimer{ID: run.timer}}
	switch {
	case run.step == stepFence && res.RC == 0 && r.action != proto.FenceReboot:
		// The agent says off (or on); trust it only when a status check
		// agrees.
		run.step = stepStatus
		return append(effs, f.send(now, r, run, proto.FenceStatus)...)
	case run.step == stepFence && res.RC == 0:
		run.done = true // reboot: the agent's own semantics confirm it
	case run.step == stepStatus && res.RC == confirmedRC(r.action):
		run.done = true // status: off (or on, for a power-on)
	default:
		why := fmt.Sprintf("device %s %s via %s: rc %d", run.device, map[step]string{stepFence: string(r.action), stepStatus: "status"}[run.step], run.executor, res.RC)
		if run.step == stepStatus && (res.RC == 0 || res.RC == 2) {
			why = statusDisagrees(run, r)
		}
		if res.Timeout {
			why += " (timed out)"
		}
		if said := ocf.FirstLine(res.Output, maxSaid); said != "" && res.RC != 0 {
			// The agent's (or the system's) own words: a missing program's
			// start error, a login failure. An rc alone names nothing.
			why += ": " + said
		}
		return append(effs, f.levelFailed(now, r, why)...)
	}
	for _, other := range r.runs {
		if !other.done {
			return effs
		}
	}
	var devices []string
	for _, run := range r.runs {
		devices = append(devices, run.device)
	}
	return append(effs, f.finishWith(now, r, true, "", devices)...)
}

// Fence agents' status exit codes (the fence agent API).
const (
	statusOn  = 0
	statusOff = 2
)

// confirmedRC is the status exit code that confirms a request's action:
// on for a power-on, off for everything else.
func confirmedRC(a proto.FenceAction) int {
	if a == proto.FenceOn {
		return statusOn
	}
	return statusOff
}

// statusDisagrees says why a status check failed a run: the power is not
// what the action asked for.
func statusDisagrees(run *deviceRun, r *request) string {
	did, is := "reported off", "still on"
	if r.action == proto.FenceOn {
		did, is = "reported on", "still off"
	}
	if run.askedAgain {
		return fmt.Sprintf("device %s did not answer in time and status says %s is %s", run.device, r.target, is)
	}
	return fmt.Sprintf("device %s %s but status says %s is %s", run.device, did, r.target, is)
}

// what names the request in logs: a fence, or a power-on.
func (r *request) what() string {
	if r.action == proto.FenceOn {
		return "power-on"
	}
	return "fencing"
}

func (r *request) run(op proto.OpID) *deviceRun {
	for _, run := range r.runs {
		if run.op == op {
			return run
		}
	}
	return nil
}

// levelFailed abandons the current level (its other devices' results are
// ignored from now on) and tries the next.
func (f *Fencer) levelFailed(now time.Time, r *request, why string) []effect.Effect {
	r.reasons = append(r.reasons, fmt.Sprintf("level %d: %s", r.level+1, why))
	var effs []effect.Effect
	for _, run := range r.runs {
		if !run.done {
			delete(f.byOp, run.op)
			delete(f.byTimer, run.timer)
			effs = append(effs, &effect.CancelTimer{ID: run.timer})
		}
	}
	effs = append(effs, f.log(slog.LevelWarn, r, "fencing level failed", slog.Int("level", r.level+1), slog.String("why", why)))
	r.level++
	return append(effs, f.startLevel(now, r)...)
}

// TimerFired handles a device that did not report in time, or a request
// that ran out of time as a whole.
func (f *Fencer) TimerFired(now time.Time, id effect.TimerID) []effect.Effect {
	r, ok := f.byTimer[id]
	if !ok {
		return nil
	}
	delete(f.byTimer, id)
	if id == r.deadline {
		return f.finish(now, r, false, "fencing did not complete in time")
	}
	for _, run := range r.runs {
		if run.timer == id {
			delete(f.byOp, run.op)
			return f.noAnswer(now, r, run)
		}
	}
	return nil
}

// noAnswer handles a device run whose result never came. For a power-off
// (or a power-on) the status check asks what happened, once: whether the off's answer or
// the status's was lost, the status says whether the target is off, and
// failing the whole level for one lost answer cost a retry backoff of
// minutes (shaped seed 3320). A reboot has no such check (a rebooted host
// is on again), and a second silence is the device's, not the network's.
func (f *Fencer) noAnswer(now time.Time, r *request, run *deviceRun) []effect.Effect {
	why := fmt.Sprintf("device %s via %s: no result in time", run.device, run.executor)
	if r.action == proto.FenceReboot || run.askedAgain {
		return f.levelFailed(now, r, why)
	}
	run.askedAgain = true
	run.step = stepStatus
	if next := f.executor(run.device, r.target); next != "" {
		run.executor = next
	}
	effs := []effect.Effect{f.log(slog.LevelWarn, r, "fence device did not answer in time; asking its status",
		slog.String("device", run.device), slog.String("executor", run.executor))}
	return append(effs, f.send(now, r, run, proto.FenceStatus)...)
}

// ExecutorLost moves the device runs executing on a host that was just
// declared lost to another peer at once, instead of waiting for their
// timeouts: two hosts lost together must not cost a fence timeout each.
func (f *Fencer) ExecutorLost(now time.Time, host string) []effect.Effect {
	var effs []effect.Effect
	targets := make([]string, 0, len(f.active))
	for t := range f.active {
		targets = append(targets, t)
	}
	slices.Sort(targets)
	for _, t := range targets {
		r := f.active[t]
		for _, run := range r.runs {
			if run.done || run.executor != host {
				continue
			}
			delete(f.byOp, run.op)
			delete(f.byTimer, run.timer)
			effs = append(effs, &effect.CancelTimer{ID: run.timer})
			next := f.executor(run.device, r.target)
			if next == "" || next == host {
				return append(effs, f.levelFailed(now, r, fmt.Sprintf("device %s: its executor %s was lost and no other peer can run it", run.device, host))...)
			}
			action := r.action
			if run.step == stepStatus {
				action = proto.FenceStatus
			}
			run.executor = next
			effs = append(effs, f.log(slog.LevelWarn, r, "fence executor lost; another peer runs the device",
				slog.String("device", run.device), slog.String("lost", host), slog.String("executor", next)))
			effs = append(effs, f.send(now, r, run, action)...)
		}
	}
	return effs
}

// Owns reports whether a timer belongs to the fencer.
func (f *Fencer) Owns(id effect.TimerID) bool { _, ok := f.byTimer[id]; return ok }

// OwnsOp reports whether an operation belongs to the fencer.
func (f *Fencer) OwnsOp(op proto.OpID) bool { _, ok := f.byOp[op]; return ok }

func (f *Fencer) finish(now time.Time, r *request, ok bool, reason string) []effect.Effect {
	return f.finishWith(now, r, ok, reason, nil)
}

func (f *Fencer) finishWith(now time.Time, r *request, ok bool, reason string, devices []string) []effect.Effect {
	if len(r.reasons) > 0 && !ok {
		reason = reason + ": " + joinReasons(r.reasons)
	}
	delete(f.active, r.target)
	var effs []effect.Effect
	if r.deadline != 0 {
		delete(f.byTimer, r.deadline)
		effs = append(effs, &effect.CancelTimer{ID: r.deadline})
	}
	for _, run := range r.runs {
		if _, live := f.byOp[run.op]; live {
			delete(f.byOp, run.op)
			delete(f.byTimer, run.timer)
			effs = append(effs, &effect.CancelTimer{ID: run.timer})
		}
	}
	f.history = append(f.history, HistoryEntry{Target: r.target, Action: r.action, Origins: r.origins, Requested: r.requested,
		Completed: now, OK: ok, Reason: reason, Devices: devices, Executors: r.executors})
	if len(f.history) > historyLen {
		f.history = slices.Delete(f.history, 0, len(f.history)-historyLen)
	}
	level := slog.LevelError
	msg := r.what() + " failed"
	if ok {
		level, msg = slog.LevelWarn, r.what()+" confirmed"
	}
	effs = append(effs, f.log(level, r, msg, slog.Any("devices", devices), slog.String("reason", reason)),
		Done{Target: r.target, Action: r.action, OK: ok, Reason: reason, Devices: devices})
	return effs
}

// maxSaid bounds what of a fence agent's output a failure reason quotes.
const maxSaid = 200

func joinReasons(rs []string) string {
	out := ""
	for i, r := range rs {
		if i > 0 {
			out += "; "
		}
		out += r
	}
	return out
}

func (f *Fencer) log(level slog.Level, r *request, msg string, attrs ...slog.Attr) effect.Log {
	return effect.Log{Level: level, Msg: msg, Attrs: append([]slog.Attr{slog.String("target", r.target)}, attrs...)}
}
