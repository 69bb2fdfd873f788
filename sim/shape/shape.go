// Package shape generates cluster configurations from a seed, so that a
// swarm explores cluster shapes instead of running every seed on the one
// default cluster: 2 to 8 hosts, 1 to 12 groups of resource trees up to four
// deep, failover domains of every kind, stickiness, thresholds and failure
// timeouts, every on-fail and recovery policy, anonymous clones, fencing
// topologies with AND-levels and shared devices, and fencing off.
//
// A shape is produced as YAML text and then loaded by model.Load, exactly as
// basalt-sim --config loads a file, so a shape is printable, can be saved
// with a failing seed and replayed, and can never be something the loader
// would refuse (a shape that fails to load is a bug of this package, and
// Generate says so).
//
// Generation is pure and deterministic: one seeded math/rand/v2 stream of
// its own, so the same seed gives byte-identical YAML whatever else the
// simulator draws from the same seed.
package shape

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/basalt-ha/basalt/core/model"
)

// streamShape keeps the shape's stream apart from every other stream drawn
// from the same seed (faults, workload, network, hosts): "shape".
const streamShape = 0x7368617065

// streamMultiple draws the groups' multiple-active policies on a stream of
// their own, added after shapes were saved: the shape stream, and so every
// saved shape, stays as it was.
const streamMultiple = 0x6d756c7469

// streamDiscovery draws exclusive discovery and bounded device checks, on
// a stream of their own for the same reason.
const streamDiscovery = 0x6469736376

// MaxRecoveryBound bounds the recovery bound of every shape (the one the
// swarm computes from a configuration: dead timeout, fencing levels, each
// group's operation timeouts, plus slack). It stays under the swarm's
// default heal phase of five minutes, so that a shaped seed is judged by its
// own bound and not cut short by the end of the run.
const MaxRecoveryBound = 290 * time.Second

// Shape is one generated cluster configuration.
type Shape struct {
	Seed uint64
	// YAML is the configuration file, as basalt-sim --config reads it.
	YAML []byte
	// Model is YAML loaded by model.Load.
	Model *model.Model
	// Features says what the shape exercises.
	Features Features
}

// FileName is the name the shape's configuration is loaded under (and that
// its errors and warnings carry).
func FileName(seed uint64) string { return fmt.Sprintf("shape-%d.yaml", seed) }

// Generate draws the shape of a seed. An error means the generator produced
// a configuration the loader refuses, which is a bug of this package; the
// error carries the loader's messages and the text.
func Generate(seed uint64) (Shape, error) {
	rng := rand.New(rand.NewPCG(seed, streamShape))
	sp := draw(rng, seed)
	text := sp.yaml()
	m, err := model.Load(FileName(seed), text)
	if err != nil {
		return Shape{}, fmt.Errorf("shape %d does not load (a generator bug): %w\n%s", seed, err, text)
	}
	return Shape{Seed: seed, YAML: text, Model: m, Features: FeaturesOf(m)}, nil
}

// draw builds the specification of a whole shape. Timing is drawn in an
// order that keeps the recovery bound within MaxRecoveryBound: fencing
// first (its levels cost the most), then the cluster's timers, and the
// groups' operation timeouts from what remains.
func draw(rng *rand.Rand, seed uint64) *spec {
	sp := &spec{name: fmt.Sprintf("shape-%d", seed), palette: drawPalette(rng)}
	n := 2 + rng.IntN(7)
	for i := 1; i <= n; i++ {
		sp.hosts = append(sp.hosts, fmt.Sprintf("h%d", i))
	}
	sp.fencing = rng.IntN(6) != 0
	sp.writeFencing = !sp.fencing || rng.IntN(2) == 0
	drawFencing(rng, sp)
	levels := sp.maxLevels()
	// Each level costs twice (fence timeout + 5 s) in the bound; fencing
	// gets at most 80 s of it.
	ftMax := 40*time.Second/time.Duration(levels) - 5*time.Second
	sp.fenceTimeout = pick(rng, 5*time.Second, ftMax, time.Second)
	sp.heartbeat = []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}[rng.IntN(3)]
	// Four to six heartbeats: message loss goes on after the heal, and at
	// three a few lost heartbeats get a healthy host fenced, whose reboot
	// outlasts the grace the swarm gives a healed cluster.
	sp.dead = time.Duration(4+rng.IntN(3)) * sp.heartbeat
	sp.writeDead = sp.dead != 5*sp.heartbeat || rng.IntN(2) == 0
	fenceCost := time.Duration(levels) * 2 * (sp.fenceTimeout + 5*time.Second)
	// What the groups may cost: the bound counts the worst group twice.
	groupBudget := (MaxRecoveryBound - 2*time.Minute - sp.dead - fenceCost) / 2
	sp.opDefaults = opTimes{
		start:   pick(rng, time.Second, 5*time.Second, time.Second),
		stop:    pick(rng, time.Second, 5*time.Second, time.Second),
		monitor: pick(rng, time.Second, 3*time.Second, time.Second),
	}
	drawGroups(rng, sp, groupBudget)
	drawMultipleActive(rand.New(rand.NewPCG(seed, streamMultiple)), sp)
	drawDiscovery(rand.New(rand.NewPCG(seed, streamDiscovery)), sp)
	return sp
}

// pick draws a duration in lo..hi in steps of step (lo when hi < lo).
func pick(rng *rand.Rand, lo, hi, step time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(rng.Int64N(int64((hi-lo)/step)+1))*step
}

// chance is true with probability 1/n.
func chance(rng *rand.Rand, n int) bool { return rng.IntN(n) == 0 }

// subset returns k distinct elements of list in a random order.
func subset(rng *rand.Rand, list []string, k int) []string {
	p := rng.Perm(len(list))
	out := make([]string, 0, k)
	for _, i := range p[:k] {
		out = append(out, list[i])
	}
	return out
}
