// Package lrm is the local resource manager: the per-host state machine that
// runs OCF resource agent actions. It is policy-free (it never decides to
// start or stop anything by itself) and sans-I/O: every input comes with the
// current time and every consequence is returned as effects (run this agent,
// kill that process group, set a timer, notify a subscriber, log a line) for a
// live or simulated driver to carry out.
//
// Its guarantees, after Linux-HA's LocalResourceManager and pacemaker-execd:
//   - operations are accepted at once with a call ID and report later;
//   - operations on one resource run strictly one after another, in the order
//     accepted; different resources run in parallel up to a bound, the rest
//     wait in a bounded queue;
//   - recurring monitors re-run Interval after each run ends, identical
//     requests merge, a stop cancels them;
//   - a run past its timeout has its whole process group killed and ends
//     with status Timeout — only once the process is reaped, so the next
//     operation on that resource never overlaps it;
//   - subscribers hear of every completed one-shot operation and of a
//     recurring monitor only when its result changes.
package lrm

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxConcurrent = 16
	DefaultMaxQueued     = 1024
	DefaultHistoryLen    = 16
)

// ErrQueueFull is returned by Submit when the bounded queue is full. The
// caller should retry later; nothing was accepted.
var ErrQueueFull = errors.New("operation queue is full")

// ErrUnknownResource is returned for operations on a resource that was never
// registered (the LRM does no discovery).
var ErrUnknownResource = errors.New("resource not registered")

// ErrBusy is returned by Unregister while one-shot operations are pending.
var ErrBusy = errors.New("resource has pending operations")

// Config tunes an LRM.
type Config struct {
	// OCFRoot is the agents' root (OCF_ROOT), e.g. /usr/lib/ocf.
	OCFRoot string
	// MaxConcurrent bounds the agent processes running at once; the rest
	// wait. Bounding it keeps a mass failover from fork-bombing the host.
	MaxConcurrent int
	// MaxQueued bounds the operations waiting across all resources.
	MaxQueued int
	// HistoryLen bounds each resource's list of recent runs.
	HistoryLen int
	// ExtraEnv is added to every agent's environment (PATH, for shell
	// agents, since nothing of the daemon's environment is inherited).
	ExtraEnv []string
	// OutputLimit bounds the captured stdout and stderr of each run.
	OutputLimit int
	// LearnMetaData makes the LRM run an agent's meta-data action before
	// the first start (or reload) of that agent type, so that every
	// started definition records how it reloads (Resource.Reload) and the
	// manager can reload a changed resource instead of restarting it.
	// Off, nothing is ever reloadable: what unit tests and simulations
	// that script every process want.
	LearnMetaData bool
	// LogLevel is the least level of the Log effects the LRM emits, read
	// once by New; nil emits every record. A driver that discards records
	// below some level says so here, and the LRM does not build them: two
	// records per run (started, finished), built only to be dropped, were
	// among a simulated cluster's most frequent allocations.
	LogLevel slog.Leveler
}

// Notify is the effect that tells a subscriber of a result. It is a
// pointer, one per result: a machine that embeds the LRM and reads its
// notifications itself (the agent, which turns each into a message)
// hands each back when it is done with it (Recycle), and the LRM tells the
// next result in it.
type Notify struct {
	Subscriber string
	Result     Result
}

// Describe implements effect.Effect.
func (n *Notify) Describe() string { return "notify " + n.Subscriber + " " + n.Result.String() }

// notify is the notification of res to s, a recycled one if there is one.
func (l *LRM) notify(s string, res Result) *Notify {
	return l.notifies.Reuse(Notify{Subscriber: s, Result: res})
}

// Recycle hands back a notification the caller has read and keeps no part
// of (it copied the result), for the LRM to tell a later result in. Only
// the LRM's own notifications may be recycled, each once.
func (l *LRM) Recycle(n *Notify) { l.notifies.Keep(n) }

type opState int

const (
	opQueued  opState = iota // in its resource's queue, not yet started
	opRunning                // its process is running
	opIdle                   // recurring, waiting for its next run
)

type op struct {
	call     CallID
	req      OpRequest
	state    opState
	queuedAt time.Time
	started  time.Time
	pid      proc.ID
	// digest is the definition's digest its last run started with.
	digest string
	// timer is the op's one timer: its timeout while running, its next run
	// while idle. An op never needs both at once.
	timer     effect.TimerID
	timedOut  bool
	cancelled bool
	// last holds the previous run's rc and status of a recurring op, so
	// that subscribers are told only of changes.
	last    *Result
	waiting bool // in the slot-wait list
	// def, when set, is the definition the op runs with instead of the
	// registered one: a reload's new definition, which becomes the
	// registered one only once the reload succeeds.
	def *Resource
	// learn is set on the LRM's own meta-data runs (see metadata.go):
	// their result is the LRM's, and reaches nobody else.
	learn bool
	key   string // keyString's
	// args is the process's argument list, taken at the first run from
	// the LRM's (argsOf) and handed to every later one (a recurring
	// monitor's): drivers only read a Spec's Args, as they read the
	// cached Env.
	args []string
}

func (o *op) recurring() bool { return o.req.Interval > 0 }

// keyString is o's key as a string, made once: every run of a recurring
// monitor logs it twice.
func (o *op) keyString() string {
	if o.key == "" {
		o.key = o.req.Key().String()
	}
	return o.key
}

