package cluster

import (
	"errors"
	"fmt"
	"time"

	"github.com/basalt-ha/basalt/core/coordinator"
	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/eventlog"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/sim/coordstore"
	"github.com/basalt-ha/basalt/sim/eventq"
)

// Manager replicas (manager high availability), as live/ha runs them on
// etcd: with Options.Replicas set, that many manager processes m1, m2, ...
// each run a coordinator machine (core/coordinator) against one
// coordination store (sim/coordstore, etcd's part that matters here, on
// virtual time). The one the store elects runs a manager on the cluster's
// shared state, every write of it guarded on its election key; it stops
// acting as soon as its lease is no longer provably held (the machine's
// MayAct, asked before every batch of effects, as the live daemon asks),
// and for good when its coordinator demotes it. The others stand by,
// campaigning.
//
// The store is reached over a network of its own: a replica may be cut
// from it while it still reaches the agents, and the store may be down
// for a while. Requests and answers that meet a cut or a down store are
// lost, as a client's call times out; the machine's own timers settle what
// was lost. The replicas share the agents' side of the network as one node
// ("manager"): the faults between the manager and a host cut every
// replica from it.

// The store's keys.
const (
	electionPrefix = "/basalt/sim/election"
	journalPrefix  = "/basalt/sim/journal/"
)

// Defaults of the coordinator machines (those of live/ha).
const (
	defaultLeaseTTL = 5 * time.Second
	leaseMargin     = time.Second
	leaseRetry      = time.Second
	// persistRetry is how long a leader whose write could not reach the
	// store waits before starting its manager again from the store, as
	// the live daemon retries a write that failed.
	persistRetry = time.Second
	// storeLatencyMax bounds one trip between a replica and the store.
	storeLatencyMax = 5 * time.Millisecond
)

// replica is one manager process of several.
type replica struct {
	name  string
	coord *coordinator.Machine
	// gen numbers the process's lives: an answer to an earlier life, or
	// a timer of one, is dropped.
	gen        int
	up, paused bool
	// cut: the replica cannot reach the store (it still reaches the
	// agents).
	cut bool
	// The machine's timers, and what reached the process while it was
	// paused (see mgrInst: timers first when it resumes).
	timers           map[effect.TimerID]eventq.ID
	nextTimer        effect.TimerID
	held, heldTimers []func()
	// mi is the manager while this replica leads and acts; leadRev is the
	// leadership's epoch (its election key's create revision).
	mi      *mgrInst
	leadRev proto.Epoch
	lease   coordinator.LeaseID
	// follower is the standby's warm manager (manager.Follower), nil
	// while it leads: it follows the journal as the leader writes it,
	// while the process runs and reaches the store.
	follower *manager.Follower
}

// campaigner is the replica (in one life) a lease's election key is for.
type campaigner struct {
	r   *replica
	gen int
	// told: the replica was told it is elected since its last campaign.
	told bool
}

// Tenure is one leadership as the store saw it: Name's election key,
// created at revision Rev, was the oldest under the election prefix from
// From until To (zero: still at the end of the run).
type Tenure struct {
	Rev      int64
	Name     string
	From, To time.Time
}

// LeaderAct is something a replica's manager did in the world: a message
// sent to an agent, or a write of its state.
type LeaderAct struct {
	At    time.Time
	Name  string
	Rev   proto.Epoch // the leadership it acted under
	Epoch proto.Epoch // the manager's epoch
	What  string
}

// ha reports whether the cluster runs manager replicas.
func (c *Cluster) ha() bool { return c.store != nil }

// Replicas names the manager replicas (none without them).
func (c *Cluster) Replicas() []string {
	var out []string
	for _, r := range c.reps {
		out = append(out, r.name)
	}
	return out
}

// Tenures are the leaderships so far, in the order they began.
func (c *Cluster) Tenures() []Tenure { return c.tenures }

// LeaderActs are the replicas' managers' acts so far, in order.
func (c *Cluster) LeaderActs() []LeaderAct { return c.leaderActs }

// startReplicas creates the replicas and starts each.
func (c *Cluster) startReplicas() {
	for i := range c.opts.Replicas {
		r := &replica{name: fmt.Sprintf("m%d", i+1)}
		c.reps = append(c.reps, r)
		c.startReplica(r)
	}
}

