// Package manager is the cluster manager's state machine: it tracks hosts
// through their heartbeats, learns every resource's state from probes and
// operation results, plans with core/planner, carries transitions out by
// sending commands to the host agents, fences lost hosts through
// core/fencer before recovering their groups, records failures for the
// planner's recovery policies, serves administrative requests with
// reports, and keeps a durable event log.
//
// Reconciliation is level-triggered, as in Kubernetes controllers: the
// planner always works from the observed state, and the manager plans again
// whenever nothing is in flight. An event that invalidates the current
// transition (a failure, a lost host, an admin request) stops new actions
// from being dispatched; once those in flight end, it plans afresh.
//
// Every input (Start, Receive, TimerFired, Admin) runs its handler, which
// only records facts and marks that reconciliation is needed, then
// reconciles once at the end (settle). Nothing inside the machine calls
// back into it: an effect that ends at once (a fence no peer can run) is
// recorded and picked up by the same settle loop.
//
// The files follow the manager's responsibilities: hosts.go (hosts and
// liveness), ops.go (commands in flight), results.go (what comes back),
// failures.go (failure facts), fencing.go, transition.go (planning and
// carrying a transition out), timers.go (the one timer table), journal.go
// (event log and replay), admin.go, reports.go and assert.go.
package manager

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/eventlog"
	"github.com/basalt-ha/basalt/core/fencer"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

// Bounds on what the manager keeps in memory.
const (
	maxEvents  = 1024
	maxReports = MaxReports
)

// MaxReports is how many reports the manager remembers: opening one more
// forgets the oldest, closed or not, so that a flood of requests cannot
// grow its memory without bound.
const MaxReports = 1024

// Config tunes a manager.
type Config struct {
	Model *model.Model
	// CompactRecords and CompactBytes bound the event log: past either,
	// it is compacted into a snapshot (compact.go; 0: the defaults).
	CompactRecords int
	CompactBytes   int64
	// Replica names this manager among the replicas of a highly available
	// manager ("" for a lone manager): its leadership records in the event
	// log carry it, so that the next leader says whom it took over from,
	// and why (leaders.go).
	Replica string
	// LogLevel is the least level of the Log effects the manager emits,
	// read once by New; nil emits every record. A driver that discards
	// records below some level says so here, and the manager does not
	// build them: the simulator keeps only warnings and errors, and a
	// record per command dispatched was two allocations for nothing.
	LogLevel slog.Leveler
}

