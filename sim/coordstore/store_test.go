package coordstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestElectionIsWonByTheOldestLiveKey(t *testing.T) {
	s := New()
	a := s.Grant(t0, 5*time.Second)
	b := s.Grant(t0, 5*time.Second)
	ra, err := s.Campaign(t0, "/e", a, []byte("m1"))
	require.NoError(t, err)
	rb, err := s.Campaign(t0.Add(time.Second), "/e", b, []byte("m2"))
	require.NoError(t, err)
	require.Less(t, ra, rb)
	l, ok := s.Leader(t0.Add(time.Second), "/e")
	require.True(t, ok)
	require.Equal(t, "m1", string(l.Value))

	// b is renewed, a is not: at a's expiry its key goes, and b leads with
	// a later create revision (a larger epoch).
	_, err = s.KeepAlive(t0.Add(4*time.Second), b)
	require.NoError(t, err)
	l, ok = s.Leader(t0.Add(5*time.Second), "/e")
	require.True(t, ok)
	require.Equal(t, "m2", string(l.Value))
	require.Equal(t, rb, l.Create)

	_, err = s.KeepAlive(t0.Add(5*time.Second), a)
	require.ErrorIs(t, err, ErrNoLease)
}

func TestGuardedWriteFailsOnceTheElectionKeyIsGone(t *testing.T) {
	s := New()
	a := s.Grant(t0, 5*time.Second)
	rev, err := s.Campaign(t0, "/e", a, []byte("m1"))
	require.NoError(t, err)
	key := "/e/" + formatLease(a)
	_, err = s.Txn(t0.Add(time.Second), key, rev, []Put{{Key: "/j/1", Value: []byte("x")}})
	require.NoError(t, err)
	_, err = s.Txn(t0.Add(time.Second), key, rev+1, []Put{{Key: "/j/2", Value: []byte("y")}})
	require.ErrorIs(t, err, ErrGuard, "a guard on another revision")
	_, err = s.Txn(t0.Add(6*time.Second), key, rev, []Put{{Key: "/j/2", Value: []byte("y")}})
	require.ErrorIs(t, err, ErrGuard, "the lease expired with its key")
	got := s.Get(t0.Add(6*time.Second), "/j/")
	require.Len(t, got, 1)
	require.Equal(t, "x", string(got[0].Value))
}

func TestRevisionsOnlyGrow(t *testing.T) {
	s := New()
	prev := s.Revision()
	a := s.Grant(t0, time.Second)
	_, err := s.Campaign(t0, "/e", a, nil)
	require.NoError(t, err)
	require.Greater(t, s.Revision(), prev)
	prev = s.Revision()
	s.Expire(t0.Add(time.Second))
	require.Greater(t, s.Revision(), prev, "a deletion is a revision")
	_, ok := s.NextExpiry()
	require.False(t, ok)
}
