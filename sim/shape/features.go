package shape

import (
	"fmt"
	"slices"
	"strings"

	"github.com/basalt-ha/basalt/core/model"
)

// Features is what a cluster configuration exercises. It is read from the
// loaded model, not from what the generator meant, so it describes any
// configuration (the default cluster too) as the manager sees it.
type Features struct {
	Hosts, Groups, Resources, Devices int
	// MaxDepth is the deepest resource tree (a lone root is depth 1).
	MaxDepth int
	// MaxLevels is the most fencing levels of any host.
	MaxLevels int
	// Clones counts groups with clone-max above one.
	Clones int

	FencingOff       bool
	ANDLevel         bool // a level of several devices that must all succeed
	SharedDevice     bool // a device that fences several hosts
	ImplicitTopology bool // a fenceable host with no explicit topology

	OrderedDomain      bool // a domain of distinct priorities
	UnorderedDomain    bool // a domain of several hosts of one priority
	RestrictedDomain   bool
	UnrestrictedDomain bool // a group that may fall back outside its domain
	SingleHostDomain   bool // a restricted group that cannot fail over
	Failback           bool
	Stickiness         bool
	Threshold          bool // ban after N failures
	NoThreshold        bool // migration-threshold 0: never ban
	FailureTimeout     bool
	TargetStopped      bool
	Unmanaged          bool
	ChildListedFirst   bool // a member listed before its parent
	DeepMonitor        bool // a monitor with a depth (OCF_CHECK_LEVEL)
	MultiMonitor       bool // a resource with two monitors
	// ExclusiveDiscovery: a group probed only on its domain's hosts.
	ExclusiveDiscovery bool
	// BoundedDeviceChecks: each fence device checked from some hosts
	// only (cluster.device-check-hosts).
	BoundedDeviceChecks bool

	// OnFail holds "start=block", "monitor=ignore", ...: each operation
	// kind with each on-fail value some resource has.
	OnFail map[string]bool
	// Recovery holds the groups' recovery policies.
	Recovery map[model.Recovery]bool
	// MultipleActive holds the groups' multiple-active policies.
	MultipleActive map[model.MultipleActive]bool
}

// FeaturesOf reads the features of a loaded configuration.
func FeaturesOf(m *model.Model) Features {
	f := Features{Hosts: len(m.Hosts), Groups: len(m.Groups), Resources: len(m.Resources), Devices: len(m.FenceDevices),
		FencingOff: !m.Cluster.Fencing, BoundedDeviceChecks: m.BoundsDeviceChecks(),
		OnFail: map[string]bool{}, Recovery: map[model.Recovery]bool{},
		MultipleActive: map[model.MultipleActive]bool{}}
	for _, d := range m.FenceDevices {
		f.SharedDevice = f.SharedDevice || len(d.Plugs) > 1
	}
	for _, h := range m.Hosts {
		levels := m.FencingLevels(h.Name)
		f.MaxLevels = max(f.MaxLevels, len(levels))
		for _, lv := range levels {
			f.ANDLevel = f.ANDLevel || len(lv) > 1
		}
		if _, explicit := m.Topology[h.Name]; !explicit && len(levels) > 0 {
			f.ImplicitTopology = true
		}
	}
	for _, r := range m.Resources {
		f.OnFail["start="+string(r.Start.OnFail)] = true
		f.OnFail["stop="+string(r.Stop.OnFail)] = true
		f.MultiMonitor = f.MultiMonitor || len(r.Monitors) > 1
		for _, mon := range r.Monitors {
			f.OnFail["monitor="+string(mon.OnFail)] = true
			f.DeepMonitor = f.DeepMonitor || mon.Depth > 0
		}
	}
	for i := range m.Groups {
		f.addGroup(&m.Groups[i], len(m.Hosts))
	}
	return f
}

// addGroup adds one group's tree and placement.
func (f *Features) addGroup(g *model.Group, hosts int) {
	for i, mem := range g.Members {
		f.MaxDepth = max(f.MaxDepth, len(g.Ancestors(mem.Resource))+1)
		if mem.Parent != "" && slices.IndexFunc(g.Members, func(o model.Member) bool { return o.Resource == mem.Parent }) > i {
			f.ChildListedFirst = true
		}
	}
	pl := g.Placement
	d := pl.Domain
	prios := map[int]bool{}
	for _, dh := range d.Hosts {
		prios[dh.Priority] = true
	}
	f.OrderedDomain = f.OrderedDomain || len(d.Hosts) > 1 && len(prios) > 1
	f.UnorderedDomain = f.UnorderedDomain || len(d.Hosts) > 1 && len(prios) == 1
	f.RestrictedDomain = f.RestrictedDomain || d.Restricted
	f.UnrestrictedDomain = f.UnrestrictedDomain || !d.Restricted && len(d.Hosts) < hosts
	f.SingleHostDomain = f.SingleHostDomain || d.Restricted && len(d.Hosts) == 1
	f.Failback = f.Failback || d.Failback
	f.Stickiness = f.Stickiness || pl.Stickiness > 0
	f.Threshold = f.Threshold || pl.MigrationThreshold > 0
	f.NoThreshold = f.NoThreshold || pl.MigrationThreshold == 0
	f.FailureTimeout = f.FailureTimeout || pl.FailureTimeout > 0
	f.TargetStopped = f.TargetStopped || pl.TargetRole == model.RoleStopped
	f.Unmanaged = f.Unmanaged || !pl.Managed
	f.ExclusiveDiscovery = f.ExclusiveDiscovery || pl.Discovery == model.DiscoveryExclusive
	f.Recovery[pl.Recovery] = true
	f.MultipleActive[pl.MultipleActive] = true
	if pl.MaxInstances > 1 {
		f.Clones++
	}
}

