package coordstore

import (
	"container/heap"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/coordinator"
	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// The property manager high availability rests on, checked over seeds:
// three coordinator machines campaign on one store through a network
// that delays, drops and is cut, and they are paused past their TTL; at no
// instant may two of them be allowed to act (MayAct), and each leadership
// has a larger epoch than the one before.

type event struct {
	at  time.Time
	seq int
	do  func()
}

type queue []event

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

type node struct {
	name        string
	m           *coordinator.Machine
	timers      effect.TimerID
	live        map[effect.TimerID]bool
	pausedUntil time.Time // inputs wait until then
	cutUntil    time.Time // messages to and from the store are lost until then
	campaigned  map[coordinator.LeaseID]bool
}

type world struct {
	t      *testing.T
	rng    *rand.Rand
	q      queue
	seq    int
	now    time.Time
	store  *Store
	nodes  []*node
	leader string // the store's election winner, as last told
	seed   uint64
	steps  int
	epochs []proto.Epoch
}

const prefix = "/basalt/election"

// at queues do at t; a time already past (a timer set for a moment a
// paused machine slept through) is now, as on any clock.
func (w *world) at(t time.Time, do func()) {
	if t.Before(w.now) {
		t = w.now
	}
	w.seq++
	heap.Push(&w.q, event{at: t, seq: w.seq, do: do})
}

func (w *world) delay() time.Duration { return time.Duration(w.rng.IntN(400)) * time.Millisecond }

// deliver runs an input of n at t, or at the end of its pause.
func (w *world) deliver(n *node, t time.Time, in func() []effect.Effect) {
	w.at(t, func() {
		if w.now.Before(n.pausedUntil) {
			w.deliver(n, n.pausedUntil, in)
			return
		}
		w.apply(n, in())
	})
}

// toStore carries a request of n to the store and its answer back, unless
// the link is cut either way or the message is lost.
func (w *world) toStore(n *node, req func(now time.Time) func() []effect.Effect) {
	if w.now.Before(n.cutUntil) || w.rng.IntN(20) == 0 {
		return
	}
	w.at(w.now.Add(w.delay()), func() {
		answer := req(w.now)
		w.notifyLeader()
		if answer == nil || w.now.Before(n.cutUntil) || w.rng.IntN(20) == 0 {
			return
		}
		w.deliver(n, w.now.Add(w.delay()), answer)
	})
}

var traceFrom = flag.Int("trace-from", -1, "print effects from this step on")

func (w *world) apply(n *node, effs []effect.Effect) {
	for _, e := range effs {
		if *traceFrom >= 0 && w.steps >= *traceFrom {
			w.t.Logf("%s %s %s", w.now.Sub(t0), n.name, e.Describe())
		}
		switch e := e.(type) {
		case coordinator.RequestLease:
			w.toStore(n, func(now time.Time) func() []effect.Effect {
				id := w.store.Grant(now, e.TTL)
				return func() []effect.Effect { return n.m.LeaseGranted(w.now, e.Req, id, e.TTL) }
			})
		case coordinator.KeepAlive:
			w.toStore(n, func(now time.Time) func() []effect.Effect {
				ttl, err := w.store.KeepAlive(now, e.Lease)
				if err != nil {
					return func() []effect.Effect { return n.m.LeaseLost(w.now, e.Lease, err.Error()) }
				}
				return func() []effect.Effect { return n.m.KeepAliveAnswered(w.now, e.Req, e.Lease, ttl) }
			})
		case coordinator.Campaign:
			w.toStore(n, func(now time.Time) func() []effect.Effect {
				if _, err := w.store.Campaign(now, prefix, e.Lease, []byte(n.name)); err != nil {
					return nil
				}
				n.campaigned[e.Lease] = true
				// As etcd's Campaign, the answer comes once this key leads.
				if l, ok := w.store.Leader(now, prefix); ok && l.Lease == e.Lease {
					rev := l.Create
					return func() []effect.Effect { return n.m.Elected(w.now, e.Lease, rev) }
				}
				return nil
			})
		case coordinator.Revoke:
			w.toStore(n, func(now time.Time) func() []effect.Effect { w.store.Revoke(now, e.Lease); return nil })
		case coordinator.Lead:
			require.True(w.t, len(w.epochs) == 0 || e.Epoch > w.epochs[len(w.epochs)-1],
				"%s leads at epoch %d after epochs %v", n.name, e.Epoch, w.epochs)
			w.epochs = append(w.epochs, e.Epoch)
		case *effect.SetTimer:
			n.live[e.ID] = true
			w.deliver(n, e.At, func() []effect.Effect {
				if !n.live[e.ID] {
					return nil
				}
				delete(n.live, e.ID)
				effs, _ := n.m.TimerFired(w.now, e.ID)
				return effs
			})
		case *effect.CancelTimer:
			delete(n.live, e.ID)
		}
	}
}

// notifyLeader tells the store's new election winner, as a watch would.
func (w *world) notifyLeader() {
	l, ok := w.store.Leader(w.now, prefix)
	if !ok || l.Key == w.leader {
		if !ok {
			w.leader = ""
		}
		return
	}
	w.leader = l.Key
	for _, n := range w.nodes {
		if n.campaigned[l.Lease] {
			lease, rev := l.Lease, l.Create
			if !w.now.Before(n.cutUntil) {
				w.deliver(n, w.now.Add(w.delay()), func() []effect.Effect { return n.m.Elected(w.now, lease, rev) })
			}
		}
	}
}

// check: at most one machine may act now.
func (w *world) check() {
	var acting []string
	for _, n := range w.nodes {
		if n.m.MayAct(w.now) {
			acting = append(acting, n.name)
		}
	}
	require.LessOrEqual(w.t, len(acting), 1, "seed %d at %s: %v may all act", w.seed, w.now.Sub(t0), acting)
}

func runElection(t *testing.T, seed uint64) []proto.Epoch {
	w := &world{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 0x656c)), store: New(), now: t0}
	cfg := coordinator.Config{TTL: 5 * time.Second, Margin: time.Second, Retry: time.Second}
	for i := 1; i <= 3; i++ {
		n := &node{name: fmt.Sprintf("m%d", i), live: map[effect.TimerID]bool{}, campaigned: map[coordinator.LeaseID]bool{}}
		c := cfg
		c.Name = n.name
		n.m = coordinator.New(c, coordinator.Hooks{NextTimer: func() effect.TimerID { n.timers++; return n.timers }})
		w.nodes = append(w.nodes, n)
		w.deliver(n, t0.Add(time.Duration(i)*100*time.Millisecond), func() []effect.Effect { return n.m.Start(w.now) })
	}
	// Faults: pauses past the TTL and cuts from the store, at random.
	for i := 0; i < 12; i++ {
		n := w.nodes[w.rng.IntN(len(w.nodes))]
		from := t0.Add(time.Duration(w.rng.IntN(120)) * time.Second)
		d := time.Duration(1+w.rng.IntN(12)) * time.Second
		pause := w.rng.IntN(2) == 0
		w.at(from, func() {
			if pause {
				n.pausedUntil = w.now.Add(d)
			} else {
				n.cutUntil = w.now.Add(d)
			}
		})
	}
	// The store's own expiries, checked every 100 ms of virtual time.
	var tick func()
	tick = func() {
		w.store.Expire(w.now)
		w.notifyLeader()
		if w.now.Before(t0.Add(3 * time.Minute)) {
			w.at(w.now.Add(100*time.Millisecond), tick)
		}
	}
	w.at(t0, tick)
	steps := 0
	for ; w.q.Len() > 0 && w.q[0].at.Before(t0.Add(4*time.Minute)); steps++ {
		require.Less(t, steps, 1_000_000, "seed %d: the world does not settle", seed)
		w.steps = steps
		e := heap.Pop(&w.q).(event)
		w.now = e.at
		e.do()
		w.check()
	}
	return w.epochs
}

var (
	electionSeeds = flag.Int("election-seeds", 300, "seeds of TestNoTwoManagersMayActAtOnce")
	electionFrom  = flag.Int("election-from", 1, "first seed of TestNoTwoManagersMayActAtOnce")
)

func TestNoTwoManagersMayActAtOnce(t *testing.T) {
	leaderships := 0
	for seed := uint64(*electionFrom); seed < uint64(*electionFrom+*electionSeeds); seed++ {
		leaderships += len(runElection(t, seed))
	}
	// The faults must have caused takeovers, or the property was never
	// put to the test.
	require.Greater(t, leaderships, 300*2, "too few takeovers to mean anything")
}
