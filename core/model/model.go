// Package model is the cluster configuration as the core sees it: hosts,
// fence devices and fencing topology, resources and their operations, and
// resource groups as dependency trees with their placement policy. Load
// builds it from one YAML file, strictly, with every error at once; the
// values here are fully defaulted and validated, so the planner and manager
// never re-check them.
package model

import (
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/ocf"
)

// Model is a loaded, validated cluster configuration. Slices keep file
// order; lookups go through the methods.
type Model struct {
	Cluster      Cluster
	Hosts        []Host
	FenceDevices []FenceDevice
	// Topology maps a host to its fencing levels, tried in order; a level's
	// devices must all succeed. Hosts without an explicit topology get one
	// level made of every device that can fence them (see FencingLevels).
	Topology  map[string][][]string
	Resources []Resource
	Groups    []Group
	// Warnings are what Load accepted but an administrator probably did
	// not mean (fencing off, a group that cannot fail over, a dead timeout
	// of too few heartbeats), sorted like errors. validate prints them and
	// the manager logs them at start.
	Warnings []*Error

	hostIdx  map[string]int
	rscIdx   map[string]int
	groupIdx map[string]int
	devIdx   map[string]int
	groupOf  map[string]string
	// checkers maps a device to the hosts that check it, when
	// Cluster.DeviceCheckHosts bounds them (nil: every host does).
	checkers map[string]map[string]bool
	// exclusive maps each group of exclusive discovery to its domain's
	// hosts.
	exclusive map[string]map[string]bool
}

// Cluster holds cluster-wide options.
type Cluster struct {
	Name string
	// HeartbeatInterval is how often agents report to the manager.
	HeartbeatInterval time.Duration
	// DeadTimeout is how long a host may be silent before it is declared
	// lost (unclean) and fenced.
	DeadTimeout time.Duration
	// Fencing off means a lost host's resources are never recovered
	// elsewhere automatically (there is no safe way to); it exists for
	// test clusters, and validate warns about it.
	Fencing bool
	// FastFailover: a host whose agent's connection was reset and whose
	// redial was refused (its kernel answers, nothing listens: the agent
	// died) is declared lost after two more heartbeat intervals without a
	// word instead of the dead timeout (core/manager, suspect.go).
	FastFailover bool
	FenceTimeout time.Duration
	// OpDefaults are the timeouts of operations that set none.
	StartTimeout   time.Duration
	StopTimeout    time.Duration
	MonitorTimeout time.Duration
	OCFRoot        string
	// DeviceCheckHosts is how many hosts check each fence device when
	// they join (0: every host). A device's checkers are spread round the
	// hosts, those it does not fence first (see DeviceCheckers).
	DeviceCheckHosts int
}

// Host is a cluster member running basalt-agent.
type Host struct {
	Name    string
	Address string
}

// FenceDevice is a fence agent instance able to power off some hosts.
type FenceDevice struct {
	ID     string
	Agent  string
	Params map[string]string
	// Plugs maps each host this device can fence to its plug (port) name.
	Plugs map[string]string
}

// OnFail is what to do when an operation fails (Pacemaker's on-fail).
type OnFail string

// The on-fail policies.
const (
	OnFailIgnore  OnFail = "ignore"  // pretend it succeeded
	OnFailBlock   OnFail = "block"   // leave it alone: no further action on it
	OnFailStop    OnFail = "stop"    // stop it and keep it stopped
	OnFailRestart OnFail = "restart" // stop then start it (relocating past the threshold)
	OnFailFence   OnFail = "fence"   // fence the host it failed on
	OnFailStandby OnFail = "standby" // move everything off the host it failed on
)

// Op is one configured operation.
type Op struct {
	Timeout time.Duration
	OnFail  OnFail
}

// Monitor is one configured recurring monitor.
type Monitor struct {
	Interval time.Duration
	Timeout  time.Duration
	Depth    int
	OnFail   OnFail
	// Role is the role the monitor watches (promotable groups only): a
	// promoted monitor expects rc 8 (or 191), any other rc 0 (or 190).
	Role MonitorRole
}

