// Package agent is the per-host agent's state machine: the LRM behind an
// epoch guard, the host's part of fencing (running fence agents for the
// manager), and heartbeats. It is sans-I/O like every core machine; the
// simulator and basalt-agent drive it.
//
// The epoch guard is the last line of the safety argument: a manager that
// was paused, partitioned or replaced may still send commands, and an agent
// that has seen a higher epoch refuses them. The new epoch is persisted
// before the agent acts on it, so a restart cannot forget it.
package agent

import (
	"fmt"
	"log/slog"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/fenceargs"
	"github.com/basalt-ha/basalt/core/history"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/core/proto"
)

// EpochRecord is the storage name of the highest epoch seen.
const EpochRecord = "agent-epoch"

// ResourcesRecord is the storage name of the resources the agent was told
// about, so that a restarted agent knows them (and their parameters) again:
// a log of the whole list and the changes since (record.go).
const ResourcesRecord = "agent-resources"

// probeTimeout bounds the probes a restarted agent runs on its own.
const probeTimeout = 60 * time.Second

// idBase separates the agent's own timer and process IDs from its LRM's:
// the LRM counts from 1, the agent from here, so one driver can route both.
const idBase = 1 << 62

// recentOps bounds the operation IDs remembered for deduplication.
const recentOps = 4096

// Config describes one host agent.
type Config struct {
	Host string
	// LRM configures the agent's LRM; its LogLevel bounds the records of
	// the agent's fence runs too, as frequent as its operations'.
	LRM lrm.Config
	// HeartbeatInterval paces the heartbeats until a manager tells the
	// cluster's (proto.Welcome; see heartbeat.go).
	HeartbeatInterval time.Duration
	// FenceAgentDir holds the fence agents (/usr/sbin on Debian).
	FenceAgentDir string
	// FenceEnv is the environment of fence agents (PATH, typically).
	FenceEnv []string
	// Boot identifies the host's current boot (Linux's boot_id): the
	// processes an earlier life of the agent left running died with an
	// earlier boot.
	Boot string
	// MaxEpochJump bounds how far above its stored epoch the agent
	// accepts a new one (proto.CheckEpoch; 0: proto.DefaultMaxEpochJump).
	// With manager HA the epoch is an etcd revision and may jump by as many
	// as the writes between two elections.
	MaxEpochJump proto.Epoch
}

type fenceRun struct {
	msg   proto.FenceExec
	timer effect.TimerID
	timed bool
}

type opRef struct {
	op    proto.OpID
	epoch proto.Epoch
}

// seenKey names a command for deduplication: the connection it came on as
// well as its epoch and operation. A duplicate is the network's (or a
// retry's) copy on the same connection: the manager never re-sends an
// operation ID on another one. Two manager incarnations can share an
// epoch (a state directory restored from a backup numbers its epoch and
// operations again from the same record), and the second one's commands,
// on its own connections, are new commands, not copies of the first's.
type seenKey struct {
	conn  effect.ConnID
	epoch proto.Epoch
	op    proto.OpID
}

// Agent is the host agent state machine.
type Agent struct {
	cfg       Config
	lrm       *lrm.LRM
	epoch     proto.Epoch
	calls     map[lrm.CallID]opRef
	seen      map[seenKey]bool // dedup of recent commands
	seenOrder []seenKey
	fences    map[proc.ID]*fenceRun
	timers    map[effect.TimerID]proc.ID // fence timeouts
	hbTimer   effect.TimerID
	hbDue     time.Time     // when hbTimer fires
	hbEvery   time.Duration // the interval now: the manager's once it spoke
	hbSeq     uint64
	nextID    uint64
	conn      connState // see conn.go
	recovery

	// persistErr is why the driver cannot persist the agent's records
	// (PersistFailed), "" while it can; heartbeats carry it.
	persistErr string
	// record mirrors the LRM's resources as ResourcesRecord holds them.
	record resourceRecord
	// attr is the node attribute state (attrs.go).
	attr attrState
	// batches are the slices and effects released for the next batches
	// (Release), shared with the LRM; notes are the released history
	// notes, which package effect does not know.
	batches effect.Batches
	notes   effect.Spares[history.Note]
}

