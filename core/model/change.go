package model

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// OrphanPrefix starts the ID of a group made for one orphaned resource: a
// resource that may still run somewhere but is configured nowhere (removed
// from a group that stays, or found on a host at start-up). IDs in a file
// cannot contain "/", so it never collides with a configured group.
const OrphanPrefix = "orphan/"

// Change is what a new configuration changes in the running one: the IDs
// added, removed and changed, by kind, each sorted. Cluster lists the
// cluster options that differ.
type Change struct {
	Hosts, Devices, Resources, Groups Delta
	Cluster                           []string
	// Topology lists the hosts whose fencing levels differ.
	Topology []string
}

// Delta is one kind's IDs added, removed and changed.
type Delta struct {
	Added, Removed, Changed []string
}

func (d Delta) empty() bool { return len(d.Added)+len(d.Removed)+len(d.Changed) == 0 }

// Empty reports whether the new configuration changes nothing.
func (c Change) Empty() bool {
	return c.Hosts.empty() && c.Devices.empty() && c.Resources.empty() && c.Groups.empty() &&
		len(c.Cluster) == 0 && len(c.Topology) == 0
}

// String renders the change as an operator reads it, one line per kind and
// verb: "+ group web", "- resource db-ip", "~ resource fs (definition)".
func (c Change) String() string {
	if c.Empty() {
		return "no changes\n"
	}
	var b strings.Builder
	for _, k := range []struct {
		name string
		d    Delta
	}{{"host", c.Hosts}, {"fence device", c.Devices}, {"group", c.Groups}, {"resource", c.Resources}} {
		for _, id := range k.d.Added {
			fmt.Fprintf(&b, "+ %s %s\n", k.name, id)
		}
		for _, id := range k.d.Removed {
			fmt.Fprintf(&b, "- %s %s\n", k.name, id)
		}
		for _, id := range k.d.Changed {
			fmt.Fprintf(&b, "~ %s %s\n", k.name, id)
		}
	}
	for _, h := range c.Topology {
		fmt.Fprintf(&b, "~ fencing topology of %s\n", h)
	}
	for _, o := range c.Cluster {
		fmt.Fprintf(&b, "~ cluster %s\n", o)
	}
	return b.String()
}

// Diff compares two configurations. Orphan groups of old (OrphanPrefix) are
// not configuration and are left out.
func Diff(old, new *Model) Change {
	var c Change
	c.Hosts = delta(old.Hosts, new.Hosts, func(h Host) string { return h.Name })
	c.Devices = delta(old.FenceDevices, new.FenceDevices, func(d FenceDevice) string { return d.ID })
	c.Resources = delta(old.Resources, new.Resources, func(r Resource) string { return r.ID })
	c.Groups = delta(configured(old.Groups), new.Groups, func(g Group) string { return g.ID })
	for _, h := range sortedUnion(slices.Sorted(maps.Keys(old.Topology)), slices.Sorted(maps.Keys(new.Topology))) {
		if !reflect.DeepEqual(old.Topology[h], new.Topology[h]) {
			c.Topology = append(c.Topology, h)
		}
	}
	c.Cluster = clusterChanges(old.Cluster, new.Cluster)
	return c
}

// configured drops the orphan groups.
func configured(gs []Group) []Group {
	return slices.DeleteFunc(slices.Clone(gs), func(g Group) bool { return g.Orphan })
}

// delta compares two lists of one kind by ID. Line numbers are where a
// definition sits in its file, not what it says, and do not count.
func delta[T any](old, new []T, id func(T) string) Delta {
	byID := make(map[string]T, len(old))
	for _, o := range old {
		byID[id(o)] = o
	}
	var d Delta
	seen := map[string]bool{}
	for _, n := range new {
		k := id(n)
		seen[k] = true
		o, ok := byID[k]
		switch {
		case !ok:
			d.Added = append(d.Added, k)
		case !sameIgnoringLine(o, n):
			d.Changed = append(d.Changed, k)
		}
	}
	for _, o := range old {
		if !seen[id(o)] {
			d.Removed = append(d.Removed, id(o))
		}
	}
	slices.Sort(d.Added)
	slices.Sort(d.Removed)
	slices.Sort(d.Changed)
	return d
}

func sameIgnoringLine[T any](a, b T) bool {
	switch x := any(&a).(type) {
	case *Resource:
		x.Line, x.digest = 0, ""
		y := any(&b).(*Resource)
		y.Line, y.digest = 0, ""
	case *Group:
		x.Line = 0
		any(&b).(*Group).Line = 0
	}
	return reflect.DeepEqual(a, b)
}

func sortedUnion(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// clusterChanges names the cluster options that differ.
func clusterChanges(a, b Cluster) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, fmt.Sprintf("%s: %v -> %v", va.Type().Field(i).Name, va.Field(i).Interface(), vb.Field(i).Interface()))
		}
	}
	return out
}