// Resource is one managed resource.
type Resource struct {
	// ID is unique and is the agent's OCF_RESOURCE_INSTANCE.
	ID string
	// Name is the human name every log line and status row shows.
	Name   string
	Agent  ocf.Agent
	Params map[string]string
	Start  Op
	Stop   Op
	// Reload is the reload (or reload-agent) that replaces a restart when
	// only reloadable parameters change; its timeout defaults to the
	// start's, and a failed reload is recovered as a failed start would
	// be tried again: a restart.
	Reload Op
	// Notify is a clone notification's (ops.notify); its timeout
	// defaults to the start's. A failed notification fails nothing
	// (Pacemaker's default for notify): OnFail is always ignore.
	Notify   Op
	Monitors []Monitor
	Line     int
	// digest caches Digest, set by Index.
	digest string
}

// Digest identifies the definition the agent runs the resource with
// (ocf.Digest): a running instance whose digest differs was started from
// another definition, and is restarted.
func (r *Resource) Digest() string {
	if r.digest == "" {
		return ocf.Digest(r.Agent, r.Params)
	}
	return r.digest
}

// Recovery is what a group does after a failure it cannot fix in place.
type Recovery string

// The recovery policies (rgmanager's).
const (
	RecoveryRestart  Recovery = "restart"  // restart in place, relocate past the threshold
	RecoveryRelocate Recovery = "relocate" // move to another host at once
	RecoveryDisable  Recovery = "disable"  // stop the group and leave it stopped
)

// MultipleActive is what to do with a group found active on more hosts
// than it may run on (started outside the cluster, or left running by a
// fence that did not do its work): Pacemaker's multiple-active.
type MultipleActive string

// The multiple-active policies. Basalt's default is stop-unexpected, not
// Pacemaker's stop-start: the instance that runs where placement wants it
// is the likeliest healthy one, and is not interrupted.
const (
	// MultipleStopUnexpected keeps the instances on the hosts placement
	// chooses and stops the others.
	MultipleStopUnexpected MultipleActive = "stop-unexpected"
	// MultipleStopStart stops every instance, then starts as placement
	// says.
	MultipleStopStart MultipleActive = "stop-start"
	// MultipleStopOnly stops every instance and leaves the group stopped
	// until a cleanup.
	MultipleStopOnly MultipleActive = "stop-only"
	// MultipleBlock leaves every instance alone until a cleanup: the
	// administrator stops the extra ones by hand.
	MultipleBlock MultipleActive = "block"
)

// Role is a group's target role.
type Role string

// Target roles.
const (
	RoleStarted Role = "started"
	RoleStopped Role = "stopped"
)

// Clone is what makes a group a clone (Pacemaker's clone meta-attributes):
// its instances run on MaxInstances hosts at once, and for a promotable
// clone up to PromotedMax of them are promoted.
type Clone struct {
	// NodeMax is how many instances one host may run (clone-node-max);
	// only 1 is accepted today.
	NodeMax int
	// Interleave and Ordered are Pacemaker's interleave and ordered. Basalt
	// has no ordering between groups, so interleave changes nothing; with
	// Ordered the instances start one host after another.
	Interleave bool
	Ordered    bool
	// Notify: every instance is told before and after each start, stop,
	// promote and demote of the clone's instances (Pacemaker's notify;
	// see the planner's notify.go and docs/configuration.md).
	Notify bool
	// Promotable: instances start unpromoted, and the best of them by
	// promotion score (the node attribute master-<resource>) are
	// promoted.
	Promotable bool
	// PromotedMax is how many instances may be promoted across the
	// cluster at once; PromotedNodeMax on one host (only 1 is accepted).
	PromotedMax     int
	PromotedNodeMax int
}

// MonitorRole is the role a recurring monitor watches in a promotable
// group (Pacemaker's op role).
type MonitorRole string

// Monitor roles. A monitor without one, in a promotable group, watches
// unpromoted instances.
const (
	MonitorAnyRole    MonitorRole = ""
	MonitorPromoted   MonitorRole = "promoted"
	MonitorUnpromoted MonitorRole = "unpromoted"
)

// ForPromoted reports whether the monitor runs on a promoted instance
// (role promoted) or on an unpromoted one (any other).
func (m Monitor) ForPromoted() bool { return m.Role == MonitorPromoted }

// PromotionAttribute is the node attribute holding a resource's
// promotion score on a host, as Pacemaker names it: master-<resource ID>,
// an instance's ":N" suffix removed (crm_master and crm_attribute
// --promotion set it).
func PromotionAttribute(resource string) string {
	// As core/proto's PromotionAttr, which the agents' tools use: only a
	// numeric suffix is an instance's.
	if i := strings.LastIndexByte(resource, ':'); i > 0 {
		if suffix := resource[i+1:]; suffix != "" && strings.Trim(suffix, "0123456789") == "" {
			resource = resource[:i]
		}
	}
	return "master-" + resource
}

