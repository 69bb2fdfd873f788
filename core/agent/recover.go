package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/history"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
)

// orphanGrace is added to an unknown-group orphan's timeout before it is
// presumed over: its own agent would have killed it by then, and a little
// more covers the kill and the reaping.
const orphanGrace = 5 * time.Second

// recovery is the agent's part of the bookkeeping about processes that
// may outlive it, and about those an earlier life left behind.
type recovery struct {
	// life numbers this life of the agent (0 for an agent made with New
	// alone, which recovered nothing).
	life uint64
	// running are this life's resource agent processes, by process ID
	// (by value: a record per process start was an allocation per run).
	running map[proc.ID]Inflight
	runEnc  runningRecord // the encoding of running, for the ops record
	// orphans are processes of earlier lives not known to be gone.
	orphans []Inflight
	// orphanTimers presume orphans of unknown group over.
	orphanTimers map[effect.TimerID]Inflight
	// held are the commands waiting for a resource's orphans to end, and
	// deferred the restored resources whose probe waits likewise.
	held     map[string][]effect.Message
	deferred map[string]lrm.Resource
	// stuck are the resources whose orphan survived its kill.
	stuck map[string]bool
	rec   recovered
}

func newRecovery() recovery {
	return recovery{running: map[proc.ID]Inflight{}, orphanTimers: map[effect.TimerID]Inflight{},
		held: map[string][]effect.Message{}, deferred: map[string]lrm.Resource{}, stuck: map[string]bool{}}
}

// recovered is what Recover read, for Resume to act on.
type recovered struct {
	resources []lrm.Resource
	lastLife  uint64
	left      []Inflight // running and orphans of earlier lives
}

// Recover builds a host agent from what its earlier lives left in store:
// the highest epoch seen, the resources it was told about and the
// operations whose processes may still run. It is the one boot path of
// both drivers; Resume then acts on what it found. Records an older agent
// did not write are simply absent: that agent left nothing known running.
func Recover(cfg Config, store storage.Store) (*Agent, error) {
	var epoch proto.Epoch
	data, err := readRecord(store, EpochRecord)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", cfg.Host, err)
	}
	if data != nil {
		if epoch, err = proto.DecodeEpoch(data); err != nil {
			return nil, fmt.Errorf("agent %s: %w", cfg.Host, err)
		}
	}
	a, err := New(cfg, epoch)
	if err != nil {
		return nil, err
	}
	if data, err = readRecord(store, ResourcesRecord); err != nil {
		return nil, fmt.Errorf("agent %s: %w", cfg.Host, err)
	}
	if data != nil {
		if a.rec.resources, err = DecodeResources(data); err != nil {
			return nil, fmt.Errorf("agent %s: %w", cfg.Host, err)
		}
	}
	if data, err = readRecord(store, OpsRecord); err != nil {
		return nil, fmt.Errorf("agent %s: %w", cfg.Host, err)
	}
	if data != nil {
		life, running, orphans, err := DecodeOps(data)
		if err != nil {
			return nil, fmt.Errorf("agent %s: %w", cfg.Host, err)
		}
		a.rec.lastLife, a.rec.left = life, append(orphans, running...)
	}
	return a, nil
}