// New returns an agent that has seen epoch (restored from storage; 0 on a
// new host).
func New(cfg Config, epoch proto.Epoch) (*Agent, error) {
	if cfg.Host == "" {
		return nil, fmt.Errorf("agent config: empty host name")
	}
	if cfg.HeartbeatInterval <= 0 {
		return nil, fmt.Errorf("agent %s: heartbeat interval must be positive", cfg.Host)
	}
	if epoch > proto.MaxEpoch {
		return nil, fmt.Errorf("agent %s: its epoch record holds %d, above the ceiling %d that no manager reaches (a poisoned record): "+
			"with the agent stopped, run basalt-agent epoch --state-dir DIR --reset N, N the current manager's epoch", cfg.Host, epoch, proto.MaxEpoch)
	}
	l, err := lrm.New(cfg.LRM)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", cfg.Host, err)
	}
	l.Subscribe(effect.Manager)
	a := &Agent{
		cfg: cfg, lrm: l, epoch: epoch,
		calls: map[lrm.CallID]opRef{}, seen: map[seenKey]bool{},
		fences: map[proc.ID]*fenceRun{}, timers: map[effect.TimerID]proc.ID{},
		nextID: idBase, recovery: newRecovery(), hbEvery: cfg.HeartbeatInterval,
	}
	l.ShareBatches(&a.batches) // the LRM's batches are the agent's: its driver releases them
	return a, nil
}

// Epoch is the highest manager epoch the agent has accepted.
func (a *Agent) Epoch() proto.Epoch { return a.epoch }

// LRM exposes the agent's LRM for inspection (status, tests).
func (a *Agent) LRM() *lrm.LRM { return a.lrm }

// DecodeEpoch parses a persisted epoch record (proto.DecodeEpoch, the
// codec the manager's record shares).
func DecodeEpoch(data []byte) (proto.Epoch, error) { return proto.DecodeEpoch(data) }

// Hello is the agent's greeting: its host and the highest epoch it has
// accepted, from which a manager learns whether it has been superseded, and
// the interval it heartbeats at, which tells the manager to answer with the
// cluster's (proto.Welcome).
func (a *Agent) Hello() proto.Hello {
	return proto.Hello{Host: a.cfg.Host, Epoch: a.epoch, Heartbeat: a.hbEvery, Lists: true, Resources: a.lrm.IDs(),
		Attrs: true, HasAttrs: a.attr.have, Boot: a.cfg.Boot, CancelsBySetup: true, Instances: true, Meta: true}
}

// Start starts the heartbeat. The agent greets each manager connection as
// it arrives (Connected).
func (a *Agent) Start(now time.Time) []effect.Effect {
	a.hbTimer = a.id()
	a.hbDue = now.Add(a.hbEvery)
	return []effect.Effect{a.batches.SetTimer(effect.SetTimer{ID: a.hbTimer, At: a.hbDue})}
}

// Restore re-registers the resources a previous run of the agent knew and
// probes each of them, so that what still runs is known at once; results
// go to the manager (as results of no command of its) when one is
// connected. Resources are never stopped or started by a restart.
func (a *Agent) Restore(now time.Time, rs []lrm.Resource) []effect.Effect { return a.restore(now, rs) }

// restore registers rs and probes those without an orphan (see Resume).
func (a *Agent) restore(now time.Time, rs []lrm.Resource) []effect.Effect {
	var effs []effect.Effect
	for _, r := range rs {
		e, err := a.lrm.Register(now, r)
		effs = append(effs, e...)
		if err != nil {
			effs = append(effs, a.log(slog.LevelError, "cannot restore resource", slog.String("resource", r.ID), slog.String("err", err.Error())))
			continue
		}
		if def, ok := a.lrm.ResourceView(r.ID); ok { // only encoded: no copy
			_ = a.record.set(def) // plain strings: encoding cannot fail
		}
		if a.orphaned(r.ID) {
			a.deferred[r.ID] = r
			continue
		}
		call, e, err := a.lrm.Submit(now, lrm.OpRequest{Resource: r.ID, Action: ocf.Monitor, Timeout: probeTimeout})
		effs = append(effs, e...)
		if err == nil {
			a.calls[call] = opRef{epoch: a.epoch}
		}
	}
	return a.route(now, append(effs, a.log(slog.LevelInfo, "restored resources; probing them", slog.Int("count", len(rs)))))
}

