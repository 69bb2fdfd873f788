package coordinator

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/basalt-ha/basalt/core/coordinator"
	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/internal/etcdtest"
)

type manager struct {
	r      *Runner
	events chan effect.Effect
}

func newManager(t *testing.T, cli *clientv3.Client, name string) *manager {
	mg := &manager{events: make(chan effect.Effect, 16)}
	cfg := coordinator.Config{Name: name, TTL: 2 * time.Second, Margin: 500 * time.Millisecond, Retry: 300 * time.Millisecond}
	require.NoError(t, cfg.Validate())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mg.r = NewRunner(cfg, clock.New(), func(deliver func(Input)) *Etcd { return New(cli, "/basalt/test", deliver, log) },
		func(e effect.Effect) { mg.events <- e })
	t.Cleanup(mg.r.Stop)
	return mg
}

// await returns the next leadership event of one or two managers.
func await(t *testing.T, within time.Duration, mgs ...*manager) (int, effect.Effect) {
	t.Helper()
	var second chan effect.Effect // nil: never ready
	if len(mgs) > 1 {
		second = mgs[1].events
	}
	select {
	case e := <-mgs[0].events:
		return 0, e
	case e := <-second:
		return 1, e
	case <-time.After(within):
		t.Fatalf("no leadership event within %s", within)
	}
	return 0, nil
}

func TestOneLeaderOnEtcdAndATakeoverWhenItGoesSilent(t *testing.T) {
	cli := etcdtest.Start(t)
	a, b := newManager(t, cli, "m1"), newManager(t, cli, "m2")
	a.r.Start()
	b.r.Start()

	i, e := await(t, 15*time.Second, a, b)
	lead, ok := e.(coordinator.Lead)
	require.True(t, ok, "first event %v", e)
	first, second := []*manager{a, b}[i], []*manager{a, b}[1-i]
	require.True(t, first.r.MayAct())
	require.False(t, second.r.MayAct(), "two managers may act")

	lease := first.r.Lease()
	ctx := context.Background()
	require.NoError(t, first.r.Store().Put(ctx, lease, lead.Epoch, map[string][]byte{"/basalt/test/journal/1": []byte("x")}))
	require.ErrorIs(t, first.r.Store().Put(ctx, lease+1, lead.Epoch, map[string][]byte{"/basalt/test/journal/2": []byte("y")}), ErrDeposed)

	// The leader goes silent (its process stops renewing): its lease
	// expires in etcd, the other is elected with a larger epoch, and the
	// old leader's writes are refused inside etcd.
	first.r.Stop()
	_, e = await(t, 15*time.Second, second)
	next, ok := e.(coordinator.Lead)
	require.True(t, ok, "event %v", e)
	require.Greater(t, next.Epoch, lead.Epoch)
	require.True(t, second.r.MayAct())
	require.False(t, first.r.MayAct(), "the silent leader's deadline has passed")
	err := first.r.Store().Put(ctx, lease, lead.Epoch, map[string][]byte{"/basalt/test/journal/3": []byte("z")})
	require.ErrorIs(t, err, ErrDeposed)
	require.Less(t, uint64(next.Epoch), uint64(proto.MaxEpoch))
}
