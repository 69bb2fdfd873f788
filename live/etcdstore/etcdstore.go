// Package etcdstore is the durable state of a leading manager when managers
// are highly available: a storage.Store on etcd, so that the manager elected
// next reads what the last leader wrote. Every change is one etcd
// transaction guarded on the leader's election key (see core/coordinator):
// a deposed leader's writes fail inside etcd, whatever it believes, instead
// of racing its successor's.
//
// A name's content is a sequence of chunks, one key each,
// <prefix>/state/<name>/<sequence in 16 hex digits>, read back in key order.
// Appends add a chunk rather than rewrite the content, so that the cost of
// an append, and its request's size, do not grow with the log.
package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/live/coordinator"
)

// defaultTimeout bounds an etcd call when New is given no timeout.
const defaultTimeout = 5 * time.Second

// Guard is the leadership every write is guarded on: the election key of
// the leader's lease and its create revision (the leadership's epoch).
type Guard struct {
	Key string
	Rev int64
	// NoneUnder, set instead of Key and Rev, guards an administrator's
	// write (basalt-manager epoch --set) on no manager running: it holds
	// while no key exists under this prefix, the election's.
	NoneUnder string
}

// ErrManagersRunning is the refusal of a write guarded on NoneUnder while
// a manager campaigns.
var ErrManagersRunning = errors.New("a manager replica is running")

// Store implements storage.Store on etcd for one leadership. Its methods
// may be called from any goroutine.
//
// A write etcd refuses because the guard no longer holds returns an error
// wrapping coordinator.ErrDeposed, and changes nothing. Any other error of
// a write (a timeout, a lost connection) leaves its outcome unknown: like a
// crash in the middle of a write, the change may or may not be stored, but
// never in part. A Write or Append larger than etcd's request limit
// (--max-request-bytes, 1.5 MiB by default) is refused by etcd.
type Store struct {
	cli     *clientv3.Client
	state   string // <prefix>/state/: every chunk key starts with it
	guard   Guard
	timeout time.Duration
	// mu serialises the writes: Append and Truncate read the chunks before
	// their transaction, and a concurrent write of the same name between
	// the two would be overwritten or cut.
	mu sync.Mutex
}

var _ storage.Store = (*Store)(nil)

// New returns the store of the cluster whose keys live under prefix (e.g.
// "/basalt/<cluster name>"), writing under guard. timeout bounds each etcd
// call (0: 5s).
func New(cli *clientv3.Client, prefix string, guard Guard, timeout time.Duration) *Store {
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	return &Store{cli: cli, state: prefix + "/state/", guard: guard, timeout: timeout}
}

// namePrefix is the prefix of name's chunk keys. The '/' that ends it is
// refused in names by storage.ValidName, so no other name's chunks (not
// even those of a name that extends this one) fall in its range.
func (s *Store) namePrefix(name string) string { return s.state + name + "/" }

func (s *Store) chunkKey(name string, seq uint64) string {
	return fmt.Sprintf("%s%016x", s.namePrefix(name), seq)
}