func (a *Agent) id() effect.TimerID {
	a.nextID++
	return effect.TimerID(a.nextID)
}

// command handles a command from the manager on the connection the agent
// obeys (Receive decides which that is).
func (a *Agent) command(now time.Time, msg effect.Message) []effect.Effect {
	var epoch proto.Epoch
	var op proto.OpID
	switch m := msg.(type) {
	case proto.Exec:
		epoch, op = m.Epoch, m.Op
	case proto.Cancel:
		epoch, op = m.Epoch, m.Op
	case proto.FenceExec:
		epoch, op = m.Epoch, m.Op
	case proto.Forget:
		epoch, op = m.Epoch, m.Op
	default:
		return []effect.Effect{a.log(slog.LevelWarn, "unexpected message", slog.String("msg", msg.Describe()))}
	}
	var effs []effect.Effect
	if epoch < a.epoch {
		return []effect.Effect{
			a.log(slog.LevelWarn, "refused command from a superseded manager",
				slog.Uint64("epoch", uint64(epoch)), slog.Uint64("seen", uint64(a.epoch)), slog.String("msg", msg.Describe())),
			a.refuseStale(msg),
		}
	}
	if epoch > a.epoch {
		// Durable before acting: after a crash the agent must still refuse
		// the old manager.
		a.epoch = epoch
		effs = append(effs, a.batches.Persist(effect.Persist{Name: EpochRecord, Data: proto.EncodeEpoch(epoch)}),
			a.log(slog.LevelInfo, "accepted new manager epoch", slog.Uint64("epoch", uint64(epoch))))
	}
	key := seenKey{conn: a.conn.cur, epoch: epoch, op: op}
	if a.seen[key] {
		return effs // a copy of a command already accepted: its result comes (or came) once
	}
	a.remember(key)
	if e, held := a.hold(now, msg); held {
		return effect.Concat(effs, e)
	}
	return effect.Concat(effs, a.dispatch(now, msg))
}

// dispatch carries out an accepted command.
func (a *Agent) dispatch(now time.Time, msg effect.Message) []effect.Effect {
	switch m := msg.(type) {
	case proto.Exec:
		return a.exec(now, m)
	case proto.Cancel:
		return a.cancel(now, m)
	case proto.FenceExec:
		return a.fence(now, m)
	case proto.Forget:
		return a.forget(now, m)
	}
	return nil
}

// cancel stops a recurring operation. One that names its setup ends it
// only if that setup is the one running at its key: a key names a monitor,
// not a setup of it, and a cancel that reaches the agent after a newer
// setup of the same monitor (a copy of the setup delivered ahead of it)
// would end what the manager wants now, answered or not. Such a cancel is
// refused as one of an operation that no longer runs, which it is: its
// setup was replaced (or ended) already. A cancel naming none (an older
// manager's, or one meant for whoever set the monitor up) goes by key.
func (a *Agent) cancel(now time.Time, m proto.Cancel) []effect.Effect {
	if m.Setup != 0 {
		call, ok := a.lrm.RecurringCall(m.Resource, m.Key)
		if !ok || a.calls[call] != (opRef{op: m.Setup, epoch: m.Epoch}) {
			return []effect.Effect{a.send(proto.Refused{Host: a.cfg.Host, Epoch: m.Epoch, Op: m.Op,
				Reason: fmt.Sprintf("cancel %s on %s set up by op %d: no such recurring operation", m.Key, m.Resource, m.Setup)})}
		}
	}
	effs, err := a.lrm.Cancel(now, m.Resource, m.Key.Action, m.Key.Interval)
	if err != nil {
		effs = append(effs, a.send(proto.Refused{Host: a.cfg.Host, Epoch: m.Epoch, Op: m.Op, Reason: err.Error()}))
	}
	return a.route(now, effs)
}

