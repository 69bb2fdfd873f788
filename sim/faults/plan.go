// Package faults describes what goes wrong in a simulated run: a Plan is an
// explicit, serialisable list of faults and admin requests at virtual times,
// followed by a heal phase. Generate draws a plan from a seed by swarm
// testing: each fault kind is switched on or off per seed and given an
// intensity, so that different seeds stress different mixes rather than a
// uniform blur of everything. A plan, not the seed, is what a run executes,
// so a failing plan can be shrunk fault by fault.
//
// A plan runs in either world, the simulator or real processes: each
// implements Target, and Apply carries a plan's steps into it.
package faults

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/basalt-ha/basalt/core/model"
)

// Kind names a fault or request.
type Kind string

// The kinds of fault and workload.
const (
	CrashAgent    Kind = "crash-agent"    // kill -9 of a host's agent; restarted after For
	CrashHost     Kind = "crash-host"     // the whole host dies (disk kept); boots after For
	PauseHost     Kind = "pause-host"     // SIGSTOP for For: resumes with stale beliefs
	Partition     Kind = "partition"      // Host and Peer cannot talk, for For
	CutOneWay     Kind = "cut-one-way"    // messages Host→Peer dropped, for For
	Isolate       Kind = "isolate"        // Host cut from everyone, for For
	Clog          Kind = "clog"           // Host→Peer delayed by Delay, for For
	KillResource  Kind = "kill-resource"  // Resource dies on Host
	FailStart     Kind = "fail-start"     // next Times starts of Resource on Host fail with RC
	FailStop      Kind = "fail-stop"      // next Times stops fail with RC
	HangAction    Kind = "hang"           // next Times Action runs of Resource on Host hang
	FailDevice    Kind = "fail-device"    // fence Device fails, for For
	HangDevice    Kind = "hang-device"    // fence Device hangs, for For
	LieDevice     Kind = "lie-device"     // fence Device says off without doing it, for For
	CrashManager  Kind = "crash-manager"  // manager crashes, restarts after For
	PauseManager  Kind = "pause-manager"  // manager freezes for For; a replacement takes over
	AdminMove     Kind = "admin-move"     // move Group to Host
	AdminStandby  Kind = "admin-standby"  // Host to standby for For
	AdminStop     Kind = "admin-stop"     // stop Group, start it again after For
	AdminCleanup  Kind = "admin-cleanup"  // cleanup Group
	AdminUnmanage Kind = "admin-unmanage" // unmanage Group for For
	// Kinds drawn each from a stream of its own (see ownStreamKinds).
	FreezeManager Kind = "freeze-manager" // manager stopped (SIGSTOP) for For, no replacement
	SlowHost      Kind = "slow-host"      // every start and stop on Host takes Delay, for For
	CrashMidway   Kind = "crash-midway"   // the next Action on Host takes Delay; its agent dies midway, restarts after For
	RestartAgent  Kind = "restart-agent"  // Host's agent stops cleanly (SIGTERM, goodbye); restarted after For

	// Kinds the swarm never draws unless Options.Kinds asks for them (the
	// chaos run on real processes does): they draw from a stream of their
	// own, so that every plan drawn without them stays as it was.
	ImpostorAgent Kind = "impostor-agent" // a holder of Host's certificate speaks for Peer, for For
	DiskFull      Kind = "disk-full"      // Host's state directory ("manager": the manager's) full for For
	// Drawn only for a cluster of manager replicas (Options.Replicas).
	CutLeaderStore Kind = "cut-leader-etcd" // the leading manager cut from etcd, not from the agents, for For
	StoreDown      Kind = "etcd-down"       // etcd unavailable for For

	// Kinds for scripted plans (scenarios) only; the swarm never draws
	// them.
	AdminStart       Kind = "admin-start"       // start Group
	AdminBan         Kind = "admin-ban"         // ban Group from Host
	AdminClear       Kind = "admin-clear"       // clear Group's moves and bans
	AdminMaintenance Kind = "admin-maintenance" // Action "on" or "off"
	AdminUnstandby   Kind = "admin-unstandby"   // Host (or All hosts) out of standby
	AdminManage      Kind = "admin-manage"      // manage Group again
	AdminPowerOff    Kind = "admin-power-off"   // basalt power off Host: the operator's fence
	AdminPowerOn     Kind = "admin-power-on"    // basalt power on Host
	// AdminConfirmDown is basalt host confirm-down Host: the operator's
	// word that Host's power is off. A plan names only a host that is
	// really down (crashed, not paused or cut off): confirming a running
	// host is the lie the command warns of.
	AdminConfirmDown Kind = "admin-confirm-down"
	HealAll          Kind = "heal" // lift every network, host, resource and device fault

	// Kinds of promotable clones, drawn only with Options.Promotable, each
	// from a stream of its own, of the resources of promotable groups.
	FailPromote  Kind = "fail-promote"  // next Times promotes of Resource on Host fail with RC
	HangDemote   Kind = "hang-demote"   // the next demote of Resource on Host hangs (until its timeout)
	KillPromoted Kind = "kill-promoted" // Resource's promoted instance dies, wherever it runs then
	// The clone notifications of a promotable group with notify: true,
	// drawn with the promotion kinds, each from a stream of its own.
	FailNotify Kind = "fail-notify" // next Times notifications of Resource on Host exit with RC
	HangNotify Kind = "hang-notify" // the next notification of Resource on Host hangs (until ops.notify.timeout)
)

