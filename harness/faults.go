package harness

import (
	"errors"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/sim/faults"
)

// FaultTarget is the cluster of real processes as a faults.Target: crashes
// are kill -9, pauses SIGSTOP, network faults act on the manager↔agent
// Links (a proxy or a network namespace), resource and fence-device faults
// are marker files the test agents obey, admin requests go through the
// admin API. The scenarios and the chaos run apply their plans through it
// with faults.Apply, as the simulator does with its own cluster.
//
// What real processes cannot do is unsupported: network faults without
// links (NetLoopback), a link between two hosts (agents never talk to one
// another, so there is no path to cut), delays on a kernel without netem,
// a lying fence device (see BreakDevice), an impostor without the proxy
// (it takes a host's place through it: StartImpostor) and a full disk
// without a tmpfs per state directory (ProcessOptions.StateTmpfs).
func (pc *ProcessCluster) FaultTarget() faults.Target { return processTarget{pc} }

type processTarget struct{ pc *ProcessCluster }

func (t processTarget) CrashAgent(h string, restartAfter time.Duration) error {
	t.pc.CrashAgent(h, restartAfter)
	return nil
}

func (t processTarget) RestartAgent(h string, restartAfter time.Duration) error {
	return t.pc.RestartAgent(h, restartAfter)
}

func (t processTarget) CrashHost(h string, bootAfter time.Duration) error {
	t.pc.CrashHost(h, bootAfter)
	return nil
}

func (t processTarget) PauseHost(h string) error  { t.pc.Pause(h); return nil }
func (t processTarget) ResumeHost(h string) error { t.pc.Resume(h); return nil }

func (t processTarget) Partition(a, b string) error {
	l, _, err := t.link(a, b)
	if err != nil {
		return err
	}
	return l.Partition()
}

func (t processTarget) CutOneWay(from, to string) error {
	l, dir, err := t.link(from, to)
	if err != nil {
		return err
	}
	return l.Drop(dir, true)
}

func (t processTarget) Unpartition(a, b string) error {
	l, _, err := t.link(a, b)
	if err != nil {
		return err
	}
	return errors.Join(l.Drop(ToTarget, false), l.Drop(FromTarget, false))
}

func (t processTarget) Isolate(h string) error   { return t.Partition(h, effect.Manager) }
func (t processTarget) Unisolate(h string) error { return t.Unpartition(h, effect.Manager) }

func (t processTarget) Clog(from, to string, delay time.Duration) error {
	l, dir, err := t.link(from, to)
	if err != nil {
		return err
	}
	return l.Delay(dir, delay)
}

// link is the manager↔host link between a and b, and the direction that
// carries what a sends to b.
func (t processTarget) link(a, b string) (Link, int, error) {
	host, dir := b, ToTarget
	switch {
	case a == effect.Manager:
	case b == effect.Manager:
		host, dir = a, FromTarget
	default:
		return nil, 0, faults.Unsupported("no link between %s and %s: agents never talk to one another", a, b)
	}
	l, ok := t.pc.Links[host]
	if !ok {
		return nil, 0, faults.Unsupported("no link to %s on network %q: network faults need %q or %q", host, t.pc.opts.Network, NetProxy, NetNetns)
	}
	return l, dir, nil
}

func (t processTarget) KillResource(h, rsc string) error { return t.pc.KillResource(h, rsc) }

func (t processTarget) FailResource(h, rsc, action string, rc, times int, hang bool) error {
	return t.pc.FailResource(h, rsc, action, rc, times, hang)
}

// SlowHost is unsupported: the statefile agent's delay is a parameter the
// configuration fixes (realize keeps it), not a marker a run can set, so a
// host cannot be made slow while the cluster runs.
func (t processTarget) SlowHost(h string, delay time.Duration) error {
	return faults.Unsupported("slow starts and stops on %s: the statefile agent's delay is fixed by the configuration, not set by a marker", h)
}

// CrashMidway is unsupported: the harness cannot see when an action begins
// to time its kill -9 into it, nor make that one action slow.
func (t processTarget) CrashMidway(h, action string, delay, restartAfter time.Duration) error {
	return faults.Unsupported("a crash of %s's agent midway through a %s: the harness cannot time a kill into an action", h, action)
}

// BreakDevice marks the device broken for the PID fence agent. Its lie is
// not the simulator's: it lies to the status check too, where the
// simulator's lying device is caught by it, so a lie is not the same fault
// here and is unsupported.
func (t processTarget) BreakDevice(device string, how faults.DeviceFault) error {
	if how == faults.DeviceLies {
		return faults.Unsupported("a lying %s: the PID fence agent lies to the status check as well, the simulator's device does not", device)
	}
	return t.pc.FailDevice(device, string(how))
}

func (t processTarget) RepairDevice(device string) error { t.pc.ClearDeviceFault(device); return nil }
func (t processTarget) CrashManager() error              { t.pc.CrashManager(); return nil }
func (t processTarget) StartManager() error              { return t.pc.StartManager() }
func (t processTarget) PauseManager() error              { return t.pc.PauseManager() }
func (t processTarget) ResumeStaleManagers() error       { t.pc.ResumeStaleManagers(); return nil }
func (t processTarget) FreezeManager() error             { return t.pc.FreezeManager() }
func (t processTarget) ThawManager() error               { t.pc.ThawManager(); return nil }

func (t processTarget) Impostor(host, victim string) error { return t.pc.StartImpostor(host, victim) }
func (t processTarget) EndImpostor(host string) error      { t.pc.EndImpostor(host); return nil }
func (t processTarget) FillDisk(node string) error         { return t.pc.FillDisk(node) }
func (t processTarget) EmptyDisk(node string) error        { return t.pc.EmptyDisk(node) }

// CutLeaderFromStore cuts the leading replica's path to etcd; it needs
// manager replicas.
func (t processTarget) CutLeaderFromStore() error {
	if t.pc.opts.Replicas == 0 {
		return faults.Unsupported("cutting the leader from etcd: this cluster runs one manager, without etcd")
	}
	leader := t.pc.Leader()
	if leader == "" {
		return nil // nobody leads: there is no leader to cut
	}
	return t.pc.CutReplicaFromEtcd(leader, true)
}

// RestoreStoreLinks gives every replica its path to etcd back.
func (t processTarget) RestoreStoreLinks() error {
	for _, n := range t.pc.Replicas() {
		if err := t.pc.CutReplicaFromEtcd(n, false); err != nil {
			return err
		}
	}
	return nil
}

// StopStore kills etcd; it needs manager replicas.
func (t processTarget) StopStore() error {
	if t.pc.opts.Replicas == 0 {
		return faults.Unsupported("stopping etcd: this cluster runs one manager, without etcd")
	}
	return t.pc.KillEtcd()
}

// StartStore starts etcd again.
func (t processTarget) StartStore() error {
	if t.pc.opts.Replicas == 0 {
		return nil
	}
	return t.pc.StartEtcd()
}

func (t processTarget) Admin(req manager.Request) error {
	var lifetime string
	if req.Lifetime > 0 {
		lifetime = req.Lifetime.String()
	}
	return t.pc.Admin(api.Request{Command: string(req.Command), Target: req.Target, Host: req.Host, Lifetime: lifetime, Flag: req.Flag, All: req.All})
}

func (t processTarget) HealAll() error {
	t.pc.Heal()
	return nil
}

// Check at compile time that the process cluster is a whole target.
var _ faults.Target = processTarget{}