// forget drops a resource the cluster configures no more, durably. One
// with operations in hand stays: the LRM refuses, and the next hello lists
// it again for the manager to settle.
func (a *Agent) forget(now time.Time, m proto.Forget) []effect.Effect {
	if _, known := a.lrm.ResourceView(m.Resource); !known || a.orphaned(m.Resource) {
		return nil
	}
	effs, err := a.lrm.Unregister(now, m.Resource)
	if err != nil {
		return append(effs, a.log(slog.LevelInfo, "resource not forgotten: "+err.Error(), slog.String("resource", m.Resource)))
	}
	a.record.remove(m.Resource)
	return append([]effect.Effect{a.record.persistRemove(m.Resource)}, a.route(now, effs)...)
}

// refuseStale answers a command of an epoch lower than the agent's, on
// the obeyed connection.
func (a *Agent) refuseStale(msg effect.Message) *effect.Send {
	epoch, _, _ := proto.Command(msg)
	var op proto.OpID
	switch m := msg.(type) {
	case proto.Exec:
		op = m.Op
	case proto.Cancel:
		op = m.Op
	case proto.FenceExec:
		op = m.Op
	}
	return a.batches.Send(effect.Send{To: effect.Manager, Conn: a.conn.cur, Msg: proto.Refused{Host: a.cfg.Host, Epoch: epoch, Op: op, Stale: true,
		Reason: fmt.Sprintf("epoch %d is lower than %d, already seen", epoch, a.epoch)}})
}

func (a *Agent) remember(key seenKey) {
	a.seen[key] = true
	a.seenOrder = append(a.seenOrder, key)
	if len(a.seenOrder) > recentOps {
		delete(a.seen, a.seenOrder[0])
		a.seenOrder = a.seenOrder[1:]
	}
}

func (a *Agent) exec(now time.Time, m proto.Exec) []effect.Effect {
	before, known := a.lrm.ResourceView(m.Resource.ID) // read only: compared, encoded, registered by copy
	if !known && m.Resource.Agent == (ocf.Agent{}) {
		return a.unknownOrphan(now, m)
	}
	if known && (m.Request.Action == ocf.Reload || m.Request.Action == ocf.ReloadAgent) {
		return a.reload(now, m)
	}
	effs, err := a.lrm.Register(now, definition(before, known, m))
	if after, _ := a.lrm.ResourceView(m.Resource.ID); err == nil && (!known || !sameResource(before, after)) {
		// Durable before acting, like the epoch: a restarted agent must
		// know every resource it may have started.
		if encErr := a.record.set(after); encErr == nil {
			effs = append([]effect.Effect{a.record.persistSet(after.ID)}, effs...)
		}
	}
	if err == nil {
		var call lrm.CallID
		var more []effect.Effect
		_, merged := a.existing(m.Request)
		call, more, err = a.lrm.Submit(now, m.Request)
		effs = effect.Concat(effs, more) // Register mostly has nothing to say
		if err == nil {
			a.calls[call] = opRef{op: m.Op, epoch: m.Epoch}
			if last, ok := a.lrm.LastResult(m.Request.Resource, m.Request.Key()); merged && ok && last.CallID == call {
				// An identical recurring monitor already runs (a manager
				// restarted and set it up again): answer with its latest
				// result now, since the merge reports nothing new.
				effs = append(effs, a.send(proto.OpResult{Host: a.cfg.Host, Epoch: m.Epoch, Op: m.Op, Result: last}))
			}
			return a.route(now, effs)
		}
	}
	effs = append(effs, a.send(proto.Refused{Host: a.cfg.Host, Epoch: m.Epoch, Op: m.Op, Reason: err.Error()}))
	return a.route(now, effs)
}

// reload runs a reload with the manager's new definition. The record keeps
// the definition that runs until the reload succeeds (route persists the
// new one then): a restarted agent that lost the reload's result must
// report the old digest, for the manager to reload again.
func (a *Agent) reload(now time.Time, m proto.Exec) []effect.Effect {
	call, effs, err := a.lrm.SubmitReload(now, m.Request, m.Resource)
	if err != nil {
		return a.route(now, append(effs, a.send(proto.Refused{Host: a.cfg.Host, Epoch: m.Epoch, Op: m.Op, Reason: err.Error()})))
	}
	a.calls[call] = opRef{op: m.Op, epoch: m.Epoch}
	return a.route(now, effs)
}

