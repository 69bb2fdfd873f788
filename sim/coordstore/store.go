// Package coordstore is the simulator's coordination store: the part of
// etcd that manager high availability relies on, on virtual time.
// Revisions grow by one per change; leases expire at their TTL after the
// store last renewed them, taking their keys with them; the election under
// a prefix is won by the live key with the lowest create revision (as
// etcd's concurrency package runs it); a write may be guarded on a key's
// create revision, and is refused when that key is gone or was created
// again since. The simulator's driver carries the coordinator machines'
// effects here, with the network's delays, cuts and pauses in between.
package coordstore

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/coordinator"
)

// KV is one key as a read returns it.
type KV struct {
	Key    string
	Value  []byte
	Create int64 // the revision that created the key
	Mod    int64 // the revision that last changed it
	Lease  coordinator.LeaseID
}

type lease struct {
	ttl     time.Duration
	expires time.Time
	keys    map[string]bool
}

// Store is one coordination store. The zero value is not usable: New.
type Store struct {
	rev       int64
	keys      map[string]*KV
	leases    map[coordinator.LeaseID]*lease
	nextLease coordinator.LeaseID
}

// ErrGuard is the refusal of a guarded write.
var ErrGuard = fmt.Errorf("guard failed")

// ErrNoLease is the refusal of a request naming a lease the store no
// longer knows.
var ErrNoLease = fmt.Errorf("lease not found")

// New returns an empty store at revision 1, as a new etcd cluster is.
func New() *Store {
	return &Store{rev: 1, keys: map[string]*KV{}, leases: map[coordinator.LeaseID]*lease{}, nextLease: 0x100}
}

// Revision is the store's current revision.
func (s *Store) Revision() int64 { return s.rev }

// Grant creates a lease of ttl, expiring ttl from now unless renewed.
func (s *Store) Grant(now time.Time, ttl time.Duration) coordinator.LeaseID {
	s.Expire(now)
	s.nextLease++
	s.leases[s.nextLease] = &lease{ttl: ttl, expires: now.Add(ttl), keys: map[string]bool{}}
	return s.nextLease
}

// KeepAlive renews a lease for its TTL from now.
func (s *Store) KeepAlive(now time.Time, id coordinator.LeaseID) (time.Duration, error) {
	s.Expire(now)
	l := s.leases[id]
	if l == nil {
		return 0, fmt.Errorf("keep-alive of lease %x: %w", id, ErrNoLease)
	}
	l.expires = now.Add(l.ttl)
	return l.ttl, nil
}

// Revoke ends a lease now, with its keys. A lease already gone is no
// error, as in etcd's clients that revoke on close.
func (s *Store) Revoke(now time.Time, id coordinator.LeaseID) {
	s.Expire(now)
	s.drop(id)
}

// Refresh restarts every lease's TTL from now. etcd does so when its raft
// leader changes, and so when it comes back from an outage: no keep-alive
// could reach it meanwhile, and expiring every lease at once would depose
// a leader that did nothing wrong.
func (s *Store) Refresh(now time.Time) {
	for _, l := range s.leases { // purity:unordered each lease is set alike, whatever the order
		l.expires = now.Add(l.ttl)
	}
}

// Expire ends every lease whose time has come, oldest expiry first, and
// returns them.
func (s *Store) Expire(now time.Time) []coordinator.LeaseID {
	var due []coordinator.LeaseID
	for id, l := range s.leases { // purity:unordered collects the due leases; they are sorted below
		if !now.Before(l.expires) {
			due = append(due, id)
		}
	}
	slices.SortFunc(due, func(a, b coordinator.LeaseID) int {
		if c := s.leases[a].expires.Compare(s.leases[b].expires); c != 0 {
			return c
		}
		return int(a - b)
	})
	for _, id := range due {
		s.drop(id)
	}
	return due
}

// NextExpiry is when the next lease expires, for the driver to come back
// then; false when no lease is held.
func (s *Store) NextExpiry() (time.Time, bool) {
	var next time.Time
	for _, l := range s.leases { // purity:unordered a minimum
		if next.IsZero() || l.expires.Before(next) {
			next = l.expires
		}
	}
	return next, !next.IsZero()
}

func (s *Store) drop(id coordinator.LeaseID) {
	l := s.leases[id]
	if l == nil {
		return
	}
	keys := make([]string, 0, len(l.keys))
	for k := range l.keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s.rev++
		delete(s.keys, k)
	}
	delete(s.leases, id)
}

// Campaign puts the election key of lease under prefix (prefix/<lease in
// hex>, as etcd's concurrency package names it) with value, and returns
// its create revision. A campaign again under the same lease keeps the
// key (and its place in the election).
func (s *Store) Campaign(now time.Time, prefix string, id coordinator.LeaseID, value []byte) (int64, error) {
	s.Expire(now)
	l := s.leases[id]
	if l == nil {
		return 0, fmt.Errorf("campaign under lease %x: %w", id, ErrNoLease)
	}
	key := ElectionKey(prefix, id)
	if kv, ok := s.keys[key]; ok {
		return kv.Create, nil
	}
	s.rev++
	s.keys[key] = &KV{Key: key, Value: slices.Clone(value), Create: s.rev, Mod: s.rev, Lease: id}
	l.keys[key] = true
	return s.rev, nil
}

// Leader is the election's winner under prefix: the live key with the
// lowest create revision; false when there is none.
func (s *Store) Leader(now time.Time, prefix string) (KV, bool) {
	s.Expire(now)
	var best *KV
	for k, kv := range s.keys { // purity:unordered a minimum over distinct create revisions
		if strings.HasPrefix(k, prefix+"/") && (best == nil || kv.Create < best.Create) {
			best = kv
		}
	}
	if best == nil {
		return KV{}, false
	}
	return *best, true
}

// Put is one write of a guarded transaction.
type Put struct {
	Key   string
	Value []byte
}

// Txn writes puts in one revision if guardKey exists with create revision
// guardRev (the writer's election key, still the one it was elected with),
// and refuses them all otherwise: a deposed leader's writes fail here.
func (s *Store) Txn(now time.Time, guardKey string, guardRev int64, puts []Put) (int64, error) {
	s.Expire(now)
	kv, ok := s.keys[guardKey]
	if !ok || kv.Create != guardRev {
		return 0, fmt.Errorf("write guarded on %s at revision %d: %w", guardKey, guardRev, ErrGuard)
	}
	if len(puts) == 0 {
		return s.rev, nil
	}
	s.rev++
	for _, p := range puts {
		if old, ok := s.keys[p.Key]; ok {
			old.Value, old.Mod = slices.Clone(p.Value), s.rev
			continue
		}
		s.keys[p.Key] = &KV{Key: p.Key, Value: slices.Clone(p.Value), Create: s.rev, Mod: s.rev}
	}
	return s.rev, nil
}

// Get returns the keys under prefix in key order.
func (s *Store) Get(now time.Time, prefix string) []KV {
	s.Expire(now)
	var out []KV
	for k, kv := range s.keys { // purity:unordered collected, then sorted
		if strings.HasPrefix(k, prefix) {
			out = append(out, *kv)
		}
	}
	slices.SortFunc(out, func(a, b KV) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// formatLease names a lease in keys, as etcd's clients do (hex).
func formatLease(id coordinator.LeaseID) string { return fmt.Sprintf("%x", int64(id)) }

// ElectionKey is the key a campaign under lease puts below prefix.
func ElectionKey(prefix string, id coordinator.LeaseID) string { return prefix + "/" + formatLease(id) }