// Manager is the manager state machine. It is not safe for concurrent use:
// a driver feeds it one input at a time.
type Manager struct {
	cfg Config
	// minLevel is cfg.LogLevel's level (the least there is without one).
	minLevel slog.Level
	// m is what the manager acts on: base, the running configuration,
	// with its orphans (config.go). configText and configVersion are
	// base's source and version as applied (""/0: the start-up file);
	// configErr says why a recorded one did not load at replay.
	m             *model.Model
	base          *model.Model
	configText    string
	configVersion int
	configErr     string
	started       bool
	epoch         proto.Epoch
	deposed       bool

	hosts    map[string]*hostInfo
	observed observations
	failures map[string]map[string]planner.Failure
	fatal    map[string]string
	// attrs are the hosts' node attributes (attrs.go).
	attrs attrStore
	cons  planner.Constraints
	// foundSeen is the last multiple-active finding told per group (its
	// hosts), so that a finding that holds across plans is told once.
	foundSeen map[string]string
	// lostStops are the stops (resource, host) whose result was lost and
	// that a probe settles rather than a fence (see probeLostStop).
	lostStops map[rscHost]bool

	// unheard counts the hosts pending (not heard from since the manager
	// started), and hostsVersion the changes of hosts' states and of the
	// set of hosts: Idle and HostStateVersion read them instead of every
	// host. addHost, dropHost and setHostState keep them.
	unheard      int
	hostsVersion uint64

	nextOp proto.OpID
	ops    opTable

	nextTimer effect.TimerID
	timers    map[effect.TimerID]timerUse
	dues      dues // when the timers are due, earliest first (dues.go)
	expiry    effect.TimerID

	fencer *fencer.Fencer
	// devChecks holds each fence device's last monitor from each host
	// (DeviceChecks), for the operator: in memory, since every host
	// checks every device again when it joins.
	devChecks map[string]map[string]DeviceCheck
	fenceAct  map[string]int // host -> action index of the current transition's fence

	// conns, forgedMsgs and newer: connections, senders and the hosts
	// that reported a newer manager (conn.go).
	conns      map[string]effect.ConnID
	forgedMsgs int
	newer      map[string]proto.Epoch

	// epochs.go: hosts with a poisoned epoch record, hosts this
	// incarnation has commanded, whether a reused epoch was noted, and why
	// the manager was deposed.
	poisoned   map[string]bool
	commanded  map[string]bool
	reuseNoted bool
	deposedWhy string

	trans *transition
	// transSeq numbers the transitions planned, and recent holds the
	// latest two (number transSeq first), finished or not, for
	// Transition.
	transSeq    int
	recent      [2]*transition
	lastPlan    planner.Transition
	planned     bool
	dirty       bool // some step of the current input asked for a reconciliation
	reconciling bool

	reports  map[string]*Report
	repOrder []string
	// powerOns follows each power-on's report to its end, and queries
	// the power status queries (power.go), the last maxPowerQueries.
	powerOns   map[string]*powerOn
	queries    map[string]*PowerQuery
	queryOrder []string
	nextQuery  int
	nextRep    int
	events     []Event
	seq        uint64

	// shadow has replayed exactly what the event log holds but the
	// records appended since it was last read (shadowBehind), which it
	// replays when it is read (shadowNow), and logSize measures the log:
	// compaction's snapshot is the shadow's (compact.go).
	shadow       *Manager
	shadowBehind [][]byte
	// evBuf and evEnc encode each event (encodeEvent).
	evBuf   bytes.Buffer
	evEnc   *json.Encoder
	logSize logSize
	// replayed counts the event log records replayed before Start;
	// lastLead is the last leadership the log records (leaders.go).
	replayed int
	lastLead LeaderRecord
	// batches are the slices the driver released (Release, batches.go).
	batches effect.Batches
}

// New returns a manager for the configured cluster. Start must be called
// before any other input.
func New(cfg Config) *Manager {
	minLevel := slog.Level(math.MinInt)
	if cfg.LogLevel != nil {
		minLevel = cfg.LogLevel.Level()
	}
	mg := &Manager{
		cfg: cfg, minLevel: minLevel, m: cfg.Model, base: cfg.Model,
		hosts:    map[string]*hostInfo{},
		failures: map[string]map[string]planner.Failure{},
		fatal:    map[string]string{},
		attrs:    attrStore{},
		cons: planner.Constraints{Moves: map[string]planner.Move{}, TargetRoles: map[string]model.Role{},
			Unmanaged: map[string]bool{}, Blocked: map[string]bool{}, FoundActive: map[string][]string{}},
		foundSeen: map[string]string{},
		lostStops: map[rscHost]bool{},
		ops:       newOpTable(), timers: map[effect.TimerID]timerUse{},
		fenceAct: map[string]int{}, reports: map[string]*Report{},
		devChecks: map[string]map[string]DeviceCheck{},
		powerOns:  map[string]*powerOn{}, queries: map[string]*PowerQuery{},
	}
	mg.fencer = fencer.New(cfg.Model, fencer.Hooks{
		NextOp:    mg.op,
		NextTimer: func() effect.TimerID { return mg.newTimer(timerUse{kind: fencerTimer}) },
		Conn:      mg.connTo,
		Epoch:     func() proto.Epoch { return mg.epoch },
	})
	for _, h := range cfg.Model.Hosts {
		mg.addHost(h.Name)
	}
	var names hostsAndResources
	for _, h := range cfg.Model.Hosts {
		names.hosts = append(names.hosts, h.Name)
	}
	for _, r := range cfg.Model.Resources {
		names.resources = append(names.resources, r.ID)
	}
	names.probedOn = func(rsc string) []string { return domainNames(cfg.Model.ExclusiveDomain(rsc)) }
	mg.observed = newObservations(names, func(rsc, host string) bool { return mg.m.Discovers(rsc, host) })
	return mg
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
	if mg.started {
		return nil, fmt.Errorf("manager already started (epoch %d)", mg.epoch)
	}
	if err := checkStartEpoch(persisted); err != nil {
		return nil, err
	}
	if err := mg.replayRecords(records); err != nil {
		return nil, err
	}
	return mg.begin(now, persisted, len(records)), nil
}

