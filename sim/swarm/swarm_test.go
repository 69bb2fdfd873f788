package swarm

import (
	"flag"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/invariant"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/sim/faults"
)

var seeds = flag.Int("seeds", 150, "seeds the swarm test runs (each twice)")

// TestSwarmIsSafeAndDeterministic runs seeds of the default cluster with
// every checker on, each twice: no violation, and the same trace hash.
func TestSwarmIsSafeAndDeterministic(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	cfg := Config{Model: m}
	var cov Coverage
	for seed := uint64(1); seed <= uint64(*seeds); seed++ {
		a := RunSeed(cfg, seed)
		require.False(t, a.Failed(), "seed %d: %s (replay: basalt-sim replay --seed %d)", seed, a.Summary(), seed)
		b := RunSeed(cfg, seed)
		require.Equal(t, a.Hash, b.Hash, "seed %d replays differently", seed)
		require.Equal(t, a.Events, b.Events)
		require.GreaterOrEqual(t, a.Recovery, time.Duration(0))
		require.LessOrEqual(t, a.Recovery, a.Bound)
		cov.Add(a.Coverage)
	}
	// A green swarm must have exercised the hard paths.
	require.Positive(t, cov.Fences)
	require.Positive(t, cov.Failovers)
	require.Positive(t, cov.Partitions)
	require.Positive(t, cov.Pauses)
	require.Positive(t, cov.ManagerRestarts)
	// A superseded manager stands down: since the clock-jump grace covers
	// every late timer, a resumed stale manager reads the agents' hellos
	// before it acts and is deposed without a command refused, so stale
	// refusals come only in larger swarms (38 in seeds 1-1000); the
	// ignore-epoch canary proves the guard is what stops them.
	require.Positive(t, cov.DeposedConnsClosed)
	t.Logf("coverage over %d seeds: %+v", *seeds, cov)
}

// TestCanariesAreCaught runs each known defect until a checker catches it;
// each must be caught within 1,000 seeds of the default swarm.
func TestCanariesAreCaught(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	for _, canary := range Canaries {
		t.Run(canary, func(t *testing.T) {
			cfg := Config{Model: m, Canary: canary}
			for seed := uint64(1); seed <= 1000; seed++ {
				if r := RunSeed(cfg, seed); r.Failed() {
					t.Logf("canary %s caught after %d seeds: %s", canary, seed, r.Summary())
					return
				}
			}
			t.Fatalf("canary %s not caught within 1000 seeds", canary)
		})
	}
}

func TestDifferentSeedsDiffer(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	require.NotEqual(t, RunSeed(Config{Model: m}, 1).Hash, RunSeed(Config{Model: m}, 2).Hash)
}

func TestPlanRoundTripAndShrink(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	p := faults.Generate(m, 7, faults.Options{})
	data, err := p.Encode()
	require.NoError(t, err)
	back, err := faults.Decode(data)
	require.NoError(t, err)
	require.Equal(t, p, back)
	require.Equal(t, RunPlan(Config{Model: m}, p).Hash, RunPlan(Config{Model: m}, back).Hash, "a decoded plan replays identically")
	_, err = faults.Decode([]byte(`{"chaos": 1000, "heal": 1000, "faults": [{"at": 1, "kind": "meteor"}]}`))
	require.ErrorContains(t, err, `faults[0]: unknown kind "meteor"`)

	// Shrinking a canary's failure keeps it failing with fewer faults.
	cfg := Config{Model: m, Canary: "skip-fence"}
	var failing faults.Plan
	for seed := uint64(1); seed < 100; seed++ {
		if r := RunSeed(cfg, seed); r.Failed() && len(r.Plan.Faults) > 3 {
			failing = r.Plan
			break
		}
	}
	require.NotEmpty(t, failing.Faults)
	small, r, runs := Shrink(cfg, failing, 200)
	require.True(t, r.Failed())
	require.Less(t, len(small.Faults), len(failing.Faults))
	require.LessOrEqual(t, runs, 200)
	require.True(t, RunPlan(cfg, small).Failed(), "the shrunk plan fails on replay")
}