// DomainHost is one host of a failover domain.
type DomainHost struct {
	Host string
	// Priority: lower is preferred.
	Priority int
}

// Domain is a failover domain (rgmanager): where a group may run, in order
// of preference.
type Domain struct {
	Hosts []DomainHost
	// Restricted groups run only on the domain's hosts; unrestricted ones
	// may fall back to any host when none of the domain's is usable.
	Restricted bool
	// Failback moves a group back to a more preferred host when one
	// returns; without it the group stays where it runs.
	Failback bool
}

// Placement is a group's placement and recovery policy.
type Placement struct {
	Domain Domain
	// Stickiness is the score bonus of the host a group runs on, so that
	// it does not move for a small preference.
	Stickiness int
	// MigrationThreshold bans a host for a group after this many failures
	// there (0: never).
	MigrationThreshold int
	// FailureTimeout forgets failures this old (0: never).
	FailureTimeout time.Duration
	Recovery       Recovery
	// MultipleActive is what to do when the group is found active on more
	// hosts than MaxInstances.
	MultipleActive MultipleActive
	// MaxInstances is how many hosts may run the group at once: the
	// clone's clone-max (max-instances is its older, deprecated name).
	// One for a group that is no clone.
	MaxInstances int
	// Clone is a group of several instances, one per host at most
	// (clone: true, promotable: true, or clone-max above 1).
	Clone      Clone
	TargetRole Role
	// Managed false: monitors go on, but nothing is started, stopped or
	// recovered.
	Managed bool
	// Discovery is where the group's resources are probed: on every host
	// (always, the default) or only on its restricted domain's hosts
	// (exclusive, Pacemaker's resource-discovery=exclusive).
	Discovery Discovery
}

// Discovery is where a group's resources are probed (Pacemaker's
// resource-discovery).
type Discovery string

// The discovery modes. Exclusive is for large clusters, where probing
// every resource on every host at boot costs hosts × resources probes:
// the operator vouches that nothing starts the resources outside their
// domain, so a host outside it is taken for stopped unless it says
// otherwise (its agent lists the resource, or a probe found it).
const (
	DiscoveryAlways    Discovery = "always"
	DiscoveryExclusive Discovery = "exclusive"
)

// Member is a resource's place in its group's tree.
type Member struct {
	Resource string
	// Parent is "" for the root.
	Parent string
}

// Group is a dependency tree of resources placed and moved together:
// parents start before their children and stop after them.
type Group struct {
	ID        string
	Name      string
	Members   []Member
	Placement Placement
	Line      int
	// Orphan: the group is configured no more, but some of its resources
	// may still run; it stays, to be stopped, until they are known
	// stopped everywhere (see WithOrphans).
	Orphan bool
}

// Host returns a host by name.
func (m *Model) Host(name string) (Host, bool) {
	i, ok := m.hostIdx[name]
	if !ok {
		return Host{}, false
	}
	return m.Hosts[i], true
}

// HostIndex returns a host's position in Hosts.
func (m *Model) HostIndex(name string) (int, bool) {
	i, ok := m.hostIdx[name]
	return i, ok
}

// Resource returns a resource by ID.
func (m *Model) Resource(id string) (*Resource, bool) {
	i, ok := m.rscIdx[id]
	if !ok {
		return nil, false
	}
	return &m.Resources[i], true
}

// ResourceIndex returns a resource's position in Resources.
func (m *Model) ResourceIndex(id string) (int, bool) {
	i, ok := m.rscIdx[id]
	return i, ok
}

// Group returns a group by ID.
func (m *Model) Group(id string) (*Group, bool) {
	i, ok := m.groupIdx[id]
	if !ok {
		return nil, false
	}
	return &m.Groups[i], true
}

// GroupOf returns the ID of the group a resource belongs to.
func (m *Model) GroupOf(resource string) (string, bool) {
	g, ok := m.groupOf[resource]
	return g, ok
}

// Device returns a fence device by ID.
func (m *Model) Device(id string) (FenceDevice, bool) {
	i, ok := m.devIdx[id]
	if !ok {
		return FenceDevice{}, false
	}
	return m.FenceDevices[i], true
}