// startReplica starts (or restarts) a replica's process: a fresh machine
// that campaigns at once.
func (c *Cluster) startReplica(r *replica) {
	if r.up {
		return
	}
	r.gen++
	r.up, r.paused, r.held, r.heldTimers = true, false, nil, nil
	r.timers, r.mi, r.leadRev, r.lease = map[effect.TimerID]eventq.ID{}, nil, 0, 0
	r.follower = manager.NewFollower(c.replicaConfig(r))
	ttl := c.opts.LeaseTTL
	if ttl == 0 {
		ttl = defaultLeaseTTL
	}
	r.coord = coordinator.New(coordinator.Config{Name: r.name, TTL: ttl, Margin: leaseMargin, Retry: leaseRetry},
		coordinator.Hooks{NextTimer: func() effect.TimerID { r.nextTimer++; return r.nextTimer }})
	c.trace("replica %s started", r.name)
	c.applyCoord(r, r.coord.Start(c.Q.Now()))
}

// crashReplica kills a replica's process (kill -9): its lease is not
// revoked, so the others wait for the store to expire it.
func (c *Cluster) crashReplica(r *replica) {
	if !r.up {
		return
	}
	r.up = false
	for _, id := range r.timers { // purity:unordered cancelling is a set operation
		c.Q.Cancel(id)
	}
	c.trace("replica %s crashed", r.name)
	c.stopLeaderInst(r, "")
}

// pauseReplica freezes a replica's process (SIGSTOP).
func (c *Cluster) pauseReplica(r *replica) {
	if !r.up || r.paused {
		return
	}
	r.paused = true
	if r.mi != nil {
		r.mi.paused = true
	}
	c.trace("replica %s paused", r.name)
}

// resumeReplica thaws a replica (SIGCONT): its machine's overdue timers
// fire first (the expiry demotes a leader that slept past its deadline),
// then its manager's timers and reads, then what reached the machine.
func (c *Cluster) resumeReplica(r *replica) {
	if !r.up || !r.paused {
		return
	}
	c.trace("replica %s resumes (%d timers, %d held events)", r.name, len(r.heldTimers), len(r.held))
	r.paused = false
	timers, held := r.heldTimers, r.held
	r.heldTimers, r.held = nil, nil
	for _, fn := range timers {
		fn()
	}
	if r.mi != nil && r.mi.paused {
		c.wake(r.mi, false)
	}
	for _, fn := range held {
		fn()
	}
}

// onReplica runs fn, something that reached life gen of replica r, now,
// or when it resumes; never in another life.
func (c *Cluster) onReplica(r *replica, gen int, timer bool, fn func()) {
	switch {
	case !r.up || r.gen != gen:
	case r.paused && timer:
		r.heldTimers = append(r.heldTimers, fn)
	case r.paused:
		r.held = append(r.held, fn)
	default:
		fn()
	}
}

// leaderReplica is the replica whose manager the cluster knows as its
// manager, else one whose machine leads, else nil.
func (c *Cluster) leaderReplica() *replica {
	if c.cur != nil && c.cur.up && c.cur.rep != nil {
		return c.cur.rep
	}
	for _, r := range c.reps {
		if r.up && r.coord.Role() == coordinator.Leading {
			return r
		}
	}
	return nil
}

// CrashLeader kills the leading replica (kill -9).
func (c *Cluster) CrashLeader() {
	if r := c.leaderReplica(); r != nil {
		if r.mi != nil {
			c.leaderCrashes = append(c.leaderCrashes, LeaderCrash{At: c.Q.Now(), Rev: r.leadRev})
		}
		c.crashReplica(r)
	}
}

// LeaderCrash is a kill -9 of a replica whose manager was acting, under
// leadership Rev.
type LeaderCrash struct {
	At  time.Time
	Rev proto.Epoch
}

// LeaderCrashes are the crashes of acting leaders so far.
func (c *Cluster) LeaderCrashes() []LeaderCrash { return c.leaderCrashes }

// RestartReplicas starts every replica that is down.
func (c *Cluster) RestartReplicas() {
	for _, r := range c.reps {
		c.startReplica(r)
	}
}

// PauseLeader freezes the leading replica (SIGSTOP); the others elect a
// new leader once its lease expires.
func (c *Cluster) PauseLeader() {
	if r := c.leaderReplica(); r != nil {
		c.pauseReplica(r)
	}
}

