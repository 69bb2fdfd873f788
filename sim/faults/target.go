package faults

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/manager"
)

// Target is a cluster that faults can be applied to. The simulated cluster
// and the cluster of real processes both implement it, so that one Apply
// carries a plan (the swarm's, a scenario's, the chaos run's) into either
// world and a fault means the same thing in both. Nodes are named as in a
// Fault: a host's name, or "manager".
//
// A world that cannot do what a method asks returns an error wrapping
// errors.ErrUnsupported (see Unsupported), which callers skip or report;
// any other error is the world failing to do something it can do.
type Target interface {
	// CrashAgent kills host's agent (kill -9); its resources keep
	// running. It restarts after restartAfter, 0 meaning not until the
	// host is fenced and boots.
	CrashAgent(host string, restartAfter time.Duration) error
	// RestartAgent stops host's agent cleanly (SIGTERM: it says goodbye
	// to the manager) and starts it again after restartAfter, 0 meaning
	// not until the host is fenced and boots. Its resources keep running.
	RestartAgent(host string, restartAfter time.Duration) error
	// CrashHost stops the whole host: its agent and resources die, its
	// disk stays. It boots after bootAfter, 0 meaning when fenced and
	// rebooted or powered on.
	CrashHost(host string, bootAfter time.Duration) error
	// PauseHost freezes host's agent (SIGSTOP); ResumeHost thaws it.
	PauseHost(host string) error
	ResumeHost(host string) error
	// Partition cuts a and b from each other, CutOneWay drops what from
	// sends to to, and Unpartition restores both directions between them.
	Partition(a, b string) error
	CutOneWay(from, to string) error
	Unpartition(a, b string) error
	// Isolate cuts host from every other node; Unisolate restores its
	// links.
	Isolate(host string) error
	Unisolate(host string) error
	// Clog delays what from sends to to by delay; 0 lifts the delay.
	Clog(from, to string, delay time.Duration) error
	// KillResource makes resource die on host: its next monitor finds it
	// stopped.
	KillResource(host, resource string) error
	// FailResource makes the next times runs (0: every run) of action of
	// resource on host exit with rc, or hang until killed.
	FailResource(host, resource, action string, rc, times int, hang bool) error
	// SlowHost makes every start and stop of a resource on host take
	// delay (0: as usual again).
	SlowHost(host string, delay time.Duration) error
	// CrashMidway waits for the next action (start or stop) of a resource
	// on host, makes it take delay, kills host's agent (kill -9) halfway
	// through it and restarts the agent restartAfter later.
	CrashMidway(host, action string, delay, restartAfter time.Duration) error
	// BreakDevice makes a fence device fail, hang or lie; RepairDevice
	// undoes it.
	BreakDevice(device string, how DeviceFault) error
	RepairDevice(device string) error
	// CrashManager kills the manager; StartManager starts it again on its
	// durable state. With manager replicas, the manager faults strike the
	// leader, and the pause and the freeze both stop it (SIGSTOP) until
	// their end: the standbys, not a replacement, take over.
	CrashManager() error
	StartManager() error
	// PauseManager freezes the manager and lets a replacement take over;
	// ResumeStaleManagers wakes every frozen one, to be refused by the
	// agents' epoch guard.
	PauseManager() error
	ResumeStaleManagers() error
	// FreezeManager stops the manager (SIGSTOP) with no replacement;
	// ThawManager resumes it (SIGCONT), to find every dead timer due and
	// the agents' heartbeats waiting in its sockets.
	FreezeManager() error
	ThawManager() error
	// Impostor puts, where the manager reaches host, a holder of host's
	// certificate that speaks for victim as well (forged heartbeats and a
	// newer manager's epoch in victim's name, and in host's own); the
	// manager must refuse what it forges. EndImpostor removes it.
	Impostor(host, victim string) error
	EndImpostor(host string) error
	// FillDisk fills node's state directory (a host's agent's, or
	// "manager"), so that every write fails with ENOSPC; EmptyDisk frees
	// the space again.
	FillDisk(node string) error
	EmptyDisk(node string) error
	// CutLeaderFromStore cuts the leading manager replica from etcd (it
	// still reaches the agents); RestoreStoreLinks gives every replica
	// its link to etcd back.
	CutLeaderFromStore() error
	RestoreStoreLinks() error
	// StopStore makes etcd unavailable; StartStore brings it back.
	StopStore() error
	StartStore() error
	// Admin sends an administrative request to the current manager.
	Admin(req manager.Request) error
	// HealAll lifts every network, host, resource, device and manager
	// fault: links restored, hosts resumed and powered on, agents and the
	// manager running. Admin constraints stay.
	HealAll() error
}

