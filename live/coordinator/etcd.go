// Package coordinator is the live driver of the coordinator machine
// (core/coordinator): it carries the machine's requests to etcd, with
// go.etcd.io/etcd/client/v3 and its concurrency package (a session on the
// machine's lease, the election under the cluster's prefix), and hands the
// answers back as the machine's inputs. It decides nothing: when to renew,
// when a lease is trusted and when to demote are the machine's.
package coordinator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/basalt-ha/basalt/core/coordinator"
	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// Input is an answer of the store, as an input of the machine: the
// driver's loop runs it with the machine and the time it is handled at.
type Input func(m *coordinator.Machine, now time.Time) []effect.Effect

// Etcd carries the machine's requests to one etcd cluster. Its methods may
// be called from any goroutine; answers go to deliver, one at a time or
// concurrently, and the caller serialises them into its loop.
type Etcd struct {
	cli     *clientv3.Client
	prefix  string // the election prefix: <cluster prefix>/election
	deliver func(Input)
	log     *slog.Logger

	mu        sync.Mutex
	campaigns map[coordinator.LeaseID]context.CancelFunc
	closed    bool

	// renewNanos is the last answered keep-alive's round trip, and
	// renewFailures counts the keep-alives etcd did not answer: how close
	// the leader runs to its margin (the operator's lease renew latency).
	renewNanos    atomic.Int64
	renewFailures atomic.Uint64
}

// RenewLatency is the round trip of the last keep-alive etcd answered (0
// before any).
func (s *Etcd) RenewLatency() time.Duration { return time.Duration(s.renewNanos.Load()) }

// RenewFailures counts the keep-alives etcd did not answer.
func (s *Etcd) RenewFailures() uint64 { return s.renewFailures.Load() }

// New returns a driver for the cluster whose keys live under prefix (e.g.
// "/basalt/<cluster name>"). deliver receives the answers.
func New(cli *clientv3.Client, prefix string, deliver func(Input), log *slog.Logger) *Etcd {
	return &Etcd{cli: cli, prefix: prefix + "/election", deliver: deliver, log: log,
		campaigns: map[coordinator.LeaseID]context.CancelFunc{}}
}

// ElectionKey is the key a campaign under lease puts, as the concurrency
// package names it: the key a leader's writes are guarded on.
func (s *Etcd) ElectionKey(lease coordinator.LeaseID) string {
	return fmt.Sprintf("%s/%x", s.prefix, int64(lease))
}

// Do carries one effect of the machine to etcd, in the background; the
// effects that are not the store's are left to the caller (false).
func (s *Etcd) Do(e effect.Effect) bool {
	switch e := e.(type) {
	case coordinator.RequestLease:
		go s.grant(e)
	case coordinator.KeepAlive:
		go s.keepAlive(e)
	case coordinator.Campaign:
		s.campaign(e)
	case coordinator.Revoke:
		s.revoke(e.Lease)
	default:
		return false
	}
	return true
}

// seconds is a TTL as etcd takes it: whole seconds, rounded up, so that
// the lease granted is never shorter than the one asked for.
func seconds(d time.Duration) int64 { return int64(math.Ceil(d.Seconds())) }

func (s *Etcd) grant(e coordinator.RequestLease) {
	ctx, cancel := context.WithTimeout(context.Background(), e.TTL)
	defer cancel()
	resp, err := s.cli.Grant(ctx, seconds(e.TTL))
	if err != nil {
		s.log.Warn("etcd: lease not granted", slog.String("err", err.Error()))
		s.deliver(func(m *coordinator.Machine, now time.Time) []effect.Effect { return m.LeaseRefused(now, e.Req) })
		return
	}
	id, ttl := coordinator.LeaseID(resp.ID), time.Duration(resp.TTL)*time.Second
	s.deliver(func(m *coordinator.Machine, now time.Time) []effect.Effect {
		return m.LeaseGranted(now, e.Req, id, ttl)
	})
}