// promotionKinds are the kinds Options.Promotable switches on.
// The notification kinds came after the first three: appended, they leave
// the others' draws as they were.
var promotionKinds = []Kind{FailPromote, HangDemote, KillPromoted, FailNotify, HangNotify}

// A For of zero on a fault that is normally undone after For (pause,
// partition, cut, isolate, clog, device faults, standby, stop, unmanage,
// crash restarts) means it lasts until a heal step: scripted plans use it.

var scriptedKinds = []Kind{AdminStart, AdminBan, AdminClear, AdminMaintenance, AdminUnstandby, AdminManage, AdminPowerOff,
	AdminPowerOn, AdminConfirmDown, HealAll}

// Fault is one entry of a plan.
type Fault struct {
	At       time.Duration `json:"at"`
	Kind     Kind          `json:"kind"`
	Host     string        `json:"host,omitempty"`
	Peer     string        `json:"peer,omitempty"`
	Resource string        `json:"resource,omitempty"`
	Group    string        `json:"group,omitempty"`
	Device   string        `json:"device,omitempty"`
	Action   string        `json:"action,omitempty"`
	For      time.Duration `json:"for,omitempty"`
	Delay    time.Duration `json:"delay,omitempty"`
	RC       int           `json:"rc,omitempty"`
	Times    int           `json:"times,omitempty"`
	// Draw seeds the edits of a config-apply drawn when it happens;
	// Edits, when set, are its edits instead (scenarios).
	Draw  uint64         `json:"draw,omitempty"`
	Edits []model.EditOp `json:"edits,omitempty"`
	// All is an admin step of every host (admin-standby, admin-unstandby,
	// instead of Host) or of every group (admin-start, admin-clear,
	// admin-manage, admin-cleanup, instead of Group), as one request
	// (basalt host unstandby --all, basalt resource cleanup --all).
	All bool `json:"all,omitempty"`
}

// String renders a fault on one line, for people.
func (f Fault) String() string {
	s := string(f.Kind)
	for _, v := range []string{f.Host, f.Peer, f.Group, f.Resource, f.Device, f.Action} {
		if v != "" {
			s += " " + v
		}
	}
	if f.All {
		s += " --all"
	}
	if f.RC != 0 {
		s += fmt.Sprintf(" rc=%d", f.RC)
	}
	if f.Times != 0 {
		s += fmt.Sprintf(" x%d", f.Times)
	}
	if f.Delay != 0 {
		s += " +" + f.Delay.String()
	}
	if f.For != 0 {
		s += " for " + f.For.String()
	}
	for _, e := range f.Edits {
		s += "; " + e.String()
	}
	return s
}