// ResumeReplicas thaws every paused replica.
func (c *Cluster) ResumeReplicas() {
	for _, r := range c.reps {
		c.resumeReplica(r)
	}
}

// CutLeaderFromStore cuts the leading replica from the store, not from
// the agents.
func (c *Cluster) CutLeaderFromStore() {
	if r := c.leaderReplica(); r != nil && !r.cut {
		r.cut = true
		c.trace("replica %s cut from the store", r.name)
	}
}

// RestoreStoreLinks gives every replica its link to the store back.
func (c *Cluster) RestoreStoreLinks() {
	for _, r := range c.reps {
		if r.cut {
			r.cut = false
			c.trace("replica %s reaches the store again", r.name)
		}
	}
}

// StopStore makes the store unavailable (every member down).
func (c *Cluster) StopStore() {
	if c.ha() && !c.storeDown {
		c.storeDown = true
		c.Q.Cancel(c.expiryEv)
		c.trace("store down")
	}
}

// StartStore brings the store back; its leases start their TTL afresh.
func (c *Cluster) StartStore() {
	if c.ha() && c.storeDown {
		c.storeDown = false
		c.store.Refresh(c.Q.Now())
		c.trace("store up")
		c.storeChanged()
	}
}

func (c *Cluster) reaches(r *replica) bool { return !c.storeDown && !r.cut }

func (c *Cluster) storeLatency() time.Duration {
	return time.Millisecond + time.Duration(c.netRng.Int64N(int64(storeLatencyMax-time.Millisecond)+1))
}

// storeCall carries a request of r to the store, where at runs; the
// answer at returns, if any, travels back to r's life that asked.
func (c *Cluster) storeCall(r *replica, at func() func()) {
	if !c.reaches(r) {
		return
	}
	gen := r.gen
	c.Q.After(c.storeLatency(), func() {
		if !c.reaches(r) {
			return
		}
		answer := at()
		c.storeChanged()
		if answer == nil {
			return
		}
		c.Q.After(c.storeLatency(), func() {
			if c.reaches(r) {
				c.onReplica(r, gen, false, answer)
			}
		})
	})
}

// storeChanged follows the store after a request or an expiry: it tells
// the election's winner, records the tenures, and comes back at the next
// expiry.
func (c *Cluster) storeChanged() {
	if c.storeDown {
		return
	}
	now := c.Q.Now()
	for _, id := range c.store.Expire(now) {
		delete(c.campaigns, id)
	}
	kv, ok := c.store.Leader(now, electionPrefix)
	if c.leaderKey != "" && (!ok || kv.Key != c.leaderKey) {
		c.tenures[len(c.tenures)-1].To = now
		c.leaderKey = ""
	}
	if ok && kv.Key != c.leaderKey {
		c.leaderKey = kv.Key
		c.tenures = append(c.tenures, Tenure{Rev: kv.Create, Name: string(kv.Value), From: now})
		c.trace("store: %s leads at revision %d", kv.Value, kv.Create)
	}
	if cp := c.campaigns[kv.Lease]; ok && cp != nil && !cp.told {
		cp.told = true
		lease, rev, r, gen := kv.Lease, kv.Create, cp.r, cp.gen
		c.Q.After(c.storeLatency(), func() {
			if c.reaches(r) {
				c.onReplica(r, gen, false, func() { c.applyCoord(r, r.coord.Elected(c.Q.Now(), lease, rev)) })
			}
		})
	}
	c.Q.Cancel(c.expiryEv)
	if next, ok := c.store.NextExpiry(); ok {
		c.expiryEv = c.Q.At(next, c.storeChanged)
	}
}

