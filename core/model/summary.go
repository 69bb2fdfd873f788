package model

import (
	"fmt"
	"strings"
)

// Summary describes the configuration for a human: what `basalt validate`
// prints for a valid file. It follows file order throughout, so the same
// model always reads the same.
func (m *Model) Summary() string {
	var b strings.Builder
	fencing := "on"
	if !m.Cluster.Fencing {
		fencing = "OFF (a lost host's resources will not be recovered)"
	}
	fmt.Fprintf(&b, "cluster %s: %s, %s, %s in %s; fencing %s\n", m.Cluster.Name,
		plural(len(m.Hosts), "host"), plural(len(m.FenceDevices), "fence device"),
		plural(len(m.Resources), "resource"), plural(len(m.Groups), "group"), fencing)
	fmt.Fprintf(&b, "heartbeat every %s, host lost after %s, fence timeout %s\n",
		m.Cluster.HeartbeatInterval, m.Cluster.DeadTimeout, m.Cluster.FenceTimeout)
	if m.BoundsDeviceChecks() {
		fmt.Fprintf(&b, "each fence device checked by %s when they join\n", plural(m.Cluster.DeviceCheckHosts, "host"))
	}
	b.WriteString("hosts:\n")
	for _, h := range m.Hosts {
		var levels []string
		for _, lv := range m.FencingLevels(h.Name) {
			levels = append(levels, strings.Join(lv, "+"))
		}
		fence := "nothing"
		if len(levels) > 0 {
			fence = strings.Join(levels, ", then ")
		}
		fmt.Fprintf(&b, "  %s at %s, fenced by %s\n", h.Name, h.Address, fence)
	}
	b.WriteString("groups:\n")
	for gi := range m.Groups {
		m.summariseGroup(&b, &m.Groups[gi])
	}
	return b.String()
}

func (m *Model) summariseGroup(b *strings.Builder, g *Group) {
	pol := g.Placement
	var dom []string
	for _, h := range pol.Domain.Hosts {
		dom = append(dom, fmt.Sprintf("%s(%d)", h.Host, h.Priority))
	}
	restricted := "restricted"
	if !pol.Domain.Restricted {
		restricted = "unrestricted"
	}
	failback := "no failback"
	if pol.Domain.Failback {
		failback = "failback"
	}
	if pol.Discovery == DiscoveryExclusive {
		failback += ", probed only there"
	}
	fmt.Fprintf(b, "  %s (%s): domain %s, %s, %s\n", g.ID, g.Name, strings.Join(dom, " > "), restricted, failback)
	ban := "never banned for failures"
	if pol.MigrationThreshold > 0 {
		ban = fmt.Sprintf("ban after %d failures", pol.MigrationThreshold)
	}
	forget := "failures never forgotten"
	if pol.FailureTimeout > 0 {
		forget = "forget failures after " + pol.FailureTimeout.String()
	}
	managed := "managed"
	if !pol.Managed {
		managed = "UNMANAGED"
	}
	fmt.Fprintf(b, "    policy: recovery %s, %s, %s, stickiness %d, max %s, multiple-active %s, target %s, %s\n",
		pol.Recovery, ban, forget, pol.Stickiness, plural(pol.MaxInstances, "instance"), pol.MultipleActive, pol.TargetRole, managed)
	if c := pol.Clone; c.Promotable || c.Ordered || c.Interleave || c.Notify {
		// Only for what an ordinary group does not say: the summaries of
		// groups without these keys read as before.
		var traits []string
		if c.Promotable {
			traits = append(traits, fmt.Sprintf("promotable, %d promoted at most", c.PromotedMax))
		}
		for _, t := range []struct {
			on   bool
			name string
		}{{c.Ordered, "ordered"}, {c.Interleave, "interleave"}, {c.Notify, "notify"}} {
			if t.on {
				traits = append(traits, t.name)
			}
		}
		fmt.Fprintf(b, "    clone: %s\n", strings.Join(traits, ", "))
	}
	var walk func(id string, depth int)
	walk = func(id string, depth int) {
		// The depth bound cannot trip in a validated group; it keeps a
		// hand-built one with a cycle from recursing forever.
		if depth > len(g.Members) {
			return
		}
		line := id
		if r, ok := m.Resource(id); ok {
			line = fmt.Sprintf("%s (%s) %s", r.ID, r.Name, r.Agent)
		}
		fmt.Fprintf(b, "    %s%s\n", strings.Repeat("  ", depth), line)
		for _, c := range g.Children(id) {
			walk(c, depth+1)
		}
	}
	if root := g.Root(); root != "" {
		walk(root, 0)
	}
}

// plural renders "1 host", "2 hosts".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