// Catalogue lists every tag Tags can return, in the order coverage is
// printed.
func Catalogue() []string {
	out := []string{"hosts=2", "hosts=3-4", "hosts=5-8", "groups=1", "groups=2-4", "groups=5-12",
		"depth=1", "depth=2", "depth=3", "depth=4", "levels=1", "levels=2", "levels=3",
		"fencing-off", "and-level", "shared-device", "implicit-topology",
		"domain-ordered", "domain-unordered", "domain-restricted", "domain-unrestricted", "domain-single-host",
		"failback", "stickiness", "threshold", "no-threshold", "failure-timeout", "clone",
		"target-stopped", "unmanaged", "child-listed-first", "deep-monitor", "two-monitors",
		"exclusive-discovery", "bounded-device-checks"}
	for _, k := range []string{"start", "stop", "monitor"} {
		vals := onFails
		if k == "stop" {
			vals = model.StopOnFails()
		}
		for _, v := range vals {
			out = append(out, "on-fail:"+k+"="+string(v))
		}
	}
	for _, r := range []model.Recovery{model.RecoveryRestart, model.RecoveryRelocate, model.RecoveryDisable} {
		out = append(out, "recovery="+string(r))
	}
	for _, p := range multipleActives {
		out = append(out, "multiple-active="+string(p))
	}
	return out
}

// Tags names the features present, in catalogue order.
func (f Features) Tags() []string {
	set := map[string]bool{
		bucket("hosts", f.Hosts, 2, 4): true, bucket("groups", f.Groups, 1, 4): true,
		fmt.Sprintf("depth=%d", f.MaxDepth): true, fmt.Sprintf("levels=%d", f.MaxLevels): true,
		"fencing-off": f.FencingOff, "and-level": f.ANDLevel, "shared-device": f.SharedDevice,
		"implicit-topology": f.ImplicitTopology, "domain-ordered": f.OrderedDomain,
		"domain-unordered": f.UnorderedDomain, "domain-restricted": f.RestrictedDomain,
		"domain-unrestricted": f.UnrestrictedDomain, "domain-single-host": f.SingleHostDomain,
		"failback": f.Failback, "stickiness": f.Stickiness, "threshold": f.Threshold, "no-threshold": f.NoThreshold,
		"failure-timeout": f.FailureTimeout, "clone": f.Clones > 0, "target-stopped": f.TargetStopped,
		"unmanaged": f.Unmanaged, "child-listed-first": f.ChildListedFirst, "deep-monitor": f.DeepMonitor,
		"two-monitors": f.MultiMonitor, "exclusive-discovery": f.ExclusiveDiscovery,
		"bounded-device-checks": f.BoundedDeviceChecks,
	}
	for k, v := range f.OnFail { // purity:unordered the set is read back in catalogue order
		set["on-fail:"+k] = v
	}
	for r, v := range f.Recovery { // purity:unordered the set is read back in catalogue order
		set["recovery="+string(r)] = v
	}
	for p, v := range f.MultipleActive { // purity:unordered the set is read back in catalogue order
		set["multiple-active="+string(p)] = v
	}
	var out []string
	for _, t := range Catalogue() {
		if set[t] {
			out = append(out, t)
		}
	}
	return out
}

// bucket names a count's range: name=lo, name=(lo+1)-mid, or name=(mid+1)-max
// with max open ended by the generator's own limits.
func bucket(name string, n, lo, mid int) string {
	top := map[string]int{"hosts": 8, "groups": 12}[name]
	switch {
	case n <= lo:
		return fmt.Sprintf("%s=%d", name, lo)
	case n <= mid:
		return fmt.Sprintf("%s=%d-%d", name, lo+1, mid)
	}
	return fmt.Sprintf("%s=%d-%d", name, mid+1, top)
}

// Coverage adds features up over many shapes: how many shapes had each.
type Coverage struct {
	Shapes int
	Counts map[string]int
}

// Add counts one shape's features.
func (c *Coverage) Add(f Features) {
	if c.Counts == nil {
		c.Counts = map[string]int{}
	}
	c.Shapes++
	for _, t := range f.Tags() {
		c.Counts[t]++
	}
}

// Missing lists the catalogue's tags seen fewer than n times.
func (c Coverage) Missing(n int) []string {
	var out []string
	for _, t := range Catalogue() {
		if c.Counts[t] < n {
			out = append(out, t)
		}
	}
	return out
}

// String prints one "tag count (percent)" line per catalogue tag, zeros
// included, so that a swarm shows what its shapes never tried.
func (c Coverage) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "shape features over %d shapes:\n", c.Shapes)
	for _, t := range Catalogue() {
		pct := 0.0
		if c.Shapes > 0 {
			pct = 100 * float64(c.Counts[t]) / float64(c.Shapes)
		}
		fmt.Fprintf(&b, "  %-26s %6d  %5.1f%%\n", t, c.Counts[t], pct)
	}
	return b.String()
}
