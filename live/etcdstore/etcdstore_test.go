package etcdstore

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/core/storage/storagetest"
	"github.com/basalt-ha/basalt/internal/etcdtest"
	"github.com/basalt-ha/basalt/live/coordinator"
)

// prefixes numbers the clusters of one etcd, so that each test's store
// starts empty.
var prefixes atomic.Int64

func newPrefix() string { return fmt.Sprintf("/basalt/t%d", prefixes.Add(1)) }

// lead creates an election key under prefix, as a campaign would, and
// returns the guard on it.
func lead(t *testing.T, cli *clientv3.Client, prefix, name string) Guard {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	key := prefix + "/election/" + name
	_, err := cli.Put(ctx, key, name)
	require.NoError(t, err)
	resp, err := cli.Get(ctx, key)
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)
	return Guard{Key: key, Rev: resp.Kvs[0].CreateRevision}
}

func depose(t *testing.T, cli *clientv3.Client, g Guard) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := cli.Delete(ctx, g.Key)
	require.NoError(t, err)
}

func expect(t *testing.T, s storage.Store, name, want string) {
	t.Helper()
	b, err := s.Read(name)
	require.NoError(t, err)
	require.Equal(t, want, string(b), "content of %s", name)
}

// TestOnEtcd runs every test on one etcd, each under its own prefix, as
// starting an etcd costs more than most of the tests.
func TestOnEtcd(t *testing.T) {
	cli := etcdtest.Start(t)
	t.Run("Conformance", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Store {
			prefix := newPrefix()
			return New(cli, prefix, lead(t, cli, prefix, "m1"), 0)
		})
	})
	for _, c := range []struct {
		name string
		test func(*testing.T, *clientv3.Client)
	}{
		{"ManyChunks", testManyChunks},
		{"NamesThatExtendOthers", testNamesThatExtendOthers},
		{"ADeposedLeaderWritesNothing", testADeposedLeaderWritesNothing},
		{"ANewLeaderReadsWhatTheLastWrote", testANewLeaderReadsWhatTheLastWrote},
		{"AGuardWithoutARevisionIsRefused", testAGuardWithoutARevisionIsRefused},
		{"ConcurrentAppendsLoseNothing", testConcurrentAppendsLoseNothing},
		{"AForeignKeyIsAnError", testAForeignKeyIsAnError},
		{"AWriteWhileNoManagerRuns", testAWriteWhileNoManagerRuns},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, cli) })
	}
}

// A long log passes etcd's 128 operations in a transaction: Truncate and
// Write must not take an operation per chunk.
func testManyChunks(t *testing.T, cli *clientv3.Client) {
	prefix := newPrefix()
	s := New(cli, prefix, lead(t, cli, prefix, "m1"), 0)
	var want strings.Builder
	for i := range 150 {
		rec := fmt.Sprintf("r%d;", i)
		require.NoError(t, s.Append("log", []byte(rec)))
		want.WriteString(rec)
	}
	expect(t, s, "log", want.String())
	require.NoError(t, s.Truncate("log", 7), "a cut inside the third chunk")
	expect(t, s, "log", want.String()[:7])
	require.NoError(t, s.Append("log", []byte("next;")))
	expect(t, s, "log", want.String()[:7]+"next;")
	for range 140 {
		require.NoError(t, s.Append("log", []byte("x")))
	}
	require.NoError(t, s.Write("log", []byte("fresh")))
	expect(t, s, "log", "fresh")
	require.NoError(t, s.Append("log", []byte("+")))
	expect(t, s, "log", "fresh+")
}

// A name's chunks are not another's, even when one name extends the other.
func testNamesThatExtendOthers(t *testing.T, cli *clientv3.Client) {
	prefix := newPrefix()
	s := New(cli, prefix, lead(t, cli, prefix, "m1"), 0)
	for _, name := range []string{"a", "a.b", "a0", "ab"} {
		require.NoError(t, s.Append(name, []byte(name+"1")))
		require.NoError(t, s.Append(name, []byte(name+"2")))
	}
	require.NoError(t, s.Write("a", []byte("w")))
	require.NoError(t, s.Truncate("a.b", 1))
	require.NoError(t, s.Remove("a0"))
	expect(t, s, "a", "w")
	expect(t, s, "a.b", "a")
	expect(t, s, "ab", "ab1ab2")
	names, err := s.List()
	require.NoError(t, err)
	require.Equal(t, []string{"a", "a.b", "ab"}, names)
}

