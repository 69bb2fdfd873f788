package swarm

import (
	"flag"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/internal/simgc"
	"github.com/basalt-ha/basalt/sim/shape"
)

var (
	benchLarge = flag.Bool("bench-large", false, "also benchmark a seed of the 256 hosts × 768 resources cluster")
	benchHuge  = flag.Bool("bench-huge", false, "also benchmark one virtual minute of the 1,000 hosts × 10,000 resources cluster")
)

// BenchmarkSeedSized runs one seed (seed 1) of generated clusters with
// every checker on, reporting simulated events per second, allocations per
// event and the seed's wall time. The 64- and 256-host clusters run their
// whole chaos and heal phases; the 256-host one only with -bench-large.
// The 1,000-host × 10,000-resource cluster (-bench-huge) runs one virtual
// minute, 30 s of chaos and 30 s of heal: issue 21 asks for that minute in
// under a minute of wall time.
func BenchmarkSeedSized(b *testing.B) {
	for _, s := range []struct {
		hosts, resources int
		flag             *bool
		name             string
		chaos, heal      time.Duration
		large            bool
	}{
		{hosts: 64, resources: 192},
		{hosts: 256, resources: 768, flag: benchLarge, name: "-bench-large"},
		{hosts: 1000, resources: 10000, flag: benchHuge, name: "-bench-huge", chaos: 30 * time.Second, heal: 30 * time.Second, large: true},
	} {
		b.Run(fmt.Sprintf("%dx%d", s.hosts, s.resources), func(b *testing.B) {
			if s.flag != nil && !*s.flag {
				b.Skipf("the %d-host cluster runs with %s", s.hosts, s.name)
			}
			text, err := shape.Sized(s.hosts, s.resources, s.large)
			if err != nil {
				b.Fatal(err)
			}
			m, err := model.Load("bench.yaml", text)
			if err != nil {
				b.Fatal(err)
			}
			benchSeeds(b, Config{Model: m, Chaos: s.chaos, Heal: s.heal}, func(int) uint64 { return 1 })
		})
	}
}

// benchSeeds runs b.N seeds (seed(i) the i-th) and reports the
// simulator's figures (benchRuns).
func benchSeeds(b *testing.B, cfg Config, seed func(i int) uint64) {
	benchRuns(b, func(i int) Result { return RunSeed(cfg, seed(i)) })
}

// benchRuns runs b.N runs (run(i) the i-th) and reports the simulator's
// figures: allocs/event counts every allocation of the runs, the checkers'
// included.
func benchRuns(b *testing.B, run func(i int) Result) {
	var events uint64
	var virtual time.Duration
	var before, after runtime.MemStats
	simgc.TuneGC() // as basalt-sim runs
	b.ReportAllocs()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := range b.N {
		r := run(i)
		events += r.Events
		virtual += r.Virtual
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	wall := b.Elapsed().Seconds()
	b.ReportMetric(float64(events)/wall, "events/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(events), "allocs/event")
	b.ReportMetric(float64(events)/float64(b.N), "events/seed")
	b.ReportMetric(virtual.Seconds()/wall, "virtual/wall")
	b.ReportMetric(float64(b.N)/wall*60, "seeds/min")
}

// BenchmarkSeedSteady runs seeds of the default cluster with every checker
// on but no fault (the faults of each seed's plan taken out, its network's
// latency and loss kept): the cluster boots, places its resources and then
// only heartbeats and monitors, the events a healthy cluster spends nearly
// all its time on. Its allocs/event are the hot path's, apart from the
// faults and recoveries that BenchmarkSeed's seeds are made of.
func BenchmarkSeedSteady(b *testing.B) {
	m, err := DefaultModel()
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Model: m}
	benchRuns(b, func(i int) Result {
		plan := PlanFor(cfg, uint64(i+1))
		plan.Faults = nil
		r := RunPlan(cfg, plan)
		if r.Failed() {
			b.Fatalf("seed %d without faults: %v", i+1, r.Violations)
		}
		return r
	})
}