// replayRecords replays event log records (payloads) on the manager and
// its shadow, counting the log's size past its snapshot. Every record is
// decoded before any is replayed, so that a damaged one changes nothing.
func (mg *Manager) replayRecords(records [][]byte) error {
	events := make([]Event, len(records))
	for i, rec := range records {
		if err := json.Unmarshal(rec, &events[i]); err != nil {
			return fmt.Errorf("event log record %d: %w", mg.replayed+i, err)
		}
	}
	if mg.shadow == nil {
		mg.shadow = mg.newShadow()
	}
	mg.shadowNow() // what was appended before these comes first
	mg.roomForEvents(len(events))
	mg.shadow.roomForEvents(len(events))
	for i, e := range events {
		mg.replay(e)
		mg.shadow.replay(e)
		if e.Kind != "snapshot" {
			mg.logSize.records++
			mg.logSize.bytes += int64(len(records[i]) + eventlog.HeaderLen)
		}
	}
	mg.replayed += len(records)
	return nil
}

// begin starts the incarnation once the log is replayed: the epoch after
// the persisted one, made durable first, and the dead timeout for every
// host to say hello. replayedNow is how many of the log's records were
// replayed by this start (a warm standby replayed the others earlier).
func (mg *Manager) begin(now time.Time, persisted proto.Epoch, replayedNow int) []effect.Effect {
	mg.started = true
	mg.setEpoch(persisted + 1)
	effs := []effect.Effect{mg.batches.Persist(effect.Persist{Name: EpochRecord, Data: proto.EncodeEpoch(mg.epoch)})}
	started := Event{Kind: "manager-started", Message: fmt.Sprintf("epoch %d", mg.epoch)}
	if mg.cfg.Replica != "" {
		started.Manager, started.Epoch = mg.cfg.Replica, uint64(mg.epoch)
		effs = mg.appendEvent(effs, now, Event{Kind: "takeover", Manager: mg.cfg.Replica, Epoch: uint64(mg.epoch),
			Message: mg.takeoverMessage(now, replayedNow)})
	}
	effs = mg.appendEvent(effs, now, started)
	if mg.configErr != "" {
		effs = mg.appendEvent(effs, now, Event{Kind: "config-not-loaded", Message: mg.configErr})
	}
	for _, h := range mg.m.Hosts {
		hi := mg.hosts[h.Name]
		hi.deadTimer = mg.newTimer(timerUse{kind: deadTimer, host: h.Name})
		effs = append(effs, mg.batches.SetTimer(effect.SetTimer{ID: hi.deadTimer, At: now.Add(mg.m.Cluster.DeadTimeout)}))
	}
	return mg.checkEffects(mg.maybeCompact(effs))
}

// Epoch is the manager's current epoch.
func (mg *Manager) Epoch() proto.Epoch { return mg.epoch }

// Deposed reports whether a majority of hosts have told the manager that
// a newer one exists (conn.go); a deposed manager sends nothing more.
func (mg *Manager) Deposed() bool { return mg.deposed }

// Receive handles a message from an agent; from is the host the transport
// proved sent it (conn.go).
func (mg *Manager) Receive(now time.Time, from string, msg effect.Message) []effect.Effect {
	if !mg.started {
		return []effect.Effect{effect.Log{Level: slog.LevelWarn, Msg: "message before the manager started: dropped"}}
	}
	effs := mg.input(now)
	return mg.settle(now, effect.Concat(effs, mg.receive(now, from, msg)))
}