// Network is the network model of a run.
type Network struct {
	LatencyMin  time.Duration `json:"latency_min"`
	LatencyMax  time.Duration `json:"latency_max"`
	Loss        float64       `json:"loss"`
	Duplication float64       `json:"duplication"`
}

// Plan is everything a run does to the cluster.
type Plan struct {
	Seed    uint64  `json:"seed"`
	Network Network `json:"network"`
	// Chaos is how long faults are injected; Heal how long the healed
	// cluster is then given to recover.
	Chaos  time.Duration `json:"chaos"`
	Heal   time.Duration `json:"heal"`
	Faults []Fault       `json:"faults"`
	// Enabled lists the fault kinds the swarm switched on.
	Enabled []Kind `json:"enabled"`
	// Scripted plans (scenarios) have no automatic heal phase: their own
	// steps heal, and their expectations judge recovery.
	Scripted bool `json:"scripted,omitempty"`
}

// Encode renders the plan as indented JSON.
func (p Plan) Encode() ([]byte, error) { return json.MarshalIndent(p, "", "  ") }

// Decode parses a plan, checking that every fault is of a known kind and
// inside the chaos phase.
func Decode(data []byte) (Plan, error) {
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return Plan{}, fmt.Errorf("fault plan: %w", err)
	}
	for i, f := range p.Faults {
		if !slices.Contains(allKinds, f.Kind) && !slices.Contains(scriptedKinds, f.Kind) && !slices.Contains(optInKinds, f.Kind) &&
			!slices.Contains(replicaKinds, f.Kind) && !slices.Contains(promotionKinds, f.Kind) && f.Kind != ConfigApply {
			return Plan{}, fmt.Errorf("fault plan: faults[%d]: unknown kind %q", i, f.Kind)
		}
		if f.At < 0 || f.At > p.Chaos {
			return Plan{}, fmt.Errorf("fault plan: faults[%d]: at %s is outside the chaos phase (0..%s)", i, f.At, p.Chaos)
		}
	}
	if p.Chaos <= 0 || p.Heal <= 0 {
		return Plan{}, fmt.Errorf("fault plan: chaos and heal must be positive")
	}
	return p, nil
}

// optInKinds are drawn only when Options.Kinds names them.
var optInKinds = []Kind{ImpostorAgent, DiskFull}

// replicaKinds are drawn only for manager replicas, each from a stream of
// its own, so that the other kinds' draws are as without replicas.
var replicaKinds = []Kind{CutLeaderStore, StoreDown}

var allKinds = []Kind{CrashAgent, CrashHost, PauseHost, Partition, CutOneWay, Isolate, Clog, KillResource, FailStart,
	FailStop, HangAction, FailDevice, HangDevice, LieDevice, CrashManager, PauseManager, AdminMove, AdminStandby,
	AdminStop, AdminCleanup, AdminUnmanage}

// ownStreamKinds came after the first kinds: each draws whether it is on,
// its rate and its faults from a stream of its own, so that adding one left
// every seed's draws of the others as they were.
var ownStreamKinds = []Kind{FreezeManager, SlowHost, CrashMidway, RestartAgent}

func init() { allKinds = append(allKinds, ownStreamKinds...) }

// kindStream is the stream of an own-stream kind: seeded by the seed and
// the kind's name.
func kindStream(seed uint64, k Kind) *rand.Rand {
	var h uint64 = 14695981039346656037 // FNV-1a over the name
	for i := 0; i < len(k); i++ {
		h = (h ^ uint64(k[i])) * 1099511628211
	}
	return rand.New(rand.NewPCG(seed, h))
}