func readRecord(store storage.Store, name string) ([]byte, error) {
	data, err := store.Read(name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	return data, err
}

// KillOrphan asks the driver to kill the process group an earlier life of
// the agent left running and to wait, boundedly, until it is gone; it then
// reports with OrphanEnded (gone false when the group outlived the wait).
type KillOrphan struct {
	Resource  string
	Life, Run uint64
	PGID      int
}

// Describe implements effect.Effect.
func (k KillOrphan) Describe() string {
	return fmt.Sprintf("kill-orphan %s life=%d run=%d pgid=%d", k.Resource, k.Life, k.Run, k.PGID)
}

// Resume starts the agent's new life on what Recover found: the new life
// is made durable, the resource agent processes earlier lives left running
// (orphans) are killed, and the known resources are registered again and
// probed, except those with an orphan: their probe, and any command about
// them, waits until the orphan is gone. An orphan may be a start that is
// still under way: probing beside it would report "not running" for a
// resource about to run, and the manager would start it elsewhere.
//
// Orphans are killed rather than waited for: their outcome cannot be
// collected (they are not our children), a hung one would never end, and
// the manager is waiting for the resource's state. Killing the group and
// probing gives a definite answer within a bounded time.
func (a *Agent) Resume(now time.Time) []effect.Effect {
	b := a.rec
	a.rec = recovered{}
	a.life = b.lastLife + 1
	var effs []effect.Effect
	for _, o := range b.left {
		if o.Boot != a.cfg.Boot {
			// The host rebooted since: the process is gone.
			effs = append(effs, a.orphanEnd(now, o, "the host rebooted"))
			continue
		}
		a.orphans = append(a.orphans, o)
	}
	a.runEnc.rebase = true // a new life, and its orphans: a base
	effs = append(effs, a.persistOps())
	for _, o := range a.orphans {
		effs = append(effs, a.log(slog.LevelWarn, "an earlier life of the agent left an operation running; ending it",
			slog.String("resource", o.Resource), slog.String("action", string(o.Action)), slog.Int("pgid", o.PGID)))
		if o.PGID > 0 {
			effs = append(effs, KillOrphan{Resource: o.Resource, Life: o.Life, Run: o.Run, PGID: o.PGID})
			continue
		}
		// The agent died around the fork: the group is unknown. The
		// process cannot outlast its timeout by much if it exists (its
		// own agent would have killed it), so it is presumed over then.
		t := a.id()
		a.orphanTimers[t] = o
		end := o.Call.Add(time.Duration(o.TimeoutMS)*time.Millisecond + orphanGrace)
		effs = append(effs, a.batches.SetTimer(effect.SetTimer{ID: t, At: end}))
	}
	return append(effs, a.restore(now, b.resources)...)
}

// orphaned reports whether rsc has an operation of an earlier life in
// flight.
func (a *Agent) orphaned(rsc string) bool {
	for _, o := range a.orphans {
		if o.Resource == rsc {
			return true
		}
	}
	return false
}

// OrphanEnded reports the end of a KillOrphan: gone says the group no
// longer exists. Once a resource's last orphan is gone its probe runs and
// the commands held for it are carried out, in order. A group that
// outlived the wait leaves the resource's state unknowable here: every
// command about it fails from then on, so that the manager recovers it
// the way it recovers a stop that failed, by fencing this host.
func (a *Agent) OrphanEnded(now time.Time, life, run uint64, gone bool) []effect.Effect {
	i := -1
	for j, o := range a.orphans {
		if o.Life == life && o.Run == run {
			i = j
		}
	}
	if i < 0 {
		return nil
	}
	o := a.orphans[i]
	if !gone {
		a.stuck[o.Resource] = true
		effs := []effect.Effect{a.log(slog.LevelError, "an orphaned operation's process group survived its kill; the resource's state is unknown",
			slog.String("resource", o.Resource), slog.Int("pgid", o.PGID))}
		return append(effs, a.release(now, o.Resource)...)
	}
	a.orphans = append(a.orphans[:i:i], a.orphans[i+1:]...)
	a.runEnc.rebase = true // the orphans are in the base alone
	effs := []effect.Effect{a.orphanEnd(now, o, "killed"), a.persistOps()}
	if a.orphaned(o.Resource) {
		return effs
	}
	return append(effs, a.release(now, o.Resource)...)
}

// orphanEnd is the history's end record of an orphan: killed, its outcome
// unknown, ended by now.
func (a *Agent) orphanEnd(now time.Time, o Inflight, why string) effect.Effect {
	return a.note(history.Record{Phase: history.Ended, Kind: history.Resource, Host: a.cfg.Host, Resource: o.Resource,
		Action: string(o.Action), IntervalMS: o.IntervalMS, Epoch: o.Epoch, Life: o.Life, Run: o.Run, At: now,
		RC: int(ocf.ErrGeneric), Status: why, Killed: true, Orphan: true})
}

// orphanTimerFired presumes an orphan of unknown group over.
func (a *Agent) orphanTimerFired(now time.Time, id effect.TimerID) ([]effect.Effect, bool) {
	o, ok := a.orphanTimers[id]
	if !ok {
		return nil, false
	}
	delete(a.orphanTimers, id)
	return a.OrphanEnded(now, o.Life, o.Run, true), true
}

// release runs what waited for rsc's orphans: its probe, then the held
// commands.
func (a *Agent) release(now time.Time, rsc string) []effect.Effect {
	var effs []effect.Effect
	if r, ok := a.deferred[rsc]; ok && !a.stuck[rsc] {
		delete(a.deferred, rsc)
		effs = append(effs, a.restore(now, []lrm.Resource{r})...)
	}
	held := a.held[rsc]
	delete(a.held, rsc)
	for _, msg := range held {
		switch {
		case a.stuck[rsc]:
			effs = append(effs, a.refuseStuck(msg)...)
		case a.superseded(msg):
			// A newer manager spoke while the command waited: the
			// epoch guard holds at the time of acting, not of arrival.
			epoch, op, _ := proto.Command(msg)
			effs = append(effs, a.send(proto.Refused{Host: a.cfg.Host, Epoch: epoch, Op: op, Stale: true,
				Reason: fmt.Sprintf("epoch %d is lower than %d, seen while the command waited", epoch, a.epoch)}))
		default:
			effs = append(effs, a.dispatch(now, msg)...)
		}
	}
	return effs
}

// superseded reports whether a held command's epoch is now lower than the
// agent's.
func (a *Agent) superseded(msg effect.Message) bool {
	epoch, _, _ := proto.Command(msg)
	return epoch < a.epoch
}

// hold keeps a command about a resource with an orphan until the orphan is
// gone; the manager, hearing nothing, keeps the resource's state unknown
// and starts it nowhere else meanwhile. It reports whether it held msg.
func (a *Agent) hold(now time.Time, msg effect.Message) ([]effect.Effect, bool) {
	rsc := ""
	switch m := msg.(type) {
	case proto.Exec:
		rsc = m.Resource.ID
	case proto.Cancel:
		rsc = m.Resource
	}
	if rsc == "" || !a.orphaned(rsc) {
		return nil, false
	}
	if a.stuck[rsc] {
		return a.refuseStuck(msg), true
	}
	a.held[rsc] = append(a.held[rsc], msg)
	return []effect.Effect{a.log(slog.LevelInfo, "command waits for an orphaned operation to end",
		slog.String("resource", rsc), slog.String("msg", msg.Describe()))}, true
}

// refuseStuck answers a command about a resource whose orphan cannot be
// killed with a failure of the operation: rc generic error, status error.
func (a *Agent) refuseStuck(msg effect.Message) []effect.Effect {
	m, ok := msg.(proto.Exec)
	if !ok {
		c := msg.(proto.Cancel)
		return []effect.Effect{a.send(proto.Refused{Host: a.cfg.Host, Epoch: c.Epoch, Op: c.Op, Reason: "an orphaned operation of the resource cannot be killed"})}
	}
	req := m.Request
	res := lrm.Result{Resource: req.Resource, Name: m.Resource.Name, Action: req.Action, Interval: req.Interval, Depth: req.Depth,
		RC: ocf.ErrGeneric, Status: lrm.Error, Outcome: ocf.Classify(req.Action, ocf.ErrGeneric, req.Action == ocf.Monitor && req.Interval == 0),
		ExitReason: "an orphaned operation of the resource cannot be killed; its state is unknown"}
	return []effect.Effect{a.send(proto.OpResult{Host: a.cfg.Host, Epoch: m.Epoch, Op: m.Op, Result: res})}
}