// HostNames returns the hosts' names in file order.
func (m *Model) HostNames() []string {
	out := make([]string, len(m.Hosts))
	for i, h := range m.Hosts {
		out[i] = h.Name
	}
	return out
}

// FencingLevels returns a host's fencing levels: its topology, or one level
// of every device that lists it (in file order), or nil when none can.
func (m *Model) FencingLevels(host string) [][]string {
	if lv, ok := m.Topology[host]; ok {
		out := make([][]string, len(lv))
		for i, l := range lv {
			out[i] = append([]string(nil), l...)
		}
		return out
	}
	var level []string
	for _, d := range m.FenceDevices {
		if _, ok := d.Plugs[host]; ok {
			level = append(level, d.ID)
		}
	}
	if len(level) == 0 {
		return nil
	}
	// Without a topology, any one capable device is enough: each is its
	// own level, tried in file order.
	out := make([][]string, len(level))
	for i, d := range level {
		out[i] = []string{d}
	}
	return out
}

// Index builds the lookup tables. Load calls it; code that builds a Model by
// hand (tests, the simulator's generated clusters) must call it too.
func (m *Model) Index() {
	m.hostIdx = map[string]int{}
	m.rscIdx = map[string]int{}
	m.groupIdx = map[string]int{}
	m.devIdx = map[string]int{}
	m.groupOf = map[string]string{}
	m.exclusive = map[string]map[string]bool{}
	for i, h := range m.Hosts {
		m.hostIdx[h.Name] = i
	}
	for i, r := range m.Resources {
		m.rscIdx[r.ID] = i
		m.Resources[i].digest = ocf.Digest(r.Agent, r.Params)
	}
	for i, d := range m.FenceDevices {
		m.devIdx[d.ID] = i
	}
	for i, g := range m.Groups {
		m.groupIdx[g.ID] = i
		for _, mem := range g.Members {
			m.groupOf[mem.Resource] = g.ID
		}
		if g.Placement.Discovery == DiscoveryExclusive {
			set := make(map[string]bool, len(g.Placement.Domain.Hosts))
			for _, dh := range g.Placement.Domain.Hosts {
				set[dh.Host] = true
			}
			m.exclusive[g.ID] = set
		}
	}
	m.indexCheckers()
}

// Discovers reports whether rsc is probed on host: true unless its group's
// discovery is exclusive and host is not in its domain. A host that does
// not discover a resource is taken for stopped until something says
// otherwise; a resource of no group (unknown) is discovered everywhere.
func (m *Model) Discovers(rsc, host string) bool {
	gid, ok := m.groupOf[rsc]
	if !ok {
		return true
	}
	set, exclusive := m.exclusive[gid]
	return !exclusive || set[host]
}

// ExclusiveDomain returns the domain's hosts of rsc's group when its
// discovery is exclusive (they are the only hosts it is probed on), nil
// otherwise.
func (m *Model) ExclusiveDomain(rsc string) []DomainHost {
	gid, ok := m.groupOf[rsc]
	if _, exclusive := m.exclusive[gid]; !ok || !exclusive {
		return nil
	}
	return m.Groups[m.groupIdx[gid]].Placement.Domain.Hosts
}

// DiscoveryHosts returns the hosts rsc is probed on, in file order: its
// domain's hosts for exclusive discovery, every host otherwise.
func (m *Model) DiscoveryHosts(rsc string) []string {
	return m.hostsWhere(func(host string) bool { return m.Discovers(rsc, host) })
}

// hostsWhere lists the hosts for which keep is true, in file order.
func (m *Model) hostsWhere(keep func(host string) bool) []string {
	var out []string
	for _, h := range m.Hosts {
		if keep(h.Name) {
			out = append(out, h.Name)
		}
	}
	return out
}

// ChecksDevice reports whether host checks device when it joins: every
// host does unless Cluster.DeviceCheckHosts bounds them.
func (m *Model) ChecksDevice(device, host string) bool {
	if m.checkers == nil {
		return true
	}
	return m.checkers[device][host]
}

// BoundsDeviceChecks reports whether cluster.device-check-hosts leaves
// some hosts not checking a device (it is set below the number of hosts).
func (m *Model) BoundsDeviceChecks() bool { return m.checkers != nil }