// RoleTarget is a Target that knows the roles of promotable clones' instances:
// the kill-promoted fault needs to find the promoted instance when it
// strikes, which a plan cannot foresee. A world without it cannot inject
// that fault.
type RoleTarget interface {
	// KillPromoted makes resource die wherever it runs promoted (nowhere:
	// nothing happens).
	KillPromoted(resource string) error
}

// DeviceFault is how a broken fence device misbehaves.
type DeviceFault string

// The ways a fence device breaks.
const (
	DeviceFails DeviceFault = "fail" // every action fails
	DeviceHangs DeviceFault = "hang" // every action hangs until its timeout
	DeviceLies  DeviceFault = "lie"  // "off" succeeds without powering anything off
)

// Unsupported is the error of a fault a world cannot inject: it wraps
// errors.ErrUnsupported with the reason, so that callers can tell it from
// a failure with errors.Is.
func Unsupported(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), errors.ErrUnsupported)
}

// Step is one moment of a fault: its beginning at At, or, for a fault that
// lasts (Ends), its end For later.
type Step struct {
	Fault Fault
	End   bool
}

// At is when the step happens, from the start of the run.
func (s Step) At() time.Duration {
	if s.End {
		return s.Fault.At + s.Fault.For
	}
	return s.Fault.At
}

// String renders the step on one line, for people.
func (s Step) String() string {
	if s.End {
		return "end of " + s.Fault.String()
	}
	return s.Fault.String()
}

// lastingKinds are the kinds undone For after they begin. The crashes also
// have a For, but it is how long the host stays down, which the world
// times itself (a fence may come first).
var lastingKinds = []Kind{PauseHost, Partition, CutOneWay, Isolate, Clog, FailDevice, HangDevice, LieDevice,
	CrashManager, PauseManager, FreezeManager, SlowHost, AdminStandby, AdminStop, AdminUnmanage, ImpostorAgent, DiskFull,
	CutLeaderStore, StoreDown}

// Ends reports whether the fault is undone by a step of its own, For after
// it begins. A For of zero lasts until a heal.
func (f Fault) Ends() bool { return f.For > 0 && slices.Contains(lastingKinds, f.Kind) }

// Steps expands faults into their steps in time order: each fault's
// beginning, and the end of those that end. Steps at the same time keep
// the order of the faults, beginnings before ends.
func Steps(faults []Fault) []Step {
	var out []Step
	for _, f := range faults {
		out = append(out, Step{Fault: f})
	}
	for _, f := range faults {
		if f.Ends() {
			out = append(out, Step{Fault: f, End: true})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At() < out[j].At() })
	return out
}

// Apply carries out one step of a fault on a target: the one place where a
// fault becomes what a world does.
func Apply(t Target, s Step) error {
	f := s.Fault
	if req, ok := adminRequest(f, s.End); ok {
		return t.Admin(req)
	}
	if s.End {
		return end(t, f)
	}
	switch f.Kind {
	case CrashAgent:
		return t.CrashAgent(f.Host, f.For)
	case RestartAgent:
		return t.RestartAgent(f.Host, f.For)
	case CrashHost:
		return t.CrashHost(f.Host, f.For)
	case PauseHost:
		return t.PauseHost(f.Host)
	case Partition:
		return t.Partition(f.Host, f.Peer)
	case CutOneWay:
		return t.CutOneWay(f.Host, f.Peer)
	case Isolate:
		return t.Isolate(f.Host)
	case Clog:
		return t.Clog(f.Host, f.Peer, f.Delay)
	case KillResource:
		return t.KillResource(f.Host, f.Resource)
	case FailStart, FailStop:
		return t.FailResource(f.Host, f.Resource, strings.TrimPrefix(string(f.Kind), "fail-"), f.RC, f.Times, false)
	case HangAction:
		return t.FailResource(f.Host, f.Resource, f.Action, 0, f.Times, true)
	case SlowHost:
		return t.SlowHost(f.Host, f.Delay)
	case CrashMidway:
		return t.CrashMidway(f.Host, f.Action, f.Delay, f.For)
	case FailDevice, HangDevice, LieDevice:
		return t.BreakDevice(f.Device, DeviceFault(strings.TrimSuffix(string(f.Kind), "-device")))
	case CrashManager:
		return t.CrashManager()
	case PauseManager:
		return t.PauseManager()
	case FreezeManager:
		return t.FreezeManager()
	case ImpostorAgent:
		return t.Impostor(f.Host, f.Peer)
	case DiskFull:
		return t.FillDisk(f.Host)
	case CutLeaderStore:
		return t.CutLeaderFromStore()
	case StoreDown:
		return t.StopStore()
	case HealAll:
		return t.HealAll()
	case ConfigApply:
		return applyConfig(t, f)
	case FailPromote:
		return t.FailResource(f.Host, f.Resource, "promote", f.RC, f.Times, false)
	case HangDemote:
		return t.FailResource(f.Host, f.Resource, "demote", 0, f.Times, true)
	case FailNotify:
		return t.FailResource(f.Host, f.Resource, "notify", f.RC, f.Times, false)
	case HangNotify:
		return t.FailResource(f.Host, f.Resource, "notify", 0, f.Times, true)
	case KillPromoted:
		if rt, ok := t.(RoleTarget); ok {
			return rt.KillPromoted(f.Resource)
		}
		return Unsupported("kill-promoted: this world does not know roles")
	}
	return Unsupported("fault kind %q", f.Kind)
}

