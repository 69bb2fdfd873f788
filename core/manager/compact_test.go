package manager

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
)

// answerAll has the hosts answer every command in effs at once (probes
// "not running", everything else success), persisting what the manager
// asks, until nothing is left: a healthy cluster at rest, where a no-op
// request's report closes at once.
func answerAll(t *testing.T, mg *Manager, st *storage.Mem, now time.Time, effs []effect.Effect, onPersist func(*effect.Persist)) {
	t.Helper()
	answerEach(t, mg, now, effs, func(e effect.Effect) {
		if p, ok := e.(*effect.Persist); ok {
			onPersist(p)
		}
	})
}

// answerEach is answerAll showing each effect to each, in order.
func answerEach(t *testing.T, mg *Manager, now time.Time, effs []effect.Effect, each func(effect.Effect)) {
	t.Helper()
	for round := 0; len(effs) > 0; round++ {
		require.Less(t, round, 1000, "the cluster never came to rest")
		var next []effect.Effect
		for _, e := range effs {
			each(e)
			switch e := e.(type) {
			case *effect.Send:
				switch m := e.Msg.(type) {
				case proto.Exec:
					rc, probe := ocf.OK, m.Request.Action == ocf.Monitor && m.Request.Interval == 0
					if probe && !mg.Observed(m.Resource.ID, e.To).Monitored {
						rc = ocf.NotRunning
					}
					res := lrmResult(m.Resource.ID, m.Request.Action, m.Request.Interval, rc, lrm.Done, probe)
					next = append(next, mg.Receive(now, e.To, proto.OpResult{Host: e.To, Epoch: m.Epoch, Op: m.Op, Result: res})...)
				case proto.FenceExec:
					next = append(next, mg.Receive(now, e.To, proto.FenceResult{Host: e.To, Epoch: m.Epoch, Op: m.Op, Device: m.Device,
						Action: m.Action, Target: m.Target})...)
				}
			}
		}
		effs = next
	}
}

// requests cycles through admin requests, most of them no-ops (a clear of
// a group with nothing to clear), some changing durable decisions, so
// that what the log replays to is worth comparing.
func requests(i int) Request {
	switch i % 10 {
	case 1:
		return Request{Command: CmdBan, Target: "g", Host: "h2", Lifetime: time.Duration(i) * time.Hour}
	case 3:
		return Request{Command: CmdStandby, Target: "h2"}
	case 4:
		return Request{Command: CmdUnstandby, Target: "h2"}
	case 6:
		return Request{Command: CmdMaintenance, Flag: i%20 == 6}
	case 7:
		return Request{Command: CmdUnmanage, Target: "g"}
	case 8:
		return Request{Command: CmdManage, Target: "g"}
	}
	return Request{Command: CmdClear, Target: "g"}
}

// durable is what a manager recovered from st replays to, without the
// bounded history (events, closed reports) compaction cuts.
func durable(t *testing.T, st storage.Store) (Snapshot, uint64) {
	t.Helper()
	rec, err := Recover(st)
	require.NoError(t, err)
	mg := New(Config{Model: loadCluster(t, "single"), CompactRecords: 1 << 30, CompactBytes: 1 << 40})
	_, err = mg.Start(t0, rec.Epoch, rec.Records)
	require.NoError(t, err)
	s := mg.snapshot()
	s.Events = nil
	var open []Report
	for _, r := range s.Reports {
		if r.State == ReportOpen {
			open = append(open, r)
		}
	}
	s.Reports = open
	return s, mg.seq
}

// playRequests runs n admin requests through a manager on st, calling
// atCompaction with the store as a crash would leave it just before each
// compaction and just after it; it returns the log's size.
func playRequests(t *testing.T, st *storage.Mem, cfg Config, n int, atCompaction func(before, after *storage.Mem)) int {
	t.Helper()
	rec, err := Recover(st)
	require.NoError(t, err)
	mg := New(cfg)
	effs, err := mg.Start(t0, rec.Epoch, rec.Records)
	require.NoError(t, err)
	onPersist := func(p *effect.Persist) {
		if !p.Append && p.Name == EventLog && atCompaction != nil {
			before := st.Clone()
			persist(t, st, []effect.Effect{p})
			atCompaction(before, st.Clone())
			return
		}
		persist(t, st, []effect.Effect{p})
	}
	answerAll(t, mg, st, t0, effs, onPersist)
	for _, h := range []string{"h1", "h2"} {
		mg.HostConnected(t0, h, effect.ConnID(len(h)))
		answerAll(t, mg, st, t0, mg.Receive(t0, h, proto.Hello{Host: h}), onPersist)
	}
	for i := range n {
		now := t0.Add(time.Duration(i) * time.Second)
		_, effs, err := mg.Admin(now, requests(i))
		require.NoError(t, err)
		answerAll(t, mg, st, now, effs, onPersist)
	}
	data, err := st.Read(EventLog)
	require.NoError(t, err)
	return len(data)
}

