package coordinator

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/basalt-ha/basalt/core/coordinator"
	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// Runner runs one coordinator machine on a real clock against etcd: one
// lock serialises its inputs (the store's answers and its timers), and
// the effects meant for the manager (Lead, Demote) go to onLeadership, in
// order, under that lock. It is the thin loop a manager daemon embeds
// until the manager machine takes the coordinator in.
type Runner struct {
	mu           sync.Mutex
	m            *coordinator.Machine
	store        *Etcd
	clk          clock.Clock
	timers       map[effect.TimerID]*clock.Timer
	next         effect.TimerID
	onLeadership func(effect.Effect)
	// leading and deadline mirror the machine's MayAct, so that MayAct
	// takes no lock: the manager daemon asks before every batch of its
	// effects, under its own lock, and a demotion that waits for the
	// daemon to stop must never wait for the runner's lock too.
	leading  atomic.Bool
	deadline atomic.Int64 // UnixNano
}

// NewRunner returns a runner of a machine of cfg; newStore builds the
// store driver around the runner's delivery function.
func NewRunner(cfg coordinator.Config, clk clock.Clock, newStore func(deliver func(Input)) *Etcd, onLeadership func(effect.Effect)) *Runner {
	r := &Runner{clk: clk, timers: map[effect.TimerID]*clock.Timer{}, onLeadership: onLeadership}
	r.m = coordinator.New(cfg, coordinator.Hooks{NextTimer: func() effect.TimerID { r.next++; return r.next }})
	r.store = newStore(r.deliver)
	return r
}

// Start starts the machine: it asks for a lease and campaigns.
func (r *Runner) Start() {
	r.deliver(func(m *coordinator.Machine, now time.Time) []effect.Effect { return m.Start(now) })
}

// Resign gives leadership and the lease up (a clean stop).
func (r *Runner) Resign() {
	r.deliver(func(m *coordinator.Machine, now time.Time) []effect.Effect { return m.Resign(now) })
}

// MayAct reports whether this manager may act now: it leads, and its
// lease provably holds at this instant (the machine's MayAct). It takes no
// lock and is safe from any goroutine.
func (r *Runner) MayAct() bool {
	return r.leading.Load() && r.clk.Now().UnixNano() < r.deadline.Load()
}

// Lease is the lease the machine holds (0: none), for guarding writes.
func (r *Runner) Lease() coordinator.LeaseID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m.Lease()
}

// mirror copies what MayAct needs from the machine. Called with r.mu held.
func (r *Runner) mirror() {
	r.deadline.Store(r.m.Deadline().UnixNano())
	r.leading.Store(r.m.Role() == coordinator.Leading)
}

// WriteRefused tells the machine that a write guarded on epoch was
// refused by etcd: another manager leads, or will, and this one demotes.
func (r *Runner) WriteRefused(epoch proto.Epoch, why string) {
	r.deliver(func(m *coordinator.Machine, now time.Time) []effect.Effect { return m.WriteRefused(now, epoch, why) })
}

// Store is the runner's store driver (for guarded writes).
func (r *Runner) Store() *Etcd { return r.store }

func (r *Runner) deliver(in Input) {
	r.mu.Lock()
	defer r.mu.Unlock()
	effs := in(r.m, r.clk.Now())
	// Before the effects: a Demote must end MayAct before the manager
	// hears of it, and a Lead is only told once MayAct holds.
	r.mirror()
	r.apply(effs)
}

// apply carries out effects, under the lock.
func (r *Runner) apply(effs []effect.Effect) {
	for _, e := range effs {
		switch e := e.(type) {
		case *effect.SetTimer:
			if t := r.timers[e.ID]; t != nil {
				t.Stop()
			}
			id := e.ID
			r.timers[id] = r.clk.AfterFunc(max(0, e.At.Sub(r.clk.Now())), func() {
				r.deliver(func(m *coordinator.Machine, now time.Time) []effect.Effect {
					effs, _ := m.TimerFired(now, id)
					return effs
				})
			})
		case *effect.CancelTimer:
			if t := r.timers[e.ID]; t != nil {
				t.Stop()
				delete(r.timers, e.ID)
			}
		case coordinator.Lead, coordinator.Demote:
			if r.onLeadership != nil {
				r.onLeadership(e)
			}
		default:
			r.store.Do(e)
		}
	}
}

// Stop stops the timers and the store driver's campaigns.
func (r *Runner) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.timers {
		t.Stop()
	}
	clear(r.timers)
	r.store.Close()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
