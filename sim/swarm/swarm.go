package swarm

import (
	"iter"
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
	return SwarmSeeds(cfg, Range(from, to), workers, stopAtFirst, progress)
}

// Range yields the seeds from..to in order (none when to < from), without
// wrapping around at the largest seed.
func Range(from, to uint64) iter.Seq[uint64] {
	return func(yield func(uint64) bool) {
		for s := from; s <= to; s++ {
			if !yield(s) || s == to {
				return
			}
		}
	}
}

// SwarmSeeds is Swarm over any sequence of seeds (a shard of a range), fed
// to the workers in its order.
func SwarmSeeds(cfg Config, seeds iter.Seq[uint64], workers int, stopAtFirst bool, progress func(done int, r Result)) Summary {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	todo := make(chan uint64)
	results := make(chan Result)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var once sync.Once
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range todo {
				results <- RunSeed(cfg, s)
			}
		}()
	}
	go func() {
		defer close(todo)
		for s := range seeds {
			select {
			case todo <- s:
			case <-stop:
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	sum := Summary{Workers: workers}
	for r := range results {
		sum.add(r)
		if r.Failed() && stopAtFirst {
			once.Do(func() { close(stop) })
		}
		if progress != nil {
			progress(sum.Seeds, r)
		}
	}
	sum.sort()
	return sum
}

// add counts one seed's result into the summary (unsorted: see sort).
func (s *Summary) add(r Result) {
	s.Seeds++
	s.Coverage.Add(r.Coverage)
	s.Events += r.Events
	s.Virtual += r.Virtual
	if r.Recovery >= 0 {
		s.Recoveries = append(s.Recoveries, r.Recovery)
	}
	s.Takeovers = append(s.Takeovers, r.Takeovers...)
	s.addFeatures(r)
	s.addBound(r.Bound)
	if r.Failed() {
		s.Failed = append(s.Failed, r)
	}
}

// sort orders what the percentiles and the failure report read.
func (s *Summary) sort() {
	slices.Sort(s.Recoveries)
	slices.Sort(s.Takeovers)
	sort.SliceStable(s.Failed, func(i, j int) bool { return s.Failed[i].Seed < s.Failed[j].Seed })
}

// Merge adds o, the summary of other seeds, to s: the result is what one
// swarm over both sets of seeds summarises, percentiles included (they are
// read from every recovery, never averaged). Both must be sorted, as
// Swarm returns them. Wall and Workers add up: the real time and the
// workers both swarms spent.
func (s *Summary) Merge(o Summary) {
	s.Seeds += o.Seeds
	s.Failed = append(s.Failed, o.Failed...)
	s.Coverage.Add(o.Coverage)
	s.Events += o.Events
	s.Virtual += o.Virtual
	s.Wall += o.Wall
	s.Workers += o.Workers
	s.Recoveries = mergeSorted(s.Recoveries, o.Recoveries)
	s.Takeovers = mergeSorted(s.Takeovers, o.Takeovers)
	s.addBound(o.BoundMin)
	s.addBound(o.BoundMax)
	if s.FeatureSeeds == nil && len(o.FeatureSeeds) > 0 {
		s.FeatureSeeds, s.FeatureFailed = map[string]int{}, map[string]int{}
	}
	for tag, n := range o.FeatureSeeds {
		s.FeatureSeeds[tag] += n
		if f := o.FeatureFailed[tag]; f > 0 {
			s.FeatureFailed[tag] += f
		}
	}
	sort.SliceStable(s.Failed, func(i, j int) bool { return s.Failed[i].Seed < s.Failed[j].Seed })
}

// mergeSorted merges two sorted lists into a new sorted one, in linear
// time: a merge of many shards' recoveries stays cheap.
func mergeSorted(a, b []time.Duration) []time.Duration {
	if len(a)+len(b) == 0 {
		return nil
	}
	out := make([]time.Duration, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if b[0] < a[0] {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
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
