package planner

import (
	"slices"

	"github.com/basalt-ha/basalt/core/model"
)

// index is what one plan reads of the observed state, gathered in a single
// pass over it: for each resource, the hosts where it may be active and
// those where its state is unknown, in host order. Planning a group then
// costs its members and the hosts that matter to it (where it runs, its
// domain, its failures, its bans), not every host of the cluster: a steady
// cluster is mostly "stopped" entries that change nothing.
type index struct {
	m     *model.Model
	names []string
	// active lists, by resource index in the model, the hosts where it is
	// running, failed or stop-failed, by host index, ascending: a slice,
	// where a map by name cost a growing table of its own per plan.
	active [][]hostState
	// unknown lists, as active, the hosts where its state is unknown; nil
	// when no resource has any.
	unknown [][]int
	// excl is why a host can run no group at all (its state, a fence of
	// it), "" when it can; open lists the hosts where it is "", in order.
	excl []string
	open []int
	// states and hosts hold the lists of active and unknown, one after
	// another.
	states []hostState
	hosts  []int
}

// activeOf is active for the resource r.
func (ix *index) activeOf(r string) []hostState {
	if i, ok := ix.m.ResourceIndex(r); ok {
		return ix.active[i]
	}
	return nil
}

// unknownOf is unknown for the resource r.
func (ix *index) unknownOf(r string) []int {
	if ix.unknown == nil { // the usual case, without a look-up
		return nil
	}
	if i, ok := ix.m.ResourceIndex(r); ok {
		return ix.unknown[i]
	}
	return nil
}

// setUnknown makes hosts the unknown list of the resource of index ri.
func (ix *index) setUnknown(ri int, hosts []int) {
	if len(hosts) == 0 {
		return
	}
	if ix.unknown == nil {
		ix.unknown = make([][]int, len(ix.active))
	}
	ix.unknown[ri] = hosts
}

// hostState is a resource's state on the host of index host.
type hostState struct {
	host int
	obs  Observed
}

// newIndex reads in's observed state (in.hostIdx set). Map order does not
// leak: each resource's hosts are sorted by index.
func newIndex(in *Input) *index {
	n := len(in.Model.Resources)
	// Every resource's lists share one array (the active ones, sized for a
	// steady cluster, where each runs once): a list per resource cost an
	// allocation each.
	strs := make([]string, 2*len(in.Hosts)) // names, then excl
	ix := &index{m: in.Model, names: strs[:len(in.Hosts):len(in.Hosts)], excl: strs[len(in.Hosts):],
		open: make([]int, 0, len(in.Hosts)), active: make([][]hostState, n), states: make([]hostState, 0, n)}
	answering := 0 // hosts where a missing entry means unknown
	for i, h := range in.Hosts {
		ix.names[i] = h.Name
		if h.State == Online || h.State == Unclean {
			answering++
		}
	}
	for ri := range in.Model.Resources {
		r := in.Model.Resources[ri].ID
		if in.Notable != nil {
			ix.notable(in, ri, r)
			continue
		}
		from := len(ix.states)
		known, explicitUnknown := 0, false
		for name, o := range in.Observed[r] { // purity:unordered collected, then sorted by host below
			i, ok := in.hostIdx[name]
			if !ok || o.State == "" {
				continue
			}
			switch {
			case o.State == Unknown:
				explicitUnknown = true
			case active(o.State):
				ix.states = append(ix.states, hostState{i, o})
			}
			if hs := in.Hosts[i].State; o.State != Unknown && (hs == Online || hs == Unclean) && in.Model.Discovers(r, name) {
				known++
			}
		}
		ix.setActive(ri, from)
		if known < ix.answering(in, r, answering) || explicitUnknown {
			ix.setUnknown(ri, ix.unknownHosts(in, r))
		}
	}
	return ix
}

// notable reads r's entries on the hosts in.Notable names: the others are
// stopped, neither active nor unknown.
func (ix *index) notable(in *Input, ri int, r string) {
	from, fromUnknown := len(ix.states), len(ix.hosts)
	observed := in.Observed[r]
	for name := range in.Notable[r] { // purity:unordered collected, then sorted by host below
		i, ok := in.hostIdx[name]
		if !ok {
			continue
		}
		o, ok := observed[name] // in.state, with r's and the host's look-ups done
		if !ok || o.State == "" {
			o = in.missing(r, in.Hosts[i])
		}
		switch {
		case o.State == Unknown:
			ix.hosts = append(ix.hosts, i)
		case active(o.State):
			ix.states = append(ix.states, hostState{i, o})
		}
	}
	ix.setActive(ri, from)
	if unknown := ix.hosts[fromUnknown:]; len(unknown) > 0 {
		slices.Sort(unknown)
		ix.setUnknown(ri, unknown[:len(unknown):len(unknown)])
	}
}