func (s *Etcd) keepAlive(e coordinator.KeepAlive) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sent := time.Now()
	resp, err := s.cli.KeepAliveOnce(ctx, clientv3.LeaseID(e.Lease))
	if err == nil {
		s.renewNanos.Store(int64(time.Since(sent)))
	} else {
		s.renewFailures.Add(1)
	}
	switch {
	case errors.Is(err, rpctypes.ErrLeaseNotFound):
		s.deliver(func(m *coordinator.Machine, now time.Time) []effect.Effect {
			return m.LeaseLost(now, e.Lease, "etcd no longer knows it")
		})
	case err != nil:
		// No answer is an answer the machine's expiry timer gives.
		s.log.Warn("etcd: keep-alive failed", slog.String("err", err.Error()))
	default:
		ttl := time.Duration(resp.TTL) * time.Second
		s.deliver(func(m *coordinator.Machine, now time.Time) []effect.Effect {
			return m.KeepAliveAnswered(now, e.Req, e.Lease, ttl)
		})
	}
}

// campaign runs the concurrency package's election on the lease, once per
// lease (the machine campaigns again on every renewal while a candidate:
// those are no-ops here while the first one waits).
func (s *Etcd) campaign(e coordinator.Campaign) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, running := s.campaigns[e.Lease]; running || s.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.campaigns[e.Lease] = cancel
	go func() {
		rev, err := s.elect(ctx, e)
		if err != nil {
			s.mu.Lock()
			delete(s.campaigns, e.Lease) // the next renewal campaigns again
			s.mu.Unlock()
			if ctx.Err() == nil {
				s.log.Warn("etcd: campaign failed", slog.String("err", err.Error()))
			}
			return
		}
		s.deliver(func(m *coordinator.Machine, now time.Time) []effect.Effect { return m.Elected(now, e.Lease, rev) })
	}()
}

// elect waits until the lease's key is the oldest under the prefix, and
// returns its create revision.
func (s *Etcd) elect(ctx context.Context, e coordinator.Campaign) (int64, error) {
	// The machine renews the lease itself; the session's own keep-alive
	// only adds renewals, which the machine's deadline never counts on.
	sess, err := concurrency.NewSession(s.cli, concurrency.WithLease(clientv3.LeaseID(e.Lease)), concurrency.WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("session on lease %x: %w", int64(e.Lease), err)
	}
	el := concurrency.NewElection(sess, s.prefix)
	if err := el.Campaign(ctx, e.Name); err != nil {
		sess.Orphan() // the lease is the machine's to revoke, not the session's
		return 0, fmt.Errorf("campaign on lease %x: %w", int64(e.Lease), err)
	}
	return el.Rev(), nil
}

func (s *Etcd) revoke(lease coordinator.LeaseID) {
	s.mu.Lock()
	if cancel, ok := s.campaigns[lease]; ok {
		cancel()
		delete(s.campaigns, lease)
	}
	s.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := s.cli.Revoke(ctx, clientv3.LeaseID(lease)); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			s.log.Warn("etcd: revoke failed (the lease will expire on its own)", slog.String("err", err.Error()))
		}
	}()
}

// ErrDeposed is the refusal of a write guarded on an epoch whose election
// key is gone: another manager leads, or will.
var ErrDeposed = errors.New("the leadership this write is guarded on has ended")

// Put writes kvs in one transaction guarded on the leadership of epoch
// under lease: it is applied only while that lease's election key exists
// with the create revision epoch. A refusal is ErrDeposed; the caller
// tells the machine (WriteRefused).
func (s *Etcd) Put(ctx context.Context, lease coordinator.LeaseID, epoch proto.Epoch, kvs map[string][]byte) error {
	key := s.ElectionKey(lease)
	ops := make([]clientv3.Op, 0, len(kvs))
	for _, k := range sortedKeys(kvs) {
		ops = append(ops, clientv3.OpPut(k, string(kvs[k])))
	}
	resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", int64(epoch))).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("guarded write at epoch %d: %w", epoch, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("write guarded on %s at revision %d: %w", key, epoch, ErrDeposed)
	}
	return nil
}

// Close cancels the campaigns under way; leases are the machine's to
// revoke (Resign) before.
func (s *Etcd) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, cancel := range s.campaigns {
		cancel()
	}
	clear(s.campaigns)
}
