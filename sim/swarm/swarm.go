package swarm

import (
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/basalt-ha/basalt/sim/faults"
)

// Summary aggregates a swarm.
type Summary struct {
	Seeds    int
	Failed   []Result
	Coverage Coverage
	Events   uint64
	Virtual  time.Duration
	// Wall is the real time the swarm took, measured and set by the
	// caller (cmd/basalt-sim): the swarm itself never reads the clock.
	Wall time.Duration
	// Recoveries holds every measured recovery time, sorted.
	Recoveries []time.Duration
	// Takeovers holds every measured leader takeover (Result.Takeovers),
	// sorted.
	Takeovers []time.Duration
	// FeatureSeeds counts, per shape feature, the seeds whose shape had it,
	// and FeatureFailed those of them that failed (Config.Shapes only).
	FeatureSeeds, FeatureFailed map[string]int
}

// Percentile returns the p-th percentile (0..100) of recovery times.
func (s Summary) Percentile(p float64) time.Duration {
	if len(s.Recoveries) == 0 {
		return 0
	}
	i := int(float64(len(s.Recoveries)-1) * p / 100)
	return s.Recoveries[i]
}

// TakeoverPercentile returns the p-th percentile (0..100) of the leader
// takeovers, nearest rank; 0 without any.
func (s Summary) TakeoverPercentile(p float64) time.Duration {
	if len(s.Takeovers) == 0 {
		return 0
	}
	i := int(math.Ceil(float64(len(s.Takeovers))*p/100)) - 1
	return s.Takeovers[min(max(i, 0), len(s.Takeovers)-1)]
}

// addFeatures counts a seed's shape features.
func (s *Summary) addFeatures(r Result) {
	if len(r.Features) == 0 {
		return
	}
	if s.FeatureSeeds == nil {
		s.FeatureSeeds, s.FeatureFailed = map[string]int{}, map[string]int{}
	}
	for _, f := range r.Features {
		s.FeatureSeeds[f]++
		if r.Failed() {
			s.FeatureFailed[f]++
		}
	}
}

// Swarm runs seeds from..to on workers goroutines (0: one per core) and
// calls progress after each seed (from the caller's goroutine order is not
// guaranteed; progress must be safe for concurrent use). stopAtFirst ends
// the swarm at the first failing seed (the lowest one among those run).
func Swarm(cfg Config, from, to uint64, workers int, stopAtFirst bool, progress func(done int, r Result)) Summary {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	seeds := make(chan uint64)
	results := make(chan Result)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var once sync.Once
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range seeds {
				results <- RunSeed(cfg, s)
			}
		}()
	}
	go func() {
		defer close(seeds)
		for s := from; s <= to; s++ {
			select {
			case seeds <- s:
			case <-stop:
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	var sum Summary
	for r := range results {
		sum.Seeds++
		sum.Coverage.Add(r.Coverage)
		sum.Events += r.Events
		sum.Virtual += r.Virtual
		if r.Recovery >= 0 {
			sum.Recoveries = append(sum.Recoveries, r.Recovery)
		}
		sum.Takeovers = append(sum.Takeovers, r.Takeovers...)
		sum.addFeatures(r)
		if r.Failed() {
			sum.Failed = append(sum.Failed, r)
			if stopAtFirst {
				once.Do(func() { close(stop) })
			}
		}
		if progress != nil {
			progress(sum.Seeds, r)
		}
	}
	sort.Slice(sum.Recoveries, func(i, j int) bool { return sum.Recoveries[i] < sum.Recoveries[j] })
	slices.Sort(sum.Takeovers)
	sort.Slice(sum.Failed, func(i, j int) bool { return sum.Failed[i].Seed < sum.Failed[j].Seed })
	return sum
}

// Shrink looks for a smaller plan that still fails the same checker:
// delta debugging over the faults (drop chunks, then single faults), then a
// shorter chaos phase. It is deterministic: every candidate is a full run.
// budget bounds the runs.
func Shrink(cfg Config, plan faults.Plan, budget int) (faults.Plan, Result, int) {
	base := RunPlan(cfg, plan)
	if !base.Failed() {
		return plan, base, 1
	}
	kind := checkerOf(base)
	runs := 1
	fails := func(p faults.Plan) (Result, bool) {
		runs++
		r := RunPlan(cfg, p)
		return r, r.Failed() && checkerOf(r) == kind
	}
	best, bestRes := plan, base
	for n := 2; len(best.Faults) > 0 && runs < budget; {
		chunk := (len(best.Faults) + n - 1) / n
		reduced := false
		for i := 0; i < len(best.Faults) && runs < budget; i += chunk {
			cand := best
			cand.Faults = append(append([]faults.Fault{}, best.Faults[:i]...), best.Faults[min(i+chunk, len(best.Faults)):]...)
			if r, ok := fails(cand); ok {
				best, bestRes, reduced = cand, r, true
				break
			}
		}
		if reduced {
			n = max(n-1, 2)
			continue
		}
		if chunk == 1 {
			break
		}
		n = min(n*2, len(best.Faults))
	}
	// Shorten the chaos phase to just after the last fault.
	if len(best.Faults) > 0 && runs < budget {
		cand := best
		cand.Chaos = best.Faults[len(best.Faults)-1].At + time.Second
		if cand.Chaos < best.Chaos {
			if r, ok := fails(cand); ok {
				best, bestRes = cand, r
			}
		}
	}
	return best, bestRes, runs
}

func checkerOf(r Result) string {
	if len(r.Violations) > 0 {
		return r.Violations[0].Checker
	}
	if len(r.Lin) > 0 {
		return "linearizability"
	}
	return ""
}
