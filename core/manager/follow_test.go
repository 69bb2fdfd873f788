package manager

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/eventlog"
	"github.com/basalt-ha/basalt/core/storage"
)

// logRecords is the event log of st as a standby reads it.
func logRecords(t *testing.T, st storage.Store) [][]byte {
	t.Helper()
	data, err := st.Read(EventLog)
	require.NoError(t, err)
	d, err := eventlog.Decode(data)
	require.NoError(t, err)
	return d.Records
}

// A warm standby that followed the log as it grew, compactions included,
// starts exactly as a cold manager started on the same log: the same
// effects, the same durable state, the same shadow for the next
// compaction, the same sequence numbers.
func TestFollowerLeadsAsAColdStartWould(t *testing.T) {
	m := loadCluster(t, "single")
	cfg := Config{Model: m, CompactRecords: 50}
	st := storage.NewMem()
	f := NewFollower(cfg)
	follow := func(s storage.Store) {
		_, err := f.Follow(logRecords(t, s))
		require.NoError(t, err)
	}
	// lagging follows once, early, and next at the takeover, when the log
	// has been rewritten and has grown past what it replayed.
	lagging := NewFollower(cfg)
	playRequests(t, st, cfg, 2, nil)
	_, err := lagging.Follow(logRecords(t, st))
	require.NoError(t, err)
	for range 4 {
		// A compaction rewrites the log: following just before it and
		// just after makes the follower see a log that is no longer the
		// one it replayed.
		playRequests(t, st, cfg, 101, func(before, after *storage.Mem) { follow(before); follow(after) })
		follow(st)
	}
	playRequests(t, st, cfg, 7, nil) // a tail the follower has not seen
	_, resets := f.Replayed()
	require.Positive(t, resets, "the follower saw rewritten logs (the test means something)")

	rec, err := Recover(st)
	require.NoError(t, err)
	early, _ := lagging.Replayed()
	require.Greater(t, len(rec.Records), early, "the rewritten log outgrew what the lagging follower replayed")
	now := t0.Add(time.Hour)
	cold := New(cfg)
	coldEffs, err := cold.Start(now, rec.Epoch, rec.Records)
	require.NoError(t, err)
	for _, f := range []*Follower{f, lagging} {
		warm, warmEffs, err := f.Lead(now, rec.Epoch, rec.Records)
		require.NoError(t, err)
		require.Equal(t, describeEffects(coldEffs), describeEffects(warmEffs))
		require.Equal(t, cold.snapshot(), warm.snapshot())
		require.Equal(t, cold.shadowNow().snapshot(), warm.shadowNow().snapshot())
		require.Equal(t, cold.seq, warm.seq)
		require.Equal(t, cold.logSize, warm.logSize)
		require.Equal(t, cold.Events(), warm.Events())
		_, err = f.Follow(rec.Records)
		require.ErrorIs(t, err, ErrFollowerSpent)
	}
}

// A record that does not decode is refused and leaves the follower as it
// was; the good log is followed afterwards.
func TestFollowerRefusesADamagedRecord(t *testing.T) {
	m := loadCluster(t, "single")
	st := storage.NewMem()
	playRequests(t, st, Config{Model: m}, 5, nil)
	good := logRecords(t, st)
	f := NewFollower(Config{Model: m})
	_, err := f.Follow(good[:2])
	require.NoError(t, err)
	bad := append(append([][]byte{}, good[:3]...), []byte("{not json"))
	_, err = f.Follow(bad)
	require.ErrorContains(t, err, "event log record 3")
	n, _ := f.Replayed()
	require.Equal(t, 2, n)
	replayed, err := f.Follow(good)
	require.NoError(t, err)
	require.Equal(t, len(good)-2, replayed)
}

// startReplica starts replica name on st as a new leader does, at now,
// and returns its manager with the takeover event it recorded.
func startReplica(t *testing.T, st storage.Store, cfg Config, name string, now time.Time) (*Manager, string) {
	t.Helper()
	cfg.Replica = name
	rec, err := Recover(st)
	require.NoError(t, err)
	mg := New(cfg)
	effs, err := mg.Start(now, rec.Epoch, rec.Records)
	require.NoError(t, err)
	persist(t, st, effs)
	events := mg.Events()
	for i := len(events) - 1; i >= 0; i-- {
		if e := events[i]; e.Kind == "takeover" {
			require.Equal(t, name, e.Manager)
			require.Equal(t, uint64(mg.Epoch()), e.Epoch)
			return mg, e.Message
		}
	}
	t.Fatalf("%s started with no takeover event", name)
	return nil, ""
}

// Each takeover says whom it took over from and why: nobody, a lease that
// ran out (with when the old leader last wrote), a resignation with its
// reason, the same replica again; a compaction keeps what it needs.
func TestTakeoverEventNamesItsCause(t *testing.T) {
	m := loadCluster(t, "single")
	cfg := Config{Model: m, CompactRecords: 20}
	st := storage.NewMem()

	_, msg := startReplica(t, st, cfg, "m1", t0)
	require.Contains(t, msg, "m1 leads at epoch 1: no replica led this cluster before")

	_, msg = startReplica(t, st, cfg, "m2", t0.Add(5*time.Second))
	require.Contains(t, msg, "m2 took over at epoch 2 from m1 (epoch 1), whose lease ran out without a resignation")
	require.Contains(t, msg, "its last record was written 5s before")

	m2, _ := startReplica(t, st, cfg, "m2", t0.Add(6*time.Second))
	persist(t, st, m2.Resign(t0.Add(7*time.Second), "stopped by its operator"))
	_, msg = startReplica(t, st, cfg, "m3", t0.Add(8*time.Second))
	require.Contains(t, msg, "m3 took over at epoch 4 from m2 (epoch 3), which resigned: stopped by its operator")
	require.NotContains(t, msg, "last record")

	cfg.Replica = "m3"
	compactions := 0
	playRequests(t, st, cfg, 60, func(_, _ *storage.Mem) { compactions++ })
	require.Positive(t, compactions)
	_, msg = startReplica(t, st, cfg, "m3", t0.Add(time.Hour))
	require.Contains(t, msg, "m3 leads again at epoch 6; its leadership at epoch 5 ended without a resignation")

	_, msg = startReplica(t, st, cfg, "m1", t0.Add(2*time.Hour))
	require.Contains(t, msg, "m1 took over at epoch 7 from m3 (epoch 6)")
	require.Contains(t, msg, "its last record was written 1h0m0s before")
}

// A lone manager records no leadership: its log reads as before replicas
// existed, and it has nothing to resign.
func TestLoneManagerRecordsNoLeadership(t *testing.T) {
	m := loadCluster(t, "single")
	st := storage.NewMem()
	mg := New(Config{Model: m})
	effs, err := mg.Start(t0, 0, nil)
	require.NoError(t, err)
	persist(t, st, effs)
	for _, e := range mg.Events() {
		require.NotEqual(t, "takeover", e.Kind)
		require.Empty(t, e.Manager)
		require.Zero(t, e.Epoch)
	}
	require.Empty(t, mg.Resign(t0, "stop"))
	require.Nil(t, mg.snapshot().Leader)
}

// describeEffects is each effect's line, in order.
func describeEffects(effs []effect.Effect) []string {
	out := make([]string, len(effs))
	for i, e := range effs {
		out[i] = e.Describe()
	}
	return out
}