// setActive makes the active list of the resource of index ri the states
// appended from index from on, in host order. The list has no room to
// grow: appending to it, or the next resource's states, cannot write over
// the other.
func (ix *index) setActive(ri int, from int) {
	act := ix.states[from:]
	if len(act) == 0 {
		return
	}
	slices.SortFunc(act, func(a, b hostState) int { return a.host - b.host })
	ix.active[ri] = act[:len(act):len(act)]
}

// answering is how many hosts must answer for r: those of all that
// discover it (all of them, unless its discovery is exclusive).
func (ix *index) answering(in *Input, r string, all int) int {
	dom := in.Model.ExclusiveDomain(r)
	if dom == nil {
		return all
	}
	n := 0
	for _, dh := range dom {
		if i, ok := in.hostIdx[dh.Host]; ok && (in.Hosts[i].State == Online || in.Hosts[i].State == Unclean) {
			n++
		}
	}
	return n
}

// unknownHosts scans every host for r: only for a resource some host has
// not answered for, which that many probes answer.
func (ix *index) unknownHosts(in *Input, r string) []int {
	var out []int
	for i, h := range in.Hosts {
		if in.state(r, h.Name).State == Unknown {
			out = append(out, i)
		}
	}
	return out
}

// state is in.state as the index knows it: active where it lists the
// resource active, unknown where unknown, stopped anywhere else (the
// planner treats any other state as stopped).
func (p *plan) state(rsc, host string) Observed {
	i, ok := p.in.hostIdx[host]
	if !ok {
		return p.in.state(rsc, host)
	}
	ri, ok := p.ix.m.ResourceIndex(rsc)
	if !ok {
		return Observed{State: Stopped} // neither active nor unknown anywhere
	}
	for _, a := range p.ix.active[ri] {
		if a.host == i {
			return a.obs
		}
	}
	if p.ix.unknown != nil && slices.Contains(p.ix.unknown[ri], i) {
		return Observed{State: Unknown}
	}
	return Observed{State: Stopped}
}

// activeOn lists the hosts where any of rscs is active, in host order,
// in dst's array (or a new one when it is too small); nil when there is
// none.
func (ix *index) activeOn(dst []int, rscs []string) []int {
	n := 0
	for _, r := range rscs {
		n += len(ix.activeOf(r))
	}
	if n == 0 {
		return nil
	}
	out := slices.Grow(dst[:0], n) // sized once: the planner asks at every step
	for _, r := range rscs {
		for _, a := range ix.activeOf(r) {
			out = append(out, a.host)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// setExclusions records why each host can run nothing, from its state and
// the fences of this plan.
func (p *plan) setExclusions() {
	ix := p.ix
	ix.open = ix.open[:0]
	for i, h := range p.in.Hosts {
		why := p.hostStateExcluded(h)
		if fid, ok := p.fences[h.Name]; ok && why == "" {
			why = fenceExcluded(p.actions[fid])
		}
		ix.excl[i] = why
		if why == "" {
			ix.open = append(ix.open, i)
		}
	}
}

// hostLine is what explains the host of index host: why it is excluded,
// or else its score and the terms of it. The line itself is built only
// when read: nobody but "basalt resource why" reads it.
type hostLine struct {
	host     int
	excluded string
	score    int
	terms    scoreTerms
}

// line renders l for the host named name.
func (l hostLine) line(name string) string {
	if l.excluded != "" {
		return name + ": excluded: " + l.excluded
	}
	return scoreLine(name, l.score, l.terms)
}

// scoreLines explains a placement: the lines of the hosts that matter to
// the group (special, by host index), and for every other host what the
// index says of it, built only as they are read.
func (ix *index) scoreLines(special []hostLine, restricted bool) ScoreLines {
	return func(yield func(int, string) bool) {
		k := 0
		for i, name := range ix.names {
			var line string
			if k < len(special) && special[k].host == i {
				line, k = special[k].line(name), k+1
			} else {
				line = genericLine(name, ix.excl[i], restricted)
			}
			if !yield(i, line) {
				return
			}
		}
	}
}

// genericLine explains a host outside the group's domain where the group
// neither runs, nor failed, nor is banned or moved to: excluded by its own
// state or the restricted domain, or else a score of nothing.
func genericLine(name, excl string, restricted bool) string {
	if excl == "" && restricted {
		excl = "outside the restricted domain"
	}
	if excl != "" {
		return name + ": excluded: " + excl
	}
	return name + ": score 0 (outside the domain)"
}
