package shape

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/basalt-ha/basalt/core/model"
)

// maxDepth is the deepest resource tree drawn (the root is depth 1).
const maxDepth = 4

// drawGroups draws 1 to 12 groups. budget bounds what one group's
// operation timeouts may add up to (starts, stops and monitors of every
// member), which is what the swarm's recovery bound charges per group.
func drawGroups(rng *rand.Rand, sp *spec, budget time.Duration) {
	n := 1 + rng.IntN(12)
	for gi := 1; gi <= n; gi++ {
		size := 1 + rng.IntN(4)
		if chance(rng, 4) {
			size += rng.IntN(3)
		}
		g := group{id: fmt.Sprintf("g%d", gi)}
		if chance(rng, 2) {
			g.name = fmt.Sprintf("service %d", gi)
		}
		depth := map[string]int{}
		for ri := 1; ri <= size; ri++ {
			r := drawResource(rng, sp, fmt.Sprintf("g%d-r%d", gi, ri), budget/time.Duration(size))
			mem := member{resource: r.id}
			if ri > 1 {
				mem.parent = drawParent(rng, g.members, depth)
			}
			depth[r.id] = depth[mem.parent] + 1
			g.members = append(g.members, mem)
			sp.resources = append(sp.resources, r)
		}
		// Members listed children first: parents must still start first,
		// whatever the order of the file.
		if sp.palette.shuffled && chance(rng, 2) {
			shuffled := make([]member, len(g.members))
			for i, j := range rng.Perm(len(g.members)) {
				shuffled[i] = g.members[j]
			}
			g.members = shuffled
		}
		g.placement = drawPlacement(rng, sp, sp.palette)
		sp.groups = append(sp.groups, g)
	}
}

// multipleActives are the multiple-active policies shapes draw. block is
// left out: it waits for an administrator to stop the extra instances by
// hand, which nobody does in the swarm, so its heal could never end.
var multipleActives = []model.MultipleActive{model.MultipleStopUnexpected, model.MultipleStopStart, model.MultipleStopOnly}

// drawMultipleActive gives one group in three a multiple-active policy
// written out (the default, stop-unexpected, among them).
func drawMultipleActive(rng *rand.Rand, sp *spec) {
	for i := range sp.groups {
		if chance(rng, 3) {
			sp.groups[i].placement.multipleActive = string(multipleActives[rng.IntN(len(multipleActives))])
		}
	}
}

// drawDiscovery makes a third of the groups that can run only in their
// domain probed there alone (resource-discovery: exclusive), and has a
// third of the fenced shapes check each device from fewer hosts than all
// (cluster.device-check-hosts): what large clusters configure.
func drawDiscovery(rng *rand.Rand, sp *spec) {
	for i := range sp.groups {
		pl := &sp.groups[i].placement
		if chance(rng, 3) && pl.domain != nil && pl.restricted != "false" {
			pl.exclusive = true
		}
	}
	if sp.fencing && len(sp.hosts) > 1 && chance(rng, 3) {
		sp.deviceChecks = 1 + rng.IntN(len(sp.hosts)-1)
	}
}

// drawParent picks the parent of a new member among those above the
// deepest level; half the time the last one, so that deep chains are
// common rather than rare.
func drawParent(rng *rand.Rand, members []member, depth map[string]int) string {
	last := members[len(members)-1].resource
	if depth[last] < maxDepth && chance(rng, 2) {
		return last
	}
	var open []string
	for _, m := range members {
		if depth[m.resource] < maxDepth {
			open = append(open, m.resource)
		}
	}
	return open[rng.IntN(len(open))]
}