// WithOrphans returns new with the orphans of old that may still run
// (mayRun says which resources may be active anywhere) added as groups to
// be stopped. A group gone from new keeps its ID and its tree, so that its
// members stop in dependency order; members configured in new again are
// left out, and the others hang from their nearest remaining ancestor. A
// resource removed from a group that stays becomes a group of its own
// (OrphanPrefix). new is not changed.
func WithOrphans(old, new *Model, mayRun func(rsc string) bool) *Model {
	out := *new
	out.Resources = slices.Clone(new.Resources)
	out.Groups = slices.Clone(new.Groups)
	for _, g := range old.Groups {
		keep := func(r string) bool {
			_, configured := new.Resource(r)
			return !configured && mayRun(r)
		}
		if _, stays := new.Group(g.ID); stays {
			for _, r := range g.StartOrder() {
				if keep(r) {
					out.addOrphan(old, Group{ID: OrphanPrefix + r, Name: r, Members: []Member{{Resource: r}}, Placement: g.Placement})
				}
			}
			continue
		}
		if og, ok := orphanTree(&g, keep); ok {
			out.addOrphan(old, og)
		}
	}
	out.Index()
	return &out
}

// orphanTree is g reduced to the members keep keeps, each under its nearest
// kept ancestor; the first kept member in start order is the root, and
// other members left without a parent hang from it.
func orphanTree(g *Group, keep func(string) bool) (Group, bool) {
	og := Group{ID: g.ID, Name: g.Name, Placement: g.Placement, Line: g.Line}
	root := ""
	for _, r := range g.StartOrder() {
		if !keep(r) {
			continue
		}
		parent := ""
		for _, a := range g.Ancestors(r) {
			if keep(a) {
				parent = a
				break
			}
		}
		if root == "" {
			root = r
		} else if parent == "" {
			parent = root
		}
		og.Members = append(og.Members, Member{Resource: r, Parent: parent})
	}
	return og, root != ""
}

// addOrphan adds an orphan group, its resources' definitions from old, to
// be stopped wherever it runs; one already there (an orphan of an earlier
// change) stays as it is.
func (m *Model) addOrphan(old *Model, g Group) {
	if slices.ContainsFunc(m.Groups, func(x Group) bool { return x.ID == g.ID }) {
		return
	}
	g.Orphan = true
	// Stopped, and managed: a removal is the configuration's last word on
	// the group, whatever it said of it before (managed: false included).
	g.Placement.TargetRole, g.Placement.Managed = RoleStopped, true
	for _, mem := range g.Members {
		r, _ := old.Resource(mem.Resource)
		m.Resources = append(m.Resources, *r)
	}
	m.Groups = append(m.Groups, g)
}

// WithFoundOrphan returns m with a resource found on a host but configured
// nowhere (an agent knows it from an earlier configuration) as an orphan
// group of its own, to be stopped wherever it runs. Its operations take
// the cluster's default timeouts. m is returned as it is when the ID is
// configured already; it is never changed.
func (m *Model) WithFoundOrphan(r Resource) *Model {
	if _, ok := m.Resource(r.ID); ok {
		return m
	}
	out := *m
	out.Resources = slices.Clone(m.Resources)
	out.Groups = slices.Clone(m.Groups)
	out.addFoundOrphan(r)
	return &out
}

func (m *Model) addFoundOrphan(r Resource) {
	if r.Name == "" {
		r.Name = r.ID
	}
	r.Start = Op{Timeout: m.Cluster.StartTimeout, OnFail: OnFailRestart}
	r.Stop = Op{Timeout: m.Cluster.StopTimeout, OnFail: OnFailFence}
	r.Reload = Op{Timeout: m.Cluster.StartTimeout, OnFail: OnFailRestart}
	if !m.Cluster.Fencing {
		r.Stop.OnFail = OnFailBlock
	}
	r.Monitors = nil
	m.Resources = append(m.Resources, r)
	m.Groups = append(m.Groups, Group{ID: OrphanPrefix + r.ID, Name: r.Name, Orphan: true, Members: []Member{{Resource: r.ID}},
		Placement: Placement{Recovery: RecoveryRestart, MultipleActive: MultipleStopUnexpected, MaxInstances: max(1, len(m.Hosts)),
			TargetRole: RoleStopped, Managed: true}})
	m.Index()
}

// WithoutGroups returns m without the given (orphan) groups and their
// resources; m is not changed.
func (m *Model) WithoutGroups(ids map[string]bool) *Model {
	out := *m
	drop := map[string]bool{}
	out.Groups = nil
	for _, g := range m.Groups {
		if ids[g.ID] {
			for _, mem := range g.Members {
				drop[mem.Resource] = true
			}
			continue
		}
		out.Groups = append(out.Groups, g)
	}
	out.Resources = slices.DeleteFunc(slices.Clone(m.Resources), func(r Resource) bool { return drop[r.ID] })
	out.Index()
	return &out
}
