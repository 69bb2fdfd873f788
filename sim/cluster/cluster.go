// Package cluster is a whole Basalt cluster in one goroutine on virtual
// time: the real manager and host agent state machines (with their real
// LRMs and fencer), a network that delivers, delays, drops and partitions
// messages, simulated OCF agents that keep each resource's state as a file
// in a per-host simulated file system, and simulated fence devices that
// power hosts off by killing their agents and wiping their resources.
// Faults are injected by calling its methods at chosen virtual times.
//
// Everything is deterministic: given the same calls, the same trace.
package cluster

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/core/coordinator"
	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/eventlog"
	"github.com/basalt-ha/basalt/core/history"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/sim/coordstore"
	"github.com/basalt-ha/basalt/sim/eventq"
	"github.com/basalt-ha/basalt/sim/simproc"
)

// Start is the virtual time every simulation begins at.
var Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fenceAgentDir is where simulated hosts "find" fence agents.
const fenceAgentDir = "/usr/sbin"

// Options tune a simulated cluster.
type Options struct {
	Seed uint64
	// Config is the text Model was loaded from: RunningConfig's text until
	// a change is applied, and what the simulator's configuration changes
	// edit.
	Config []byte
	// Latency bounds one message's delay: uniform in [Min, Max].
	LatencyMin, LatencyMax time.Duration
	// Loss is the probability a message's packets are lost in transit;
	// the connection retransmits them (see retransmission), so a loss
	// delays the message and those sent after it on its connection.
	Loss float64
	// AgentDuration bounds how long a resource agent action takes.
	AgentDuration time.Duration
	// FenceDuration is how long a fence action takes.
	FenceDuration time.Duration
	// RebootAfter is how long a fenced host stays off before it boots
	// again (0: it stays off).
	RebootAfter time.Duration
	// ManagerIntercept, when set, sees every batch of the manager's
	// effects before the cluster carries them out (a manager canary, see
	// sim/canary): it may rewrite them and feed inputs back.
	ManagerIntercept func(m *manager.Manager, now time.Time, effs []effect.Effect) []effect.Effect
	// ManagerTimerAt, when set, is the time the manager is told a timer of
	// its fired at, given when it was due and when it fires: a manager
	// canary that hides a pause from the manager (sim/canary). Unset, it
	// is the time the timer fires, as a real clock says.
	ManagerTimerAt func(due, now time.Time) time.Time
	// WrapAgent, when set, wraps every agent machine at its input/effect
	// boundary: the agent canaries (sim/canary).
	WrapAgent func(*agent.Agent) agent.Machine
	// Trace, when set, receives every trace line as it happens.
	Trace func(string)
	// LearnMetaData: the agents learn each agent type's meta-data before
	// its first start, as basalt-agent does, so that a changed definition
	// whose changed parameters all reload is reloaded in place
	// (simproc.MetaData says which). Off, every change restarts; default
	// runs never change a definition, and leave it off so that their
	// traces stay those of the runs before reloads.
	LearnMetaData bool
	// Observer, when set, sees every resource state change on a host.
	Observer func(Change)
	// ManagerEvent, when set, sees the payload of every event record the
	// manager appended to its event log (one JSON manager.Event), as it is
	// stored: judges that read the manager's decisions see them all, not
	// only the last ones a manager keeps in memory.
	ManagerEvent func(payload []byte)
	// Replicas, when set, runs that many manager replicas against a
	// coordination store instead of one manager (replicas.go).
	Replicas int
	// LeaseTTL is the replicas' lease TTL (0: live/ha's default, 5 s).
	LeaseTTL time.Duration
	// IgnoreLease is the ignore-lease canary: a replica's manager goes on
	// acting, and writing unguarded, after its lease is lost.
	IgnoreLease bool
}

// Change is one change of ground truth: a resource became active or
// inactive on a host (its state file appeared or disappeared).
type Change struct {
	At       time.Time
	Host     string
	Resource string
	// Digest is the definition of the instance (ocf.Digest), "" for the
	// one the resource had when the cluster was built.
	Digest string
	Active bool
	// Cause: "start", "stop", "died", "fenced", "monitor".
	Cause string
	// Role marks a change of the instance's role, not of its activity:
	// Promoted says which it took (a promote's end, a demote's; an
	// instance that ends gives up its role with it, and says so only
	// by Active false).
	Role     bool
	Promoted bool
}

// Op is one operation in the history the judges read: the agents' records
// (history.Note effects) paired, and the fences as the targets' power saw
// them (Kind "fence", no resource).
type Op = history.Op

// Act records a command an agent acted on, and the epoch it carried.
type Act struct {
	At    time.Time
	Host  string
	Epoch proto.Epoch
	What  effect.Message // described when a judge reports it
}

// ResourceFault makes an action of a resource on a host misbehave.
type ResourceFault struct {
	// RC is the exit code to return instead of success.
	RC int
	// Hang makes the action never end.
	Hang bool
	// Delay, when set, is how long the action takes (a slow start),
	// instead of a draw from Options.AgentDuration.
	Delay time.Duration
	// Times limits the fault to that many runs (0: forever).
	Times int
}

// DeviceFault makes a fence device misbehave.
type DeviceFault struct {
	Fail bool
	// Lie makes "off" report success without powering anything off, so
	// that only the status check can catch it.
	Lie  bool
	Hang bool
}

type host struct {
	name    string
	powered bool
	paused  bool
	// agent is the running agent machine (possibly wrapped by a canary),
	// inner the agent beneath.
	agent agent.Machine
	inner *agent.Agent
	store *storage.Mem
	// files is the simulated file system of resource state files, one
	// per instance (a resource run with one definition): present or not.
	files map[inst]bool
	// instances counts the files per resource, for Running.
	instances map[string]int
	// promoted are the instances in the promoted role (a promotable
	// clone's): a promote sets it, a demote, a stop or the end of the
	// instance clears it.
	promoted map[inst]bool
	// starting counts the start actions running per resource. The LRM
	// runs one operation per resource at a time, so a monitor only ever
	// overlaps a start that a dead agent left running (an orphan): it sees
	// no state file yet, as the statefile agent's monitor does while its
	// start has not written one.
	starting map[inst]int
	timers   *timerSet
	// procs are the agent processes running, by the agent life (gen) that
	// started them: an agent restart does not kill resource agents, and a
	// new agent's process IDs start again from 1.
	procs map[procKey]*simProc
	// gen counts boots, so that events scheduled for a previous life of
	// the host (a process exit, a timer) are dropped.
	gen int
	// boots counts power-ons: the agent's boot ID.
	boots int
	// pgids maps the simulated process groups to their processes: a
	// restarted agent kills its predecessor's by group.
	pgids    map[int]procKey
	nextPgid int
	// held collects what a paused host would have done.
	held []func()
	// agentDied is when the host's agent was last killed (kill -9) while
	// the host ran: ground truth for the unjust-loss judge (Loss).
	agentDied time.Time
	// slow, when set, is how long every start and stop takes on the host
	// (SlowHost).
	slow time.Duration
	// midway, when set, waits for the next action it names (CrashMidway).
	midway *midway
	rng    *rand.Rand
}

// inst is an instance of a resource: the resource run with one
// definition. digest is "" for the definition the resource had when the
// cluster was built, its ocf.Digest for any other (a changed parameter):
// the trace names only those, so that a run without a configuration
// change traces as it always has. The old and the new definition of a
// resource are two instances that must never be active at once, as an IP
// address agent's old and new address are two addresses.
type inst struct{ rsc, digest string }

func (i inst) String() string {
	if i.digest == "" {
		return i.rsc
	}
	return i.rsc + "#" + i.digest[:min(8, len(i.digest))]
}

// startDef is a resource's definition when the cluster was built.
type startDef struct {
	agent  ocf.Agent
	params map[string]string
}

func instLess(a, b inst) int {
	if c := strings.Compare(a.rsc, b.rsc); c != 0 {
		return c
	}
	return strings.Compare(a.digest, b.digest)
}

type procKey struct {
	gen int
	id  proc.ID
}

type simProc struct {
	exit eventq.ID
	// run ends the process, killed or not: it is the exit event's own
	// callback (one closure per process, not one more to pass killed).
	run    func()
	killed bool
	// A resource agent's run (startProcess) keeps what its end needs
	// here, and run is bound once to resourceRunEnds: its simProc is
	// reused (Cluster.procs) once the run has ended, as a process per
	// operation was the driver's last allocation per event. A fence
	// agent's run (startFence) is a closure of its own.
	h      *host
	key    procKey
	pgid   int
	in     inst
	action string
	fault  *ResourceFault
	score  *simScore
}

// kill ends p now, killed.
func (p *simProc) kill() {
	p.killed = true
	p.run()
}