// Options bound what Generate draws. The zero value of each field is the
// swarm's: a plan drawn with only Chaos, Heal and MaxFaults set is the
// same whatever the other fields mean.
type Options struct {
	Chaos time.Duration
	Heal  time.Duration
	// MaxFaults bounds the faults of one plan.
	MaxFaults int
	// Kinds, when set, are the only kinds a plan may switch on: a world
	// that cannot inject the others (real processes) draws from these.
	// The other kinds still spend their draws, so that a seed's choices
	// among the allowed ones do not depend on the list.
	Kinds []Kind
	// Intensity multiplies every switched-on kind's rate (0: 1). A run on
	// real time is minutes long where a simulated one is many; it needs
	// more faults per minute to exercise as much.
	Intensity float64
	// MaxFor bounds how long a fault lasts (0: as drawn, up to two
	// minutes), so that a short run sees its faults end.
	MaxFor time.Duration
	// Spacing is the least time between two faults; a fault drawn closer
	// to the one before is left out. Real processes need a moment to show
	// what a fault did before the next one lands.
	Spacing time.Duration
	// ManagerLinks draws network faults only between the manager and a
	// host: agents never talk to one another, so a cut between two hosts
	// changes nothing, and real processes have no such link to cut.
	ManagerLinks bool
	// Replicas: the cluster runs manager replicas on etcd, so that the
	// replica kinds may switch on too (with Kinds set, only those it
	// names). The manager kinds then strike the leader.
	Replicas bool
	// ConfigApply lets the config-apply kind switch on, for half of the
	// seeds as any other kind, from a stream of its own: a plan drawn
	// without it is as it always was. (Kinds, when set, must name it too.)
	ConfigApply bool
	// Promotable lets the promotion kinds (fail-promote, hang-demote,
	// kill-promoted, and for a group with notify: true fail-notify and
	// hang-notify) switch on, each from a stream of its own, for a
	// cluster with a promotable group: a plan drawn without it is as it
	// always was.
	Promotable bool
}

// Generate draws a plan for a cluster from a seed. Its randomness is its
// own stream: the same seed gives the same plan whatever else changes.
func Generate(m *model.Model, seed uint64, o Options) Plan {
	if o.Chaos == 0 {
		o.Chaos = 5 * time.Minute
	}
	if o.Heal == 0 {
		o.Heal = 5 * time.Minute
	}
	if o.MaxFaults == 0 {
		o.MaxFaults = 40
	}
	if o.Intensity == 0 {
		o.Intensity = 1
	}
	rng := rand.New(rand.NewPCG(seed, 0x6661756c7473)) // "faults"
	// The workload (admin requests) draws from its own stream, so that
	// changing how faults are drawn does not shift the requests.
	wrng := rand.New(rand.NewPCG(seed, 0x776f726b6c6f6164)) // "workload"
	p := Plan{Seed: seed, Chaos: o.Chaos, Heal: o.Heal}
	p.Network = Network{LatencyMin: time.Millisecond, LatencyMax: time.Duration(1+rng.IntN(50)) * time.Millisecond}
	if rng.IntN(3) == 0 {
		p.Network.Loss = float64(rng.IntN(5)) / 100
	}
	if rng.IntN(4) == 0 {
		p.Network.Duplication = float64(rng.IntN(5)) / 100
	}
	// Swarm: each kind on with probability 1/2, and a rate of its own.
	rates := map[Kind]float64{}
	streams := map[Kind]*rand.Rand{}
	for _, k := range allKinds {
		r := rng
		if slices.Contains(ownStreamKinds, k) {
			r = kindStream(seed, k)
			streams[k] = r
		}
		if r.IntN(2) == 0 {
			rate := 0.2 + r.Float64()*1.8 // expected faults per chaos phase of 5 min, scaled below
			if o.Kinds == nil || slices.Contains(o.Kinds, k) {
				p.Enabled = append(p.Enabled, k)
				rates[k] = rate
			}
		}
	}
	d := newDrawer(m, o)
	scale := float64(o.Chaos) / float64(5*time.Minute) * o.Intensity
	rates, orng := optIn(seed, o, &p, rates)
	replicaKindsOn(seed, o, &p, rates, streams)
	configApplyOn(seed, o, &p, rates, streams)
	promotionOn(seed, o, d, &p, rates, streams)
	for _, k := range p.Enabled {
		d.rng = rng
		if isWorkload(k) {
			d.rng = wrng
		}
		if r, ok := streams[k]; ok {
			d.rng = r
		}
		if slices.Contains(optInKinds, k) {
			d.rng = orng
		}
		for range poisson(d.rng, rates[k]*scale) {
			if f, ok := d.draw(k); ok {
				p.Faults = append(p.Faults, f)
			}
		}
	}
	quickRestarts(p.Faults, kindStream(seed, "quick-restart"), d)
	sort.SliceStable(p.Faults, func(i, j int) bool { return p.Faults[i].At < p.Faults[j].At })
	p.Faults = spaced(p.Faults, o.Spacing)
	if len(p.Faults) > o.MaxFaults {
		p.Faults = p.Faults[:o.MaxFaults]
	}
	return p
}

