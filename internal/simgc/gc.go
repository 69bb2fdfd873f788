// Package simgc sets the garbage collector for the simulator's processes
// (cmd/basalt-sim, and the simulator's benchmarks, which measure what it
// runs). It lives outside sim/, whose packages may not read the
// environment or the machine (core/purity_test.go).
package simgc

import (
	"os"
	"runtime/debug"
)

// SimGCPercent is the garbage collector's target that TuneGC sets: the heap
// may grow to 17 times what is live before a collection.
//
// A seed of the default cluster keeps a few megabytes live and allocates
// three to four per ten virtual minutes, so at Go's default (100) the
// collector ran every few thousand events and its marking, assists and
// write barriers took a fifth of a seed's CPU. Measured on BenchmarkSeed
// once allocations were down to 2.4 per event: 400 gave 850,000 events/s,
// 800 891,000, 1,600 902,000, 3,200 904,000; a two-worker swarm's
// resident memory went from 54 MB to 150 MB, and the 1,000-host minute
// (whose live heap is hundreds of megabytes, and which the memory limit
// bounds) from 0.90 GB to 0.99 GB while it ran 1.2 times as fast.
const SimGCPercent = 1600

// TuneGC sets the garbage collector for simulation, unless the environment
// already says how (GOGC or GOMEMLIMIT, which then keep their meaning):
// SimGCPercent, and a soft memory limit of half the machine's memory where
// it can be read, so that a large cluster (whose live heap is hundreds of
// megabytes) makes the collector run more often as it nears the limit
// rather than take 17 times its live heap. The simulator's own commands
// call it at start; so do its benchmarks, which measure what those
// commands run. Nothing it changes alters a seed's behaviour or trace.
func TuneGC() {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return
	}
	debug.SetGCPercent(SimGCPercent)
	if total := physicalMemory(); total > 0 {
		debug.SetMemoryLimit(int64(total / 2))
	}
}