// Cluster is a simulated cluster.
type Cluster struct {
	Q      *eventq.Queue
	Model  *model.Model
	opts   Options
	hosts  map[string]*host
	names  []string
	cur    *mgrInst
	stale  []*mgrInst
	mstore *storage.Mem
	// cut[a][b]: messages from a to b are dropped.
	cut     map[string]map[string]bool
	netRng  *rand.Rand
	rfaults map[string]*ResourceFault // host/resource/action
	dfaults map[string]DeviceFault
	hasher  *xxhash.Digest
	lines   int
	// line is the trace line being built (trace.go), reused.
	line []byte
	// flights are the free messages in flight (transmit), procs the free
	// resource agent runs (startProcess), timerFree the free timers of
	// every machine's timer set (timers.go).
	flights   freeList[flight]
	procs     freeList[simProc]
	timerFree freeList[timer]
	rebooting map[string]bool
	// records are the agents' history records, paired into operations
	// as they are written; fences the fences as the targets' power saw
	// them.
	records history.Pairer
	fences  []Op
	// Acts is every command an agent acted on.
	Acts []Act
	// Handovers is every change of the connection an agent obeys that a
	// connection's arrival or a message on it caused.
	Handovers     []Handover
	clog          map[string]time.Duration
	dup           float64
	staleRefusals int
	// conns are the manager-agent connections (conn.go): open ones by ID,
	// and in the order they opened.
	conns map[effect.ConnID]*simConn
	open  []*simConn
	// losses are the managers' declarations of lost hosts (liveness.go).
	losses   []Loss
	lastConn effect.ConnID
	connCov  ConnCoverage
	// Manager replicas (replicas.go): the store, the replicas, and what
	// the leadership judge needs.
	store *coordstore.Store
	reps  []*replica
	// journal is the event log's records as the store holds them, kept
	// from the leaders' writes for the standbys to follow.
	journal       [][]byte
	storeDown     bool
	expiryEv      eventq.ID
	campaigns     map[coordinator.LeaseID]*campaigner
	leaderKey     string
	tenures       []Tenure
	leaderActs    []LeaderAct
	leaderCrashes []LeaderCrash
	// startup is each resource's definition digest when the cluster was
	// built (see inst).
	startup map[string]string
	// startDefs are the start-up definitions themselves, which an agent
	// run's environment is compared with before any digest is computed.
	startDefs map[string]startDef
	// running and runningText are the configuration last applied (nil:
	// none), for RunningConfig while no manager answers.
	running     *model.Model
	runningText string
}

// New builds a cluster for the model; nothing runs until Boot.
func New(m *model.Model, opts Options) *Cluster {
	if opts.LatencyMax == 0 {
		opts.LatencyMin, opts.LatencyMax = time.Millisecond, 5*time.Millisecond
	}
	if opts.AgentDuration == 0 {
		opts.AgentDuration = 200 * time.Millisecond
	}
	if opts.FenceDuration == 0 {
		opts.FenceDuration = 2 * time.Second
	}
	c := &Cluster{
		Q: eventq.New(Start, rand.New(rand.NewPCG(opts.Seed, 1))), Model: m, opts: opts,
		hosts: map[string]*host{}, mstore: storage.NewMem(), hasher: xxhash.New(),
		cut: map[string]map[string]bool{}, netRng: rand.New(rand.NewPCG(opts.Seed, 2)),
		rfaults: map[string]*ResourceFault{},
		dfaults: map[string]DeviceFault{}, rebooting: map[string]bool{}, clog: map[string]time.Duration{},
		conns: map[effect.ConnID]*simConn{}, startup: map[string]string{}, startDefs: map[string]startDef{},
	}
	for i := range m.Resources {
		r := &m.Resources[i]
		c.startup[r.ID], c.startDefs[r.ID] = r.Digest(), startDef{agent: r.Agent, params: r.Params}
	}
	if opts.Replicas > 0 {
		c.store, c.campaigns = coordstore.New(), map[coordinator.LeaseID]*campaigner{}
	}
	for i, h := range m.Hosts {
		c.names = append(c.names, h.Name)
		hs := &host{name: h.Name, store: storage.NewMem(), files: map[inst]bool{}, instances: map[string]int{}, promoted: map[inst]bool{}, starting: map[inst]int{},
			pgids: map[int]procKey{},
			rng:   rand.New(rand.NewPCG(opts.Seed, uint64(100+i)))}
		hs.timers = newTimerSet(c.Q, &c.timerFree, func(t *timer) { c.hostTimerFired(hs, t) })
		c.hosts[h.Name] = hs
	}
	return c
}

// Boot powers on every host and starts the manager.
func (c *Cluster) Boot() {
	for _, n := range c.names {
		c.PowerOn(n)
	}
	if c.ha() {
		c.startReplicas()
		return
	}
	c.StartManager()
}

// Manager is the running manager (nil while it is down).
func (c *Cluster) Manager() *manager.Manager {
	if c.cur == nil || !c.cur.up {
		return nil
	}
	return c.cur.m
}

// Agent is a host's running agent (nil while the host is off).
func (c *Cluster) Agent(h string) *agent.Agent {
	if hs := c.hosts[h]; hs != nil && hs.powered && hs.agent != nil {
		return hs.inner
	}
	return nil
}

// Running reports whether a state file of the resource (of any of its
// definitions) exists on a host: the ground truth.
func (c *Cluster) Running(h, rsc string) bool { return c.hosts[h].instances[rsc] > 0 }

// Instance is a resource running on a host with the definition whose
// digest (ocf.Digest) is Digest.
type Instance struct {
	Resource, Digest string
}

// Instances are the instances running on a host, in resource order.
func (c *Cluster) Instances(h string) []Instance {
	var out []Instance
	for _, i := range slices.SortedFunc(maps.Keys(c.hosts[h].files), instLess) {
		out = append(out, Instance{Resource: i.rsc, Digest: c.fullDigest(i)})
	}
	return out
}

// fullDigest is an instance's digest, the start-up definition's included.
func (c *Cluster) fullDigest(i inst) string {
	if i.digest != "" {
		return i.digest
	}
	return c.startup[i.rsc]
}

// instanceOf is the instance an agent run works on: its resource and the
// definition it was given, read from its environment as an OCF agent reads
// it (OCF_RESOURCE_INSTANCE, the agent's provider and type, and every
// OCF_RESKEY_ parameter but the CRM_meta_ ones).
func (c *Cluster) instanceOf(spec proc.Spec, re *runEnv) inst {
	rsc, a := re.rsc, re.agent
	if def, ok := c.startDefs[rsc]; ok && def.agent == a && hasParams(spec.Env, def.params) {
		return inst{rsc: rsc} // the start-up definition: no digest to compute
	}
	params := map[string]string{}
	for _, kv := range spec.Env {
		k, v, _ := strings.Cut(kv, "=")
		if name, ok := strings.CutPrefix(k, "OCF_RESKEY_"); ok && !strings.HasPrefix(name, "CRM_meta_") {
			params[name] = v
		}
	}
	d := ocf.Digest(a, params)
	if d == c.startup[rsc] {
		d = ""
	}
	return inst{rsc, d}
}

// runEnv is what the simulation reads of an agent run's environment
// besides its parameters, read in one pass (readRunEnv).
type runEnv struct {
	rsc   string // of OCF_RESOURCE_INSTANCE
	agent ocf.Agent
	// score and interval are OCF_RESKEY_promotion_score and
	// OCF_RESKEY_CRM_meta_interval (promotionScore).
	score, interval string
}

// readRunEnv reads an agent run's environment once, as an OCF agent reads
// it: every run's start is one pass over its variables, only those the
// simulation reads searched for their "=".
func readRunEnv(env []string) runEnv {
	var re runEnv
	for _, kv := range env {
		if rest, ok := strings.CutPrefix(kv, "OCF_RESOURCE_"); ok {
			k, v, _ := strings.Cut(rest, "=")
			switch k {
			case "INSTANCE":
				re.rsc = resourceOf(v)
			case "PROVIDER":
				re.agent.Provider = v
			case "TYPE":
				re.agent.Type = v
			}
		} else if v, ok := strings.CutPrefix(kv, "OCF_RESKEY_promotion_score="); ok {
			re.score = v
		} else if v, ok := strings.CutPrefix(kv, "OCF_RESKEY_CRM_meta_interval="); ok {
			re.interval = v
		}
	}
	return re
}

// hasParams reports whether env's OCF_RESKEY_ parameters (the CRM_meta_
// ones aside) are exactly params, without building their map: nearly every
// run is of the start-up definition, and this runs for each. ocf.Env writes
// the parameters in name order, so names in strictly increasing order are
// distinct and matching each one and their count is equality; an
// environment in any other order is not claimed equal (the caller then
// compares digests, which is exact).
func hasParams(env []string, params map[string]string) bool {
	n, last := 0, ""
	for _, kv := range env {
		rest, ok := strings.CutPrefix(kv, "OCF_RESKEY_")
		if !ok || strings.HasPrefix(rest, "CRM_meta_") {
			continue
		}
		name, v, _ := strings.Cut(rest, "=")
		if n > 0 && name <= last {
			return false
		}
		if want, ok := params[name]; !ok || want != v {
			return false
		}
		n, last = n+1, name
	}
	return n == len(params)
}

