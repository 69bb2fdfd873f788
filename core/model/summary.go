package model

import (
	"fmt"
	"strings"
)

// Summary describes the configuration for a human: what `basalt validate`
// prints for a valid file.
func (m *Model) Summary() string {
	var b strings.Builder
	fencing := "on"
	if !m.Cluster.Fencing {
		fencing = "OFF (a lost host's resources will not be recovered)"
	}
	fmt.Fprintf(&b, "cluster %s: %d hosts, %d fence devices, %d resources in %d groups; fencing %s\n",
		m.Cluster.Name, len(m.Hosts), len(m.FenceDevices), len(m.Resources), len(m.Groups), fencing)
	fmt.Fprintf(&b, "heartbeat every %s, host lost after %s, fence timeout %s\n",
		m.Cluster.HeartbeatInterval, m.Cluster.DeadTimeout, m.Cluster.FenceTimeout)
	b.WriteString("hosts:\n")
	for _, h := range m.Hosts {
		var levels []string
		for _, lv := range m.FencingLevels(h.Name) {
			levels = append(levels, strings.Join(lv, "+"))
		}
		fence := "none"
		if len(levels) > 0 {
			fence = strings.Join(levels, ", then ")
		}
		fmt.Fprintf(&b, "  %s at %s, fenced by %s\n", h.Name, h.Address, fence)
	}
	b.WriteString("groups:\n")
	for gi := range m.Groups {
		g := &m.Groups[gi]
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
		fmt.Fprintf(&b, "  %s (%s): domain %s, %s, %s; recovery %s, migration-threshold %d, target %s",
			g.ID, g.Name, strings.Join(dom, " > "), restricted, failback, pol.Recovery, pol.MigrationThreshold, pol.TargetRole)
		if !pol.Managed {
			b.WriteString(", unmanaged")
		}
		b.WriteString("\n")
		var walk func(id string, depth int)
		walk = func(id string, depth int) {
			r, _ := m.Resource(id)
			fmt.Fprintf(&b, "    %s%s (%s) %s\n", strings.Repeat("  ", depth), r.ID, r.Name, r.Agent)
			if depth > len(g.Members) {
				return // cannot happen in a validated group; bounds a bad one
			}
			for _, c := range g.Children(id) {
				walk(c, depth+1)
			}
		}
		walk(g.Root(), 0)
	}
	return b.String()
}
