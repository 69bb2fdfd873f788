// Package ha runs a manager as one replica of several against etcd
// (manager high availability): the coordinator machine (core/coordinator,
// driven by live/coordinator) campaigns in etcd's election; while it leads,
// a manager daemon runs on the cluster's state in etcd, every write of it
// guarded on the leadership; when it stops leading, the daemon stops at
// once and the replica stands by, campaigning again.
//
// Nothing here decides: when this replica leads and when it must stop is
// the coordinator machine's, what the manager does is the manager machine's.
// A new leader starts its manager as a restarted manager starts: it reads
// the journal, takes an epoch above every earlier one, and adopts what runs,
// fencing the hosts that do not answer within the dead timeout. The agents
// obey the newest epoch (core/agent), so that the old leader's connections
// are dropped for the new one's.
package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
	clientv3 "go.etcd.io/etcd/client/v3"

	coremachine "github.com/basalt-ha/basalt/core/coordinator"
	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/eventlog"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/live/coordinator"
	"github.com/basalt-ha/basalt/live/daemon"
	"github.com/basalt-ha/basalt/live/etcdstore"
)

// Defaults of Config.
const (
	// DefaultTTL is the lease's time to live. A leader that dies is
	// replaced within it (plus an election); a leader cut from etcd stops
	// acting DefaultMargin before it ends. Five seconds is shorter than
	// any sensible dead timeout's fence-and-failover, long enough that a
	// loaded etcd (keep-alives every third of it) does not depose leaders.
	DefaultTTL = 5 * time.Second
	// DefaultMargin is taken off every lease deadline (see
	// coordinator.Config.Margin).
	DefaultMargin = time.Second
	// DefaultRetry is how long a replica waits before asking etcd again
	// after a lease was lost or refused.
	DefaultRetry = time.Second
	// DefaultFollow is how often a standby reads the journal from etcd to
	// follow it (warm standby): at a takeover, it replays at most what
	// the leader wrote in that time, rather than the whole journal.
	DefaultFollow = time.Second
)

// Config configures one replica.
type Config struct {
	// Name is this replica's name in the election (unique per cluster).
	Name string
	// Client is the etcd client; the replica does not close it.
	Client *clientv3.Client
	// Prefix is where the cluster's keys live (default /basalt/<cluster>).
	Prefix string
	// TTL, Margin, Retry and Follow: see the defaults.
	TTL, Margin, Retry, Follow time.Duration
	// Daemon configures the manager daemon run while leading; its Store
	// and MayAct are the replica's.
	Daemon daemon.ManagerDaemonConfig
	Log    *slog.Logger
	Clock  clock.Clock
	// IgnoreLease is a known DEFECT, set only by canary builds
	// (cmd/basalt-manager, -tags canary) for the process harness to show
	// that its leadership judge catches it: the daemon is not stopped on
	// a demotion, acts whether or not the lease holds, and takes a write
	// etcd refused for written. The simulator has the same defect
	// (sim/canary, ignore-lease).
	IgnoreLease bool
}

// Replica is one manager replica.
type Replica struct {
	cfg    Config
	runner *coordinator.Runner

	mu sync.Mutex
	// d is the daemon while this replica leads (nil otherwise); gen
	// numbers leaderships, so that a daemon started for one that ended
	// meanwhile is stopped at once.
	d      *daemon.ManagerDaemon
	gen    uint64
	closed bool
	done   chan struct{} // closed by Stop
	wg     sync.WaitGroup
	// leaderships counts the elections this replica won; leading is set
	// from an election until the demotion.
	leaderships uint64
	leading     bool

	// fmu guards follower, the standby's warm manager (nil while a
	// leadership took it), and followErr, the last error following met
	// (logged when it changes). fmu is taken before mu, never after.
	fmu       sync.Mutex
	follower  *manager.Follower
	followErr string
	journal   *etcdstore.Store // read only: the journal as etcd holds it
}

// LeaseRenewal is the round trip of the last keep-alive etcd answered,
// and how many it did not answer.
func (r *Replica) LeaseRenewal() (time.Duration, uint64) {
	st := r.runner.Store()
	return st.RenewLatency(), st.RenewFailures()
}