// resourceOf is the resource an OCF_RESOURCE_INSTANCE names: a clone
// instance's "id:N" names id.
func resourceOf(instance string) string {
	if i := strings.LastIndexByte(instance, ':'); i > 0 {
		if n := instance[i+1:]; n != "" && strings.Trim(n, "0123456789") == "" {
			return instance[:i]
		}
	}
	return instance
}

// Powered reports whether a host is on.
func (c *Cluster) Powered(h string) bool { return c.hosts[h].powered }

// Hash is the trace hash so far: xxHash64 of the trace's lines, each
// newline-terminated, in hexadecimal. It says whether two runs were the
// same, not who made them: a 64-bit hash that costs little where
// SHA-256 of every line was 3% of a seed.
func (c *Cluster) Hash() string { return hex.EncodeToString(c.hasher.Sum(nil)) }

// TraceLines is the number of trace lines so far.
func (c *Cluster) TraceLines() int { return c.lines }

// Run advances virtual time by d.
func (c *Cluster) Run(d time.Duration) error {
	return c.Q.RunFor(d, 50_000_000)
}

// RunUntil advances until cond holds or d has passed; it reports whether
// cond held.
func (c *Cluster) RunUntil(d time.Duration, cond func() bool) bool {
	end := c.Q.Now().Add(d)
	for !cond() {
		next, ok := c.Q.Next()
		if !ok || next.After(end) {
			_ = c.Q.RunUntil(end, 1)
			return cond()
		}
		c.Q.Step()
	}
	return true
}

// ---- manager ----

// mgrInst is one manager process. Normally there is one; a paused manager
// that a new one replaced lives on as a stale instance, still acting on its
// old beliefs when it resumes.
//
// A paused instance holds what happens to it until it wakes: the timers
// that came due (heldTimers) apart from what reached its sockets (held),
// because a process that resumes runs its expired timers before it reads
// its sockets. That order is what a paused manager must survive: every
// dead timer fires before the heartbeats queued meanwhile are read.
type mgrInst struct {
	m          *manager.Manager
	up         bool
	paused     bool
	held       []func()
	heldTimers []func()
	timers     *timerSet
	// heard is when a sign of life (hello, heartbeat) from each host last
	// reached this instance's end of a connection, read or not yet.
	heard map[string]time.Time
	// rep is the replica whose leadership this instance is (nil without
	// replicas).
	rep *replica
}

// StartManager starts (or restarts) the manager from its durable state.
func (c *Cluster) StartManager() {
	if c.ha() {
		c.RestartReplicas()
		return
	}
	if c.cur != nil && c.cur.up {
		c.CrashManager() // a frozen one too: a restart kills the stopped process
	}
	mi := c.newInst(nil)
	mi.m = manager.New(manager.Config{Model: c.Model, LogLevel: tracedLogLevel})
	rec, err := manager.Recover(c.mstore)
	if err != nil {
		panic(fmt.Sprintf("simulated manager state: %v", err)) // the simulator never corrupts it
	}
	effs, err := mi.m.Start(c.Q.Now(), rec.Epoch, rec.Records)
	if err != nil {
		panic(fmt.Sprintf("manager start: %v", err))
	}
	c.cur = mi
	c.trace("manager started epoch=%d", mi.m.Epoch())
	c.applyManager(mi, effs)
	for _, n := range c.names {
		c.dial(mi, c.hosts[n])
	}
}

// CrashManager stops the manager; its durable state is kept.
func (c *Cluster) CrashManager() {
	if c.ha() {
		c.CrashLeader()
		return
	}
	mi := c.cur
	if mi == nil || !mi.up {
		return
	}
	c.endInst(mi, "manager crashed")
}

// endInst ends a manager instance: its timers go, the line is traced, its
// connections close.
func (c *Cluster) endInst(mi *mgrInst, line string) {
	mi.up = false
	mi.timers.cancelAll()
	c.trace("%s", line)
	c.closeManagerConns(mi)
}

// PauseManager freezes the manager and starts a replacement at once, as a
// watchdog would that took the frozen one for dead. The frozen one keeps
// its beliefs and acts on them when ResumeStaleManagers wakes it: only the
// agents' epoch guard stands between it and the cluster.
func (c *Cluster) PauseManager() {
	if c.ha() {
		c.PauseLeader() // the standbys take over once its lease expires
		return
	}
	mi := c.cur
	if mi == nil || !mi.up || mi.paused {
		return
	}
	mi.paused = true
	c.stale = append(c.stale, mi)
	c.trace("manager epoch=%d paused; a replacement starts", mi.m.Epoch())
	c.cur = nil
	c.StartManager()
}

// ResumeStaleManagers wakes every paused manager.
func (c *Cluster) ResumeStaleManagers() {
	if c.ha() {
		c.ResumeReplicas()
		return
	}
	for _, mi := range c.stale {
		if !mi.paused {
			continue
		}
		c.trace("stale manager epoch=%d resumes (%d timers, %d held events)", mi.m.Epoch(), len(mi.heldTimers), len(mi.held))
		c.wake(mi, true)
	}
}

// FreezeManager stops the manager process (SIGSTOP) with no replacement:
// nothing watches it, so the cluster goes without a manager until
// ThawManager. The agents go on heartbeating into its sockets, where the
// messages wait for it.
func (c *Cluster) FreezeManager() {
	if c.ha() {
		c.PauseLeader()
		return
	}
	mi := c.cur
	if mi == nil || !mi.up || mi.paused {
		return
	}
	mi.paused = true
	c.trace("manager epoch=%d frozen", mi.m.Epoch())
}

// ThawManager resumes a frozen manager (SIGCONT): its timers that came due
// fire first, then it reads what waits in its sockets.
func (c *Cluster) ThawManager() {
	if c.ha() {
		c.ResumeReplicas()
		return
	}
	mi := c.cur
	if mi == nil || !mi.up || !mi.paused {
		return
	}
	c.trace("manager epoch=%d thawed (%d timers, %d held events)", mi.m.Epoch(), len(mi.heldTimers), len(mi.held))
	c.wake(mi, false)
}

// wake resumes a paused instance: the timers that came due while it slept
// fire first, in the order they came due, then what reached its sockets is
// read, in the order it arrived. A replaced (stale) instance then dials
// every host before it reads: it finds the connections the agents closed
// while it slept gone and opens new ones as it catches up, so that what it
// does on its stale beliefs meets the agents' rule at once. A frozen one
// redials after its reads, as its own redial timers would.
func (c *Cluster) wake(mi *mgrInst, stale bool) {
	mi.paused = false
	timers, held := mi.heldTimers, mi.held
	mi.heldTimers, mi.held = nil, nil
	for _, fn := range timers {
		fn()
	}
	if stale {
		c.dialAll(mi)
	}
	for _, fn := range held {
		fn()
	}
	if !stale {
		c.dialAll(mi)
	}
}

// dialAll makes mi dial every host it has no connection to.
func (c *Cluster) dialAll(mi *mgrInst) {
	for _, n := range c.names {
		c.dial(mi, c.hosts[n])
	}
}

// onManager runs fn, something that reached instance mi's sockets, now, or
// when it resumes.
func (c *Cluster) onManager(mi *mgrInst, fn func()) {
	if !mi.up {
		return
	}
	if mi.paused {
		mi.held = append(mi.held, fn)
		return
	}
	fn()
}

// onManagerTimer runs fn, a timer of instance mi that came due, now, or
// first thing when it resumes.
func (c *Cluster) onManagerTimer(mi *mgrInst, fn func()) {
	if !mi.up {
		return
	}
	if mi.paused {
		mi.heldTimers = append(mi.heldTimers, fn)
		return
	}
	fn()
}

// adminInstance is the manager instance whose admin socket answers.
func (c *Cluster) adminInstance() (*mgrInst, error) {
	mi := c.cur
	switch {
	case c.ha():
		return c.replicaAdmin()
	case mi == nil || !mi.up:
		return nil, fmt.Errorf("manager is down")
	case mi.paused:
		return nil, fmt.Errorf("manager is frozen: its admin socket does not answer")
	}
	return mi, nil
}

// Admin sends an administrative request to the manager.
func (c *Cluster) Admin(req manager.Request) (string, error) {
	mi, err := c.adminInstance()
	if err != nil {
		return "", err
	}
	id, effs, err := mi.m.Admin(c.Q.Now(), req)
	c.trace("admin %s -> %s %v", req, id, err)
	if h := c.hosts[req.Target]; err == nil && req.Command == manager.CmdConfirmDown && h != nil && !h.powered {
		// The operator who confirmed it checked the power by hand: that
		// check is the fence as the history sees it. A confirmation of a
		// host that runs is a lie, and no fence is recorded for it.
		c.fences = append(c.fences, Op{Host: req.Target, Kind: "fence", Call: c.Q.Now(), Return: c.Q.Now()})
		c.trace("operator confirms %s is down: its power is off", req.Target)
	}
	c.applyManager(mi, effs)
	if err == nil && !mi.up {
		// A replica's manager stopped on the way (its lease lapsed, or
		// the store refused or missed the write): the request is not
		// durable, and the operator is told so, as the live daemon does.
		return "", fmt.Errorf("the request was not recorded before the manager stopped: %w", ErrNoLeader)
	}
	return id, err
}