// end undoes a lasting fault that is not an admin request.
func end(t Target, f Fault) error {
	switch f.Kind {
	case PauseHost:
		return t.ResumeHost(f.Host)
	case Partition, CutOneWay:
		return t.Unpartition(f.Host, f.Peer)
	case Isolate:
		return t.Unisolate(f.Host)
	case Clog:
		return t.Clog(f.Host, f.Peer, 0)
	case FailDevice, HangDevice, LieDevice:
		return t.RepairDevice(f.Device)
	case CrashManager:
		return t.StartManager()
	case PauseManager:
		return t.ResumeStaleManagers()
	case FreezeManager:
		return t.ThawManager()
	case SlowHost:
		return t.SlowHost(f.Host, 0)
	case ImpostorAgent:
		return t.EndImpostor(f.Host)
	case DiskFull:
		return t.EmptyDisk(f.Host)
	case CutLeaderStore:
		return t.RestoreStoreLinks()
	case StoreDown:
		return t.StartStore()
	}
	return nil
}

// adminCommands are the admin kinds' requests: at the beginning, and at
// the end of those that end.
var adminCommands = map[Kind][2]manager.Command{
	AdminMove:        {manager.CmdMove},
	AdminStandby:     {manager.CmdStandby, manager.CmdUnstandby},
	AdminUnstandby:   {manager.CmdUnstandby},
	AdminStop:        {manager.CmdStop, manager.CmdStart},
	AdminStart:       {manager.CmdStart},
	AdminCleanup:     {manager.CmdCleanup},
	AdminUnmanage:    {manager.CmdUnmanage, manager.CmdManage},
	AdminManage:      {manager.CmdManage},
	AdminBan:         {manager.CmdBan},
	AdminClear:       {manager.CmdClear},
	AdminMaintenance: {manager.CmdMaintenance},
	AdminPowerOff:    {manager.CmdPowerOff},
	AdminPowerOn:     {manager.CmdPowerOn},
	AdminConfirmDown: {manager.CmdConfirmDown},
}

// adminRequest is the request an admin step sends, if the step is one.
func adminRequest(f Fault, end bool) (manager.Request, bool) {
	cmds, ok := adminCommands[f.Kind]
	cmd := cmds[0]
	if end {
		cmd = cmds[1]
	}
	if !ok || cmd == "" {
		return manager.Request{}, false
	}
	req := manager.Request{Command: cmd, Target: f.Group, All: f.All}
	switch f.Kind {
	case AdminStandby, AdminUnstandby:
		req.Target = f.Host
	case AdminPowerOff, AdminPowerOn, AdminConfirmDown:
		req.Target = f.Host
	case AdminMove, AdminBan:
		req.Host = f.Host
	case AdminMaintenance:
		req.Target, req.Flag = "", f.Action == "on"
	}
	return req, true
}

// Recovery is what ends a run's chaos: every fault lifted, then what an
// operator does after an incident, each as one request of every host or
// group as an operator of a large cluster would send it (every host out
// of standby, maintenance off, every group's moves and bans cleared, every
// group managed and started, every resource cleaned up). The swarm's heal
// phase and the chaos run's heal apply it.
func Recovery() []Fault {
	out := []Fault{{Kind: HealAll}, {Kind: AdminUnstandby, All: true}, {Kind: AdminMaintenance, Action: "off"}}
	for _, k := range []Kind{AdminClear, AdminManage, AdminStart, AdminCleanup} {
		out = append(out, Fault{Kind: k, All: true})
	}
	return out
}