type resource struct {
	def Resource // set through setDef, which clears what is derived from it
	// derived caches what start derives from def, which a recurring
	// monitor or a host probing all its resources would otherwise derive
	// again at every run (an environment, an agent path, a SHA-256).
	derived derived
	queue   []*op // FIFO; the head may be running
	// recurring is made at the first recurring op: nil reads as empty.
	recurring map[OpKey]*op
	// keys holds each operation key's latest run, sorted by key: a
	// resource has a handful of keys, and two maps of them cost a
	// resource two maps and two allocations per key (their values are
	// too large to sit in a map's slots).
	keys []keyRuns
	// recent holds the latest runs, at most Config.HistoryLen; once
	// full, a ring whose oldest run is at recentHead (History puts them
	// back in order). Shifting a full list down at every run copied
	// HistoryLen records of some 200 bytes each.
	recent     []OpRecord
	recentHead int
	// last and lastFail are the latest run and failure, held by value
	// (CallID 0: none, since calls count from 1) so that a run's record
	// costs no allocation of its own.
	last, lastFail OpRecord
}

// keyRuns is the latest run of one operation key of a resource: its
// record and its result.
type keyRuns struct {
	rec OpRecord
	res Result
}

// run is the latest run at key, nil if none.
func (r *resource) run(key OpKey) *keyRuns {
	for i := range r.keys {
		if r.keys[i].rec.Key == key {
			return &r.keys[i]
		}
	}
	return nil
}

// setRun makes rec and res the latest run of their key.
func (r *resource) setRun(rec OpRecord, res Result) {
	if k := r.run(rec.Key); k != nil {
		k.rec, k.res = rec, res
		return
	}
	i, _ := slices.BinarySearchFunc(r.keys, rec.Key, func(k keyRuns, key OpKey) int { return compareOpKeys(k.rec.Key, key) })
	if r.keys == nil {
		r.keys = make([]keyRuns, 0, 4) // a start, a stop, a probe and a monitor
	}
	r.keys = slices.Insert(r.keys, i, keyRuns{rec: rec, res: res})
}

// derived is what the LRM derives from a resource's definition, kept
// until the definition changes.
type derived struct {
	digest string
	path   string
	// envs are the environments of the first runs of up to maxEnvs
	// envKeys, in an array: a map of them cost two allocations per
	// definition.
	envs  [maxEnvs]derivedEnv
	nEnvs int
}

// derivedEnv is the environment of the runs of key.
type derivedEnv struct {
	key envKey
	env []string
}

// env is the environment cached for key.
func (d *derived) env(key envKey) ([]string, bool) {
	for i := range d.nEnvs {
		if d.envs[i].key == key {
			return d.envs[i].env, true
		}
	}
	return nil, false
}

// addEnv caches env for key, forgetting all the others when full.
func (d *derived) addEnv(key envKey, env []string) {
	if d.nEnvs == maxEnvs {
		d.envs, d.nEnvs = [maxEnvs]derivedEnv{}, 0
	}
	d.envs[d.nEnvs] = derivedEnv{key: key, env: env}
	d.nEnvs++
}

// envKey is what, besides the definition, makes a run's environment:
// runs that share it share the environment (a slice that drivers only
// read).
type envKey struct {
	timeout, interval time.Duration
	depth             int
}

// maxEnvs bounds the environments kept per resource: a manager varying
// the timeouts of its requests must not grow the LRM without bound.
const maxEnvs = 8

// setDef makes def the resource's definition.
func (r *resource) setDef(def Resource) {
	r.def, r.derived = def, derived{}
}

// popHead drops the queue's head. A queue that empties keeps its array:
// re-slicing past the last op left no room, and a resource's queue is
// mostly one op at a time, so every enqueue allocated a new one.
func (r *resource) popHead() {
	r.queue[0] = nil // the array no longer holds the op
	if len(r.queue) == 1 {
		r.queue = r.queue[:0]
		return
	}
	r.queue = r.queue[1:]
}

// digest is the definition's digest (Resource.Digest).
func (r *resource) digest() string {
	if r.derived.digest == "" {
		r.derived.digest = r.def.Digest()
	}
	return r.derived.digest
}

// LRM is the local resource manager state machine. It is not safe for
// concurrent use: a driver serialises its inputs.
type LRM struct {
	cfg       Config
	rscs      map[string]*resource
	procs     map[proc.ID]*op
	timers    map[effect.TimerID]*op
	slotWait  []*op // queue heads waiting for a process slot, FIFO
	running   int
	queued    int
	subs      []string // sorted
	nextCall  CallID
	nextProc  proc.ID
	nextTimer effect.TimerID
	// meta caches each agent's meta-data, learnt by the LRM's own
	// meta-data runs (metadata.go).
	meta map[ocf.Agent]metaEntry
	// minLevel is Config.LogLevel's level (the least there is without one).
	minLevel slog.Level
	// batches, when shared (ShareBatches), is where the LRM takes the
	// slices of its batches from; notifies are the notifications handed
	// back (Recycle).
	batches  *effect.Batches
	notifies effect.Spares[Notify]
	// args holds each action's argument list, shared by every run of it
	// (op.args).
	args map[ocf.Action][]string
	// paths holds the agents' paths (agentPath).
	paths map[ocf.Agent]string
	// spareOps are the ops of ended one-shot runs, for newOp.
	spareOps effect.Spares[op]
}