// optIn switches on, from a stream of their own, the opt-in kinds that
// o.Kinds names, each with probability 1/2 and a rate like the others',
// and returns the rates with theirs and the stream to draw them from.
func optIn(seed uint64, o Options, p *Plan, rates map[Kind]float64) (map[Kind]float64, *rand.Rand) {
	orng := rand.New(rand.NewPCG(seed, 0x6f7074696e)) // "optin"
	for _, k := range optInKinds {
		on, rate := orng.IntN(2) == 0, 0.2+orng.Float64()*1.8
		if on && slices.Contains(o.Kinds, k) {
			p.Enabled = append(p.Enabled, k)
			rates[k] = rate
		}
	}
	return rates, orng
}

// replicaKindsOn switches on, each from its own stream, the replica kinds
// a cluster of manager replicas may see.
func replicaKindsOn(seed uint64, o Options, p *Plan, rates map[Kind]float64, streams map[Kind]*rand.Rand) {
	if !o.Replicas {
		return
	}
	for _, k := range replicaKinds {
		r := kindStream(seed, k)
		streams[k] = r
		if r.IntN(2) == 0 && (o.Kinds == nil || slices.Contains(o.Kinds, k)) {
			p.Enabled = append(p.Enabled, k)
			rates[k] = 0.2 + r.Float64()*1.8
		}
	}
}

// configApplyOn switches the config-apply kind on, from its own stream,
// when the options let it.
func configApplyOn(seed uint64, o Options, p *Plan, rates map[Kind]float64, streams map[Kind]*rand.Rand) {
	if !o.ConfigApply {
		return
	}
	r := kindStream(seed, ConfigApply)
	streams[ConfigApply] = r
	if r.IntN(2) == 0 && (o.Kinds == nil || slices.Contains(o.Kinds, ConfigApply)) {
		p.Enabled = append(p.Enabled, ConfigApply)
		rates[ConfigApply] = 0.5 + r.Float64()*2.5
	}
}

// promotionOn switches the promotion kinds on, each from its own stream,
// when the options let it and the cluster has a promotable group.
func promotionOn(seed uint64, o Options, d *drawer, p *Plan, rates map[Kind]float64, streams map[Kind]*rand.Rand) {
	if !o.Promotable || len(d.promotable) == 0 {
		return
	}
	for _, k := range promotionKinds {
		r := kindStream(seed, k)
		streams[k] = r
		if r.IntN(2) == 0 && (o.Kinds == nil || slices.Contains(o.Kinds, k)) {
			p.Enabled = append(p.Enabled, k)
			rates[k] = 0.5 + r.Float64()*2.5
		}
	}
}

// drawer draws single faults of a cluster, from the stream of their kind.
type drawer struct {
	m                            *model.Model
	o                            Options
	rng                          *rand.Rand
	hosts, rscs, groups, devices []string
	// promotable are the resources of promotable groups; notifying
	// those of the promotable groups with notify: true.
	promotable, notifying []string
}

func newDrawer(m *model.Model, o Options) *drawer {
	d := &drawer{m: m, o: o, hosts: m.HostNames()}
	for _, r := range m.Resources {
		d.rscs = append(d.rscs, r.ID)
	}
	for _, g := range m.Groups {
		d.groups = append(d.groups, g.ID)
		if g.Placement.Clone.Promotable {
			d.promotable = append(d.promotable, g.Resources()...)
			if g.Placement.Clone.Notify {
				d.notifying = append(d.notifying, g.Resources()...)
			}
		}
	}
	for _, dev := range m.FenceDevices {
		d.devices = append(d.devices, dev.ID)
	}
	return d
}

