package daemon_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/internal/etcdtest"
	"github.com/basalt-ha/basalt/live/daemon"
	"github.com/basalt-ha/basalt/live/ha"
)

// replicas are three manager replicas on one etcd, as three basalt-manager
// --etcd processes would run.
type replicas struct {
	t  testing.TB
	lc *daemon.LiveCluster
	rs map[string]*ha.Replica
}

func startReplicas(t testing.TB, lc *daemon.LiveCluster, ttl time.Duration, names ...string) *replicas {
	cli := etcdtest.Start(t)
	rp := &replicas{t: t, lc: lc, rs: map[string]*ha.Replica{}}
	for _, n := range names {
		r, err := ha.Start(ha.Config{Name: n, Client: cli, TTL: ttl, Daemon: lc.ManagerConfig(),
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		require.NoError(t, err)
		rp.rs[n] = r
		t.Cleanup(r.Stop)
	}
	return rp
}

// leader waits (bounded) for exactly one replica to lead, other than
// those in not, and returns its name and daemon.
func (rp *replicas) leader(not ...string) (string, *daemon.ManagerDaemon) {
	rp.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var names []string
		var d *daemon.ManagerDaemon
		for n, r := range rp.rs {
			if rd := r.Daemon(); rd != nil {
				names, d = append(names, n), rd
			}
		}
		require.LessOrEqual(rp.t, len(names), 1, "two replicas act at once: %v", names)
		if len(names) == 1 && !slices.Contains(not, names[0]) {
			return names[0], d
		}
		time.Sleep(50 * time.Millisecond)
	}
	rp.t.Fatalf("no replica leads within 30s (excluding %v)", not)
	return "", nil
}

// A replica takes over from a leader that stops without resigning (as a
// kill -9 would leave it: its lease lapses), adopts what runs, and
// recovers a resource that failed meanwhile; the group is never active on
// two hosts, and the deposed leader's daemon acts on nothing more.
func TestManagerReplicasTakeOver(t *testing.T) {
	lc := daemon.NewLiveCluster(t, []string{"h1", "h2"})
	lc.Await("the group runs on h1 under the single manager", func() bool { return lc.Running("h1") })
	lc.Manager().Stop() // the cluster moves to replicas; what runs goes on
	rp := startReplicas(t, lc, 2*time.Second, "m1", "m2", "m3")
	first, d := rp.leader()
	lc.Await("the first leader adopts the group on h1", func() bool { return lc.RunningUnder(d, "h1") })

	rp.awaitFollowing(first)

	// The leader dies as kill -9 would leave it: its daemon stops, its
	// lease is not revoked, and the other replicas wait out its TTL.
	killed := rp.rs[first]
	delete(rp.rs, first)
	d.Stop()
	killed.StopWithoutResigning()
	// Meanwhile the mount dies on h1.
	require.NoError(t, os.Remove(filepath.Join(lc.HostsDir(), "h1", "resources", "statefile-mnt.state")))

	next, d2 := rp.leader(first)
	require.NotEqual(t, first, next)
	lc.Await("the new leader recovers the mount", func() bool {
		for _, r := range []string{"pool", "mnt"} {
			require.LessOrEqual(t, len(lc.ActiveHosts(r)), 1, "%s active on %v", r, lc.ActiveHosts(r))
		}
		return lc.RunningUnder(d2, "h1") || lc.RunningUnder(d2, "h2")
	})
	require.False(t, d.Leads(), "the old leader's daemon acts on nothing more")
	msg := takeoverOf(t, d2)
	require.Contains(t, msg, next+" took over at epoch ")
	require.Contains(t, msg, "from "+first+" (epoch ")
	require.Contains(t, msg, "whose lease ran out without a resignation")
	require.Regexp(t, `[1-9][0-9]* while standing by`, msg, "the standby followed the journal before the takeover")
}

// A leader stopped by its operator resigns: its successor is elected at
// once rather than after the lease, and its takeover event says so.
func TestResignedLeaderIsNamedByItsSuccessor(t *testing.T) {
	lc := daemon.NewLiveCluster(t, []string{"h1", "h2"})
	lc.Await("the group runs on h1 under the single manager", func() bool { return lc.Running("h1") })
	lc.Manager().Stop()
	rp := startReplicas(t, lc, 5*time.Second, "m1", "m2")
	first, d := rp.leader()
	lc.Await("the first leader adopts the group on h1", func() bool { return lc.RunningUnder(d, "h1") })
	rp.awaitFollowing(first)
	stopped := rp.rs[first]
	delete(rp.rs, first)
	stopped.Stop()
	next, d2 := rp.leader(first)
	lc.Await("the new leader adopts the group on h1", func() bool { return lc.RunningUnder(d2, "h1") })
	msg := takeoverOf(t, d2)
	require.Contains(t, msg, next+" took over at epoch ")
	require.Contains(t, msg, "from "+first+" (epoch ")
	require.Contains(t, msg, "which resigned: stopped by its operator")
}

// awaitFollowing waits (bounded) until every replica but the leader has
// followed the journal.
func (rp *replicas) awaitFollowing(leader string) {
	rp.t.Helper()
	rp.lc.Await("the standbys follow the journal", func() bool {
		for n, r := range rp.rs {
			if n != leader && r.Followed() == 0 {
				return false
			}
		}
		return true
	})
}

// takeoverOf is the message of the takeover event d's manager recorded
// when it started.
func takeoverOf(t *testing.T, d *daemon.ManagerDaemon) string {
	t.Helper()
	msg := ""
	d.View(func(m *manager.Manager) {
		for _, e := range m.Events() {
			if e.Kind == "takeover" {
				msg = e.Message
			}
		}
	})
	require.NotEmpty(t, msg, "no takeover event")
	return msg
}

// BenchmarkTakeover: the leader stops as kill -9 would leave it (its lease
// lapses) while the mount dies; the figures are the time until a standby
// leads, and until it has the mount running again, with the default lease
// (ha.DefaultTTL). The goal is a takeover within the TTL plus a second.
func BenchmarkTakeover(b *testing.B) {
	var lead, recover time.Duration
	for range b.N {
		b.StopTimer()
		lc := daemon.NewLiveCluster(b, []string{"h1", "h2"})
		lc.Await("the group runs on h1", func() bool { return lc.Running("h1") })
		lc.Manager().Stop()
		rp := startReplicas(b, lc, ha.DefaultTTL, "m1", "m2", "m3")
		first, d := rp.leader()
		lc.Await("adopted", func() bool { return lc.RunningUnder(d, "h1") })
		b.StartTimer()
		t0 := time.Now()
		killed := rp.rs[first]
		delete(rp.rs, first)
		killed.StopWithoutResigning()
		require.NoError(b, os.Remove(filepath.Join(lc.HostsDir(), "h1", "resources", "statefile-mnt.state")))
		_, d2 := rp.leader(first)
		t1 := time.Now()
		lc.Await("recovered", func() bool { return lc.RunningUnder(d2, "h1") || lc.RunningUnder(d2, "h2") })
		lead += t1.Sub(t0)
		recover += time.Since(t0)
	}
	n := float64(b.N)
	b.ReportMetric(float64(lead.Milliseconds())/n, "lead-ms")
	b.ReportMetric(float64(recover.Milliseconds())/n, "recover-ms")
	b.ReportMetric(ha.DefaultTTL.Seconds()*1000, "ttl-ms")
	b.ReportMetric(0, "ns/op")
}