// Leaderships is how many times this replica was elected.
func (r *Replica) Leaderships() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leaderships
}

// Start starts a replica: it campaigns at once and serves nothing until
// elected.
func Start(cfg Config) (*Replica, error) {
	if cfg.Client == nil {
		return nil, errors.New("manager high availability: an etcd client is needed")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/basalt/" + cfg.Daemon.Model.Cluster.Name
	}
	cfg.TTL = orDefault(cfg.TTL, DefaultTTL)
	cfg.Margin = orDefault(cfg.Margin, min(DefaultMargin, cfg.TTL/3))
	cfg.Retry = orDefault(cfg.Retry, DefaultRetry)
	cfg.Follow = orDefault(cfg.Follow, DefaultFollow)
	if cfg.Clock == nil {
		cfg.Clock = clock.New()
	}
	ccfg := coremachine.Config{Name: cfg.Name, TTL: cfg.TTL, Margin: cfg.Margin, Retry: cfg.Retry}
	if err := ccfg.Validate(); err != nil {
		return nil, fmt.Errorf("manager high availability: %w", err)
	}
	r := &Replica{cfg: cfg, done: make(chan struct{}),
		journal: etcdstore.New(cfg.Client, cfg.Prefix, etcdstore.Guard{}, cfg.Follow)}
	r.runner = coordinator.NewRunner(ccfg, cfg.Clock, func(deliver func(coordinator.Input)) *coordinator.Etcd {
		return coordinator.New(cfg.Client, cfg.Prefix, deliver, cfg.Log)
	}, r.leadership)
	r.runner.Start()
	r.wg.Add(1)
	go r.followLoop()
	return r, nil
}

// Followed is how many journal records this standby's warm manager has
// replayed (0 while leading, or before its first read of etcd).
func (r *Replica) Followed() int {
	r.fmu.Lock()
	defer r.fmu.Unlock()
	if r.follower == nil {
		return 0
	}
	n, _ := r.follower.Replayed()
	return n
}

// managerConfig is the configuration of this replica's manager machine.
func (r *Replica) managerConfig() manager.Config {
	return manager.Config{Model: r.cfg.Daemon.Model, Replica: r.cfg.Name}
}

// followLoop follows the journal every Follow while this replica stands
// by, until Stop.
func (r *Replica) followLoop() {
	defer r.wg.Done()
	tick := r.cfg.Clock.Ticker(r.cfg.Follow)
	defer tick.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-tick.C:
			r.followOnce()
		}
	}
}

// followOnce reads the journal from etcd and replays what is new on the
// standby's warm manager; a leading replica does not follow. Errors (etcd
// out of reach) are logged when they change: the takeover replays more.
func (r *Replica) followOnce() {
	r.mu.Lock()
	leading := r.leading
	r.mu.Unlock()
	if leading {
		return
	}
	var records [][]byte
	data, err := r.journal.Read(manager.EventLog)
	if errors.Is(err, storage.ErrNotFound) {
		err = nil
	} else if err == nil {
		var d eventlog.Decoded
		if d, err = eventlog.Decode(data); err == nil {
			records = d.Records
		}
	}
	r.fmu.Lock()
	defer r.fmu.Unlock()
	r.mu.Lock()
	leading = r.leading
	r.mu.Unlock()
	if leading {
		return // elected meanwhile: the leadership has the follower
	}
	if r.follower == nil {
		r.follower = manager.NewFollower(r.managerConfig())
	}
	n := 0
	if err == nil {
		n, err = r.follower.Follow(records)
	}
	r.noteFollow(n, err)
}