// applyCoord carries out a replica's coordinator effects.
func (c *Cluster) applyCoord(r *replica, effs []effect.Effect) {
	for _, e := range effs {
		if c.opts.IgnoreLease {
			if _, ok := e.(coordinator.Demote); ok {
				c.trace("replica %s ignores its demotion (canary)", r.name)
				continue
			}
		}
		switch e := e.(type) {
		case coordinator.RequestLease, coordinator.KeepAlive, coordinator.Campaign, coordinator.Revoke:
			c.storeRequest(r, e)
		case *effect.SetTimer:
			c.Q.Cancel(r.timers[e.ID])
			id, gen := e.ID, r.gen
			r.timers[id] = c.Q.At(e.At, func() {
				delete(r.timers, id)
				c.onReplica(r, gen, true, func() {
					effs, _ := r.coord.TimerFired(c.Q.Now(), id)
					c.applyCoord(r, effs)
				})
			})
		case *effect.CancelTimer:
			c.Q.Cancel(r.timers[e.ID])
			delete(r.timers, e.ID)
		case coordinator.Lead:
			c.trace("replica %s leads epoch=%d", r.name, e.Epoch)
			r.leadRev, r.lease = e.Epoch, r.coord.Lease()
			c.stopLeaderInst(r, "a new leadership begins")
			c.startLeaderInst(r)
		case coordinator.Demote:
			c.trace("replica %s deposed epoch=%d: %s", r.name, e.Epoch, e.Why)
			c.stopLeaderInst(r, "deposed")
		default:
			c.trace("replica %s effect %s", r.name, e.Describe())
		}
	}
}

// storeRequest carries one request of a coordinator to the store.
func (c *Cluster) storeRequest(r *replica, e effect.Effect) {
	switch e := e.(type) {
	case coordinator.RequestLease:
		c.storeCall(r, func() func() {
			id := c.store.Grant(c.Q.Now(), e.TTL)
			return func() { c.applyCoord(r, r.coord.LeaseGranted(c.Q.Now(), e.Req, id, e.TTL)) }
		})
	case coordinator.KeepAlive:
		c.storeCall(r, func() func() {
			ttl, err := c.store.KeepAlive(c.Q.Now(), e.Lease)
			if err != nil {
				return func() { c.applyCoord(r, r.coord.LeaseLost(c.Q.Now(), e.Lease, err.Error())) }
			}
			return func() { c.applyCoord(r, r.coord.KeepAliveAnswered(c.Q.Now(), e.Req, e.Lease, ttl)) }
		})
	case coordinator.Campaign:
		gen := r.gen
		c.storeCall(r, func() func() {
			if _, err := c.store.Campaign(c.Q.Now(), electionPrefix, e.Lease, []byte(e.Name)); err == nil {
				// A campaign again is answered again: the last answer
				// may have been lost.
				c.campaigns[e.Lease] = &campaigner{r: r, gen: gen}
			}
			return nil
		})
	case coordinator.Revoke:
		c.storeCall(r, func() func() {
			c.store.Revoke(c.Q.Now(), e.Lease)
			delete(c.campaigns, e.Lease)
			return nil
		})
	}
}

// startLeaderInst starts the manager of r's leadership on the cluster's
// state in the store, as a restarted manager starts: it reads the journal,
// takes an epoch above every earlier one and adopts what runs.
func (c *Cluster) startLeaderInst(r *replica) {
	mi := c.newInst(r)
	rec, err := manager.Recover(c.mstore)
	if err != nil {
		panic(fmt.Sprintf("simulated manager state: %v", err)) // the simulator never corrupts it
	}
	m, effs, err := r.follower.Lead(c.Q.Now(), coordinator.StartEpoch(rec.Epoch, r.leadRev), rec.Records)
	if err != nil {
		panic(fmt.Sprintf("manager start: %v", err))
	}
	mi.m, r.mi, r.follower = m, mi, nil
	if c.cur != nil && c.cur != mi && c.cur.up {
		c.stale = append(c.stale, c.cur)
	}
	c.cur = mi
	c.trace("manager %s started epoch=%d (leadership %d)", r.name, mi.m.Epoch(), r.leadRev)
	c.applyManager(mi, effs)
	if mi.up {
		c.dialAll(mi)
	}
}

// stopLeaderInst stops r's manager, if it runs: its timers are cancelled
// and its connections closed; why ("" for a dead process) is traced.
func (c *Cluster) stopLeaderInst(r *replica, why string) {
	mi := r.mi
	if mi == nil {
		return
	}
	r.mi = nil
	// The process lives on as a standby (unless it died: a restart makes
	// a new follower): its manager is gone, and it follows afresh.
	r.follower = manager.NewFollower(c.replicaConfig(r))
	if why == "" {
		why = "its process died"
	}
	c.endInst(mi, fmt.Sprintf("manager %s epoch=%d stops: %s", r.name, mi.m.Epoch(), why))
	if c.cur == mi {
		c.cur = nil
	}
}

