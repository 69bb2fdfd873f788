package shape

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/basalt-ha/basalt/core/model"
)

// spec is a shape before it is written out: what the YAML will say. Empty
// strings and zero values mean "key left out", so that the loader's
// defaults are exercised as well as explicit values.
type spec struct {
	name         string
	hosts        []string
	fencing      bool
	writeFencing bool // write "fencing: true" rather than rely on the default
	heartbeat    time.Duration
	dead         time.Duration
	writeDead    bool
	fenceTimeout time.Duration
	// deviceChecks is cluster.device-check-hosts; 0: not written.
	deviceChecks int
	opDefaults   opTimes
	devices      []device
	// topology holds each host's levels, by host index; nil leaves the
	// host to the implicit topology (each capable device its own level).
	topology  [][][]string
	resources []resource
	groups    []group
	palette   palette
}

// palette is what one shape may use, drawn first: swarm testing, applied
// to configurations. A shape that uses every policy at once would make it
// hard to tell which one a violation needs; each shape switches features
// on or off, so that coverage by feature, and violations by feature, mean
// something.
type palette struct {
	onFail   []string // the non-default on-fail values in use
	recovery []string // the recovery policies in use beyond the default

	clones, stickiness, failback, failTimeout, thresholds bool
	stopped, unmanaged, shuffled                          bool
}

// drawPalette switches each feature on with probability one half (a
// stopped target role and unmanaged groups one quarter: each takes a group
// out of the running until the heal).
func drawPalette(rng *rand.Rand) palette {
	var p palette
	for _, v := range onFails {
		if chance(rng, 2) {
			p.onFail = append(p.onFail, string(v))
		}
	}
	for _, r := range []model.Recovery{model.RecoveryRestart, model.RecoveryRelocate, model.RecoveryDisable} {
		if chance(rng, 2) {
			p.recovery = append(p.recovery, string(r))
		}
	}
	p.clones, p.stickiness, p.failback = chance(rng, 2), chance(rng, 2), chance(rng, 2)
	p.failTimeout, p.thresholds, p.shuffled = chance(rng, 2), chance(rng, 2), chance(rng, 2)
	p.stopped, p.unmanaged = chance(rng, 4), chance(rng, 4)
	return p
}

type opTimes struct{ start, stop, monitor time.Duration }

type device struct {
	id    string
	hosts []string
}

type op struct {
	timeout time.Duration // 0: the cluster's op-defaults
	onFail  string        // "": the loader's default
}

type monitor struct {
	interval time.Duration
	op
	depth      int
	writeDepth bool
}

type resource struct {
	id, name    string
	start, stop op
	monitors    []monitor
}

type member struct{ resource, parent string }

type domainHost struct {
	host     string
	priority int // -1: not written (the loader uses the listing order)
}

type placement struct {
	domain      []domainHost // nil: no domain key (every host, unrestricted)
	restricted  string       // "true", "false" or "" (default: true)
	failback    string
	stickiness  int // -1: not written
	threshold   int // -1: not written (default 3)
	failTimeout time.Duration
	recovery    string
	// multipleActive is the group's multiple-active policy; "": not written.
	multipleActive string
	// exclusive writes resource-discovery: exclusive (a restricted domain's
	// group only).
	exclusive    bool
	maxInstances int // 0: not written
	targetRole   string
	managed      string
}

type group struct {
	id, name  string
	members   []member
	placement placement
}

// drawFencing draws the fence devices and the topology. With fencing on,
// every host can be fenced by some device; no host is covered by more than
// three devices, so that an implicit topology has at most three levels.
func drawFencing(rng *rand.Rand, sp *spec) {
	sp.topology = make([][][]string, len(sp.hosts))
	if !sp.fencing && chance(rng, 2) {
		return
	}
	cover := make([]int, len(sp.hosts))
	for i, h := range sp.hosts {
		if chance(rng, 4) {
			continue
		}
		sp.devices = append(sp.devices, device{id: "pid-" + h, hosts: []string{h}})
		cover[i]++
	}
	shared := rng.IntN(4)
	for k := 1; k <= shared; k++ {
		var free []string
		for i, h := range sp.hosts {
			if cover[i] < 3 {
				free = append(free, h)
			}
		}
		if len(free) < 2 {
			break
		}
		hs := subset(rng, free, 2+rng.IntN(len(free)-1))
		slices.SortFunc(hs, func(a, b string) int { return slices.Index(sp.hosts, a) - slices.Index(sp.hosts, b) })
		sp.devices = append(sp.devices, device{id: fmt.Sprintf("pdu-%d", k), hosts: hs})
		for _, h := range hs {
			cover[slices.Index(sp.hosts, h)]++
		}
	}
	for i, h := range sp.hosts {
		if sp.fencing && cover[i] == 0 {
			sp.devices = append(sp.devices, device{id: "pid-" + h, hosts: []string{h}})
			cover[i]++
		}
	}
	for i, h := range sp.hosts {
		if capable := sp.capable(h); len(capable) > 0 && !chance(rng, 3) {
			sp.topology[i] = drawLevels(rng, capable)
		}
	}
}

// drawLevels draws one to three levels for a host from the devices that can
// fence it; a level of several devices (AND) needs them all.
func drawLevels(rng *rand.Rand, capable []string) [][]string {
	n := 1 + rng.IntN(3)
	var levels [][]string
	for range n {
		size := 1
		if len(capable) >= 2 && chance(rng, 3) {
			size = 2 + rng.IntN(min(3, len(capable))-1)
		}
		lv := subset(rng, capable, size)
		// A level that repeats an earlier one (as a set) would only try
		// the same devices again: drop it.
		if !slices.ContainsFunc(levels, func(o []string) bool { return sameSet(o, lv) }) {
			levels = append(levels, lv)
		}
	}
	return levels
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// capable lists the devices that can fence host, in file order.
func (sp *spec) capable(host string) []string {
	var out []string
	for _, d := range sp.devices {
		if slices.Contains(d.hosts, host) {
			out = append(out, d.id)
		}
	}
	return out
}

// maxLevels is the most fencing levels of any host, as
// model.FencingLevels counts them (and at least one, as the swarm's bound
// counts them).
func (sp *spec) maxLevels() int {
	levels := 1
	for i, h := range sp.hosts {
		if sp.topology[i] != nil {
			levels = max(levels, len(sp.topology[i]))
		} else {
			levels = max(levels, len(sp.capable(h)))
		}
	}
	return levels
}

// onFails are the on-fail values the model accepts, in its order.
var onFails = []model.OnFail{model.OnFailIgnore, model.OnFailBlock, model.OnFailStop, model.OnFailRestart,
	model.OnFailFence, model.OnFailStandby}

// drawOnFail leaves the default two times in three, else draws a value of
// the palette (fence only where allowed). A value the operation does not
// allow is drawn too, and turned into the default: the generator's random
// stream, and so every saved shape, stays as it was.
func drawOnFail(rng *rand.Rand, p palette, allowed []model.OnFail, fence bool) string {
	vals := p.onFail
	if !fence {
		vals = slices.DeleteFunc(slices.Clone(vals), func(v string) bool { return v == string(model.OnFailFence) })
	}
	if len(vals) == 0 || !chance(rng, 3) {
		return ""
	}
	if v := vals[rng.IntN(len(vals))]; slices.Contains(allowed, model.OnFail(v)) {
		return v
	}
	return ""
}