// noteFollow logs a follow's error when it differs from the last one, and
// the standby's first catch-up.
func (r *Replica) noteFollow(n int, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg != r.followErr {
		if err != nil {
			r.cfg.Log.Warn("standby: cannot follow the journal; a takeover will replay what it missed", "err", msg)
		} else {
			r.cfg.Log.Info("standby: following the journal again")
		}
		r.followErr = msg
	}
	if total, _ := r.follower.Replayed(); n > 0 && n == total {
		r.cfg.Log.Info("standby: replayed the journal; following it", "records", n)
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Daemon is the manager daemon while this replica leads, else nil.
func (r *Replica) Daemon() *daemon.ManagerDaemon {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.d != nil && !r.d.Leads() {
		return nil // its lease lapsed; the demotion is on its way
	}
	return r.d
}

// leadership handles the machine's Lead and Demote, under the runner's
// lock: nothing here may wait for the runner, so the daemon is started
// and stopped in the background.
func (r *Replica) leadership(e effect.Effect) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d, ok := e.(coremachine.Demote); ok {
		r.cfg.Log.Error("deposed: this manager no longer leads and has stopped acting", "name", r.cfg.Name,
			"epoch", uint64(d.Epoch), "why", d.Why)
		if r.cfg.IgnoreLease {
			r.cfg.Log.Error("CANARY: ignoring the demotion; the manager goes on acting", "name", r.cfg.Name)
			return
		}
	}
	r.gen++
	r.leading = false
	if r.d != nil {
		d := r.d
		r.d = nil
		r.wg.Add(1)
		go func() { defer r.wg.Done(); d.Stop() }()
	}
	if l, ok := e.(coremachine.Lead); ok {
		r.leaderships++
		r.leading = true
		r.cfg.Log.Info("elected: this manager leads", "name", r.cfg.Name, "epoch", uint64(l.Epoch))
		if !r.closed {
			r.wg.Add(1)
			go r.lead(r.gen, l.Epoch)
		}
	}
}

// lead starts the manager daemon of leadership gen, at epoch, on the
// state in etcd; a start that fails for another reason than a lost
// leadership is tried again after Retry, while gen lasts.
func (r *Replica) lead(gen uint64, epoch proto.Epoch) {
	defer r.wg.Done()
	for r.current(gen) {
		d, err := r.startDaemon(epoch)
		if err == nil {
			r.mu.Lock()
			if r.gen == gen && !r.closed {
				r.d = d
				d = nil
			}
			r.mu.Unlock()
			if d != nil {
				d.Stop() // the leadership ended while it started
			}
			return
		}
		if errors.Is(err, coordinator.ErrDeposed) {
			r.runner.WriteRefused(epoch, err.Error())
			return
		}
		r.cfg.Log.Error("leading, but the manager did not start; trying again", "err", err.Error(), "in", r.cfg.Retry.String())
		select {
		case <-r.cfg.Clock.After(r.cfg.Retry):
		case <-r.done:
			return
		}
	}
}

func (r *Replica) current(gen uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gen == gen && !r.closed
}

// startDaemon starts the manager daemon on the cluster's state in etcd,
// every write guarded on this leadership.
func (r *Replica) startDaemon(epoch proto.Epoch) (*daemon.ManagerDaemon, error) {
	lease := r.runner.Lease()
	if lease == 0 {
		return nil, fmt.Errorf("no lease: %w", coordinator.ErrDeposed)
	}
	guard := etcdstore.Guard{Key: r.runner.Store().ElectionKey(lease), Rev: int64(epoch)}
	st := &leaderStore{Store: etcdstore.New(r.cfg.Client, r.cfg.Prefix, guard, 0), leadership: epoch,
		refused: func(err error) { go r.runner.WriteRefused(epoch, err.Error()) }}
	cfg := r.cfg.Daemon
	cfg.Store, cfg.MayAct, cfg.Replica = st, r.runner.MayAct, r.cfg.Name
	r.fmu.Lock()
	cfg.Follower, r.follower = r.follower, nil
	r.fmu.Unlock()
	if r.cfg.IgnoreLease {
		cfg.Store, cfg.MayAct = ignoreRefusals{st}, func() bool { return true }
	}
	return daemon.StartManagerDaemon(cfg)
}

// Stop resigns (a standby is elected at once rather than after the TTL)
// and stops the daemon, leaving every resource running.
func (r *Replica) Stop() { r.stop(true) }

// StopWithoutResigning stops the replica as a crash would leave it: its
// lease is not revoked, and the other replicas wait for it to lapse.
func (r *Replica) StopWithoutResigning() { r.stop(false) }

func (r *Replica) stop(resign bool) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	close(r.done)
	d := r.d
	r.d = nil
	r.mu.Unlock()
	if resign {
		if d != nil {
			d.Resign("stopped by its operator (basalt-manager received SIGTERM or SIGINT)")
		}
		r.runner.Resign()
	}
	if d != nil {
		d.Stop()
	}
	r.runner.Stop()
	r.wg.Wait()
}