func TestSwarmSummary(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	done := 0
	sum := Swarm(Config{Model: m}, 1, 20, 2, true, func(n int, r Result) { done = max(done, n) })
	require.Equal(t, 20, sum.Seeds)
	require.Equal(t, 20, done)
	require.Empty(t, sum.Failed)
	require.Len(t, sum.Recoveries, 20)
	require.LessOrEqual(t, sum.Percentile(50), sum.Percentile(99))
	caught := Swarm(Config{Model: m, Canary: "no-probe"}, 1, 200, 2, true, nil)
	require.NotEmpty(t, caught.Failed)
	require.Less(t, caught.Seeds, 200, "stops at the first failure")
}

// TestSummaryPercentileNearestRank: on three seeds the p99 is the
// maximum (nearest rank, ceil(p*n)-1); the floor-based index gave the
// middle one.
func TestSummaryPercentileNearestRank(t *testing.T) {
	s := Summary{Recoveries: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}}
	require.Equal(t, 3*time.Second, s.Percentile(99))
	require.Equal(t, 3*time.Second, s.Percentile(90))
	require.Equal(t, 2*time.Second, s.Percentile(50))
	require.Equal(t, time.Second, s.Percentile(0))
	require.Equal(t, 3*time.Second, s.Percentile(100))
	ten := Summary{}
	for i := 1; i <= 10; i++ {
		ten.Recoveries = append(ten.Recoveries, time.Duration(i)*time.Second)
	}
	require.Equal(t, 9*time.Second, ten.Percentile(90))
	require.Equal(t, 5*time.Second, ten.Percentile(50))
	require.Equal(t, time.Duration(0), Summary{}.Percentile(99))
}

// TestSummaryBoundsAndWorkers: a summary carries the recovery bound its
// seeds were judged against and how many workers ran them, so that its
// reader can judge the percentiles and the rates.
func TestSummaryBoundsAndWorkers(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	sum := Swarm(Config{Model: m}, 1, 2, 1, false, nil)
	require.Equal(t, 1, sum.Workers)
	require.Equal(t, RecoveryBound(m), sum.BoundMin)
	require.Equal(t, RecoveryBound(m), sum.BoundMax)
	require.True(t, sum.Passed())
	require.Positive(t, Swarm(Config{Model: m}, 1, 1, 0, false, nil).Workers, "0 workers is one per core, and says how many")
}

// BenchmarkSeed measures the simulator on the default cluster with every
// checker on (seeds 1, 2, ...): simulated events per second per core,
// allocations per event, virtual time per wall time, and seeds per minute
// per core.
func BenchmarkSeed(b *testing.B) {
	m, err := DefaultModel()
	if err != nil {
		b.Fatal(err)
	}
	benchSeeds(b, Config{Model: m}, func(i int) uint64 { return uint64(i + 1) })
}

// TestCanariesEndWithVerdict runs every canary over a few dozen seeds
// without stopping at the first failure: each seed must end with a verdict
// (a violation or a pass), never a crash of the core it runs. A canary once
// re-entered the manager from its own fence effects and panicked.
func TestCanariesEndWithVerdict(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	for _, canary := range Canaries {
		t.Run(canary, func(t *testing.T) {
			cfg := Config{Model: m, Canary: canary}
			failed := 0
			for seed := uint64(1); seed <= 30; seed++ {
				var r Result
				require.NotPanics(t, func() { r = RunSeed(cfg, seed) }, "canary %s seed %d", canary, seed)
				if r.Failed() {
					failed++
				}
			}
			require.Positive(t, failed, "canary %s caught in none of 30 seeds", canary)
		})
	}
}