func testADeposedLeaderWritesNothing(t *testing.T, cli *clientv3.Client) {
	prefix := newPrefix()
	g := lead(t, cli, prefix, "m1")
	s := New(cli, prefix, g, 0)
	require.NoError(t, s.Write("epoch", []byte("7")))
	require.NoError(t, s.Append("log", []byte("a;")))
	require.NoError(t, s.Append("log", []byte("b;")))

	refused := func(why string) {
		t.Helper()
		for op, err := range map[string]error{
			"write":    s.Write("epoch", []byte("8")),
			"append":   s.Append("log", []byte("c;")),
			"truncate": s.Truncate("log", 2),
			"remove":   s.Remove("epoch"),
			"new name": s.Write("other", nil),
		} {
			require.ErrorIs(t, err, coordinator.ErrDeposed, "%s, %s", why, op)
			require.ErrorContains(t, err, g.Key, "%s, %s: the error names the guard", why, op)
			require.ErrorContains(t, err, fmt.Sprint(g.Rev), "%s, %s", why, op)
		}
		expect(t, s, "epoch", "7")
		expect(t, s, "log", "a;b;")
		names, err := s.List()
		require.NoError(t, err)
		require.Equal(t, []string{"epoch", "log"}, names, why)
	}
	depose(t, cli, g)
	refused("the election key is gone")
	again := lead(t, cli, prefix, "m1")
	require.NotEqual(t, g.Rev, again.Rev)
	refused("the election key is another leadership's")
}

func testANewLeaderReadsWhatTheLastWrote(t *testing.T, cli *clientv3.Client) {
	prefix := newPrefix()
	g1 := lead(t, cli, prefix, "m1")
	first := New(cli, prefix, g1, time.Second)
	require.NoError(t, first.Write("epoch", []byte("1")))
	require.NoError(t, first.Append("log", []byte("a;")))
	require.NoError(t, first.Append("log", []byte("b;")))
	require.NoError(t, first.Write("resources", []byte("r1")))
	require.NoError(t, first.Append("resources", []byte("+r2")))

	depose(t, cli, g1)
	next := New(cli, prefix, lead(t, cli, prefix, "m2"), time.Second)
	expect(t, next, "epoch", "1")
	expect(t, next, "log", "a;b;")
	expect(t, next, "resources", "r1+r2")
	names, err := next.List()
	require.NoError(t, err)
	require.Equal(t, []string{"epoch", "log", "resources"}, names)

	// It carries the log on where the last leader left it.
	require.NoError(t, next.Append("log", []byte("c;")))
	expect(t, next, "log", "a;b;c;")
	require.ErrorIs(t, first.Append("log", []byte("late;")), coordinator.ErrDeposed)
	expect(t, first, "log", "a;b;c;")
}

func testAGuardWithoutARevisionIsRefused(t *testing.T, cli *clientv3.Client) {
	prefix := newPrefix()
	// No election key exists: its create revision, 0, would match.
	s := New(cli, prefix, Guard{Key: prefix + "/election/none"}, 0)
	err := s.Write("epoch", []byte("1"))
	require.Error(t, err)
	require.NotErrorIs(t, err, coordinator.ErrDeposed)
	_, err = s.Read("epoch")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

func testConcurrentAppendsLoseNothing(t *testing.T, cli *clientv3.Client) {
	prefix := newPrefix()
	s := New(cli, prefix, lead(t, cli, prefix, "m1"), 0)
	const writers, each = 4, 10
	errs := make(chan error, writers*each)
	for w := range writers {
		go func() {
			for range each {
				errs <- s.Append("log", []byte{byte('a' + w)})
			}
		}()
	}
	for range writers * each {
		require.NoError(t, <-errs)
	}
	b, err := s.Read("log")
	require.NoError(t, err)
	require.Len(t, b, writers*each)
	for w := range writers {
		require.Equal(t, each, strings.Count(string(b), string(rune('a'+w))))
	}
}

func testAForeignKeyIsAnError(t *testing.T, cli *clientv3.Client) {
	prefix := newPrefix()
	s := New(cli, prefix, lead(t, cli, prefix, "m1"), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := cli.Put(ctx, prefix+"/state/log/zz", "x")
	require.NoError(t, err)
	require.ErrorContains(t, s.Append("log", []byte("a")), prefix+"/state/log/zz")
	_, err = cli.Put(ctx, prefix+"/state/stray", "x")
	require.NoError(t, err)
	_, err = s.List()
	require.ErrorContains(t, err, prefix+"/state/stray")
}

// An administrator's write guarded on NoneUnder the election is applied
// while no manager campaigns, and refused, changing nothing, once one does.
func testAWriteWhileNoManagerRuns(t *testing.T, cli *clientv3.Client) {
	prefix := newPrefix()
	admin := New(cli, prefix, Guard{NoneUnder: prefix + "/election/"}, 0)
	require.NoError(t, admin.Write("epoch", []byte("9")))
	expect(t, admin, "epoch", "9")
	lead(t, cli, prefix, "m1")
	err := admin.Write("epoch", []byte("12"))
	require.ErrorIs(t, err, ErrManagersRunning)
	require.Contains(t, err.Error(), "stop every replica first")
	expect(t, admin, "epoch", "9")
}
