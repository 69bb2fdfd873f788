package swarm

import (
	"time"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/sim/cluster"
	"github.com/basalt-ha/basalt/sim/faults"
)

// simTarget is the simulated cluster as a faults.Target. The simulator can
// inject every fault the swarm draws; the opt-in kinds of the chaos run on
// real processes (an impostor holding a host's certificate, a full disk)
// are unsupported here: the simulated network has no certificates to
// steal, and the simulated stores never fill. It keeps the
// admin requests the manager accepted, whose reports must close.
type simTarget struct {
	c       *cluster.Cluster
	reports []string
	// configApplies and configRefusals count the configuration changes
	// applied and refused; onConfig learns each one applied.
	configApplies, configRefusals int
	onConfig                      func(*model.Model)
	// notify collects what the notify judge reads of the managers' events.
	notify notifyEvents
}

var _ faults.Target = (*simTarget)(nil)

// The methods below implement faults.Target on the cluster's own fault
// methods, one for one.

func (t *simTarget) CrashAgent(h string, restartAfter time.Duration) error {
	t.c.CrashAgent(h, restartAfter)
	return nil
}

func (t *simTarget) RestartAgent(h string, restartAfter time.Duration) error {
	t.c.StopAgent(h, restartAfter)
	return nil
}

func (t *simTarget) CrashHost(h string, bootAfter time.Duration) error {
	t.c.CrashHost(h, bootAfter)
	return nil
}

func (t *simTarget) PauseHost(h string) error  { t.c.Pause(h); return nil }
func (t *simTarget) ResumeHost(h string) error { t.c.Resume(h); return nil }
func (t *simTarget) Partition(a, b string) error {
	t.c.Partition(a, b)
	return nil
}
func (t *simTarget) CutOneWay(from, to string) error { t.c.CutOneWay(from, to); return nil }
func (t *simTarget) Unpartition(a, b string) error   { t.c.Unpartition(a, b); return nil }
func (t *simTarget) Isolate(h string) error          { t.c.Isolate(h); return nil }
func (t *simTarget) Unisolate(h string) error        { t.c.Unisolate(h); return nil }
func (t *simTarget) Clog(from, to string, delay time.Duration) error {
	t.c.Clog(from, to, delay)
	return nil
}
func (t *simTarget) KillResource(h, rsc string) error { t.c.KillResource(h, rsc); return nil }

// KillPromoted kills rsc wherever it runs promoted now.
func (t *simTarget) KillPromoted(rsc string) error {
	for _, h := range t.c.PromotedOn(rsc) {
		t.c.KillResource(h, rsc)
	}
	return nil
}

func (t *simTarget) FailResource(h, rsc, action string, rc, times int, hang bool) error {
	t.c.FailResource(h, rsc, action, cluster.ResourceFault{RC: rc, Times: times, Hang: hang})
	return nil
}

func (t *simTarget) SlowHost(h string, delay time.Duration) error { t.c.SlowHost(h, delay); return nil }

func (t *simTarget) CrashMidway(h, action string, delay, restartAfter time.Duration) error {
	t.c.CrashMidway(h, action, delay, restartAfter)
	return nil
}

func (t *simTarget) BreakDevice(device string, how faults.DeviceFault) error {
	t.c.FailDevice(device, cluster.DeviceFault{Fail: how == faults.DeviceFails, Hang: how == faults.DeviceHangs, Lie: how == faults.DeviceLies})
	return nil
}

func (t *simTarget) RepairDevice(device string) error { t.c.ClearDeviceFault(device); return nil }
func (t *simTarget) CrashManager() error              { t.c.CrashManager(); return nil }
func (t *simTarget) StartManager() error              { t.c.StartManager(); return nil }
func (t *simTarget) PauseManager() error              { t.c.PauseManager(); return nil }
func (t *simTarget) ResumeStaleManagers() error       { t.c.ResumeStaleManagers(); return nil }
func (t *simTarget) FreezeManager() error             { t.c.FreezeManager(); return nil }
func (t *simTarget) ThawManager() error               { t.c.ThawManager(); return nil }

// Impostor is unsupported: simulated messages carry no certificate.
func (t *simTarget) Impostor(host, victim string) error {
	return faults.Unsupported("an impostor of %s: the simulated network has no certificates", host)
}

// EndImpostor is unsupported, as Impostor is.
func (t *simTarget) EndImpostor(host string) error {
	return faults.Unsupported("an impostor of %s: the simulated network has no certificates", host)
}

// FillDisk is unsupported: the simulated stores (storage.Mem) never fill.
func (t *simTarget) FillDisk(node string) error {
	return faults.Unsupported("a full disk on %s: the simulated stores never fill", node)
}

// EmptyDisk is unsupported, as FillDisk is.
func (t *simTarget) EmptyDisk(node string) error {
	return faults.Unsupported("a full disk on %s: the simulated stores never fill", node)
}

// CutLeaderFromStore cuts the leading replica from the store; without
// replicas there is no store.
func (t *simTarget) CutLeaderFromStore() error {
	if !t.replicas() {
		return faults.Unsupported("cutting the leader from etcd: this cluster runs one manager, without etcd")
	}
	t.c.CutLeaderFromStore()
	return nil
}

// RestoreStoreLinks restores every replica's link to the store.
func (t *simTarget) RestoreStoreLinks() error { t.c.RestoreStoreLinks(); return nil }

// StopStore makes the store unavailable.
func (t *simTarget) StopStore() error {
	if !t.replicas() {
		return faults.Unsupported("stopping etcd: this cluster runs one manager, without etcd")
	}
	t.c.StopStore()
	return nil
}

// StartStore brings the store back.
func (t *simTarget) StartStore() error { t.c.StartStore(); return nil }

func (t *simTarget) replicas() bool { return len(t.c.Replicas()) > 0 }

// Admin sends the request; a refusal (no manager, a request that makes no
// sense now) is part of the run, as it is for an operator.
func (t *simTarget) Admin(req manager.Request) error {
	id, err := t.c.Admin(req)
	if err == nil {
		t.reports = append(t.reports, id)
	}
	return err
}

// HealAll lifts every fault, as an operator restoring the network, waking
// and powering on every host and manager would.
func (t *simTarget) HealAll() error {
	c := t.c
	c.Heal()
	c.ClearResourceFaults()
	c.ClearDeviceFaults()
	c.ThawManager()
	c.ResumeStaleManagers()
	for _, h := range c.Model.HostNames() {
		c.Resume(h)
		c.PowerOn(h)
		c.EnsureAgent(h)
	}
	if c.Manager() == nil {
		c.StartManager()
	}
	return nil
}