// definition is the definition an Exec runs with. Only a start takes the
// manager's: every other action runs with the one the resource was last
// started with (its name aside), as Pacemaker stops with the parameters of
// the last start. A stop or monitor sent with a changed definition (the
// configuration changed while it ran) must act on the instance that runs,
// not on one that never started: a stop of an IP address agent with the new
// address would leave the old one up, and a monitor would call the running
// instance dead and have it started twice.
func definition(registered lrm.Resource, known bool, m proto.Exec) lrm.Resource {
	if !known || m.Request.Action == ocf.Start {
		return m.Resource
	}
	kept := registered
	kept.Name = m.Resource.Name
	return kept
}

// unknownOrphan answers a command about a resource the manager found on
// another host and knows only by name (an orphan: configured nowhere), when
// this agent does not know it: the agent records every resource before it
// acts on one, so it never ran it. A probe finds it not running, a stop
// has nothing to do; anything else is refused.
func (a *Agent) unknownOrphan(now time.Time, m proto.Exec) []effect.Effect {
	res := lrm.Result{Resource: m.Resource.ID, Name: m.Resource.Name, Action: m.Request.Action, Status: lrm.Done,
		QueuedAt: now, EndedAt: now}
	switch {
	case m.Request.Action == ocf.Monitor && m.Request.Interval == 0:
		res.RC, res.Outcome = ocf.NotRunning, ocf.Stopped
	case m.Request.Action == ocf.Stop:
		res.RC, res.Outcome = ocf.OK, ocf.Success
	default:
		return a.route(now, []effect.Effect{a.send(proto.Refused{Host: a.cfg.Host, Epoch: m.Epoch, Op: m.Op,
			Reason: fmt.Sprintf("resource %s is not known here and names no agent", m.Resource.ID)})})
	}
	return a.route(now, []effect.Effect{a.send(proto.OpResult{Host: a.cfg.Host, Epoch: m.Epoch, Op: m.Op, Result: res})})
}

// existing reports whether an identical recurring request is already set up.
func (a *Agent) existing(req lrm.OpRequest) (lrm.OpRequest, bool) {
	if req.Interval == 0 {
		return lrm.OpRequest{}, false
	}
	for _, r := range a.lrm.Recurring(req.Resource) {
		if r == req {
			return r, true
		}
	}
	return lrm.OpRequest{}, false
}

// route turns the LRM's notifications into results for the manager, and
// records each process it starts (noteStarts).
func (a *Agent) route(now time.Time, effs []effect.Effect) []effect.Effect {
	var persisted []effect.Effect // with a record to write first: a copy
	for i, e := range effs {
		n, ok := e.(*lrm.Notify)
		if !ok {
			if persisted != nil {
				persisted = append(persisted, e)
			}
			continue
		}
		ref := a.calls[n.Result.CallID]
		send := a.send(proto.OpResult{Host: a.cfg.Host, Epoch: ref.epoch, Op: ref.op, Result: n.Result})
		if n.Result.Interval == 0 || n.Result.Status == lrm.Cancelled {
			delete(a.calls, n.Result.CallID)
		}
		if p, changed := a.recordSettled(n.Result); changed {
			if persisted == nil {
				persisted = append(make([]effect.Effect, 0, len(effs)+1), effs[:i]...)
			}
			persisted = append(persisted, p)
		}
		a.lrm.Recycle(n) // read: the message and the record hold copies
		if persisted != nil {
			persisted = append(persisted, send)
		} else {
			effs[i] = send
		}
	}
	if persisted != nil {
		effs = persisted
	}
	return a.noteStarts(now, effs)
}

// recordSettled returns the record to persist when a start or reload
// changed what the LRM holds of its resource (a reload's new definition,
// how a started one reloads), before the manager hears of it: a restarted
// agent reports what runs and how it reloads.
func (a *Agent) recordSettled(res lrm.Result) (effect.Effect, bool) {
	switch res.Action {
	case ocf.Start, ocf.Reload, ocf.ReloadAgent:
	default:
		return nil, false
	}
	if res.Failed() {
		return nil, false
	}
	def, ok := a.lrm.ResourceView(res.Resource) // only encoded: no copy
	if !ok || !a.record.differs(def) {
		return nil, false
	}
	if err := a.record.set(def); err != nil {
		return nil, false
	}
	return a.record.persistSet(def.ID), true
}

