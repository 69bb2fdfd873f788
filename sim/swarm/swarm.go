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
	// Workers is how many seeds ran at once (Swarm's workers, 0 resolved
	// to one per core), printed beside Wall so that a rate can be read.
	Workers int
	// Recoveries holds every measured recovery time, sorted.
	Recoveries []time.Duration
	// Takeovers holds every measured leader takeover (Result.Takeovers),
	// sorted.
	Takeovers []time.Duration
	// BoundMin and BoundMax are the smallest and largest recovery bounds
	// (Result.Bound) the seeds were judged against: equal on one cluster,
	// a range when each seed draws its own shape. The percentiles mean
	// little without the bound they must stay under.
	BoundMin, BoundMax time.Duration
	// FeatureSeeds counts, per shape feature, the seeds whose shape had it,
	// and FeatureFailed those of them that failed (Config.Shapes only).
	FeatureSeeds, FeatureFailed map[string]int
}

// Percentile returns the p-th percentile (0..100) of recovery times, by
// nearest rank: the smallest time at least p percent of the recoveries
// are at or under (index ceil(p/100*n)-1). The index used to be the floor
// of p/100*(n-1), which on three seeds gave a p99 below the maximum.
func (s Summary) Percentile(p float64) time.Duration { return nearestRank(s.Recoveries, p) }

// nearestRank is the p-th percentile (0..100) of sorted, by nearest rank;
// 0 for none.
func nearestRank(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(n))) - 1
	return sorted[min(max(i, 0), n-1)]
}

// Passed reports whether no seed failed.
func (s Summary) Passed() bool { return len(s.Failed) == 0 }

// addBound widens the range of recovery bounds by a seed's (none for a
// seed that never ran its cluster, such as a shape generator's error).
func (s *Summary) addBound(b time.Duration) {
	if b <= 0 {
		return
	}
	if s.BoundMin == 0 || b < s.BoundMin {
		s.BoundMin = b
	}
	s.BoundMax = max(s.BoundMax, b)
}

// TakeoverPercentile returns the p-th percentile (0..100) of the leader
// takeovers, nearest rank; 0 without any.
func (s Summary) TakeoverPercentile(p float64) time.Duration { return nearestRank(s.Takeovers, p) }

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
	sum := Summary{Workers: workers}
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
		sum.addBound(r.Bound)
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