// PowerStatus asks the manager for a host's power state from its fence
// devices (basalt power status): the query's ID, which the manager's
// Query follows.
func (c *Cluster) PowerStatus(host string) (string, error) {
	mi, err := c.adminInstance()
	if err != nil {
		return "", err
	}
	id, effs, err := mi.m.PowerStatus(c.Q.Now(), host)
	c.trace("power status %s -> %s %v", host, id, err)
	c.applyManager(mi, effs)
	return id, err
}

func (c *Cluster) applyManager(mi *mgrInst, effs []effect.Effect) {
	if c.opts.ManagerIntercept != nil {
		effs = c.opts.ManagerIntercept(mi.m, c.Q.Now(), effs)
	}
	if len(effs) > 0 && !c.leaderMayAct(mi) {
		return
	}
	for _, e := range effs {
		switch e := e.(type) {
		case *effect.Send:
			if mi.rep != nil { // only a replica's acts are judged: no description otherwise
				c.noteLeaderAct(mi, e.Msg.Describe())
			}
			c.fromManager(e)
		case effect.CloseConn:
			if cn := c.conns[e.Conn]; cn != nil {
				c.closeConn(cn, "manager", e.Why, manager.EndSilent)
			}
		case *effect.SetTimer:
			mi.timers.set(e.ID, e.At, 0)
		case *effect.CancelTimer:
			mi.timers.cancel(e.ID)
		case *effect.Persist:
			if mi.rep != nil {
				if !c.leaderPersist(mi, e) {
					return
				}
				continue
			}
			if mi == c.cur {
				c.persist(c.mstore, e)
				c.managerPersisted(e)
			}
		case effect.Log:
			c.noteLoss(mi, e)
			if e.Level >= tracedLogLevel {
				c.trace("manager log %s %s", e.Level, e.Describe())
			}
		default:
			c.trace("manager effect %s", e.Describe())
		}
	}
	mi.m.Release(effs) // carried out, and kept by nothing
}

// newInst is a manager instance that is up, of replica rep (nil: the
// one manager without replicas).
func (c *Cluster) newInst(rep *replica) *mgrInst {
	mi := &mgrInst{up: true, heard: map[string]time.Time{}, rep: rep}
	mi.timers = newTimerSet(c.Q, &c.timerFree, func(t *timer) {
		id, due := t.id, t.due
		mi.timers.done(t)
		if !mi.up || mi.paused { // only these need onManagerTimer's closure
			c.onManagerTimer(mi, func() { c.managerTimer(mi, due, id) })
			return
		}
		c.managerTimer(mi, due, id)
	})
	return mi
}

// managerTimer is a timer of instance mi, due at due, firing.
func (c *Cluster) managerTimer(mi *mgrInst, due time.Time, id effect.TimerID) {
	c.applyManager(mi, mi.m.TimerFired(c.timerAt(due), id))
}

// ---- network ----

// Partition cuts messages between a and b in both directions.
func (c *Cluster) Partition(a, b string) { c.cutLink(a, b, true); c.cutLink(b, a, true) }

// CutOneWay drops messages from a to b only.
func (c *Cluster) CutOneWay(a, b string) { c.cutLink(a, b, true) }

// Unpartition restores the links between a and b.
func (c *Cluster) Unpartition(a, b string) {
	c.restoreLink(a, b)
	c.restoreLink(b, a)
	c.trace("link %s<->%s restored", a, b)
}

// restoreLink restores the link from a to b, leaving no empty map behind:
// an empty cut map says at once that no link is cut (transmit).
func (c *Cluster) restoreLink(a, b string) {
	delete(c.cut[a], b)
	if len(c.cut[a]) == 0 {
		delete(c.cut, a)
	}
}

// Unisolate restores every link of host h.
func (c *Cluster) Unisolate(h string) {
	c.Unpartition(h, effect.Manager)
	for _, o := range c.names {
		c.Unpartition(h, o)
	}
}

// StaleRefusals counts the commands agents refused for a stale epoch.
func (c *Cluster) StaleRefusals() int { return c.staleRefusals }

// EnsureAgent starts a powered host's agent if it is not running.
func (c *Cluster) EnsureAgent(name string) {
	h := c.hosts[name]
	if h.powered && h.agent == nil {
		h.gen++
		c.startAgent(h)
	}
}

// ClearDeviceFault removes a fence device's fault.
func (c *Cluster) ClearDeviceFault(device string) {
	delete(c.dfaults, device)
	c.trace("device %s fault cleared", device)
}

// Heal restores every link, and with manager replicas the store and the
// replicas' links to it.
func (c *Cluster) Heal() {
	c.cut = map[string]map[string]bool{}
	c.clog = map[string]time.Duration{}
	c.trace("network healed")
	if c.ha() {
		c.RestoreStoreLinks()
		c.StartStore()
	}
}

// Isolate cuts host h from everyone, the manager included.
func (c *Cluster) Isolate(h string) {
	c.Partition(h, effect.Manager)
	for _, o := range c.names {
		if o != h {
			c.Partition(h, o)
		}
	}
}

func (c *Cluster) cutLink(a, b string, cut bool) {
	if c.cut[a] == nil {
		c.cut[a] = map[string]bool{}
	}
	c.cut[a][b] = cut
	c.trace("link %s->%s cut", a, b)
}

// transmit carries msg from a to b over connection cn through the network:
// cuts, loss, latency, clogs and duplicates apply. It arrives (deliver runs)
// only if the connection is still open then: what was sent on a connection
// that closed meanwhile is lost with it.
func (c *Cluster) transmit(from, to string, cn *simConn, msg effect.Message) {
	if r, ok := msg.(proto.Refused); ok && r.Stale {
		c.staleRefusals++
	}
	if cn == nil || !cn.open {
		c.trace("drop %s->%s (no connection) %s", from, to, msg.Describe())
		return
	}
	if len(c.cut) > 0 && c.cut[from][to] { // most messages go while no link is cut
		c.trace("drop %s->%s %s", from, to, msg.Describe())
		return
	}
	span := int64(c.opts.LatencyMax - c.opts.LatencyMin)
	delay := c.opts.LatencyMin
	if span > 0 {
		delay += time.Duration(c.netRng.Int64N(span + 1))
	}
	if len(c.clog) > 0 { // the key is built only when some link is clogged
		delay += c.clog[from+">"+to]
	}
	delay += c.retransmission()
	// A connection delivers in the order it was sent: a message held up
	// by a retransmission holds up every later one behind it. (A
	// nanosecond apart: the queue orders events of one instant at random.)
	at := c.Q.Now().Add(delay)
	last := &cn.lastToAgent
	if to == effect.Manager {
		last = &cn.lastToManager
	}
	if !at.After(*last) {
		at = last.Add(time.Nanosecond)
	}
	*last = at
	f := c.takeFlight()
	f.cn, f.from, f.to, f.msg, f.arrivals = cn, from, to, msg, 1
	c.Q.At(at, f.arrive)
	if c.dup > 0 && c.netRng.Float64() < c.dup {
		// The copy comes after the original, never ahead of it: one
		// connection never delivers a later copy first, and a copy that
		// overtook made the agent take a new monitor setup before a
		// cancel sent ahead of it (seeds 3249 and 3353, before cancels
		// named their setup).
		f.arrivals++
		c.Q.At(at.Add(time.Nanosecond+time.Duration(c.netRng.Int64N(int64(10*time.Millisecond)))), f.arrive)
	}
}

// flight is a message in flight on a connection, and its arrival event's
// callback. Flights are reused (Cluster.flights) once their last arrival
// ran: a closure per message was, with the heartbeats, among the
// simulator's most frequent allocations. Arrivals are never cancelled, so
// a flight is free exactly when its arrivals have all run.
type flight struct {
	cn       *simConn
	from, to string
	msg      effect.Message
	arrivals int // still to run: two for a duplicated message
	arrive   func()
}

// takeFlight is a free flight, or a new one.
func (c *Cluster) takeFlight() *flight {
	return c.flights.take(func() *flight {
		f := &flight{}
		f.arrive = func() { c.land(f) }
		return f
	})
}

// land is an arrival of f at the end of its connection: if the
// connection is still open, the peer there hears the message (agentHears,
// managerHears). The flight is freed first if this was its last arrival,
// as hearing may send more. The free list is bounded by the most messages
// ever in flight at once.
func (c *Cluster) land(f *flight) {
	cn, from, to, msg := f.cn, f.from, f.to, f.msg
	if f.arrivals--; f.arrivals == 0 {
		*f = flight{arrive: f.arrive}
		c.flights.put(f)
	}
	if !cn.open {
		return
	}
	if to == effect.Manager {
		c.managerHears(cn, from, msg)
		return
	}
	c.agentHears(cn, from, to, msg)
}

// TCP's retransmission timeout: the first retransmission of a lost segment
// waits retransmitMin, each further one twice as long as the last; after
// retransmitMaxTries the sender has been silent for over 25 s, long past
// every dead timeout, and the peers have given the connection up.
const (
	retransmitMin      = 200 * time.Millisecond
	retransmitMaxTries = 7
)