func (a *Agent) fence(now time.Time, m proto.FenceExec) []effect.Effect {
	fail := func(why string) []effect.Effect {
		return []effect.Effect{a.log(slog.LevelError, "fence request refused", slog.String("device", m.Device), slog.String("why", why)),
			a.send(proto.FenceResult{Host: a.cfg.Host, Epoch: m.Epoch, Op: m.Op, Device: m.Device, Action: m.Action,
				Target: m.Target, RC: 1, Output: why})}
	}
	if m.Agent == "" || strings.ContainsAny(m.Agent, "/\x00") || m.Agent == "." || m.Agent == ".." {
		return fail(fmt.Sprintf("fence agent name %q is not a plain file name", m.Agent))
	}
	if a.cfg.FenceAgentDir == "" {
		return fail("no fence agent directory configured")
	}
	if m.Timeout <= 0 {
		return fail("timeout must be positive")
	}
	stdin, err := FenceStdin(m)
	if err != nil {
		return fail(err.Error())
	}
	pid := proc.ID(a.id())
	run := &fenceRun{msg: m, timer: a.id()}
	a.fences[pid] = run
	a.timers[run.timer] = pid
	effs := append(a.batches.Take(4),
		a.note(a.fenceRecord(history.Started, now, pid, m)),
		a.batches.StartProcess(effect.StartProcess{ID: pid, Spec: proc.Spec{Path: path.Join(a.cfg.FenceAgentDir, m.Agent), Stdin: stdin,
			Env: slices.Clone(a.cfg.FenceEnv)}}),
		a.batches.SetTimer(effect.SetTimer{ID: run.timer, At: now.Add(m.Timeout)}))
	if !a.logs(slog.LevelInfo) { // every device check of every host runs one
		return effs
	}
	return append(effs, a.log(slog.LevelInfo, "running fence agent", slog.String("device", m.Device), slog.String("action", string(m.Action)),
		slog.String("target", m.Target)))
}

// FenceStdin renders a fence request as the fence agent API's key=value
// lines: action, plug, then the device's parameters sorted by name. The
// agent checks what the manager sent, as the configuration loader did: an
// unknown action, a device parameter that names the action or plug (or
// their aliases), or a control character anywhere is refused, because the
// fence agent would read it as another request.
func FenceStdin(m proto.FenceExec) ([]byte, error) {
	if !m.Action.Valid() {
		return nil, fmt.Errorf("fence action %q is not one of off, on, reboot, status, monitor", m.Action)
	}
	var b strings.Builder
	line := func(k, v string) error {
		if k == "" || strings.Contains(k, "=") {
			return fmt.Errorf("fence parameter %q: a key may not be empty or contain '='", k)
		}
		if err := fenceargs.CheckText(k); err != nil {
			return fmt.Errorf("fence parameter %q: the key %w", k, err)
		}
		if err := fenceargs.CheckText(v); err != nil {
			return fmt.Errorf("fence parameter %q: the value %w", k, err)
		}
		b.WriteString(k + "=" + v + "\n")
		return nil
	}
	if err := line("action", string(m.Action)); err != nil {
		return nil, err
	}
	if m.Plug != "" {
		if err := line("plug", m.Plug); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(m.Params))
	for k := range m.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if fenceargs.Reserved(k) {
			return nil, fmt.Errorf("fence parameter %q is set by the request, not by the device (reserved: %s)", k, strings.Join(fenceargs.ReservedNames(), ", "))
		}
		if err := line(k, m.Params[k]); err != nil {
			return nil, err
		}
	}
	return []byte(b.String()), nil
}

