package coordinator

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// rig is a machine with a timer counter and the effects it returned last.
type rig struct {
	m      *Machine
	timers effect.TimerID
	at     map[effect.TimerID]time.Time
}

func newRig(t *testing.T) *rig {
	t.Helper()
	cfg := Config{Name: "m1", TTL: 6 * time.Second, Margin: time.Second, Retry: 2 * time.Second}
	require.NoError(t, cfg.Validate())
	r := &rig{at: map[effect.TimerID]time.Time{}}
	r.m = New(cfg, Hooks{NextTimer: func() effect.TimerID { r.timers++; return r.timers }})
	return r
}

// note keeps the timers the effects set or cancel.
func (r *rig) note(effs []effect.Effect) []effect.Effect {
	for _, e := range effs {
		switch e := e.(type) {
		case *effect.SetTimer:
			r.at[e.ID] = e.At
		case *effect.CancelTimer:
			delete(r.at, e.ID)
		}
	}
	return effs
}

func find[T effect.Effect](effs []effect.Effect) (T, bool) {
	for _, e := range effs {
		if v, ok := e.(T); ok {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// lead takes the machine to Leading at epoch 7 with a lease granted for a
// request sent at t0 and answered 200 ms later.
func (r *rig) lead(t *testing.T) {
	t.Helper()
	req, ok := find[RequestLease](r.note(r.m.Start(t0)))
	require.True(t, ok)
	effs := r.note(r.m.LeaseGranted(t0.Add(200*time.Millisecond), req.Req, 0x51, 6*time.Second))
	c, ok := find[Campaign](effs)
	require.True(t, ok)
	require.Equal(t, Campaign{Lease: 0x51, Name: "m1"}, c)
	effs = r.note(r.m.Elected(t0.Add(time.Second), 0x51, 7))
	require.Equal(t, []effect.Effect{Lead{Epoch: 7}}, effs)
	require.Equal(t, Leading, r.m.Role())
	require.Equal(t, proto.Epoch(7), r.m.Epoch())
}

func TestDeadlineCountsFromTheRequestLessTheMargin(t *testing.T) {
	r := newRig(t)
	r.lead(t)
	// Granted for 6 s to a request sent at t0: provably held until t0+5s,
	// whatever the answer's delay.
	require.Equal(t, t0.Add(5*time.Second), r.m.Deadline())
}

func TestLeaderThatCannotRenewDemotesItselfBeforeTheStoreExpiresIt(t *testing.T) {
	r := newRig(t)
	r.lead(t)
	// Keep-alives go out, and none is answered (cut from the store).
	var expiry effect.TimerID
	for id, at := range r.at { // purity:unordered a test picks the one timer due at the deadline
		if at.Equal(r.m.Deadline()) {
			expiry = id
		}
	}
	require.NotZero(t, expiry)
	effs, handled := r.m.TimerFired(t0.Add(5*time.Second), expiry)
	require.True(t, handled)
	d, ok := find[Demote](effs)
	require.True(t, ok, "no demotion in %v", effs)
	require.Equal(t, proto.Epoch(7), d.Epoch)
	require.Contains(t, d.Why, "not renewed")
	_, isDemoteFirst := effs[0].(Demote)
	require.True(t, isDemoteFirst, "the demotion must come before anything else: %v", effs)
	require.Equal(t, Waiting, r.m.Role())
	require.Zero(t, r.m.Epoch())
}

func TestKeepAliveMovesTheDeadlineFromItsSendingTime(t *testing.T) {
	r := newRig(t)
	r.lead(t)
	renewAt := t0.Add(2 * time.Second) // a third of the TTL after the grant's request
	var renew effect.TimerID
	for id, at := range r.at { // purity:unordered a test picks the one timer due then
		if at.Equal(renewAt) {
			renew = id
		}
	}
	require.NotZero(t, renew)
	effs, _ := r.m.TimerFired(renewAt, renew)
	ka, ok := find[KeepAlive](r.note(effs))
	require.True(t, ok)
	// Answered late (1.5 s): the deadline is counted from the sending.
	r.note(r.m.KeepAliveAnswered(renewAt.Add(1500*time.Millisecond), ka.Req, 0x51, 6*time.Second))
	require.Equal(t, renewAt.Add(5*time.Second), r.m.Deadline())
	// An old answer never moves the deadline back.
	r.note(r.m.KeepAliveAnswered(renewAt.Add(2*time.Second), ka.Req, 0x51, 6*time.Second))
	require.Equal(t, renewAt.Add(5*time.Second), r.m.Deadline())
}

func TestElectionHeardAfterTheDeadlineIsGivenUp(t *testing.T) {
	r := newRig(t)
	req, _ := find[RequestLease](r.note(r.m.Start(t0)))
	r.note(r.m.LeaseGranted(t0, req.Req, 0x51, 6*time.Second))
	// A paused candidate hears of its election 8 s later: its key may
	// have expired meanwhile, and another manager may lead.
	effs := r.note(r.m.Elected(t0.Add(8*time.Second), 0x51, 7))
	_, led := find[Lead](effs)
	require.False(t, led)
	rv, ok := find[Revoke](effs)
	require.True(t, ok)
	require.Equal(t, LeaseID(0x51), rv.Lease)
	require.Equal(t, Waiting, r.m.Role())
}

func TestRefusedWriteDemotes(t *testing.T) {
	r := newRig(t)
	r.lead(t)
	require.Empty(t, r.m.WriteRefused(t0.Add(2*time.Second), 6, "older epoch"), "a refusal for another epoch is not this leadership's")
	effs := r.m.WriteRefused(t0.Add(2*time.Second), 7, "election key gone")
	d, ok := find[Demote](effs)
	require.True(t, ok)
	require.True(t, strings.Contains(d.Why, "election key gone"))
}

func TestLostLeaseAsksAgainAfterRetry(t *testing.T) {
	r := newRig(t)
	r.lead(t)
	effs := r.note(r.m.LeaseLost(t0.Add(3*time.Second), 0x51, "expired"))
	_, ok := find[Demote](effs)
	require.True(t, ok)
	set, ok := find[*effect.SetTimer](effs)
	require.True(t, ok)
	require.Equal(t, t0.Add(5*time.Second), set.At)
	effs, handled := r.m.TimerFired(set.At, set.ID)
	require.True(t, handled)
	_, asked := find[RequestLease](effs)
	require.True(t, asked)
}

func TestAnswersToGivenUpRequestsAreDropped(t *testing.T) {
	r := newRig(t)
	req, _ := find[RequestLease](r.note(r.m.Start(t0)))
	r.note(r.m.LeaseRefused(t0.Add(time.Second), req.Req))
	// The grant comes after all: the machine no longer waits for it, and
	// gives the lease back rather than hold a place in the election.
	effs := r.m.LeaseGranted(t0.Add(1500*time.Millisecond), req.Req, 0x99, 6*time.Second)
	require.Equal(t, []effect.Effect{Revoke{Lease: 0x99}}, effs)
	require.Equal(t, Waiting, r.m.Role())
}

func TestResignRevokesAndStops(t *testing.T) {
	r := newRig(t)
	r.lead(t)
	effs := r.note(r.m.Resign(t0.Add(2 * time.Second)))
	require.IsType(t, Demote{}, effs[0])
	_, ok := find[Revoke](effs)
	require.True(t, ok)
	require.Equal(t, Idle, r.m.Role())
	require.Empty(t, r.at, "timers left after a resignation")
}

func TestConfigRefusesAMarginThatLeavesNoLease(t *testing.T) {
	for _, c := range []Config{
		{Name: "", TTL: time.Second, Margin: time.Millisecond, Retry: time.Second},
		{Name: "m", TTL: 0, Margin: time.Millisecond, Retry: time.Second},
		{Name: "m", TTL: 3 * time.Second, Margin: 2 * time.Second, Retry: time.Second},
		{Name: "m", TTL: 3 * time.Second, Margin: time.Second, Retry: 0},
	} {
		require.Error(t, c.Validate(), "%+v", c)
	}
}

// A leader that has seen its deadline pass must not lead again on a late
// renewal: its manager stopped acting for good when MayAct said no (the
// live daemon's rule), so a leadership that went on would hold the election
// with nobody acting. A renewal heard after the deadline ends the
// leadership instead, and the machine campaigns afresh.
func TestRenewalHeardAfterTheDeadlineEndsTheLeadership(t *testing.T) {
	r := newRig(t)
	r.lead(t)
	// The renewal goes out at t0+2s; the process then pauses past the
	// deadline (t0+5s) and hears the answer first thing at t0+6s, before
	// its overdue expiry timer.
	effs := r.note(r.m.renew(t0.Add(2 * time.Second)))
	ka, ok := find[KeepAlive](effs)
	require.True(t, ok)
	late := t0.Add(6 * time.Second)
	require.False(t, r.m.MayAct(late))
	effs = r.note(r.m.KeepAliveAnswered(late, ka.Req, 0x51, 6*time.Second))
	d, ok := find[Demote](effs)
	require.True(t, ok, "a renewal heard after the deadline must end the leadership: %v", effs)
	require.Equal(t, proto.Epoch(7), d.Epoch)
	require.NotEqual(t, Leading, r.m.Role())
	require.False(t, r.m.MayAct(late))
}