// agentPath is a's path under the OCF root, made once per agent type: a
// definition's own cache of it (derived) goes with every change of the
// definition, and a host runs many resources of few types.
func (l *LRM) agentPath(a ocf.Agent) (string, error) {
	if p, ok := l.paths[a]; ok {
		return p, nil
	}
	p, err := a.Path(l.cfg.OCFRoot)
	if err != nil {
		return "", err
	}
	if l.paths == nil || len(l.paths) >= maxMetaEntries {
		l.paths = map[ocf.Agent]string{}
	}
	l.paths[a] = p
	return p, nil
}

// argsOf is the argument list of a run of action: one per action, made
// at its first run, not one per operation.
func (l *LRM) argsOf(action ocf.Action) []string {
	args, ok := l.args[action]
	if !ok {
		if l.args == nil {
			l.args = map[ocf.Action][]string{}
		}
		args = []string{string(action)}
		l.args[action] = args
	}
	return args
}

// New returns an LRM with no resources.
func New(cfg Config) (*LRM, error) {
	if cfg.OCFRoot == "" || !strings.HasPrefix(cfg.OCFRoot, "/") {
		return nil, fmt.Errorf("lrm config: OCF root %q must be an absolute path", cfg.OCFRoot)
	}
	if cfg.MaxConcurrent < 0 || cfg.MaxQueued < 0 || cfg.HistoryLen < 0 || cfg.OutputLimit < 0 {
		return nil, fmt.Errorf("lrm config: limits must not be negative")
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.MaxQueued == 0 {
		cfg.MaxQueued = DefaultMaxQueued
	}
	if cfg.HistoryLen == 0 {
		cfg.HistoryLen = DefaultHistoryLen
	}
	cfg.ExtraEnv = slices.Clone(cfg.ExtraEnv)
	minLevel := slog.Level(math.MinInt)
	if cfg.LogLevel != nil {
		minLevel = cfg.LogLevel.Level()
	}
	return &LRM{
		cfg:      cfg,
		rscs:     map[string]*resource{},
		procs:    map[proc.ID]*op{},
		timers:   map[effect.TimerID]*op{},
		meta:     map[ocf.Agent]metaEntry{},
		minLevel: minLevel,
	}, nil
}

// Register makes a resource known. Registering an identical definition
// again is a no-op; a changed definition (new parameters, say) applies to
// runs started from now on, but the agent may not change while operations
// are pending or recurring, because their results would be ambiguous.
func (l *LRM) Register(now time.Time, r Resource) ([]effect.Effect, error) {
	if r.ID == "" {
		return nil, fmt.Errorf("register resource: empty id")
	}
	if r.Name == "" {
		r.Name = r.ID
	}
	old, known := l.rscs[r.ID]
	if known && old.def.equal(r) {
		// Checked when it was registered (the check reads nothing but
		// the definition): every command of the manager registers its
		// resource again.
		return nil, nil
	}
	if err := l.checkDefinition(r); err != nil {
		return nil, err
	}
	if known {
		if r.Reload == nil && old.digest() == r.Digest() {
			r.Reload = old.def.Reload // a new name: what was learnt still holds
		}
		if old.def.Agent != r.Agent && (len(old.queue) > 0 || len(old.recurring) > 0) {
			return nil, fmt.Errorf("register %s (%s): agent change from %s to %s while operations are pending: %w",
				r.ID, r.Name, old.def.Agent, r.Agent, ErrBusy)
		}
		old.setDef(r.clone())
		return l.appendLog(nil, slog.LevelInfo, old, "resource definition updated"), nil
	}
	l.rscs[r.ID] = &resource{def: r.clone()}
	return l.appendLog(nil, slog.LevelInfo, l.rscs[r.ID], "resource registered", slog.String("agent", r.Agent.String())), nil
}

// checkDefinition refuses a definition the agent could not be run with.
func (l *LRM) checkDefinition(r Resource) error {
	if err := r.Agent.CheckPath(l.cfg.OCFRoot); err != nil {
		return fmt.Errorf("register %s (%s): %w", r.ID, r.Name, err)
	}
	if n, ok := strings.CutPrefix(r.Instance, r.ID+":"); r.Instance != "" && (!ok || n == "" || strings.Trim(n, "0123456789") != "") {
		// A clone instance's name is the resource's and a number, as
		// Pacemaker's are: anything else would name another resource.
		return fmt.Errorf("register %s (%s): instance name %q is not %s:N", r.ID, r.Name, r.Instance, r.ID)
	}
	for _, k := range sortedKeys(r.Params) {
		if err := ocf.ValidParamName(k); err != nil {
			return fmt.Errorf("register %s (%s): %w", r.ID, r.Name, err)
		}
		if strings.ContainsRune(r.Params[k], 0) {
			return fmt.Errorf("register %s (%s): parameter %s contains a NUL byte", r.ID, r.Name, k)
		}
	}
	if err := checkMeta(r.Meta); err != nil {
		return fmt.Errorf("register %s (%s): %w", r.ID, r.Name, err)
	}
	return nil
}

// checkMeta refuses meta attributes the agent's environment cannot carry.
func checkMeta(meta map[string]string) error {
	for _, k := range sortedKeys(meta) {
		if err := ocf.ValidMetaName(k); err != nil {
			return err
		}
		if strings.ContainsRune(meta[k], 0) {
			return fmt.Errorf("meta attribute %s contains a NUL byte", k)
		}
	}
	return nil
}

// Unregister forgets a resource, cancelling its recurring operations. It is
// refused while any operation is running or a one-shot operation is queued:
// forgetting a resource whose agent still runs would let a re-registered
// twin start an overlapping operation, and a queued result would be lost.
func (l *LRM) Unregister(now time.Time, id string) ([]effect.Effect, error) {
	r, ok := l.rscs[id]
	if !ok {
		return nil, nil
	}
	for _, o := range r.queue {
		if !o.recurring() || o.state == opRunning {
			return nil, fmt.Errorf("unregister %s (%s): %w", id, r.def.Name, ErrBusy)
		}
	}
	var effs []effect.Effect
	for _, k := range sortedOpKeys(r.recurring) {
		effs = l.cancelRecurring(now, r, r.recurring[k], effs)
	}
	delete(l.rscs, id)
	return l.appendLog(effs, slog.LevelInfo, r, "resource unregistered"), nil
}

// Submit accepts an operation and returns its call ID at once; the result
// arrives later as a Notify effect and in the resource's history.
func (l *LRM) Submit(now time.Time, req OpRequest) (CallID, []effect.Effect, error) {
	r, ok := l.rscs[req.Resource]
	if !ok {
		return 0, nil, fmt.Errorf("%s %s: %w", req.Action, req.Resource, ErrUnknownResource)
	}
	if err := validateRequest(req); err != nil {
		return 0, nil, fmt.Errorf("%s %s (%s): %w", req.Action, r.def.ID, r.def.Name, err)
	}
	old := r.recurring[req.Key()]
	if req.Interval > 0 && old != nil && old.req == req {
		return old.call, nil, nil // identical recurring request: merged
	}
	if (req.Interval == 0 || req.StartDelay == 0) && l.queued >= l.cfg.MaxQueued {
		return 0, nil, fmt.Errorf("%s %s (%s): %w (%d waiting)", req.Action, r.def.ID, r.def.Name, ErrQueueFull, l.queued)
	}
	effs := l.batch(2) // nearly every request starts a run
	if req.Interval > 0 && old != nil {
		effs = l.cancelRecurring(now, r, old, effs) // replaced by the new request
	}
	effs = l.learnFirst(now, r, req, effs)
	if req.Action == ocf.Stop {
		// A stop ends monitoring: a monitor racing a stop would report the
		// resource dead and trigger recovery of a resource being stopped.
		for _, k := range sortedOpKeys(r.recurring) {
			effs = l.cancelRecurring(now, r, r.recurring[k], effs)
		}
	}
	l.nextCall++
	o := l.newOp(op{call: l.nextCall, req: req, queuedAt: now})
	if o.recurring() {
		if r.recurring == nil {
			r.recurring = map[OpKey]*op{}
		}
		r.recurring[req.Key()] = o
		if req.StartDelay > 0 {
			o.state = opIdle
			effs = append(effs, l.setTimer(o, now.Add(req.StartDelay)))
			return o.call, effs, nil
		}
	}
	effs = l.enqueue(now, r, o, effs)
	return o.call, effs, nil
}

func validateRequest(req OpRequest) error {
	if _, err := ocf.ParseAction(string(req.Action)); err != nil {
		return err
	}
	if req.Timeout <= 0 {
		return fmt.Errorf("timeout must be positive, got %s", req.Timeout)
	}
	if req.Interval < 0 || req.StartDelay < 0 || req.Depth < 0 {
		return fmt.Errorf("interval, start delay and depth must not be negative")
	}
	if req.Interval > 0 && req.Action != ocf.Monitor {
		return fmt.Errorf("only monitor can recur, not %s", req.Action)
	}
	if req.StartDelay > 0 && req.Interval == 0 {
		return fmt.Errorf("start delay applies to recurring operations only")
	}
	if req.Meta != nil {
		if req.Interval > 0 {
			return fmt.Errorf("a recurring operation takes no meta attributes of its own")
		}
		if err := checkMeta(*req.Meta); err != nil {
			return err
		}
	}
	return nil
}

// Cancel stops a recurring operation. A run in progress finishes, and its
// result is reported as Cancelled.
func (l *LRM) Cancel(now time.Time, id string, action ocf.Action, interval time.Duration) ([]effect.Effect, error) {
	r, ok := l.rscs[id]
	if !ok {
		return nil, fmt.Errorf("cancel %s_%d on %s: %w", action, interval.Milliseconds(), id, ErrUnknownResource)
	}
	if interval <= 0 {
		return nil, fmt.Errorf("cancel %s on %s (%s): only recurring operations can be cancelled", action, id, r.def.Name)
	}
	o, ok := r.recurring[OpKey{Action: action, Interval: interval}]
	if !ok {
		return nil, noSuchRecurring(OpKey{action, interval}, id, r.def.Name)
	}
	return l.cancelRecurring(now, r, o, nil), nil
}

// noSuchRecurring is Cancel's error for a key nothing recurs at, the text
// fmt.Errorf("cancel %s on %s (%s): no such recurring operation") gives,
// built without fmt: a manager cancels monitors that already ended (a
// stop ended them) often enough that the error was among the LRM's most
// frequent allocations.
func noSuchRecurring(key OpKey, id, name string) error {
	var buf [128]byte
	b := key.Append(append(buf[:0], "cancel "...))
	b = append(append(append(append(append(b, " on "...), id...), " ("...), name...), "): no such recurring operation"...)
	return errors.New(string(b))
}

// cancelRecurring removes o from its resource's recurring set. An idle or
// queued op reports Cancelled now; a running one when its process ends.
func (l *LRM) cancelRecurring(now time.Time, r *resource, o *op, effs []effect.Effect) []effect.Effect {
	delete(r.recurring, o.req.Key())
	o.cancelled = true
	switch o.state {
	case opIdle:
		effs = append(effs, l.cancelTimer(o))
		return l.report(now, r, o, Result{Status: Cancelled, RC: ocf.ErrGeneric}, effs)
	case opQueued:
		l.dequeue(r, o)
		return l.report(now, r, o, Result{Status: Cancelled, RC: ocf.ErrGeneric}, effs)
	}
	return effs // running: reported on exit
}

func (l *LRM) enqueue(now time.Time, r *resource, o *op, effs []effect.Effect) []effect.Effect {
	o.state = opQueued
	o.queuedAt = now
	r.queue = append(r.queue, o)
	l.queued++
	if len(r.queue) == 1 {
		effs = l.tryStart(now, r, effs)
	}
	return effs
}

func (l *LRM) dequeue(r *resource, o *op) {
	i := slices.Index(r.queue, o)
	if i < 0 {
		return
	}
	r.queue = slices.Delete(r.queue, i, i+1)
	l.queued--
	if o.waiting {
		o.waiting = false
		l.slotWait = slices.DeleteFunc(l.slotWait, func(w *op) bool { return w == o })
	}
}

// tryStart starts r's queue head if it is not running and a process slot is
// free; otherwise the head waits for a slot in FIFO order with every other
// resource's head, so that no resource starves.
func (l *LRM) tryStart(now time.Time, r *resource, effs []effect.Effect) []effect.Effect {
	if len(r.queue) == 0 {
		return effs
	}
	o := r.queue[0]
	if o.state == opRunning || o.waiting {
		return effs
	}
	if l.running >= l.cfg.MaxConcurrent {
		o.waiting = true
		l.slotWait = append(l.slotWait, o)
		return effs
	}
	return l.start(now, r, o, effs)
}

func (l *LRM) start(now time.Time, r *resource, o *op, effs []effect.Effect) []effect.Effect {
	path, env, digest, err := l.runSpec(r, o)
	if err != nil {
		// Unreachable for registered resources in practice (Register
		// validates), but an op must always end with a result.
		l.queued--
		r.popHead()
		effs = l.report(now, r, o, Result{Status: Error, RC: ocf.ErrConfigured, ExitReason: err.Error()}, effs)
		return l.tryStart(now, r, effs)
	}
	l.queued--
	l.running++
	l.nextProc++
	o.pid = l.nextProc
	o.digest = digest
	o.state = opRunning
	o.started = now
	o.timedOut = false
	l.procs[o.pid] = o
	if o.args == nil {
		o.args = l.argsOf(o.req.Action)
	}
	effs = append(effs,
		l.batches.StartProcess(effect.StartProcess{ID: o.pid, Spec: proc.Spec{
			Path: path, Args: o.args, Env: env, OutputLimit: l.cfg.OutputLimit,
		}}),
		l.setTimer(o, now.Add(o.req.Timeout)),
	)
	if l.logs(slog.LevelDebug) {
		effs = append(effs, l.logOp(slog.LevelDebug, r, o, "operation started"))
	}
	return effs
}

// runSpec is what o's run starts with: the agent's path, its environment
// and the definition's digest. A run of the registered definition without
// meta attributes of its own (every monitor, and nearly every other run)
// takes them from the resource's cache.
func (l *LRM) runSpec(r *resource, o *op) (path string, env []string, digest string, err error) {
	cached := o.def == nil && (o.req.Meta == nil || len(*o.req.Meta) == 0)
	def := r.def
	if o.def != nil {
		def = *o.def
	}
	depth := 0
	if o.req.Action == ocf.Monitor {
		depth = o.req.Depth
	}
	key := envKey{timeout: o.req.Timeout, interval: o.req.Interval, depth: depth}
	if cached && r.derived.path != "" {
		if env, ok := r.derived.env(key); ok {
			return r.derived.path, env, r.digest(), nil
		}
	}
	if path, err = l.agentPath(def.Agent); err != nil {
		return "", nil, "", err
	}
	env, err = ocf.Env(ocf.EnvSpec{
		Root: l.cfg.OCFRoot, Agent: def.Agent, Instance: def.InstanceName(), Params: def.Params,
		Timeout: o.req.Timeout, Interval: o.req.Interval, Depth: depth, Extra: l.cfg.ExtraEnv,
		Meta: opMeta(def.Meta, o.req.Meta),
	})
	if err != nil {
		return "", nil, "", err
	}
	if !cached {
		return path, env, def.Digest(), nil
	}
	r.derived.path = path
	r.derived.addEnv(key, env)
	return path, env, r.digest(), nil
}

// ProcessExited delivers the end of an agent process.
func (l *LRM) ProcessExited(now time.Time, id proc.ID, exit proc.Exit) []effect.Effect {
	o, ok := l.procs[id]
	if !ok {
		return nil // not ours, or already handled: drivers may deliver late
	}
	delete(l.procs, id)
	l.running--
	// Room for the usual end: the timer's cancel, the result's log and
	// notification, the next run's timer (growing from nil cost two
	// allocations per run).
	effs := l.batch(4)
	effs = append(effs, l.cancelTimer(o))
	res := resultFromExit(o, exit)
	r, known := l.rscs[o.req.Resource]
	if known && len(r.queue) > 0 && r.queue[0] == o {
		r.popHead()
	}
	if known {
		o.state = opIdle
		if o.cancelled {
			res.Status, res.RC = Cancelled, ocf.ErrGeneric
		}
		effs = l.report(now, r, o, res, effs)
		if o.recurring() && !o.cancelled {
			effs = append(effs, l.setTimer(o, now.Add(o.req.Interval)))
		} else {
			l.spareOps.Keep(o) // reported and ended: no map, queue or timer holds it
		}
		effs = l.tryStart(now, r, effs)
	}
	return l.fillSlots(now, effs)
}

// newOp is a new operation of value v, in the op of an ended one if there
// is one: every request was an op's allocation.
func (l *LRM) newOp(v op) *op { return l.spareOps.Reuse(v) }

// fillSlots hands freed process slots to waiting queue heads, oldest first.
func (l *LRM) fillSlots(now time.Time, effs []effect.Effect) []effect.Effect {
	for len(l.slotWait) > 0 && l.running < l.cfg.MaxConcurrent {
		o := l.slotWait[0]
		l.slotWait = l.slotWait[1:]
		o.waiting = false
		effs = l.start(now, l.rscs[o.req.Resource], o, effs)
	}
	return effs
}

func resultFromExit(o *op, exit proc.Exit) Result {
	res := Result{ExitReason: ocf.ExitReason(exit.Stderr), Output: string(exit.Stdout)}
	switch {
	case o.timedOut:
		res.Status, res.RC = Timeout, ocf.ErrGeneric
		if res.ExitReason == "" {
			res.ExitReason = fmt.Sprintf("timed out after %s", o.req.Timeout)
		}
	case exit.Missing:
		res.Status, res.RC = NotInstalled, ocf.ErrInstalled
		if res.ExitReason == "" {
			res.ExitReason = exit.StartError
		}
	case !exit.Started():
		res.Status, res.RC = Error, ocf.ErrGeneric
		res.ExitReason = exit.StartError
	case exit.Code < 0:
		res.Status, res.RC = Error, ocf.ErrGeneric
		if res.ExitReason == "" {
			res.ExitReason = "agent killed by signal " + exit.Signal
		}
	default:
		res.Status, res.RC = Done, ocf.RC(exit.Code)
		// An agent that fails without an exit reason often said why on
		// stderr (a shell's "command not found", a program's own error):
		// its first line, marked as such, is better than an rc alone. A
		// run that did not fail keeps its stderr to itself: a probe's
		// "not running" chatter is no reason for anything.
		probe := o.req.Action == ocf.Monitor && o.req.Interval == 0
		if res.ExitReason == "" && ocf.Classify(o.req.Action, res.RC, probe).Failed() {
			res.ExitReason = ocf.StderrReason(exit.Stderr)
		}
	}
	return res
}

// TimerFired delivers a timer set through a SetTimer effect. Stale timers
// (cancelled or moved) are ignored.
func (l *LRM) TimerFired(now time.Time, id effect.TimerID) []effect.Effect {
	o, ok := l.timers[id]
	if !ok || o.timer != id {
		return nil
	}
	delete(l.timers, id)
	o.timer = 0
	r, known := l.rscs[o.req.Resource]
	if !known {
		return nil
	}
	switch o.state {
	case opRunning:
		o.timedOut = true
		effs := []effect.Effect{&effect.KillProcess{ID: o.pid}}
		if l.logs(slog.LevelWarn) {
			effs = append(effs, l.logOp(slog.LevelWarn, r, o, "operation timed out; killing its process group"))
		}
		return effs
	case opIdle:
		if o.cancelled {
			return nil
		}
		if l.queued >= l.cfg.MaxQueued {
			// Skip this run rather than grow the queue: the next interval
			// retries, and the missed run is logged.
			effs := []effect.Effect{l.setTimer(o, now.Add(o.req.Interval))}
			if l.logs(slog.LevelWarn) {
				effs = append(effs, l.logOp(slog.LevelWarn, r, o, "recurring operation skipped: queue full"))
			}
			return effs
		}
		effs := l.batch(2) // a start's two
		return l.fillSlots(now, l.enqueue(now, r, o, effs))
	}
	return nil
}

// report records a run's result in the resource's history and notifies
// subscribers.
func (l *LRM) report(now time.Time, r *resource, o *op, res Result, effs []effect.Effect) []effect.Effect {
	if o.learn {
		return l.learnt(r, o, res, effs)
	}
	res.CallID = o.call
	res.Resource = r.def.ID
	res.Name = r.def.Name
	res.Digest = o.digest
	if res.Digest == "" { // it never ran: the definition it would have
		res.Digest = r.digest()
	}
	res.Action = o.req.Action
	res.Interval = o.req.Interval
	res.Depth = o.req.Depth
	res.QueuedAt = o.queuedAt
	res.StartedAt = o.started
	res.EndedAt = now
	res.Outcome = outcome(res)
	o.started = time.Time{}
	effs = l.settle(r, o, res, effs)
	if rl := r.def.Reload; rl != nil && res.Digest == r.digest() {
		res.ReloadAction, res.ForceRestart, res.RestartDigest = rl.Action, slices.Clone(rl.ForceRestart), rl.RestartDigest
	}

	rec := OpRecord{
		CallID: res.CallID, Key: res.Key(), Depth: res.Depth, RC: res.RC, Status: res.Status,
		Outcome: res.Outcome, ExitReason: res.ExitReason, QueuedAt: res.QueuedAt, StartedAt: res.StartedAt,
		EndedAt: res.EndedAt, QueueTime: res.QueueTime(), RunTime: res.RunTime(), LastRCChange: now,
	}
	if prev := r.run(rec.Key); prev != nil && prev.rec.RC == rec.RC && prev.rec.Status == rec.Status {
		rec.LastRCChange = prev.rec.LastRCChange
	}
	r.setRun(rec, res)
	r.last = rec
	if res.Failed() {
		r.lastFail = rec
	}
	l.addRecent(r, rec)

	// Recurring monitors report only changes: a monitor that says
	// "running" every 10 s is noise; the one that says "dead" is the event.
	changed := !o.recurring() || o.last == nil || o.last.RC != res.RC || o.last.Status != res.Status
	if o.recurring() {
		if o.last == nil {
			o.last = new(Result)
		}
		*o.last = res // o's alone: reused at every run
	}
	level := slog.LevelInfo
	if res.Failed() {
		level = slog.LevelWarn
	} else if !changed {
		level = slog.LevelDebug
	}
	if l.logs(level) {
		effs = append(effs, l.logf(level, r, "operation finished",
			slog.String("op", o.keyString()), slog.Uint64("call", uint64(res.CallID)),
			slog.String("status", res.Status.String()), slog.String("rc", res.RC.String()),
			slog.String("outcome", res.Outcome.String()), slog.String("reason", res.ExitReason)))
	}
	if changed {
		for _, s := range l.subs {
			effs = append(effs, l.notify(s, res))
		}
	}
	return effs
}

// outcome classifies a result: the agent's rc when it ran, otherwise the
// execution status decides (a missing agent is a hard failure on this host,
// a timeout a soft one).
func outcome(res Result) ocf.Outcome {
	switch res.Status {
	case Done:
		probe := res.Action == ocf.Monitor && res.Interval == 0
		return ocf.Classify(res.Action, res.RC, probe)
	case NotInstalled:
		if res.Action == ocf.Monitor && res.Interval == 0 {
			// Pacemaker's probe exception: a resource whose agent is not
			// installed here cannot be running here.
			return ocf.Classify(res.Action, ocf.ErrInstalled, true)
		}
		// Even for a stop: without its agent nobody can prove the resource
		// stopped, so the manager must treat it as a stop failure.
		return ocf.HardFailure
	default:
		return ocf.SoftFailure
	}
}

// Subscribe registers a client to be notified of results. Subscribing twice
// is a no-op.
func (l *LRM) Subscribe(name string) {
	i, found := slices.BinarySearch(l.subs, name)
	if !found {
		l.subs = slices.Insert(l.subs, i, name)
	}
}

// Unsubscribe removes a client.
func (l *LRM) Unsubscribe(name string) {
	if i, found := slices.BinarySearch(l.subs, name); found {
		l.subs = slices.Delete(l.subs, i, i+1)
	}
}

// Resource returns a registered resource's definition.
func (l *LRM) Resource(id string) (Resource, bool) {
	r, ok := l.rscs[id]
	if !ok {
		return Resource{}, false
	}
	return r.def.clone(), true
}

// ResourceView is Resource without the copy, for a caller that only reads
// the definition (compares it, derives a request from it): its maps and
// Reload are the LRM's own and must not be changed. It stays what it was
// when taken, since the LRM replaces a definition (Register, a reload, a
// meta-data run), never edits one in place. Every command's agent looks
// up its resource twice: copying its parameters each time cost two maps.
func (l *LRM) ResourceView(id string) (Resource, bool) {
	r, ok := l.rscs[id]
	if !ok {
		return Resource{}, false
	}
	return r.def, true
}

// IDs returns the registered resources' IDs, sorted.
func (l *LRM) IDs() []string { return sortedKeys(l.rscs) }

// Resources returns the registered resources' definitions, by ID.
func (l *LRM) Resources() []Resource {
	out := make([]Resource, 0, len(l.rscs))
	for _, id := range sortedKeys(l.rscs) {
		out = append(out, l.rscs[id].def.clone())
	}
	return out
}

// History returns a copy of what the LRM remembers of a resource.
func (l *LRM) History(id string) (History, bool) {
	r, ok := l.rscs[id]
	if !ok {
		return History{}, false
	}
	h := History{Resource: r.def.clone(), Recent: r.recentRuns()}
	if r.last.CallID != 0 {
		c := r.last
		h.Last = &c
	}
	if r.lastFail.CallID != 0 {
		c := r.lastFail
		h.LastFailure = &c
	}
	for i := range r.keys {
		h.ByKey = append(h.ByKey, r.keys[i].rec)
	}
	return h, true
}

// LastResult returns the latest result of an operation key of a resource:
// what a client re-subscribing to a merged recurring monitor needs, since the
// merge itself reports nothing new.
func (l *LRM) LastResult(id string, key OpKey) (Result, bool) {
	r, ok := l.rscs[id]
	if !ok {
		return Result{}, false
	}
	k := r.run(key)
	if k == nil {
		return Result{}, false
	}
	return k.res, true
}

// RecurringCall returns the call ID of the recurring operation of a
// resource at key. A key names a monitor, not one setup of it: a caller
// that must not end a newer setup (the agent, for a cancel that names the
// setup it means) tells them apart by their calls.
func (l *LRM) RecurringCall(id string, key OpKey) (CallID, bool) {
	r, ok := l.rscs[id]
	if !ok {
		return 0, false
	}
	o, ok := r.recurring[key]
	if !ok {
		return 0, false
	}
	return o.call, true
}

// Recurring returns the recurring operations of a resource, sorted by key.
func (l *LRM) Recurring(id string) []OpRequest {
	r, ok := l.rscs[id]
	if !ok {
		return nil
	}
	var out []OpRequest
	for _, k := range sortedOpKeys(r.recurring) {
		out = append(out, r.recurring[k].req)
	}
	return out
}

// Stats returns the current load.
func (l *LRM) Stats() Stats {
	s := Stats{Resources: len(l.rscs), Running: l.running, Queued: l.queued}
	for _, r := range l.rscs {
		s.Recurring += len(r.recurring)
	}
	return s
}

func (l *LRM) setTimer(o *op, at time.Time) effect.Effect {
	if o.timer != 0 {
		delete(l.timers, o.timer)
	}
	l.nextTimer++
	o.timer = l.nextTimer
	l.timers[o.timer] = o
	return l.batches.SetTimer(effect.SetTimer{ID: o.timer, At: at})
}

func (l *LRM) cancelTimer(o *op) effect.Effect {
	id := o.timer
	delete(l.timers, id)
	o.timer = 0
	return l.batches.CancelTimer(effect.CancelTimer{ID: id})
}

// ShareBatches makes the LRM take the slices of its batches from b: those
// of the machine that embeds it, whose driver hands its batches back
// there (effect.Batches), the LRM's among them.
func (l *LRM) ShareBatches(b *effect.Batches) { l.batches = b }

// batch is an empty batch with room for n effects, from the shared
// batches if there are.
func (l *LRM) batch(n int) []effect.Effect {
	if l.batches == nil {
		return make([]effect.Effect, 0, n)
	}
	return l.batches.Take(n)
}

// logs reports whether the LRM emits records of level (Config.LogLevel).
// The sites that log on every run ask it first, so that a record below the
// level is not built.
func (l *LRM) logs(level slog.Level) bool { return level >= l.minLevel }

// Logs is logs for the machine that embeds the LRM, whose records follow
// the same level (the agent's fence runs).
func (l *LRM) Logs(level slog.Level) bool { return l.logs(level) }

// appendLog appends logf's record to effs, if the LRM emits its level.
func (l *LRM) appendLog(effs []effect.Effect, level slog.Level, r *resource, msg string, attrs ...slog.Attr) []effect.Effect {
	if !l.logs(level) {
		return effs
	}
	return append(effs, l.logf(level, r, msg, attrs...))
}

// logf is a record about r; callers ask logs (or appendLog does) first.
func (l *LRM) logf(level slog.Level, r *resource, msg string, attrs ...slog.Attr) effect.Log {
	all := make([]slog.Attr, 0, 2+len(attrs)) // one allocation: every run logs twice
	all = append(all, slog.String("resource", r.def.ID), slog.String("name", r.def.Name))
	return effect.Log{Level: level, Msg: msg, Attrs: append(all, attrs...)}
}

// logOp is logf with the attributes that name o's run. Built here, not
// passed as a slice to logf, so that the list is made once: every run
// logs its start.
func (l *LRM) logOp(level slog.Level, r *resource, o *op, msg string) effect.Log {
	return l.logf(level, r, msg,
		slog.String("op", o.keyString()), slog.Uint64("call", uint64(o.call)),
		slog.Int("depth", o.req.Depth), slog.Duration("timeout", o.req.Timeout))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedOpKeys[V any](m map[OpKey]V) []OpKey {
	keys := make([]OpKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareOpKeys)
	return keys
}

// compareOpKeys orders operation keys by action, then interval.
func compareOpKeys(a, b OpKey) int {
	if c := strings.Compare(string(a.Action), string(b.Action)); c != 0 {
		return c
	}
	switch {
	case a.Interval < b.Interval:
		return -1
	case a.Interval > b.Interval:
		return 1
	}
	return 0
}

// addRecent adds rec to r's recent runs, in place of the oldest once
// there are Config.HistoryLen: the list never outgrows the bound, and
// grows by a few allocations per resource, not one more than the bound's.
func (l *LRM) addRecent(r *resource, rec OpRecord) {
	if len(r.recent) < l.cfg.HistoryLen {
		if r.recent == nil {
			r.recent = make([]OpRecord, 0, min(4, l.cfg.HistoryLen))
		}
		r.recent = append(r.recent, rec)
		return
	}
	r.recent[r.recentHead] = rec
	r.recentHead = (r.recentHead + 1) % len(r.recent)
}

// recentRuns are r's recent runs, oldest first, in a new slice.
func (r *resource) recentRuns() []OpRecord {
	if r.recent == nil {
		return nil
	}
	out := make([]OpRecord, 0, len(r.recent))
	return append(append(out, r.recent[r.recentHead:]...), r.recent[:r.recentHead]...)
}

// opMeta is an operation's meta attributes: its resource's, with its
// request's over them.
func opMeta(rsc map[string]string, req *Meta) map[string]string {
	if req == nil || len(*req) == 0 {
		return rsc
	}
	out := maps.Clone(rsc)
	if out == nil {
		out = make(map[string]string, len(*req))
	}
	maps.Copy(out, *req)
	return out
}