// Managers lists the replicas campaigning in etcd's election, the leader
// (the oldest campaign) first; it is nil when etcd does not answer within
// a second (the status then says only that this manager stands by).
func (r *Replica) Managers() []api.ManagerView {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := r.cfg.Client.Get(ctx, r.cfg.Prefix+"/election/", clientv3.WithPrefix())
	if err != nil {
		r.cfg.Log.Warn("etcd: cannot list the managers", "err", err.Error())
		return []api.ManagerView{{Name: r.cfg.Name, Self: true}}
	}
	kvs := resp.Kvs
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].CreateRevision < kvs[j].CreateRevision })
	var out []api.ManagerView
	self := false
	for i, kv := range kvs {
		m := api.ManagerView{Name: string(kv.Value), Leader: i == 0, Epoch: uint64(kv.CreateRevision),
			Self: string(kv.Value) == r.cfg.Name}
		if m.Self && !m.Leader {
			m.Following = r.Followed()
		}
		self = self || m.Self
		if ttl, err := r.cfg.Client.TimeToLive(ctx, clientv3.LeaseID(kv.Lease)); err == nil && ttl.TTL >= 0 {
			m.LeaseLeft = (time.Duration(ttl.TTL) * time.Second).String()
		}
		out = append(out, m)
	}
	if !self {
		// Not campaigning now: waiting for a lease, or etcd refused one.
		out = append(out, api.ManagerView{Name: r.cfg.Name, Self: true})
	}
	return out
}

// leaderStore is the leader's store: the cluster's state in etcd, whose
// epoch record reads as coordinator.StartEpoch raises it for the
// leadership, and whose refused writes tell the coordinator at once.
type leaderStore struct {
	storage.Store
	leadership proto.Epoch
	refused    func(error)
}

// Read implements storage.Store.
func (s *leaderStore) Read(name string) ([]byte, error) {
	data, err := s.Store.Read(name)
	if name != manager.EpochRecord {
		return data, err
	}
	if errors.Is(err, storage.ErrNotFound) {
		return proto.EncodeEpoch(coremachine.StartEpoch(0, s.leadership)), nil
	}
	if err != nil {
		return nil, err
	}
	e, err := proto.DecodeEpoch(data)
	if err != nil {
		return nil, fmt.Errorf("epoch record in etcd: %w", err)
	}
	return proto.EncodeEpoch(coremachine.StartEpoch(e, s.leadership)), nil
}

// Write implements storage.Store.
func (s *leaderStore) Write(name string, data []byte) error {
	return s.check(s.Store.Write(name, data))
}

// Append implements storage.Store.
func (s *leaderStore) Append(name string, data []byte) error {
	return s.check(s.Store.Append(name, data))
}

// Truncate implements storage.Store.
func (s *leaderStore) Truncate(name string, size int64) error {
	return s.check(s.Store.Truncate(name, size))
}

// Remove implements storage.Store.
func (s *leaderStore) Remove(name string) error { return s.check(s.Store.Remove(name)) }

func (s *leaderStore) check(err error) error {
	if errors.Is(err, coordinator.ErrDeposed) {
		s.refused(err)
	}
	return err
}

// ignoreRefusals is the IgnoreLease defect's store: a write etcd refused
// because the leadership is gone is taken for written.
type ignoreRefusals struct{ storage.Store }

func (s ignoreRefusals) ignore(err error) error {
	if errors.Is(err, coordinator.ErrDeposed) {
		return nil
	}
	return err
}

// Write implements storage.Store.
func (s ignoreRefusals) Write(name string, data []byte) error {
	return s.ignore(s.Store.Write(name, data))
}

// Append implements storage.Store.
func (s ignoreRefusals) Append(name string, data []byte) error {
	return s.ignore(s.Store.Append(name, data))
}

// Truncate implements storage.Store.
func (s ignoreRefusals) Truncate(name string, size int64) error {
	return s.ignore(s.Store.Truncate(name, size))
}

// Remove implements storage.Store.
func (s ignoreRefusals) Remove(name string) error { return s.ignore(s.Store.Remove(name)) }