// TestBrokenInvariantIsAViolationOfItsSeed: a core machine that panics with
// an invariant.Error stops its seed, which is reported as a violation with
// the seed and the message; the swarm goes on with the other seeds.
func TestBrokenInvariantIsAViolationOfItsSeed(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	batches := 0
	breaks := func(mg *manager.Manager, now time.Time, effs []effect.Effect) []effect.Effect {
		if batches++; batches == 50 {
			invariant.Check(false, "manager", "test: broken on batch %d at epoch %d", batches, mg.Epoch())
		}
		return effs
	}
	var r Result
	require.NotPanics(t, func() { r = RunSeed(Config{Model: m, ManagerIntercept: breaks}, 5) })
	require.True(t, r.Failed())
	require.Equal(t, uint64(5), r.Seed)
	require.Equal(t, "assertion", r.Violations[0].Checker)
	require.Contains(t, r.Violations[0].Message, "manager: invariant broken: test: broken on batch 50")
	require.Contains(t, r.Summary(), "[assertion]")

	batches = 0
	sum := Swarm(Config{Model: m, ManagerIntercept: func(mg *manager.Manager, now time.Time, effs []effect.Effect) []effect.Effect {
		return effs
	}}, 1, 3, 1, true, nil)
	require.Empty(t, sum.Failed, "an intercept that changes nothing breaks nothing")
}

// TestReplicaSwarm runs the swarm with three manager replicas on the
// simulated etcd: the manager faults strike the leader, the etcd faults
// are drawn, and the leadership judge runs. It must pass, with leaders
// crashed and taken over from, the leader cut from etcd and etcd down.
func TestReplicaSwarm(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	sum := Swarm(Config{Model: m, Replicas: 3}, 1, 60, 2, false, nil)
	for _, r := range sum.Failed {
		t.Errorf("seed %d: %s", r.Seed, r.Summary())
	}
	require.Positive(t, sum.Coverage.LeaderTakeovers)
	require.Positive(t, sum.Coverage.EtcdCuts)
	require.Positive(t, sum.Coverage.EtcdOutages)
	require.Len(t, sum.Takeovers, sum.Coverage.LeaderTakeovers)
	t.Logf("takeover after a leader crash: p50 %s p99 %s over %d", sum.TakeoverPercentile(50), sum.TakeoverPercentile(99), len(sum.Takeovers))
}

// TestMergeIsTheSwarmOfBoth: the summaries of two sets of seeds merged
// are the summary of one swarm over both (shards of a swarm run apart),
// percentiles included, with the wall time and workers of both.
func TestMergeIsTheSwarmOfBoth(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	cfg := Config{Model: m, Canary: "skip-fence", Replicas: 3, Shapes: func(seed uint64) (*model.Model, []string, error) {
		return m, []string{fmt.Sprintf("odd=%v", seed%2 == 1)}, nil
	}}
	whole := Swarm(cfg, 1, 6, 1, false, nil)
	odd := SwarmSeeds(cfg, func(yield func(uint64) bool) { _ = yield(1) && yield(3) && yield(5) }, 1, false, nil)
	even := SwarmSeeds(cfg, func(yield func(uint64) bool) { _ = yield(2) && yield(4) && yield(6) }, 1, false, nil)
	even.Wall, odd.Wall = time.Second, 2*time.Second
	even.Merge(odd)
	require.Equal(t, 3*time.Second, even.Wall)
	require.Equal(t, 2, even.Workers)
	even.Wall, even.Workers = whole.Wall, whole.Workers
	require.NotEmpty(t, whole.Failed)
	require.NotEmpty(t, whole.Takeovers)
	require.Equal(t, whole, even)
}

func TestRangeEndsAtTheLargestSeed(t *testing.T) {
	require.Equal(t, []uint64{math.MaxUint64 - 1, math.MaxUint64}, slices.Collect(Range(math.MaxUint64-1, math.MaxUint64)))
	require.Empty(t, slices.Collect(Range(5, 4)))
	require.Equal(t, []uint64{7}, slices.Collect(Range(7, 7)))
}