// retransmission is how much later than its latency a message arrives for
// the packets of it the network lost. Connections are TCP: a lost packet is
// sent again, never skipped, so loss delays a message (and, in order, the
// ones behind it) and never leaves a hole in a connection that stays open.
// Dropping single messages on an open connection made the simulator harsher
// than any real network (seed 876597: a stop's result lost, a healthy host
// fenced for it) while hiding what loss really costs: late heartbeats.
func (c *Cluster) retransmission() time.Duration {
	if c.opts.Loss <= 0 {
		return 0
	}
	var d time.Duration
	rto := retransmitMin
	for range retransmitMaxTries {
		if c.netRng.Float64() >= c.opts.Loss {
			break
		}
		d += rto
		rto *= 2
	}
	return d
}

// fromManager sends a manager's message on the connection it names.
func (c *Cluster) fromManager(e *effect.Send) {
	c.toAgent(effect.Manager, e.To, c.conns[e.Conn], e.Msg)
}

// toAgent carries a message to a host's agent on connection cn.
func (c *Cluster) toAgent(from, to string, cn *simConn, msg effect.Message) {
	c.transmit(from, to, cn, msg)
}

// agentHears is the arrival of a message at a host's end of connection cn:
// its agent reads it now, or when the host resumes if it is paused. (Only
// a paused host needs the closure onHost keeps.)
func (c *Cluster) agentHears(cn *simConn, from, to string, msg effect.Message) {
	if h := cn.h; h.paused {
		c.onHost(h, func() { c.agentReads(cn, from, to, msg) })
		return
	}
	c.agentReads(cn, from, to, msg)
}

// agentReads is a host's agent reading a message from connection cn.
func (c *Cluster) agentReads(cn *simConn, from, to string, msg effect.Message) {
	h := cn.h
	if h.agent == nil || h.gen != cn.gen {
		return // the agent process is dead: nobody reads the socket
	}
	c.traceMessage(from, to, cn.id, msg)
	effs := c.agentInput(h, true, func() []effect.Effect { return h.agent.Receive(c.Q.Now(), cn.id, msg) })
	for _, e := range effs {
		if _, ok := e.(*effect.StartProcess); ok {
			c.Acts = append(c.Acts, Act{At: c.Q.Now(), Host: h.name, Epoch: commandEpoch(msg), What: msg})
			break
		}
	}
	c.applyAgent(h, effs)
}

// fromAgent sends an agent's message to the manager on the connection it
// names; the manager instance at the other end hears it, with the host
// that sent it as its proven sender.
func (c *Cluster) fromAgent(h *host, e *effect.Send) {
	c.transmit(h.name, effect.Manager, c.conns[e.Conn], e.Msg)
}

// managerHears is the arrival of a host's message at the manager's end of
// connection cn: the instance there reads it now, or when it resumes (or
// never, if it is down). Only those two need onManager's closure.
func (c *Cluster) managerHears(cn *simConn, from string, msg effect.Message) {
	mi := cn.mi
	c.noteHeard(mi, from, msg)
	if !mi.up || mi.paused {
		c.onManager(mi, func() { c.managerReads(cn, from, msg) })
		return
	}
	c.managerReads(cn, from, msg)
}

// managerReads is a manager instance reading a host's message from
// connection cn.
func (c *Cluster) managerReads(cn *simConn, from string, msg effect.Message) {
	mi := cn.mi
	c.traceMessage(from, effect.Manager, cn.id, msg)
	c.applyManager(mi, mi.m.Receive(c.Q.Now(), from, msg))
}

// SendFromStaleManager delivers msg to a host as if a superseded manager
// had sent it (a paused or partitioned old manager waking up): it is on the
// connection the agent obeys, as a command still in flight would be.
func (c *Cluster) SendFromStaleManager(to string, msg effect.Message) {
	c.trace("stale manager sends to %s: %s", to, msg.Describe())
	var cn *simConn
	if h := c.hosts[to]; h.agent != nil {
		cur, _ := h.agent.Conns()
		cn = c.conns[cur]
	}
	c.toAgent("stale-manager", to, cn, msg)
}

// ---- hosts ----

// onHost runs fn now, or when the host resumes if it is paused.
func (c *Cluster) onHost(h *host, fn func()) {
	gen := h.gen
	if h.paused {
		h.held = append(h.held, func() {
			if h.gen == gen && h.powered {
				fn()
			}
		})
		return
	}
	fn()
}

// PowerOn boots a host: a fresh agent process restoring its epoch.
func (c *Cluster) PowerOn(name string) {
	h := c.hosts[name]
	if h.powered {
		return
	}
	h.powered, h.paused, h.held = true, false, nil
	h.gen++
	h.boots++
	h.timers.forget()
	h.procs = map[procKey]*simProc{}
	h.starting = map[inst]int{}
	c.startAgent(h)
}

// staleHeartbeatFactor: every simulated agent starts at this many times
// the cluster's heartbeat interval, as a real one whose
// --heartbeat-interval disagrees with the cluster, so that every seed
// exercises the manager's Welcome and the agent's adopting it.
const staleHeartbeatFactor = 2

func (c *Cluster) startAgent(h *host) {
	inner, err := agent.Recover(agent.Config{
		Host: h.name, LRM: lrm.Config{OCFRoot: c.Model.Cluster.OCFRoot, LearnMetaData: c.opts.LearnMetaData, LogLevel: tracedLogLevel},
		HeartbeatInterval: staleHeartbeatFactor * c.Model.Cluster.HeartbeatInterval, FenceAgentDir: fenceAgentDir,
		Boot: fmt.Sprint(h.boots),
	}, h.store)
	if err != nil {
		panic(fmt.Sprintf("agent %s: %v", h.name, err)) // the simulator writes its records itself
	}
	var a agent.Machine = inner
	if c.opts.WrapAgent != nil {
		a = c.opts.WrapAgent(inner)
	}
	h.agent, h.inner = a, inner
	c.trace("host %s agent started epoch=%d", h.name, a.Epoch())
	c.applyAgent(h, a.Start(c.Q.Now()))
	c.applyAgent(h, a.Resume(c.Q.Now()))
	// Every manager that is up dials the new agent.
	for _, mi := range c.managers() {
		c.dial(mi, h)
	}
}

// CrashAgent kills a host's agent process (kill -9) and restarts it after
// restartAfter (0: not restarted). Resources keep running: only the agent
// dies, the state files stay.
func (c *Cluster) CrashAgent(name string, restartAfter time.Duration) {
	h := c.hosts[name]
	if !h.powered {
		return
	}
	c.stopAgentProcess(h, manager.EndReset) // the host's kernel resets what the agent had open
	h.agentDied = c.Q.Now()
	c.trace("host %s agent crashed", name)
	if restartAfter > 0 {
		gen := h.gen
		c.Q.After(restartAfter, func() {
			if h.gen == gen && h.powered {
				c.startAgent(h)
			}
		})
	}
}

// StopAgent stops a host's agent cleanly (SIGTERM) and restarts it after
// restartAfter (0: not restarted), as systemd's restart does: the agent
// says goodbye to the manager first, and its connections close only once
// that has arrived, as TCP delivers what was written before the close.
// Resources keep running, as after a crash. A paused agent cannot handle
// the signal before it resumes; it is left alone.
func (c *Cluster) StopAgent(name string, restartAfter time.Duration) {
	h := c.hosts[name]
	if !h.powered || h.agent == nil || h.paused {
		return
	}
	c.applyAgent(h, h.agent.Goodbye(c.Q.Now()))
	conns := c.connsOf(func(cn *simConn) bool { return cn.h == h })
	c.endAgentProcess(h)
	c.trace("host %s agent stopped cleanly", name)
	// Later than anything sent before: the slowest latency and any clog
	// on the way to the manager, and whatever a lost packet's
	// retransmission holds up (TCP delivers the goodbye before the close;
	// closing first lost it, and the reset and refused redial that followed
	// had the host judged lost as a crash).
	at := c.Q.Now().Add(c.opts.LatencyMax + c.clog[h.name+">"+effect.Manager] + time.Millisecond)
	for _, cn := range conns {
		c.Q.At(later(at, cn.lastToManager.Add(time.Millisecond)), func() {
			c.closeConn(cn, h.name, "agent stopped", manager.EndReset)
		})
	}
	if restartAfter > 0 {
		gen := h.gen
		c.Q.After(restartAfter, func() {
			if h.gen == gen && h.powered {
				c.startAgent(h)
			}
		})
	}
}

// agentCloses plays a live agent letting go of a connection. A
// superseded manager's connection closes once what the agent sent on it
// has arrived, as TCP delivers data before the FIN: the agent tells the
// outranked manager before it lets go (agent.outranked), and closing first
// lost that, so the manager took the end for the agent's death (seed 4579).
// Every other close is at once, as before.
func (c *Cluster) agentCloses(h *host, cn *simConn, why string) {
	if why != effect.CloseSuperseded || !cn.lastToManager.After(c.Q.Now()) {
		c.closeConn(cn, h.name, why, manager.EndReset)
		return
	}
	c.Q.At(cn.lastToManager.Add(time.Nanosecond), func() { c.closeConn(cn, h.name, why, manager.EndReset) })
}