// receive routes a message to its handler.
func (mg *Manager) receive(now time.Time, from string, msg effect.Message) []effect.Effect {
	if mg.deposed {
		return nil
	}
	if effs, forged := mg.refuseForged(from, msg); forged {
		return effs
	}
	// The sender's entry, looked up once for what follows: a message that
	// names a host names its sender (refuseForged), and every host sends
	// a heartbeat every interval. Nil: not a configured host.
	hi := mg.hosts[from]
	return effect.Concat(mg.heard(hi), mg.route(now, msg, hi))
}

// route hands a message from its proven sender, whose entry is hi (nil
// for a host not configured), to its handler.
func (mg *Manager) route(now time.Time, msg effect.Message, hi *hostInfo) []effect.Effect {
	switch m := msg.(type) {
	case proto.Hello:
		return mg.hello(now, m)
	case proto.Goodbye:
		return mg.goodbye(now, m)
	case proto.AttrUpdate:
		return append(mg.seen(now, m.Host), mg.attrUpdate(now, m)...)
	case proto.Heartbeat:
		if m.Epoch > mg.epoch && m.Epoch <= proto.MaxEpoch {
			return mg.newerManager(now, m.Host, m.Epoch, false)
		}
		if m.Epoch <= mg.epoch {
			mg.followsUs(m.Host)
		}
		if hi == nil {
			return nil
		}
		return append(mg.seenHost(now, hi), mg.hostPersist(now, hi, m)...)
	case proto.OpResult:
		if m.Epoch != mg.epoch {
			return nil // a previous incarnation's command
		}
		// One batch, the host's sign of life's: a result is among the
		// most frequent inputs, and a batch of its own was copied into
		// that one and dropped.
		var effs []effect.Effect
		if hi != nil {
			effs = mg.seenHost(now, hi)
		}
		return mg.opResult(effs, now, m)
	case proto.FenceResult:
		if m.Epoch != mg.epoch {
			return nil
		}
		return append(mg.seen(now, m.Host), mg.fenceResult(now, m)...)
	case proto.Refused:
		if m.Epoch != mg.epoch {
			return nil // refused a command of another incarnation: not ours
		}
		if m.Stale && !mg.poisoned[m.Host] {
			return mg.newerManager(now, m.Host, 0, false)
		}
		return append(mg.seen(now, m.Host), mg.refused(now, m)...)
	}
	return nil
}

// TimerFired handles the manager's timers.
func (mg *Manager) TimerFired(now time.Time, id effect.TimerID) []effect.Effect {
	if !mg.started {
		return nil
	}
	effs := mg.input(now)
	return mg.settle(now, effect.Concat(effs, mg.timerFired(now, id)))
}

// depose: an agent has seen a newer manager; this one stops acting for good.
func (mg *Manager) depose(now time.Time, host string) []effect.Effect {
	mg.deposed = true
	msg := mg.deposedMessage()
	mg.deposedWhy = msg
	effs := append([]effect.Effect{effect.Log{Level: slog.LevelError, Msg: msg}}, mg.event(now, Event{Kind: "deposed", Host: host, Message: msg})...)
	return append(effs, mg.letGo()...)
}

// input is the common prologue of every input after Start: it notices a
// clock jump before anything is judged by the new time.
func (mg *Manager) input(now time.Time) []effect.Effect { return mg.noticeClockJump(now) }

// wake asks for a reconciliation at the end of the current input. Internal
// steps never reconcile themselves: a state machine must not be re-entered
// from its own effects (a fence that ends at once, inside dispatch, used to
// plan a new transition under the loop still dispatching the old one).
func (mg *Manager) wake() { mg.dirty = true }

// settle ends every input: it reconciles while some step asked for it.
// Dispatching can itself ask again (a fence request the fencer answers at
// once), so it loops, bounded by the size of the cluster.
func (mg *Manager) settle(now time.Time, effs []effect.Effect) []effect.Effect {
	bound := 2*len(mg.m.Resources)*len(mg.m.Hosts) + 2*len(mg.m.Hosts) + 8
	for i := 0; mg.dirty; i++ {
		if i > bound {
			broken("reconciliation did not settle after %d rounds", i)
		}
		mg.dirty = false
		effs = effect.Concat(effs, mg.reconcile(now))
	}
	return mg.checkEffects(mg.maybeCompact(effs))
}