func (d *drawer) pick(list []string) string { return list[d.rng.IntN(len(list))] }

// dur draws a duration in [lo, hi], to the millisecond.
func (d *drawer) dur(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(d.rng.Int64N(int64(hi-lo)+1)).Truncate(time.Millisecond)
}

// lasting draws how long a fault lasts: in [lo, hi], within MaxFor.
func (d *drawer) lasting(lo, hi time.Duration) time.Duration {
	if d.o.MaxFor > 0 {
		hi = max(lo, min(hi, d.o.MaxFor))
	}
	return d.dur(lo, hi)
}

// draw draws one fault of kind k; false when the draw names nothing to act
// on (a link from a node to itself, a device in a cluster without one).
func (d *drawer) draw(k Kind) (Fault, bool) {
	dead := d.m.Cluster.DeadTimeout
	f := Fault{At: d.dur(0, d.o.Chaos), Kind: k}
	switch k {
	case CrashAgent, CrashHost:
		f.Host, f.For = d.pick(d.hosts), d.lasting(time.Second, time.Minute)
	case PauseHost:
		f.Host, f.For = d.pick(d.hosts), d.lasting(time.Second, 3*dead)
	case Partition, CutOneWay, Clog:
		if !d.link(&f) {
			return f, false
		}
		f.For = d.lasting(time.Second, time.Minute)
		if k == Clog {
			f.Delay = d.dur(100*time.Millisecond, 2*dead)
		}
	case Isolate:
		f.Host, f.For = d.pick(d.hosts), d.lasting(time.Second, time.Minute)
	case KillResource:
		f.Host, f.Resource = d.pick(d.hosts), d.pick(d.rscs)
	case FailStart, FailStop:
		f.Host, f.Resource, f.Times = d.pick(d.hosts), d.pick(d.rscs), 1+d.rng.IntN(3)
		f.RC = []int{1, 1, 1, 5, 6}[d.rng.IntN(5)]
		if k == FailStop {
			f.RC = 1
		}
	case HangAction:
		f.Host, f.Resource, f.Times = d.pick(d.hosts), d.pick(d.rscs), 1
		f.Action = []string{"start", "stop", "monitor"}[d.rng.IntN(3)]
	case FailDevice, HangDevice, LieDevice:
		if len(d.devices) == 0 {
			return f, false
		}
		f.Device, f.For = d.pick(d.devices), d.lasting(time.Second, 2*time.Minute)
	case CrashManager, PauseManager:
		f.For = d.lasting(time.Second, 30*time.Second)
	case FreezeManager:
		// Around the dead timeout: shorter pauses change nothing, longer
		// ones let every dead timer come due before the heartbeats are
		// read.
		f.For = d.lasting(time.Second, 3*dead)
	case SlowHost:
		// A host whose starts and stops take seconds (a slow disk, a
		// service that takes its time), so that an agent that dies
		// meanwhile leaves the action running (an orphan) for its next
		// life to find. Every one of them, for a while: a start comes
		// when something fails over or moves, which no plan can time.
		f.Host, f.For = d.pick(d.hosts), d.lasting(10*time.Second, 2*time.Minute)
		f.Delay = d.dur(time.Second, 12*time.Second)
	case RestartAgent:
		// Mostly back within the manager's goodbye grace (twice the dead
		// timeout), sometimes not: a host that said goodbye and stays
		// away is lost as usual.
		f.Host, f.For = d.pick(d.hosts), d.lasting(100*time.Millisecond, 3*dead)
	case CrashMidway:
		// A crash where it hurts: an agent killed (kill -9) in the middle
		// of a slow start or stop and restarted at once, as systemd does,
		// so that its next life finds the action still running. A plan
		// cannot time a crash into an action it cannot foresee, so the
		// fault waits for the action.
		f.Host, f.Action = d.pick(d.hosts), []string{"start", "start", "stop"}[d.rng.IntN(3)]
		f.Delay, f.For = d.dur(2*time.Second, 12*time.Second), d.lasting(100*time.Millisecond, 3*time.Second)
	case ImpostorAgent:
		if len(d.hosts) < 2 {
			return f, false
		}
		f.Host, f.Peer = d.pick(d.hosts), d.pick(d.hosts)
		f.For = d.lasting(time.Second, time.Minute)
		return f, f.Host != f.Peer
	case DiskFull:
		f.Host, f.For = d.pick(append(slices.Clip(d.hosts), "manager")), d.lasting(time.Second, time.Minute)
	case CutLeaderStore, StoreDown:
		// From well inside a lease's TTL to many of them.
		f.For = d.lasting(500*time.Millisecond, 90*time.Second)
	case ConfigApply:
		d.drawConfigApply(&f)
	case FailPromote:
		f.Host, f.Resource, f.Times, f.RC = d.pick(d.hosts), d.pick(d.promotable), 1+d.rng.IntN(3), 1
	case HangDemote:
		f.Host, f.Resource, f.Times = d.pick(d.hosts), d.pick(d.promotable), 1
	case KillPromoted:
		f.Resource = d.pick(d.promotable)
	case FailNotify, HangNotify:
		// A notification fault only means something where notifications
		// run: a group without notify: true sends none.
		if len(d.notifying) == 0 {
			return f, false
		}
		f.Host, f.Resource, f.Times = d.pick(d.hosts), d.pick(d.notifying), 1
		if k == FailNotify {
			f.Times, f.RC = 1+d.rng.IntN(3), 1
		}
	default:
		d.workload(&f)
	}
	return f, true
}