// DeviceCheckers returns the hosts that check device when they join, in
// file order.
func (m *Model) DeviceCheckers(device string) []string {
	return m.hostsWhere(func(host string) bool { return m.ChecksDevice(device, host) })
}

// indexCheckers picks each device's checkers when they are bounded: the
// i-th device's are the first DeviceCheckHosts hosts from the i-th one
// round the host list, taking hosts the device cannot fence first. A host
// never runs a fence of itself, so a device's own targets are the least
// useful place to learn that it works; spreading the devices round the
// hosts spreads the checks (and the fences, which prefer a checked host).
func (m *Model) indexCheckers() {
	m.checkers = nil
	n := m.Cluster.DeviceCheckHosts
	if n <= 0 || n >= len(m.Hosts) {
		return
	}
	m.checkers = make(map[string]map[string]bool, len(m.FenceDevices))
	for i, d := range m.FenceDevices {
		set := make(map[string]bool, n)
		for _, targets := range []bool{false, true} {
			for j := 0; j < len(m.Hosts) && len(set) < n; j++ {
				h := m.Hosts[(i+j)%len(m.Hosts)].Name
				if _, fences := d.Plugs[h]; fences == targets {
					set[h] = true
				}
			}
		}
		m.checkers[d.ID] = set
	}
}

// Root returns the group's root resource.
func (g *Group) Root() string {
	for _, mem := range g.Members {
		if mem.Parent == "" {
			return mem.Resource
		}
	}
	return ""
}

// Parent returns a member's parent ("" for the root).
func (g *Group) Parent(id string) string {
	for _, mem := range g.Members {
		if mem.Resource == id {
			return mem.Parent
		}
	}
	return ""
}

// Children returns a member's children in member order.
func (g *Group) Children(id string) []string {
	var out []string
	for _, mem := range g.Members {
		if mem.Parent == id && mem.Resource != id {
			out = append(out, mem.Resource)
		}
	}
	return out
}

// Ancestors returns a member's parent, grandparent, ..., root.
func (g *Group) Ancestors(id string) []string {
	var out []string
	// Bounded by the member count: a validated group has no cycle, and the
	// bound keeps a hand-built bad one from looping forever.
	for p := g.Parent(id); p != "" && len(out) <= len(g.Members); p = g.Parent(p) {
		out = append(out, p)
	}
	return out
}

// HasAncestor reports whether a is among id's Ancestors, without
// listing them.
func (g *Group) HasAncestor(id, a string) bool {
	n := 0 // Ancestors' bound
	for p := g.Parent(id); p != "" && n <= len(g.Members); p = g.Parent(p) {
		if p == a {
			return true
		}
		n++
	}
	return false
}

// Descendants returns every member below id, in start order.
func (g *Group) Descendants(id string) []string {
	var out []string
	for _, r := range g.StartOrder() {
		for _, a := range g.Ancestors(r) {
			if a == id {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// StartOrder returns the members parents-first: a breadth-first walk from
// the root, children in member order.
func (g *Group) StartOrder() []string {
	if g.Root() == "" {
		return nil
	}
	// One allocation: the planner and the manager ask for the order of
	// every group at every step.
	return g.AppendStartOrder(make([]string, 0, max(1, len(g.Members))))
}

// AppendStartOrder appends StartOrder to dst, for callers that keep a
// buffer; nothing when the group has no root.
func (g *Group) AppendStartOrder(dst []string) []string {
	root := g.Root()
	if root == "" {
		return dst
	}
	base := len(dst)
	out := append(dst, root)
	// The inner loop is Children's.
	for i := base; i < len(out) && len(out)-base <= len(g.Members); i++ {
		for _, mem := range g.Members {
			if mem.Parent == out[i] && mem.Resource != out[i] {
				out = append(out, mem.Resource)
			}
		}
	}
	return out
}

// StopOrder returns the members children-first: StartOrder reversed.
func (g *Group) StopOrder() []string {
	s := g.StartOrder()
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
	return s
}

// Resources returns the member resource IDs in member order.
func (g *Group) Resources() []string {
	out := make([]string, len(g.Members))
	for i, mem := range g.Members {
		out[i] = mem.Resource
	}
	return out
}

// DomainPriority returns a host's priority in the group's domain.
func (g *Group) DomainPriority(host string) (int, bool) {
	for _, h := range g.Placement.Domain.Hosts {
		if h.Host == host {
			return h.Priority, true
		}
	}
	return 0, false
}