// leaderMayAct is the gate before a replica's manager's effects: it may
// act while its machine can show the lease holds. A manager told no stops
// for good (until a new leadership), as the live daemon does.
func (c *Cluster) leaderMayAct(mi *mgrInst) bool {
	r := mi.rep
	if r == nil || c.opts.IgnoreLease || r.coord.MayAct(c.Q.Now()) {
		return true
	}
	c.stopLeaderInst(r, "its lease is no longer provably held")
	return false
}

// leaderPersist writes one record of a replica's manager to the store,
// guarded on its leadership, and reports whether it was written. A write
// that cannot reach the store stops the manager, which starts again from
// the store after persistRetry while the leadership lasts; a refused one
// tells the machine, which demotes.
func (c *Cluster) leaderPersist(mi *mgrInst, e *effect.Persist) bool {
	r := mi.rep
	if !c.reaches(r) {
		c.stopLeaderInst(r, "cannot write to the store")
		gen := r.gen
		c.Q.After(persistRetry, func() {
			c.onReplica(r, gen, true, func() {
				if r.mi == nil && r.coord.MayAct(c.Q.Now()) {
					c.startLeaderInst(r)
				}
			})
		})
		return false
	}
	if !c.opts.IgnoreLease {
		key := coordstore.ElectionKey(electionPrefix, r.lease)
		if _, err := c.store.Txn(c.Q.Now(), key, int64(r.leadRev), []coordstore.Put{{Key: journalPrefix + e.Name}}); err != nil {
			c.stopLeaderInst(r, "write refused")
			c.applyCoord(r, r.coord.WriteRefused(c.Q.Now(), r.leadRev, err.Error()))
			return false
		}
	}
	c.persist(c.mstore, e)
	c.managerPersisted(e)
	c.noteLeaderAct(mi, "persist "+e.Name)
	if e.Name == manager.EventLog {
		c.followJournal(e)
	}
	return true
}

// replicaConfig is the manager configuration of replica r.
func (c *Cluster) replicaConfig(r *replica) manager.Config {
	return manager.Config{Model: c.Model, Replica: r.name, LogLevel: tracedLogLevel}
}

// followJournal keeps c.journal, the journal's records, as the store holds
// them after the leader's write e, and has every standby that runs and
// reaches the store follow it, as live/ha's standbys poll etcd. A standby
// frozen or cut from the store falls behind, and catches up when it next
// follows or when it is elected.
func (c *Cluster) followJournal(e *effect.Persist) {
	d, err := eventlog.Decode(e.Data)
	if err != nil || d.Torn != "" {
		panic(fmt.Sprintf("simulated journal write: %v %s", err, d.Torn)) // the core frames whole records
	}
	if !e.Append {
		c.journal = nil
	}
	c.journal = append(c.journal, d.Records...)
	for _, r := range c.reps {
		if !r.up || r.paused || r.follower == nil || !c.reaches(r) {
			continue
		}
		if _, err := r.follower.Follow(c.journal); err != nil {
			panic(fmt.Sprintf("replica %s follows the journal: %v", r.name, err))
		}
	}
}

// noteLeaderAct records an act of a replica's manager for the leadership
// judge.
func (c *Cluster) noteLeaderAct(mi *mgrInst, what string) {
	if mi.rep != nil {
		c.leaderActs = append(c.leaderActs, LeaderAct{At: c.Q.Now(), Name: mi.rep.name, Rev: mi.rep.leadRev,
			Epoch: mi.m.Epoch(), What: what})
	}
}

// ErrNoLeader is Admin's refusal while no replica leads (an election, or
// etcd, is under way): an operator's CLI says so, and the operator asks
// again.
var ErrNoLeader = errors.New("no manager leads: the standbys refuse writes")

// replicaAdmin is the manager that takes admin requests: the leader's,
// while it may act.
func (c *Cluster) replicaAdmin() (*mgrInst, error) {
	mi := c.cur
	if mi == nil || !mi.up || mi.rep == nil {
		return nil, ErrNoLeader
	}
	if mi.paused {
		return nil, fmt.Errorf("the leading manager is frozen: its admin socket does not answer: %w", ErrNoLeader)
	}
	if !c.leaderMayAct(mi) {
		return nil, ErrNoLeader
	}
	return mi, nil
}