// later is the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (c *Cluster) stopAgentProcess(h *host, end manager.ConnEnd) {
	c.closeHostConns(h, end)
	c.endAgentProcess(h)
}

// endAgentProcess ends the agent process of a host: its timers, its
// machine, its life.
func (c *Cluster) endAgentProcess(h *host) {
	h.timers.cancelAll()
	// Resource agents the dead agent started run to completion (they are
	// not in its process group's fate here: conservative for safety), and
	// their effects on the file system happen, but nobody hears of them.
	h.agent = nil
	h.paused, h.held = false, nil
	h.gen++
}

// PowerOff is what fencing does: the host stops at once, its agent dies,
// and its resources are gone.
func (c *Cluster) PowerOff(name, cause string) {
	h := c.hosts[name]
	if !c.down(h, cause) {
		return
	}
	c.trace("host %s powered off (%s)", name, cause)
	if c.opts.RebootAfter > 0 && !c.rebooting[name] {
		c.rebooting[name] = true
		c.Q.After(c.opts.RebootAfter, func() {
			c.rebooting[name] = false
			c.PowerOn(name)
		})
	}
}

// Pause freezes a host (SIGSTOP of its agent): it neither sends nor
// handles anything until Resume, when it carries on with stale beliefs.
func (c *Cluster) Pause(name string) {
	h := c.hosts[name]
	if h.powered && !h.paused {
		h.paused = true
		c.trace("host %s paused", name)
	}
}

// Resume unfreezes a host; what it would have done meanwhile happens now.
func (c *Cluster) Resume(name string) {
	h := c.hosts[name]
	if !h.paused {
		return
	}
	h.paused = false
	held := h.held
	h.held = nil
	c.trace("host %s resumed (%d held events)", name, len(held))
	for _, fn := range held {
		fn()
	}
}

func (c *Cluster) setFile(h *host, in inst, present bool, cause string) {
	if h.files[in] == present {
		return
	}
	if present {
		h.files[in] = true
		h.instances[in.rsc]++
	} else {
		delete(h.files, in)
		delete(h.promoted, in) // the role ends with the instance
		if h.instances[in.rsc]--; h.instances[in.rsc] <= 0 {
			delete(h.instances, in.rsc)
		}
	}
	c.trace("truth %s %s active=%t (%s)", h.name, in, present, cause)
	if c.opts.Observer != nil {
		c.opts.Observer(Change{At: c.Q.Now(), Host: h.name, Resource: in.rsc, Digest: in.digest, Active: present, Cause: cause})
	}
}

// setRole plays a role change of an active instance, for the judges.
func (c *Cluster) setRole(h *host, in inst, promoted bool, cause string) {
	if h.promoted[in] == promoted || !h.files[in] {
		return
	}
	if promoted {
		h.promoted[in] = true
	} else {
		delete(h.promoted, in)
	}
	c.trace("truth %s %s promoted=%t (%s)", h.name, in, promoted, cause)
	if c.opts.Observer != nil {
		c.opts.Observer(Change{At: c.Q.Now(), Host: h.name, Resource: in.rsc, Digest: in.digest, Active: true, Cause: cause,
			Role: true, Promoted: promoted})
	}
}

// promotable reports whether rsc belongs to a promotable clone in the
// running configuration.
func (c *Cluster) promotable(rsc string) bool {
	m := c.RunningModel()
	gid, ok := m.GroupOf(rsc)
	if !ok {
		return false
	}
	g, ok := m.Group(gid)
	return ok && g.Placement.Clone.Promotable
}

// setPromotionScore plays what a promotable agent does once it runs: it
// sets its instance's promotion score on its host (crm_master -l reboot
// -v N), through the host's agent as the real tool does. The score is the
// host's place in the cluster, turned by its boots, so that the preferred
// primary changes as hosts are fenced and boot again.
func (c *Cluster) setPromotionScore(h *host, rsc string) {
	score := PromotionScore(slices.Index(c.names, h.name), h.boots, len(c.names))
	c.applyAgent(h, h.agent.AttrRequest(c.Q.Now(), agent.AttrRequest{Op: agent.AttrSet, Name: model.PromotionAttribute(rsc),
		Value: strconv.Itoa(score), Lifetime: proto.AttrReboot, By: "crm_master"}))
}

// PromotionScore is the score a simulated promotable instance publishes
// on the host at index (of hosts) after that host's boots-th power-on (the
// first boot is 1): the host's place, turned by its boots. The process
// harness gives the real statefile agent the same first scores, so that
// both worlds promote the same instance.
func PromotionScore(index, boots, hosts int) int { return 10 * (1 + (index+boots)%hosts) }