// ProcessExited delivers the end of an agent or fence process.
func (a *Agent) ProcessExited(now time.Time, id proc.ID, exit proc.Exit) []effect.Effect {
	run, ok := a.fences[id]
	if !ok {
		// Forgotten before the LRM starts the next operation, so that the
		// record persisted before that one no longer lists this one.
		in, started := a.running[id]
		var persist effect.Effect
		if started {
			delete(a.running, id)
			a.runEnc.remove(id)
			persist = a.persistOps()
		}
		return a.resourceExited(now, in, started, exit, persist, a.route(now, a.lrm.ProcessExited(now, id, exit)))
	}
	delete(a.fences, id)
	delete(a.timers, run.timer)
	rc := exit.Code
	if !exit.Started() || rc < 0 {
		rc = 1
	}
	out := string(exit.Stdout)
	if out != "" && len(exit.Stderr) > 0 && !strings.HasSuffix(out, "\n") {
		out += "\n" // the first line of stderr is not glued to the last of stdout
	}
	out += string(exit.Stderr)
	if exit.StartError != "" {
		out = exit.StartError
	}
	if len(out) > 512 {
		out = out[:512]
	}
	m := run.msg
	end := a.fenceRecord(history.Ended, now, id, m)
	end.RC, end.Killed = rc, run.timed || exit.Signal != ""
	effs := append(a.batches.Take(4), a.batches.CancelTimer(effect.CancelTimer{ID: run.timer}))
	if a.logs(slog.LevelInfo) {
		effs = append(effs, a.log(slog.LevelInfo, "fence agent finished", slog.String("device", m.Device), slog.String("action", string(m.Action)),
			slog.String("target", m.Target), slog.Int("rc", rc), slog.Bool("timeout", run.timed)))
	}
	return append(effs,
		a.send(proto.FenceResult{Host: a.cfg.Host, Epoch: m.Epoch, Op: m.Op, Device: m.Device, Action: m.Action,
			Target: m.Target, RC: rc, Timeout: run.timed, Output: out}),
		// After the result (where the effects always were): the end of a
		// fence run decides nothing the checkers judge, unlike the end of
		// a resource operation.
		a.note(end))
}

// TimerFired delivers a timer.
func (a *Agent) TimerFired(now time.Time, id effect.TimerID) []effect.Effect {
	if id == a.conn.candTimer && a.conn.cand != 0 {
		return a.candidateSilent(now)
	}
	if id == a.hbTimer {
		return a.beat(now)
	}
	if pid, ok := a.timers[id]; ok {
		delete(a.timers, id)
		run := a.fences[pid]
		run.timed = true
		return []effect.Effect{&effect.KillProcess{ID: pid},
			a.log(slog.LevelWarn, "fence agent timed out; killing it", slog.String("device", run.msg.Device))}
	}
	if effs, ok := a.orphanTimerFired(now, id); ok {
		return effs
	}
	if uint64(id) >= idBase {
		return nil // a stale timer of ours
	}
	return a.route(now, a.lrm.TimerFired(now, id))
}

// send addresses a message to the connection the agent obeys; with none it
// is still emitted (and dropped by the driver), so that drivers recording
// what the agent did see it.
func (a *Agent) send(m effect.Message) effect.Effect {
	return a.batches.Send(effect.Send{To: effect.Manager, Conn: a.conn.cur, Msg: m})
}

// logs reports whether the agent emits records of level: those its LRM
// emits (lrm.Config.LogLevel), which its driver keeps.
func (a *Agent) logs(level slog.Level) bool { return a.lrm.Logs(level) }

func (a *Agent) log(level slog.Level, msg string, attrs ...slog.Attr) effect.Log {
	return effect.Log{Level: level, Msg: msg, Attrs: append([]slog.Attr{slog.String("host", a.cfg.Host)}, attrs...)}
}

// sameResource reports whether a and b would be recorded alike: what
// comparing their JSON encodings said, field by field, without encoding
// both on every command (nil and empty differ for Params alone, which has
// no omitempty). Two strings JSON cannot tell apart (invalid UTF-8 becomes
// U+FFFD) now differ, which only writes the same record once more.
func sameResource(a, b lrm.Resource) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Agent == b.Agent && a.Instance == b.Instance &&
		(a.Params == nil) == (b.Params == nil) && maps.Equal(a.Params, b.Params) && maps.Equal(a.Meta, b.Meta) &&
		sameReload(a.Reload, b.Reload)
}

// sameReload is sameResource's comparison of how two definitions reload.
func sameReload(a, b *ocf.Reloadability) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Action == b.Action && a.RestartDigest == b.RestartDigest && slices.Equal(a.ForceRestart, b.ForceRestart)
}
