package shape

import (
	"fmt"
	"strings"
	"time"
)

// yaml writes the configuration file: one flow mapping per host, device and
// resource, like the simulator's default cluster, so that a shape reads as a
// hand-written file does. Every value written is plain ASCII from this
// package, so quoting needs no escapes.
func (sp *spec) yaml() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# A generated cluster shape (sim/shape): %d hosts, %d groups, %d resources.\n",
		len(sp.hosts), len(sp.groups), len(sp.resources))
	sp.writeCluster(&b)
	b.WriteString("\nhosts:\n")
	for i, h := range sp.hosts {
		fmt.Fprintf(&b, "  - {name: %s, address: 127.0.0.%d:%d}\n", h, i+1, 7101+i)
	}
	sp.writeFence(&b)
	b.WriteString("\nresources:\n")
	for _, r := range sp.resources {
		writeResource(&b, r)
	}
	b.WriteString("\ngroups:\n")
	for _, g := range sp.groups {
		writeGroup(&b, g)
	}
	return []byte(b.String())
}

func (sp *spec) writeCluster(b *strings.Builder) {
	fmt.Fprintf(b, "cluster:\n  name: %s\n  heartbeat-interval: %s\n", sp.name, dur(sp.heartbeat))
	if sp.writeDead {
		fmt.Fprintf(b, "  dead-timeout: %s\n", dur(sp.dead))
	}
	if sp.writeFencing {
		fmt.Fprintf(b, "  fencing: %t\n", sp.fencing)
	}
	fmt.Fprintf(b, "  fence-timeout: %s\n", dur(sp.fenceTimeout))
	if sp.deviceChecks > 0 {
		fmt.Fprintf(b, "  device-check-hosts: %d\n", sp.deviceChecks)
	}
	fmt.Fprintf(b, "  op-defaults: {start-timeout: %s, stop-timeout: %s, monitor-timeout: %s}\n",
		dur(sp.opDefaults.start), dur(sp.opDefaults.stop), dur(sp.opDefaults.monitor))
}

// writeFence writes the devices (every one the PID fence agent; the plug
// is the host's name, and a fault file of its own tells the devices apart)
// and the explicit topology.
func (sp *spec) writeFence(b *strings.Builder) {
	if len(sp.devices) > 0 {
		b.WriteString("\nfence-devices:\n")
	}
	for _, d := range sp.devices {
		plugs := make([]string, len(d.hosts))
		for i, h := range d.hosts {
			plugs[i] = h + ": " + h
		}
		fmt.Fprintf(b, "  - {id: %s, agent: fence_basalt_pid, params: {hosts_dir: /run/basalt/hosts, fault_file: /run/basalt/faults/%s}, hosts: {%s}}\n",
			d.id, d.id, strings.Join(plugs, ", "))
	}
	wrote := false
	for i, h := range sp.hosts {
		if sp.topology[i] == nil {
			continue
		}
		if !wrote {
			b.WriteString("\nfencing-topology:\n")
			wrote = true
		}
		levels := make([]string, len(sp.topology[i]))
		for l, lv := range sp.topology[i] {
			levels[l] = "[" + strings.Join(lv, ", ") + "]"
		}
		fmt.Fprintf(b, "  %s: [%s]\n", h, strings.Join(levels, ", "))
	}
}

func writeResource(b *strings.Builder, r resource) {
	fmt.Fprintf(b, "  - {id: %s", r.id)
	if r.name != "" {
		fmt.Fprintf(b, ", name: %q", r.name)
	}
	fmt.Fprintf(b, `, agent: "ocf:basalt:statefile", params: {state: /run/basalt/rsc/%s.state}, ops: {`, r.id)
	var ops []string
	if s := opFields(r.start); s != "" {
		ops = append(ops, "start: {"+s+"}")
	}
	if s := opFields(r.stop); s != "" {
		ops = append(ops, "stop: {"+s+"}")
	}
	mons := make([]string, len(r.monitors))
	for i, m := range r.monitors {
		f := []string{"interval: " + dur(m.interval)}
		if s := opFields(m.op); s != "" {
			f = append(f, s)
		}
		if m.writeDepth {
			f = append(f, fmt.Sprintf("depth: %d", m.depth))
		}
		mons[i] = "{" + strings.Join(f, ", ") + "}"
	}
	ops = append(ops, "monitor: ["+strings.Join(mons, ", ")+"]")
	b.WriteString(strings.Join(ops, ", ") + "}}\n")
}

// opFields is an operation's timeout and on-fail, those that are set.
func opFields(o op) string {
	var f []string
	if o.timeout > 0 {
		f = append(f, "timeout: "+dur(o.timeout))
	}
	if o.onFail != "" {
		f = append(f, "on-fail: "+o.onFail)
	}
	return strings.Join(f, ", ")
}

func writeGroup(b *strings.Builder, g group) {
	fmt.Fprintf(b, "  - id: %s\n", g.id)
	if g.name != "" {
		fmt.Fprintf(b, "    name: %q\n", g.name)
	}
	mems := make([]string, len(g.members))
	for i, m := range g.members {
		mems[i] = "{resource: " + m.resource
		if m.parent != "" {
			mems[i] += ", parent: " + m.parent
		}
		mems[i] += "}"
	}
	fmt.Fprintf(b, "    members: [%s]\n", strings.Join(mems, ", "))
	if f := placementFields(g.placement); len(f) > 0 {
		b.WriteString("    placement:\n")
		for _, line := range f {
			b.WriteString("      " + line + "\n")
		}
	}
}

// placementFields is one line per placement key that is set.
func placementFields(pl placement) []string {
	var f []string
	if pl.domain != nil {
		hosts := make([]string, len(pl.domain))
		for i, dh := range pl.domain {
			hosts[i] = "{host: " + dh.host
			if dh.priority >= 0 {
				hosts[i] += fmt.Sprintf(", priority: %d", dh.priority)
			}
			hosts[i] += "}"
		}
		d := "domain: {hosts: [" + strings.Join(hosts, ", ") + "]"
		if pl.restricted != "" {
			d += ", restricted: " + pl.restricted
		}
		if pl.failback != "" {
			d += ", failback: " + pl.failback
		}
		f = append(f, d+"}")
	}
	add := func(key string, set bool, v any) {
		if set {
			f = append(f, fmt.Sprintf("%s: %v", key, v))
		}
	}
	add("stickiness", pl.stickiness >= 0, pl.stickiness)
	add("migration-threshold", pl.threshold >= 0, pl.threshold)
	add("failure-timeout", pl.failTimeout > 0, dur(pl.failTimeout))
	add("recovery", pl.recovery != "", pl.recovery)
	add("multiple-active", pl.multipleActive != "", pl.multipleActive)
	add("clone-max", pl.maxInstances > 0, pl.maxInstances)
	add("target-role", pl.targetRole != "", pl.targetRole)
	add("managed", pl.managed != "", pl.managed)
	add("resource-discovery", pl.exclusive, "exclusive")
	return f
}

// dur writes a duration the way a person would: 500ms, 5s, 2m, 1m30s.
func dur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
