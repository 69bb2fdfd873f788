// Package coordinator is the manager's side of manager high availability:
// a pure machine that holds a lease with the coordination store (etcd in
// production, an in-memory model of it in the simulator), campaigns for
// leadership on it, and says when this manager may act and when it must
// stop. The store decides who leads (its election: the live key with the
// lowest create revision under the election prefix); this machine decides
// when this manager may believe it leads.
//
// Safety rests on one rule: a leader acts only while it can show that its
// lease still holds. The store renews a lease for its TTL counted from
// when it handles the keep-alive; the machine counts from when it sent the
// keep-alive (earlier), less a margin for the rates of the two clocks, so
// its own deadline falls before the store's expiry, whatever the network
// delays. Past that deadline it demotes itself at once, whether the store
// answered or not: a leader cut from the store, or paused past its TTL,
// stops acting before any other manager can be elected.
//
// The epoch of a leadership is the create revision of its election key:
// the store's revisions only grow, and a later leader's key was created
// after the earlier one's, so epochs grow from leader to leader. Every
// write a leader makes is guarded on that revision by the driver, so a
// deposed leader's writes fail inside the store (WriteRefused).
package coordinator

import (
	"fmt"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// LeaseID names a lease of the store.
type LeaseID int64

// RequestID names one request of the machine to the store, so that an
// answer is matched with the time its request was sent.
type RequestID uint64

// Config is what the machine needs to know.
type Config struct {
	// Name is this manager's name, the value of its election key.
	Name string
	// TTL is the lease's time to live, as the store grants it.
	TTL time.Duration
	// Margin is taken off every lease deadline: it covers the drift
	// between this host's clock rate and the store's over one TTL, and
	// the time a demotion takes to reach the manager.
	Margin time.Duration
	// Retry is how long to wait before asking for a new lease after one
	// was lost or refused.
	Retry time.Duration
}

// Validate says what is wrong with a configuration.
func (c Config) Validate() error {
	switch {
	case c.Name == "":
		return fmt.Errorf("coordinator: a manager name is needed")
	case c.TTL <= 0:
		return fmt.Errorf("coordinator: lease TTL %s is not positive", c.TTL)
	case c.Margin <= 0 || c.Margin*3 > c.TTL:
		return fmt.Errorf("coordinator: margin %s must be positive and at most a third of the TTL %s", c.Margin, c.TTL)
	case c.Retry <= 0:
		return fmt.Errorf("coordinator: retry delay %s is not positive", c.Retry)
	}
	return nil
}

// Hooks are what the machine needs from the one that embeds it: timer IDs
// from the embedder's own counter, so that its timers share one namespace.
type Hooks struct {
	NextTimer func() effect.TimerID
}

// Role is where the machine stands.
type Role string

// The roles.
const (
	// Idle: not started, or stopped for good (Resign).
	Idle Role = "idle"
	// Waiting: asking for a lease, or waiting to ask again.
	Waiting Role = "waiting"
	// Candidate: holds a lease and has campaigned; another leads or none.
	Candidate Role = "candidate"
	// Leading: elected, with a lease that provably holds.
	Leading Role = "leading"
)

// Machine is the coordinator machine of one manager.
type Machine struct {
	cfg   Config
	hooks Hooks
	role  Role

	lease    LeaseID
	epoch    proto.Epoch
	deadline time.Time // the lease provably holds before it
	nextReq  RequestID
	sent     map[RequestID]pending

	renewTimer, expiryTimer, retryTimer effect.TimerID
}

// pending is a request in flight to the store.
type pending struct {
	kind   string // "grant" or "keep-alive"
	sentAt time.Time
}

// maxPending bounds the requests in flight: keep-alives go out every third
// of a TTL and answers older than a TTL are useless, so a handful is all a
// healthy session has; more means the store stopped answering.
const maxPending = 16

// New returns an idle machine.
func New(cfg Config, hooks Hooks) *Machine {
	return &Machine{cfg: cfg, hooks: hooks, role: Idle, sent: map[RequestID]pending{}}
}

// Role says where the machine stands.
func (m *Machine) Role() Role { return m.role }

// Epoch is the epoch of the current leadership, 0 when not leading.
func (m *Machine) Epoch() proto.Epoch {
	if m.role != Leading {
		return 0
	}
	return m.epoch
}

// MayAct reports whether this manager may act now: it leads, and its
// lease provably holds. The embedding manager asks before every action,
// not only when the expiry timer fires: a process resumed from a pause may
// be handed other inputs before its overdue timers. Once it has said no
// to a leader, it never says yes again in the same leadership.
func (m *Machine) MayAct(now time.Time) bool { return m.role == Leading && now.Before(m.deadline) }

// Lease is the lease held, 0 without one: the driver guards the leader's
// writes on its election key.
func (m *Machine) Lease() LeaseID { return m.lease }

// Deadline is when the current lease stops provably holding (zero without
// a lease).
func (m *Machine) Deadline() time.Time { return m.deadline }

// Start asks for a lease.
func (m *Machine) Start(now time.Time) []effect.Effect {
	if m.role != Idle {
		return nil
	}
	return m.requestLease(now)
}

// requestLease asks for a lease, and again after a TTL if no answer came
// (the request or its answer was lost).
func (m *Machine) requestLease(now time.Time) []effect.Effect {
	m.role = Waiting
	req := m.send(now, "grant")
	m.retryTimer = m.hooks.NextTimer()
	return []effect.Effect{RequestLease{Req: req, TTL: m.cfg.TTL}, &effect.SetTimer{ID: m.retryTimer, At: now.Add(m.cfg.TTL)}}
}

// send records a request and returns its ID.
func (m *Machine) send(now time.Time, kind string) RequestID {
	m.nextReq++
	m.sent[m.nextReq] = pending{kind: kind, sentAt: now}
	for id := range m.sent { // purity:unordered deletes every entry older than the bound, whatever the order
		if id+maxPending <= m.nextReq {
			delete(m.sent, id)
		}
	}
	return m.nextReq
}

// LeaseGranted: the store granted lease for ttl, answering req.
func (m *Machine) LeaseGranted(now time.Time, req RequestID, lease LeaseID, ttl time.Duration) []effect.Effect {
	p, ok := m.sent[req]
	if !ok || p.kind != "grant" || m.role != Waiting {
		// An answer to a request given up on: the lease is of no use,
		// and left alone it would hold a place in the election for a
		// TTL.
		return []effect.Effect{Revoke{Lease: lease}}
	}
	delete(m.sent, req)
	m.lease, m.role = lease, Candidate
	effs := m.cancelRetry()
	effs = append(effs, m.extend(p.sentAt, ttl)...)
	return append(effs, Campaign{Lease: lease, Name: m.cfg.Name})
}

// LeaseRefused: the store did not grant the lease asked for by req (it
// cannot be reached, or said no). The machine asks again after Retry.
func (m *Machine) LeaseRefused(now time.Time, req RequestID) []effect.Effect {
	if _, ok := m.sent[req]; !ok || m.role != Waiting {
		return nil
	}
	delete(m.sent, req)
	return append(m.cancelRetry(), m.retryLater(now)...)
}

func (m *Machine) cancelRetry() []effect.Effect {
	if m.retryTimer == 0 {
		return nil
	}
	id := m.retryTimer
	m.retryTimer = 0
	return []effect.Effect{&effect.CancelTimer{ID: id}}
}

// Elected: the store elected this manager's key of lease, created at rev.
// The machine leads only while the lease provably holds: an election
// heard after the deadline may be for a key that has expired since, and
// is given up.
func (m *Machine) Elected(now time.Time, lease LeaseID, rev int64) []effect.Effect {
	if m.role != Candidate || lease != m.lease {
		return nil // a campaign of a lease given up on
	}
	if !now.Before(m.deadline) {
		return m.restart(now, "elected after the lease's deadline")
	}
	if rev <= 0 || uint64(rev) > uint64(proto.MaxEpoch) {
		return m.restart(now, fmt.Sprintf("election revision %d is not a valid epoch (1..%d)", rev, proto.MaxEpoch))
	}
	m.role, m.epoch = Leading, proto.Epoch(rev)
	return []effect.Effect{Lead{Epoch: m.epoch}}
}

// KeepAliveAnswered: the store renewed lease for ttl, answering req. The
// lease provably holds until ttl after the request was sent, less the
// margin; a leadership whose deadline passed before the answer came ends
// here (a lapse is final, see MayAct).
func (m *Machine) KeepAliveAnswered(now time.Time, req RequestID, lease LeaseID, ttl time.Duration) []effect.Effect {
	p, ok := m.sent[req]
	if !ok || p.kind != "keep-alive" || lease != m.lease || m.role == Waiting || m.role == Idle {
		return nil
	}
	delete(m.sent, req)
	if ttl <= 0 {
		return m.restart(now, "the store says the lease has expired")
	}
	if m.role == Leading && !now.Before(m.deadline) {
		// The manager may have been told no by MayAct already, and
		// stops acting for good when it is: a leadership that went on
		// would hold the election with nobody acting.
		return m.restart(now, "the lease's renewal was heard after its deadline")
	}
	return m.extend(p.sentAt, ttl)
}

// LeaseLost: the store no longer knows lease (it expired, or was revoked).
func (m *Machine) LeaseLost(now time.Time, lease LeaseID, why string) []effect.Effect {
	if lease != m.lease || m.role == Waiting || m.role == Idle {
		return nil
	}
	return m.restart(now, "lease lost: "+why)
}

// WriteRefused: a write guarded on epoch failed because the election key
// of that epoch is no longer there: another manager leads, or will.
func (m *Machine) WriteRefused(now time.Time, epoch proto.Epoch, why string) []effect.Effect {
	if m.role != Leading || epoch != m.epoch {
		return nil
	}
	return m.restart(now, "a write guarded on the epoch was refused: "+why)
}

// Resign gives leadership and the lease up for good (a clean stop): a
// standby is elected at once.
func (m *Machine) Resign(now time.Time) []effect.Effect {
	effs := m.drop("resigned")
	m.role = Idle
	return effs
}

// TimerFired handles one of the machine's timers; handled is false for a
// timer that is not (or no longer) its own.
func (m *Machine) TimerFired(now time.Time, id effect.TimerID) (effs []effect.Effect, handled bool) {
	switch {
	case id == 0:
		return nil, false
	case id == m.renewTimer:
		m.renewTimer = 0
		return m.renew(now), true
	case id == m.expiryTimer:
		m.expiryTimer = 0
		if now.Before(m.deadline) {
			return nil, true // moved since; a late delivery of the old time
		}
		return m.restart(now, fmt.Sprintf("lease not renewed within its TTL less the margin (%s)", m.cfg.Margin)), true
	case id == m.retryTimer:
		m.retryTimer = 0
		if m.role != Waiting {
			return nil, true
		}
		return m.requestLease(now), true // the last request, or its answer, was lost
	}
	return nil, false
}

// renew sends a keep-alive, and sets the next one a third of a TTL on, so
// that two may be lost before the deadline. A candidate campaigns again
// too: a campaign under the same lease keeps its key and its place, and
// one lost on the way would otherwise leave it out of the election for
// as long as the lease lives.
func (m *Machine) renew(now time.Time) []effect.Effect {
	if m.role != Candidate && m.role != Leading {
		return nil
	}
	req := m.send(now, "keep-alive")
	m.renewTimer = m.hooks.NextTimer()
	effs := []effect.Effect{KeepAlive{Req: req, Lease: m.lease}, &effect.SetTimer{ID: m.renewTimer, At: now.Add(m.cfg.TTL / 3)}}
	if m.role == Candidate {
		effs = append(effs, Campaign{Lease: m.lease, Name: m.cfg.Name})
	}
	return effs
}

// extend moves the deadline to ttl after sentAt, less the margin; it never
// moves it back (answers may come out of order).
func (m *Machine) extend(sentAt time.Time, ttl time.Duration) []effect.Effect {
	d := sentAt.Add(ttl - m.cfg.Margin)
	if !d.After(m.deadline) {
		return nil
	}
	m.deadline = d
	var effs []effect.Effect
	if m.expiryTimer == 0 {
		m.expiryTimer = m.hooks.NextTimer()
	}
	effs = append(effs, &effect.SetTimer{ID: m.expiryTimer, At: d})
	if m.renewTimer == 0 {
		m.renewTimer = m.hooks.NextTimer()
		effs = append(effs, &effect.SetTimer{ID: m.renewTimer, At: sentAt.Add(ttl / 3)})
	}
	return effs
}

// restart drops the lease (and leadership) and asks for a new one after
// Retry: a manager that lost its lease campaigns again, as a standby.
func (m *Machine) restart(now time.Time, why string) []effect.Effect {
	effs := m.drop(why)
	return append(effs, m.retryLater(now)...)
}

// drop ends the current lease: the Demote comes first, so that the
// manager stops acting before anything else happens.
func (m *Machine) drop(why string) []effect.Effect {
	var effs []effect.Effect
	if m.role == Leading {
		effs = append(effs, Demote{Epoch: m.epoch, Why: why})
	}
	if m.lease != 0 {
		effs = append(effs, Revoke{Lease: m.lease})
	}
	for _, t := range []*effect.TimerID{&m.renewTimer, &m.expiryTimer, &m.retryTimer} {
		if *t != 0 {
			effs = append(effs, &effect.CancelTimer{ID: *t})
			*t = 0
		}
	}
	m.lease, m.epoch, m.deadline = 0, 0, time.Time{}
	clear(m.sent)
	return effs
}

func (m *Machine) retryLater(now time.Time) []effect.Effect {
	m.role = Waiting
	m.retryTimer = m.hooks.NextTimer()
	return []effect.Effect{&effect.SetTimer{ID: m.retryTimer, At: now.Add(m.cfg.Retry)}}
}

// StartEpoch is the persisted epoch a leader's manager starts from (the
// manager takes the next one): the epoch its state records, raised to just
// below the leadership's. The manager's epoch is then at least the
// leadership's, which is above every earlier leader's, and above every
// epoch an earlier manager of this state took.
func StartEpoch(persisted, leadership proto.Epoch) proto.Epoch {
	if leadership == 0 {
		return persisted
	}
	return max(persisted, leadership-1)
}