// PromotedOn lists the hosts where rsc runs promoted, in host order.
func (c *Cluster) PromotedOn(rsc string) []string {
	var out []string
	for _, n := range c.names {
		for in := range c.hosts[n].promoted { // purity:unordered any one is enough
			if in.rsc == rsc {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

// Preload makes a resource active on a powered-off host from its next
// boot on, as a service a real host starts again by itself would be: the
// state file is there before the agent, and the manager's probes find the
// resource running. basalt simulate builds a cluster in a saved state this
// way. A powered host is left alone: its resources are the LRM's to start.
func (c *Cluster) Preload(hostName, rsc string) bool {
	h := c.hosts[hostName]
	if h == nil || h.powered {
		return false
	}
	c.setFile(h, inst{rsc: rsc}, true, "preloaded") // the state's configuration is the start-up one
	return true
}

// KillResource makes a resource die on a host (its state files, of every
// definition, vanish): the next monitor finds it stopped.
func (c *Cluster) KillResource(hostName, rsc string) {
	h := c.hosts[hostName]
	for _, in := range slices.SortedFunc(maps.Keys(h.files), instLess) {
		if in.rsc == rsc {
			c.setFile(h, in, false, "died")
		}
	}
}

// FailResource injects a fault in an action ("start", "stop", "monitor")
// of a resource on a host.
func (c *Cluster) FailResource(hostName, rsc, action string, f ResourceFault) {
	c.rfaults[hostName+"/"+rsc+"/"+action] = &f
	c.trace("fault %s %s %s rc=%d hang=%t times=%d", hostName, rsc, action, f.RC, f.Hang, f.Times)
}

// ClearResourceFaults removes every resource fault, slow hosts included.
func (c *Cluster) ClearResourceFaults() {
	c.rfaults = map[string]*ResourceFault{}
	for _, n := range c.names {
		c.hosts[n].slow, c.hosts[n].midway = 0, nil
	}
}

// midway is a CrashMidway waiting for its action.
type midway struct {
	action              string
	delay, restartAfter time.Duration
}

// CrashMidway waits for the next run of action (start or stop) of a
// resource on a host, makes it take delay, and kills the host's agent
// halfway through it, to restart it restartAfter later (see CrashAgent):
// the agent's next life finds the action still running.
func (c *Cluster) CrashMidway(name, action string, delay, restartAfter time.Duration) {
	c.hosts[name].midway = &midway{action: action, delay: delay, restartAfter: restartAfter}
	c.trace("host %s agent to die midway through its next %s (%s), restarting after %s", name, action, delay, restartAfter)
}

// SlowHost makes every start and stop on a host take delay (0: as drawn
// from Options.AgentDuration again). A resource fault's own Delay still
// wins.
func (c *Cluster) SlowHost(name string, delay time.Duration) {
	c.hosts[name].slow = delay
	c.trace("host %s slow starts and stops: %s", name, delay)
}

// FailDevice injects a fence device fault.
func (c *Cluster) FailDevice(device string, f DeviceFault) {
	c.dfaults[device] = f
	c.trace("fault device %s fail=%t lie=%t hang=%t", device, f.Fail, f.Lie, f.Hang)
}

// ClearDeviceFaults removes every device fault.
func (c *Cluster) ClearDeviceFaults() { c.dfaults = map[string]DeviceFault{} }

// tracedLogLevel is the least level of the agents' and the managers' log
// records that the trace keeps; the agents' LRMs and the managers build
// none below it (lrm.Config.LogLevel, manager.Config.LogLevel). The
// managers' "host lost", which the liveness judge reads, is an error.
const tracedLogLevel = slog.LevelWarn

func (c *Cluster) applyAgent(h *host, effs []effect.Effect) {
	gen := h.gen
	for _, e := range effs {
		switch e := e.(type) {
		case *effect.Send:
			if h.paused { // only a paused host needs onHost's closure
				held := *e // the batch is released when this loop ends
				c.onHost(h, func() { c.fromAgent(h, &held) })
				continue
			}
			c.fromAgent(h, e)
		case effect.CloseConn:
			if cn := c.conns[e.Conn]; cn != nil {
				c.agentCloses(h, cn, e.Why)
			}
		case *effect.SetTimer:
			h.timers.set(e.ID, e.At, gen)
		case *effect.CancelTimer:
			h.timers.cancel(e.ID)
		case *effect.StartProcess:
			if pgid := c.startProcess(h, e.ID, e.Spec); pgid != 0 {
				c.applyAgent(h, h.agent.ProcessStarted(c.Q.Now(), e.ID, pgid))
			}
		case agent.KillOrphan:
			c.killOrphan(h, e)
		case *history.Note:
			c.records.Add(e.Record)
		case *effect.KillProcess:
			if p, ok := h.procs[procKey{gen, e.ID}]; ok {
				c.Q.Cancel(p.exit)
				p.exit = c.Q.After(0, p.kill)
			}
		case *effect.Persist:
			c.persist(h.store, e)
		case effect.Log:
			if e.Level >= tracedLogLevel {
				c.trace("host %s log %s", h.name, e.Describe())
			}
		default:
			c.trace("host %s effect %s", h.name, e.Describe())
		}
	}
	// Carried out, and kept by nothing (what a paused host holds are
	// copies of single effects): the agent may build later batches in it,
	// and reuse its effects.
	if h.inner != nil {
		h.inner.Release(effs)
	}
}

// hostTimerFired is a timer of h's agent coming due. One set in an
// earlier life of the host (the batch of effects that set it ended the
// life) does nothing and stays where it is, as it always has.
func (c *Cluster) hostTimerFired(h *host, t *timer) {
	if h.gen != t.gen {
		return
	}
	id := t.id
	h.timers.done(t)
	if h.paused { // only a paused host needs onHost's closure
		c.onHost(h, func() { c.agentTimer(h, id) })
		return
	}
	c.agentTimer(h, id)
}

// agentTimer is a timer of h's agent firing.
func (c *Cluster) agentTimer(h *host, id effect.TimerID) {
	c.applyAgent(h, c.agentInput(h, false, func() []effect.Effect { return h.agent.TimerFired(c.Q.Now(), id) }))
}

// startProcess plays an OCF or fence agent run; it returns the process
// group of a resource agent's run.
func (c *Cluster) startProcess(h *host, id proc.ID, spec proc.Spec) int {
	gen := h.gen
	var rsc, action string
	if strings.HasPrefix(spec.Path, fenceAgentDir+"/") {
		c.startFence(h, id, spec)
		return 0
	}
	action = spec.Args[0]
	re := readRunEnv(spec.Env)
	in := c.instanceOf(spec, &re)
	rsc = in.rsc
	score := promotionScore(&re, action)
	var fault *ResourceFault
	if len(c.rfaults) > 0 { // the key is built only when some run is to misbehave
		fault = c.rfaults[h.name+"/"+rsc+"/"+action]
	}
	if fault != nil && fault.Times > 0 {
		fault.Times--
		if fault.Times == 0 {
			delete(c.rfaults, h.name+"/"+rsc+"/"+action)
		}
	}
	dur := c.runTime(h, rsc, action, fault)
	// A start makes the resource active from its first instant as far as
	// the safety checker is concerned (a half-started service may already
	// write to shared storage), and a failed start leaves it so until a
	// stop succeeds.
	if action == "start" {
		c.setFile(h, in, true, "start")
		h.starting[in]++
	}
	key := procKey{gen, id}
	h.nextPgid++
	pgid := h.nextPgid
	h.pgids[pgid] = key
	p := c.takeProc()
	p.h, p.key, p.pgid, p.in, p.action, p.fault, p.score = h, key, pgid, in, action, fault, score
	h.procs[key] = p
	if fault == nil || !fault.Hang {
		p.exit = c.Q.After(dur, p.run)
	}
	return pgid
}

// takeProc is a free resource agent run, or a new one.
func (c *Cluster) takeProc() *simProc {
	return c.procs.take(func() *simProc {
		p := &simProc{}
		p.run = func() { c.resourceRunEnds(p) }
		return p
	})
}

// resourceRunEnds is the end of a resource agent's run p, killed or not:
// its effects on the host happen, and the agent that started it, if it
// still runs, hears of it. p is freed first: nothing can run it again
// (its exit was its one event: a kill cancels it before it schedules or
// runs its own), and what the agent does next may start a process.
func (c *Cluster) resourceRunEnds(p *simProc) {
	h, key := p.h, p.key
	if _, ok := h.procs[key]; !ok {
		return
	}
	killed, pgid, in, action, fault, score := p.killed, p.pgid, p.in, p.action, p.fault, p.score
	gen, id, rsc := key.gen, key.id, in.rsc
	*p = simProc{run: p.run}
	c.procs.put(p)
	delete(h.procs, key)
	delete(h.pgids, pgid)
	if action == "start" {
		h.starting[in]--
	}
	exit := c.actionEnds(h, in, action, fault, killed)
	if h.gen != gen || h.agent == nil {
		return // the agent that started it is gone; nobody hears it
	}
	if score == nil || exit.Code != 0 || killed {
		c.processExited(h, id, exit)
	} else {
		c.onHost(h, func() {
			// Before its exit, as Stateful calls crm_attribute.
			c.applyAgent(h, h.agent.AttrRequest(c.Q.Now(), score.request(rsc)))
			c.applyAgent(h, h.agent.ProcessExited(c.Q.Now(), id, exit))
		})
	}
	if action == "start" && exit.Code == 0 && c.promotable(in.rsc) {
		c.onHost(h, func() { c.setPromotionScore(h, in.rsc) })
	}
}

// processExited tells h's agent that its process id exited, now or when
// the host resumes (only a paused host needs onHost's closure).
func (c *Cluster) processExited(h *host, id proc.ID, exit proc.Exit) {
	if h.paused {
		c.onHost(h, func() { c.applyAgent(h, h.agent.ProcessExited(c.Q.Now(), id, exit)) })
		return
	}
	c.applyAgent(h, h.agent.ProcessExited(c.Q.Now(), id, exit))
}

// runTime is how long an action of rsc takes on h: a draw from the host's
// own stream, unless the host is slow, a fault of the resource says
// otherwise, or a crash waits midway through this action (it is scheduled
// here).
func (c *Cluster) runTime(h *host, rsc, action string, fault *ResourceFault) time.Duration {
	dur := time.Duration(1 + h.rng.Int64N(int64(c.opts.AgentDuration)))
	if h.slow > 0 && (action == "start" || action == "stop") {
		dur = h.slow
	}
	if fault != nil && fault.Delay > 0 {
		dur = fault.Delay
	}
	if mw := h.midway; mw != nil && mw.action == action {
		gen := h.gen
		h.midway, dur = nil, mw.delay
		c.Q.After(mw.delay/2, func() {
			if h.gen == gen {
				c.trace("host %s agent dies midway through %s %s", h.name, action, rsc)
				c.CrashAgent(h.name, mw.restartAfter)
			}
		})
	}
	return dur
}

// actionEnds plays the end of an OCF action on the host's state files and
// returns the agent's exit.
func (c *Cluster) actionEnds(h *host, in inst, action string, fault *ResourceFault, killed bool) proc.Exit {
	exit := proc.Exit{}
	switch {
	case killed:
		exit = proc.Exit{Code: -1, Signal: "killed"}
	case fault != nil && fault.RC != 0:
		exit.Code = fault.RC
		exit.Stderr = []byte("ocf-exit-reason:injected " + action + " failure\n")
	case action == "start":
		// The state file is written at the end of a start, as the
		// statefile agent does: a stop that ran meanwhile (only an orphan
		// start can overlap one) does not undo it.
		c.setFile(h, in, true, "start")
	case action == "stop":
		c.setFile(h, in, false, "stop")
	case action == "meta-data":
		exit.Stdout = []byte(simproc.MetaData(c.agentType(in.rsc)))
	case action == "reload-agent" || action == "reload":
		exit.Code = c.reloadEnds(h, in)
	case action == "monitor":
		if !h.files[in] || h.starting[in] > 0 {
			exit.Code = 7
		} else if h.promoted[in] {
			exit.Code = 8 // OCF_RUNNING_PROMOTED
		}
	case action == "notify":
		// A clone notification changes nothing the simulation keeps: the
		// agent takes note and exits 0 (its variables are the manager's
		// and the LRM's concern, checked in their tests).
	case action == "promote" || action == "demote":
		// As a promotable agent does: the role changes at the end of the
		// action, and an instance not running answers 7.
		if !h.files[in] {
			exit.Code = 7
			break
		}
		c.setRole(h, in, action == "promote", action)
	}
	return exit
}

// reloadEnds plays a successful reload: the running instance becomes one of
// the definition the reload ran with, in place (the old one ends the
// instant the new one begins, never both), and the agent exits 0; with no
// instance running it exits 7, as an agent reloading nothing says.
func (c *Cluster) reloadEnds(h *host, in inst) int {
	var old []inst
	for _, o := range slices.SortedFunc(maps.Keys(h.files), instLess) {
		if o.rsc == in.rsc {
			old = append(old, o)
		}
	}
	if len(old) == 0 {
		return 7
	}
	for _, o := range old {
		c.setFile(h, o, false, "reload")
	}
	c.setFile(h, in, true, "reload")
	return 0
}

// agentType is the OCF type of rsc's configured agent ("" when the
// running configuration has it no more).
func (c *Cluster) agentType(rsc string) string {
	if r, ok := c.RunningModel().Resource(rsc); ok {
		return r.Agent.Type
	}
	return ""
}

// killOrphan plays the kill of a process group an earlier agent life left
// running: the process dies (its effects so far stay), and the agent hears
// that the group is gone once it has.
func (c *Cluster) killOrphan(h *host, k agent.KillOrphan) {
	gen := h.gen
	if key, ok := h.pgids[k.PGID]; ok {
		if p, ok := h.procs[key]; ok {
			c.Q.Cancel(p.exit)
			p.kill()
		}
	}
	c.trace("host %s killed orphan group %d (%s)", h.name, k.PGID, k.Resource)
	c.Q.After(0, func() {
		if h.gen != gen || h.agent == nil {
			return
		}
		c.onHost(h, func() { c.applyAgent(h, h.agent.OrphanEnded(c.Q.Now(), k.Life, k.Run, true)) })
	})
}

// Fences are the fences so far, as the targets' power saw them.
func (c *Cluster) Fences() []Op { return c.fences }

// History is the operation history so far, in call order: the agents'
// records paired (an operation whose agent died before it ended is
// pending) and the fences.
func (c *Cluster) History() []Op {
	n := c.records.Len()
	ops := c.records.AppendOps(make([]Op, 0, n+len(c.fences)))
	byCall := func(a, b Op) int { return a.Call.Compare(b.Call) }
	if !slices.IsSortedFunc(ops, byCall) || !slices.IsSortedFunc(c.fences, byCall) {
		ops = append(ops, c.fences...)
		slices.SortStableFunc(ops, byCall)
		return ops
	}
	// Both come in the order of virtual time already: merged, with the
	// paired operations first among equal calls, they are what a stable
	// sort of the two appended gives, without its cost on every seed. The
	// merge runs from the back, in place: the paired operations are
	// copied once, as the records' pairer hands them over.
	ops = ops[:n+len(c.fences)]
	i, j := n-1, len(c.fences)-1
	for k := len(ops) - 1; j >= 0; k-- {
		if i >= 0 && c.fences[j].Call.Before(ops[i].Call) {
			ops[k] = ops[i]
			i--
		} else {
			ops[k] = c.fences[j]
			j--
		}
	}
	return ops
}

// startFence plays a fence agent run: key=value lines on stdin.
func (c *Cluster) startFence(h *host, id proc.ID, spec proc.Spec) {
	gen := h.gen
	args := map[string]string{}
	for _, line := range strings.Split(string(spec.Stdin), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			args[k] = v
		}
	}
	// The simulated wiring: the device is the one of this agent whose
	// parameters the request carries, and the plug names a host on it.
	agentName := strings.TrimPrefix(spec.Path, fenceAgentDir+"/")
	action, device, target := args["action"], "", ""
	for _, d := range c.Model.FenceDevices {
		if d.Agent != agentName || !paramsMatch(d.Params, args) {
			continue
		}
		if action == "monitor" {
			device = d.ID
			break
		}
		for _, hn := range slices.Sorted(maps.Keys(d.Plugs)) { // two hosts on one plug: the same one every run
			if d.Plugs[hn] == args["plug"] {
				device, target = d.ID, hn
			}
		}
		if device != "" {
			break
		}
	}
	fault := c.dfaults[device]
	key := procKey{gen, id}
	p := &simProc{}
	p.run = func() {
		if _, ok := h.procs[key]; !ok {
			return
		}
		delete(h.procs, key)
		exit := proc.Exit{}
		switch {
		case p.killed:
			exit = proc.Exit{Code: -1, Signal: "killed"}
		case fault.Fail:
			exit.Code = 1
		case action == "off" || action == "reboot":
			if !fault.Lie && target != "" {
				c.fences = append(c.fences, Op{Host: target, Kind: "fence", Call: c.Q.Now(), Return: c.Q.Now()})
				c.trace("fence device %s powers off %s", device, target)
				c.PowerOff(target, "fenced by "+device)
				if action == "reboot" {
					c.PowerOn(target)
				}
			}
		case action == "on":
			if target != "" {
				c.PowerOn(target)
			}
		case action == "status":
			if target != "" && c.hosts[target].powered {
				exit.Code = 0
			} else {
				exit.Code = 2
				// The confirmed power state is the fence as the history
				// sees it (a lying "off" on a host that had crashed
				// anyway is confirmed only here).
				c.fences = append(c.fences, Op{Host: target, Kind: "fence", Call: c.Q.Now(), Return: c.Q.Now()})
			}
		}
		if h.gen != gen || h.agent == nil {
			return
		}
		c.processExited(h, id, exit)
	}
	h.procs[key] = p
	if !fault.Hang {
		p.exit = c.Q.After(c.opts.FenceDuration, p.run)
	}
}

func paramsMatch(params, args map[string]string) bool {
	for k, v := range params {
		if args[k] != v {
			return false
		}
	}
	return true
}

// managerPersisted hands the event record e, stored, to the ManagerEvent
// option. The manager frames one event per append; a rewrite is a
// compaction's snapshot, no new event.
func (c *Cluster) managerPersisted(e *effect.Persist) {
	if c.opts.ManagerEvent == nil || e.Name != manager.EventLog || !e.Append {
		return
	}
	d, err := eventlog.Decode(e.Data)
	if err != nil || d.Torn != "" {
		panic(fmt.Sprintf("simulated event log write: %v %s", err, d.Torn)) // the core frames whole records
	}
	for _, rec := range d.Records {
		c.opts.ManagerEvent(rec)
	}
}

func (c *Cluster) persist(s *storage.Mem, e *effect.Persist) {
	var err error
	if e.Append {
		err = s.Append(e.Name, e.Data)
	} else {
		err = s.Write(e.Name, e.Data)
	}
	if err != nil {
		panic(fmt.Sprintf("simulated storage: %v", err)) // names are constants of the core
	}
}

// Clog delays every message from a to b by extra, for a while: a slow
// link rather than a cut one.
func (c *Cluster) Clog(a, b string, extra time.Duration) {
	c.clog[a+">"+b] = extra
	c.trace("link %s->%s clogged by %s", a, b, extra)
}

// SetDuplication makes the network deliver a message twice with
// probability p.
func (c *Cluster) SetDuplication(p float64) { c.dup = p }

// CrashHost takes a whole host down without fencing it (a kernel panic,
// a power cut): its agent and its resources die with it. Its disk (the
// agent's durable epoch) stays; the resources' state files live in a
// runtime directory (/run, a tmpfs) and go with the crash, as the services
// they stand for do. It boots again after restartAfter (0: it stays down
// until fenced or powered on).
func (c *Cluster) CrashHost(name string, restartAfter time.Duration) {
	h := c.hosts[name]
	if !c.down(h, "crashed") {
		return
	}
	c.trace("host %s crashed", name)
	if restartAfter > 0 {
		gen := h.gen
		c.Q.After(restartAfter, func() {
			if h.gen == gen && !h.powered {
				c.PowerOn(name)
			}
		})
	}
}

// down stops a powered host at once: every process dies mid-run and the
// runtime state (the resources' state files) is gone. It reports whether
// the host was up.
func (c *Cluster) down(h *host, cause string) bool {
	if !h.powered {
		return false
	}
	// purity:unordered cancelling is a set operation: the queue pops by (time, tie, seq) whatever the removal order
	for _, p := range h.procs {
		c.Q.Cancel(p.exit)
	}
	h.procs = map[procKey]*simProc{}
	h.pgids = map[int]procKey{}
	h.starting = map[inst]int{}
	c.stopAgentProcess(h, manager.EndSilent) // no kernel is left to reset anything
	h.powered = false
	for _, in := range slices.SortedFunc(maps.Keys(h.files), instLess) {
		c.setFile(h, in, false, cause)
	}
	return true
}

// commandEpoch is the epoch of a manager's command (0 for anything else).
func commandEpoch(msg effect.Message) proto.Epoch {
	e, _, _ := proto.Command(msg)
	return e
}

// simScore is what a simulated agent run does with its resource's
// promotion score (the promotion_score parameter): a start, and a probe
// that finds it running, set it as Stateful does (crm_attribute
// --promotion -v), a stop deletes it (-D). Resources without the parameter
// set nothing, so default runs are unchanged.
type simScore struct {
	value  string
	delete bool
}

// promotionScore is the run's score action, nil when it has none.
func promotionScore(re *runEnv, action string) *simScore {
	value, interval := re.score, re.interval
	switch {
	case value == "":
		return nil
	case action == "start" || action == "monitor" && (interval == "" || interval == "0"):
		return &simScore{value: value}
	case action == "stop":
		return &simScore{delete: true}
	}
	return nil
}

// request is the tool's request the run makes, through the agent's input
// as basalt-agent's socket makes it.
func (s simScore) request(rsc string) agent.AttrRequest {
	r := agent.AttrRequest{Op: agent.AttrSet, Name: proto.PromotionAttr(rsc), Value: s.value, Lifetime: proto.AttrReboot,
		By: "crm_attribute (" + rsc + ")"}
	if s.delete {
		r.Op, r.Value = agent.AttrDelete, ""
	}
	return r
}