// Hardening item 7: 2,000 admin requests grew the event log from 3 KB to
// 1 MB, with no bound. Compaction keeps it under its byte bound plus one
// snapshot and one input's records.
func TestCompactionBoundsTheLog(t *testing.T) {
	m := loadCluster(t, "single")
	whole := playRequests(t, storage.NewMem(), Config{Model: m, CompactRecords: 1 << 30, CompactBytes: 1 << 40}, 2000, nil)
	compactions := 0
	size := playRequests(t, storage.NewMem(), Config{Model: m}, 2000, func(_, _ *storage.Mem) { compactions++ })
	const bound = DefaultCompactBytes + 64<<10
	require.Greater(t, whole, bound, "without compaction the log outgrows the bound (the test means something)")
	require.LessOrEqual(t, size, bound, "compacted log: %d bytes (whole: %d)", size, whole)
	require.Greater(t, compactions, 1)
	t.Logf("2000 requests: %d bytes whole, %d bytes compacted (%d compactions)", whole, size, compactions)
}

// A crash just before and just after each compaction's write recovers the
// same durable state as the whole, never compacted log; so does the end
// of the run, and the sequence number goes on.
func TestCompactionCrashAtEachStepRecoversTheSameState(t *testing.T) {
	m := loadCluster(t, "single")
	whole := storage.NewMem()
	compacted := storage.NewMem()
	cfg := Config{Model: m, CompactRecords: 50}
	var crashes []func() error
	playRequests(t, compacted, cfg, 402, func(before, after *storage.Mem) {
		b, a := before, after
		crashes = append(crashes, func() error {
			sb, qb := durable(t, b)
			sa, qa := durable(t, a)
			if fmt.Sprint(sb) != fmt.Sprint(sa) || qb != qa {
				return fmt.Errorf("before %v #%d\nafter  %v #%d", sb, qb, sa, qa)
			}
			return nil
		})
	})
	require.Greater(t, len(crashes), 3)
	for i, check := range crashes {
		require.NoError(t, check(), "compaction %d", i)
	}
	playRequests(t, whole, Config{Model: m, CompactRecords: 1 << 30, CompactBytes: 1 << 40}, 402, nil)
	sw, qw := durable(t, whole)
	sc, qc := durable(t, compacted)
	require.Equal(t, sw, sc)
	require.Equal(t, qw, qc)
	require.NotEmpty(t, sw.Bans, "the run left constraints to compare")
}

// TestShadowWaitsOnlyForTheLogsTail: the shadow replays the records
// appended to the log only when it is read, at compaction; so what it has
// not read is at most the log's tail since its snapshot (and the snapshot's
// own record), which compaction bounds, and a compaction empties it.
func TestShadowWaitsOnlyForTheLogsTail(t *testing.T) {
	const bound = 40
	st := storage.NewMem()
	mg := New(Config{Model: loadCluster(t, "single"), CompactRecords: bound})
	effs, err := mg.Start(t0, 0, nil)
	require.NoError(t, err)
	onPersist := func(p *effect.Persist) { persist(t, st, []effect.Effect{p}) }
	answerAll(t, mg, st, t0, effs, onPersist)
	most, emptied := 0, 0
	for i := range 500 {
		now := t0.Add(time.Duration(i) * time.Second)
		before := len(mg.shadowBehind)
		_, effs, err := mg.Admin(now, requests(i))
		require.NoError(t, err)
		answerAll(t, mg, st, now, effs, onPersist)
		require.LessOrEqual(t, len(mg.shadowBehind), mg.logSize.records+1, "request %d", i)
		if len(mg.shadowBehind) < before {
			emptied++
		}
		most = max(most, len(mg.shadowBehind))
	}
	require.Less(t, most, 2*bound)
	require.Greater(t, most, bound/2, "the shadow waits (the test means something)")
	require.Greater(t, emptied, 2, "compactions read the shadow")
}

// TestLogLevelDropsOnlyTheRecordsBelowIt: a manager told a log level
// (Config.LogLevel, as the simulator's Warn) returns, input for input, the
// effects of one told none, but for the records below the level.
func TestLogLevelDropsOnlyTheRecordsBelowIt(t *testing.T) {
	run := func(level slog.Leveler) (kept, dropped []string) {
		mg := New(Config{Model: loadCluster(t, "single"), LogLevel: level})
		each := func(e effect.Effect) {
			if l, ok := e.(effect.Log); ok && l.Level < slog.LevelWarn {
				dropped = append(dropped, e.Describe())
				return
			}
			kept = append(kept, e.Describe())
		}
		effs, err := mg.Start(t0, 0, nil)
		require.NoError(t, err)
		answerEach(t, mg, t0, effs, each)
		for _, h := range []string{"h1", "h2"} {
			answerEach(t, mg, t0, mg.HostConnected(t0, h, effect.ConnID(len(h))), each)
			answerEach(t, mg, t0, mg.Receive(t0, h, proto.Hello{Host: h}), each)
		}
		for i := range 100 {
			now := t0.Add(time.Duration(i) * time.Second)
			_, effs, err := mg.Admin(now, requests(i))
			require.NoError(t, err)
			answerEach(t, mg, now, effs, each)
		}
		return kept, dropped
	}
	all, below := run(nil)
	require.Contains(t, strings.Join(below, "\n"), "dispatching", "the test means something")
	warn, none := run(slog.LevelWarn)
	require.Empty(t, none)
	require.Equal(t, all, warn)
}