// call is the context of one etcd call.
func (s *Store) call() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// Read implements storage.Store. It is not guarded: what a store holds is
// worth reading whoever leads.
func (s *Store) Read(name string) ([]byte, error) {
	if err := storage.ValidName(name); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	chunks, err := s.chunks(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(chunks) == 0 {
		return nil, fmt.Errorf("read %s: %w", name, storage.ErrNotFound)
	}
	size := 0
	for _, kv := range chunks {
		size += len(kv.Value)
	}
	out := make([]byte, 0, size) // non-nil: an empty record is not a missing one
	for _, kv := range chunks {
		out = append(out, kv.Value...)
	}
	return out, nil
}

// chunks returns name's chunks in key order, that is in sequence order.
func (s *Store) chunks(name string) ([]*mvccpb.KeyValue, error) {
	ctx, cancel := s.call()
	defer cancel()
	resp, err := s.cli.Get(ctx, s.namePrefix(name), clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, err
	}
	return resp.Kvs, nil
}

// Write implements storage.Store: the old chunks go with range deletes,
// whatever their number, as a delete per chunk would pass etcd's limit of
// operations in a transaction (128 by default) for a long log. The ranges
// leave out chunk 0's own key: etcd refuses a transaction that deletes a
// key it also puts.
func (s *Store) Write(name string, data []byte) error {
	if err := storage.ValidName(name); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	first := s.chunkKey(name, 0)
	return s.commit("write", name,
		clientv3.OpDelete(s.namePrefix(name), clientv3.WithRange(first)),
		clientv3.OpPut(first, string(data)),
		s.deleteAfter(name, first))
}

// deleteAfter deletes name's chunks after the chunk key.
func (s *Store) deleteAfter(name, key string) clientv3.Op {
	// key+"\x00" is the first key after key.
	return clientv3.OpDelete(key+"\x00", clientv3.WithRange(clientv3.GetPrefixRangeEnd(s.namePrefix(name))))
}

// Append implements storage.Store. A transaction applies whole or not at
// all, so an Append never leaves a torn tail.
func (s *Store) Append(name string, data []byte) error {
	if err := storage.ValidName(name); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next, err := s.nextSeq(name)
	if err != nil {
		return fmt.Errorf("append %s: %w", name, err)
	}
	// An empty append still stores a chunk: it creates a missing name, and
	// like every write it is refused to a deposed leader.
	return s.commit("append", name, clientv3.OpPut(s.chunkKey(name, next), string(data)))
}

// nextSeq is the sequence number of name's next chunk, one past its last.
// It is read outside the guarded transaction that uses it: only the leader
// writes, and mu keeps this store's own writes from coming in between.
func (s *Store) nextSeq(name string) (uint64, error) {
	ctx, cancel := s.call()
	defer cancel()
	resp, err := s.cli.Get(ctx, s.namePrefix(name), clientv3.WithLastKey()...)
	if err != nil {
		return 0, err
	}
	if len(resp.Kvs) == 0 {
		return 0, nil
	}
	last, err := s.seqOf(name, string(resp.Kvs[0].Key))
	if err != nil {
		return 0, err
	}
	if last == ^uint64(0) {
		return 0, fmt.Errorf("chunk sequence exhausted at %s", resp.Kvs[0].Key)
	}
	return last + 1, nil
}

// seqOf parses a chunk key of name. A key of another form under the name's
// prefix was not written by a Store: it is an error rather than a guess.
func (s *Store) seqOf(name, key string) (uint64, error) {
	hex := strings.TrimPrefix(key, s.namePrefix(name))
	seq, err := strconv.ParseUint(hex, 16, 64)
	if len(hex) != 16 || err != nil {
		return 0, fmt.Errorf("key %s is not a chunk of %s (16 hex digits after the name)", key, name)
	}
	return seq, nil
}

// Truncate implements storage.Store. It rewrites only the chunk the cut
// falls in and deletes those after it with one range delete, so that the
// transaction stays small however long the log is, and a log too long for
// one request can still be cut.
func (s *Store) Truncate(name string, size int64) error {
	if err := storage.ValidName(name); err != nil {
		return fmt.Errorf("truncate: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	chunks, err := s.chunks(name)
	if err != nil {
		return fmt.Errorf("truncate %s: %w", name, err)
	}
	if len(chunks) == 0 {
		return fmt.Errorf("truncate %s: %w", name, storage.ErrNotFound)
	}
	ops, err := s.cut(name, chunks, size)
	if err != nil {
		return err
	}
	return s.commit("truncate", name, ops...)
}

// cut returns the operations that cut chunks (name's, in order) back to
// size bytes: none when size is their length (the transaction still
// confirms the leadership, as every write does).
func (s *Store) cut(name string, chunks []*mvccpb.KeyValue, size int64) ([]clientv3.Op, error) {
	var off int64
	for _, kv := range chunks {
		end := off + int64(len(kv.Value))
		if size >= off && size < end {
			key := string(kv.Key)
			return []clientv3.Op{clientv3.OpPut(key, string(kv.Value[:size-off])), s.deleteAfter(name, key)}, nil
		}
		off = end
	}
	if size != off || size < 0 {
		return nil, fmt.Errorf("truncate %s to %d: size is outside 0..%d", name, size, off)
	}
	return nil, nil
}

// Remove implements storage.Store.
func (s *Store) Remove(name string) error {
	if err := storage.ValidName(name); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commit("remove", name, clientv3.OpDelete(s.namePrefix(name), clientv3.WithPrefix()))
}

// List implements storage.Store. Chunk keys sort differently from names
// ("a.b/..." before "a/...", as '.' < '/'), hence the sort.
func (s *Store) List() ([]string, error) {
	ctx, cancel := s.call()
	defer cancel()
	resp, err := s.cli.Get(ctx, s.state, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.state, err)
	}
	names := []string{}
	for _, kv := range resp.Kvs {
		name, _, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), s.state), "/")
		if !ok || storage.ValidName(name) != nil {
			return nil, fmt.Errorf("list %s: key %s is not a chunk of a stored name", s.state, kv.Key)
		}
		if len(names) == 0 || names[len(names)-1] != name {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// commit runs ops (op, on name) in one transaction guarded on s.guard.
func (s *Store) commit(op, name string, ops ...clientv3.Op) error {
	g := s.guard
	cmp := clientv3.Compare(clientv3.CreateRevision(g.Key), "=", g.Rev)
	switch {
	case g.NoneUnder != "":
		// Over a range, every key must compare: a create revision of 0
		// holds for the empty range alone.
		cmp = clientv3.Compare(clientv3.CreateRevision(g.NoneUnder), "=", 0).WithPrefix()
	case g.Key == "" || g.Rev <= 0:
		// The create revision of a missing key is 0: a guard on revision
		// 0 would hold exactly when there is no leader.
		return fmt.Errorf("%s %s: guard %q at revision %d is no leadership's", op, name, g.Key, g.Rev)
	}
	ctx, cancel := s.call()
	defer cancel()
	resp, err := s.cli.Txn(ctx).If(cmp).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, name, err)
	}
	switch {
	case resp.Succeeded:
		return nil
	case g.NoneUnder != "":
		return fmt.Errorf("%s %s: a key exists under %s: %w; stop every replica first", op, name, g.NoneUnder, ErrManagersRunning)
	}
	return fmt.Errorf("%s %s: write guarded on %s at revision %d: %w", op, name, g.Key, g.Rev, coordinator.ErrDeposed)
}