// quickRestarts makes some agent crashes restart quickly (sub-second to a
// few seconds, as systemd's Restart= does), so that what the dead agent
// left running overlaps its next life. Swarm style: on for about half of
// the seeds, each crash then quick with a chance of its own. It draws from
// its own stream, after the others, so the rest of the plan is as it was.
func quickRestarts(faults []Fault, rng *rand.Rand, d *drawer) {
	if rng.IntN(2) != 0 {
		return
	}
	chance := 0.3 + 0.7*rng.Float64()
	d.rng = rng
	for i, f := range faults {
		if f.Kind == CrashAgent && rng.Float64() < chance {
			faults[i].For = d.lasting(100*time.Millisecond, 3*time.Second)
		}
	}
}

// link draws the two ends of a network fault; false for a node and
// itself.
func (d *drawer) link(f *Fault) bool {
	nodes := append(slices.Clip(d.hosts), "manager")
	if !d.o.ManagerLinks {
		f.Host, f.Peer = d.pick(nodes), d.pick(nodes)
		return f.Host != f.Peer
	}
	f.Host, f.Peer = d.pick(d.hosts), "manager"
	if d.rng.IntN(2) == 0 {
		f.Host, f.Peer = f.Peer, f.Host
	}
	return true
}

// workload fills in an admin request.
func (d *drawer) workload(f *Fault) {
	switch f.Kind {
	case AdminMove:
		f.Group, f.Host = d.pick(d.groups), d.pick(d.hosts)
	case AdminStandby:
		f.Host, f.For = d.pick(d.hosts), d.lasting(time.Second, time.Minute)
	case AdminStop, AdminUnmanage:
		f.Group, f.For = d.pick(d.groups), d.lasting(time.Second, time.Minute)
	case AdminCleanup:
		f.Group = d.pick(d.groups)
	}
}

// spaced leaves out every fault closer than spacing to the one kept before
// it.
func spaced(faults []Fault, spacing time.Duration) []Fault {
	if spacing <= 0 || len(faults) == 0 {
		return faults
	}
	out := faults[:1]
	for _, f := range faults[1:] {
		if f.At-out[len(out)-1].At >= spacing {
			out = append(out, f)
		}
	}
	return out
}

func isWorkload(k Kind) bool {
	switch k {
	case AdminMove, AdminStandby, AdminStop, AdminCleanup, AdminUnmanage:
		return true
	}
	return false
}

// poisson draws from a Poisson distribution (Knuth's method; small means).
func poisson(rng *rand.Rand, mean float64) int {
	l, k, prod := math.Exp(-mean), 0, rng.Float64()
	for prod > l && k < 100 {
		k++
		prod *= rng.Float64()
	}
	return k
}