// drawResource draws one statefile resource whose operation timeouts add
// up to at most budget.
func drawResource(rng *rand.Rand, sp *spec, id string, budget time.Duration) resource {
	r := resource{id: id}
	if chance(rng, 2) {
		r.name = "resource " + id
	}
	nmon := 1
	if chance(rng, 3) && budget >= 8*time.Second {
		nmon = 2
	}
	// Every operation gets the same share; whole seconds, at least one.
	share := max(time.Second, min(20*time.Second, (budget/time.Duration(2+nmon)).Truncate(time.Second)))
	timeout := func(def time.Duration) time.Duration {
		if def <= share && chance(rng, 3) {
			return 0 // inherit the cluster's op-defaults
		}
		return pick(rng, time.Second, share, time.Second)
	}
	// fence without fencing is refused; it is drawn as ever and written as
	// the default, which keeps the generator's stream (and saved shapes).
	withFence := onFails
	if !sp.fencing {
		withFence = slices.DeleteFunc(slices.Clone(onFails), func(v model.OnFail) bool { return v == model.OnFailFence })
	}
	r.start = op{timeout: timeout(sp.opDefaults.start), onFail: drawOnFail(rng, sp.palette, withFence, true)}
	r.stop = op{timeout: timeout(sp.opDefaults.stop), onFail: drawOnFail(rng, sp.palette, model.StopOnFails(), sp.fencing)}
	first := []time.Duration{5 * time.Second, 10 * time.Second, 15 * time.Second, 20 * time.Second, 30 * time.Second}
	second := []time.Duration{time.Minute, 2 * time.Minute}
	r.monitors = append(r.monitors, monitor{interval: first[rng.IntN(len(first))],
		op: op{timeout: timeout(sp.opDefaults.monitor), onFail: drawOnFail(rng, sp.palette, withFence, true)}, writeDepth: chance(rng, 4)})
	if nmon == 2 {
		m := monitor{interval: second[rng.IntN(len(second))],
			op: op{timeout: timeout(sp.opDefaults.monitor), onFail: drawOnFail(rng, sp.palette, withFence, true)}}
		if chance(rng, 2) {
			m.depth, m.writeDepth = 10, true
		}
		r.monitors = append(r.monitors, m)
	}
	return r
}

// drawPlacement draws a group's domain and policies.
func drawPlacement(rng *rand.Rand, sp *spec, p palette) placement {
	pl := placement{stickiness: -1, threshold: -1}
	restricted := false
	limit := len(sp.hosts)
	if kind := rng.IntN(4); kind > 0 {
		hosts := subset(rng, sp.hosts, 1+rng.IntN(len(sp.hosts)))
		for i, h := range hosts {
			prio := -1 // ordered by listing
			switch kind {
			case 1:
				prio = i + 1 + rng.IntN(3) // ordered, with gaps
			case 2:
				prio = 1 // unordered: all equal
			}
			pl.domain = append(pl.domain, domainHost{host: h, priority: prio})
		}
		pl.restricted = []string{"", "true", "false"}[rng.IntN(3)]
		restricted = pl.restricted != "false"
		pl.failback = []string{"", "false"}[rng.IntN(2)]
		if p.failback && chance(rng, 2) {
			pl.failback = "true"
		}
		if restricted {
			limit = len(hosts)
		}
	}
	if p.stickiness && chance(rng, 2) {
		pl.stickiness = []int{0, 1, 10, 100, 1000, 1_000_000}[rng.IntN(6)]
	}
	switch {
	case !p.thresholds: // the default, 3
	case chance(rng, 3):
		pl.threshold = 0 // never ban
	default:
		pl.threshold = 1 + rng.IntN(5)
	}
	if p.failTimeout && chance(rng, 2) {
		pl.failTimeout = []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute,
			5 * time.Minute, 10 * time.Minute}[rng.IntN(6)]
	}
	if len(p.recovery) > 0 && chance(rng, 2) {
		pl.recovery = p.recovery[rng.IntN(len(p.recovery))]
	}
	// Anonymous clones, at most as many as the hosts the group may use:
	// more could never all run, and the swarm's liveness check wants
	// exactly clone-max.
	switch {
	case p.clones && limit >= 2 && chance(rng, 3):
		pl.maxInstances = 2 + rng.IntN(limit-1)
	case chance(rng, 10):
		pl.maxInstances = 1
	}
	switch {
	case p.stopped && chance(rng, 5):
		pl.targetRole = string(model.RoleStopped)
	case chance(rng, 10):
		pl.targetRole = string(model.RoleStarted)
	}
	switch {
	case p.unmanaged && chance(rng, 5):
		pl.managed = "false"
	case chance(rng, 10):
		pl.managed = "true"
	}
	return pl
}
