package shape

import (
	"fmt"
	"strings"
)

// Size bounds of Sized: its addresses are 127.0.X.Y, 250 hosts per X.
const (
	MaxSizedHosts     = 250 * 250
	MaxSizedResources = 1_000_000
)

// Sized is the configuration of a generated cluster of the default
// cluster's kind at any size, for benchmarks and for trying Basalt on a
// large cluster in simulation (basalt-sim generate): hosts h1..hN, each
// fenced by its own PID device first and one shared PDU second; resources
// r0.. in groups of three (a root and two children, one monitor each), on
// failover pairs spread round the hosts. large configures it as a large
// cluster should be (docs/configuration.md, "Large clusters"): each group
// probed only on its pair (resource-discovery: exclusive) and each device
// checked from three hosts (device-check-hosts), not every resource on
// every host and every device from every host. Hosts 1..MaxSizedHosts,
// resources 1..MaxSizedResources.
func Sized(hosts, resources int, large bool) ([]byte, error) {
	switch {
	case hosts < 1 || hosts > MaxSizedHosts:
		return nil, fmt.Errorf("hosts: %d is outside 1..%d", hosts, MaxSizedHosts)
	case resources < 1 || resources > MaxSizedResources:
		return nil, fmt.Errorf("resources: %d is outside 1..%d", resources, MaxSizedResources)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cluster:\n  name: bench-%dx%d\n  heartbeat-interval: 1s\n  dead-timeout: 5s\n  fence-timeout: 20s\n", hosts, resources)
	discovery := ""
	if large {
		b.WriteString("  device-check-hosts: 3\n")
		discovery = ", resource-discovery: exclusive"
	}
	b.WriteString("  op-defaults: {start-timeout: 20s, stop-timeout: 20s, monitor-timeout: 20s}\n\nhosts:\n")
	for i := 1; i <= hosts; i++ {
		fmt.Fprintf(&b, "  - {name: h%d, address: 127.0.%d.%d:7100}\n", i, i/250, 1+i%250)
	}
	b.WriteString("\nfence-devices:\n")
	var pdu []string
	for i := 1; i <= hosts; i++ {
		fmt.Fprintf(&b, "  - {id: pid-h%d, agent: fence_basalt_pid, params: {hosts_dir: /run/basalt/hosts}, hosts: {h%d: h%d}}\n", i, i, i)
		pdu = append(pdu, fmt.Sprintf("h%d: \"%d\"", i, i))
	}
	fmt.Fprintf(&b, "  - {id: pdu, agent: fence_apc, params: {ipaddr: 127.0.3.1}, hosts: {%s}}\n\nfencing-topology:\n", strings.Join(pdu, ", "))
	for i := 1; i <= hosts; i++ {
		fmt.Fprintf(&b, "  h%d: [[pid-h%d], [pdu]]\n", i, i)
	}
	b.WriteString("\nresources:\n")
	for i := range resources {
		fmt.Fprintf(&b, "  - {id: r%d, agent: \"ocf:basalt:statefile\", params: {state: /run/r/%d}, ops: {monitor: [{interval: 10s}]}}\n", i, i)
	}
	b.WriteString("\ngroups:\n")
	for g := 0; g*3 < resources; g++ {
		fmt.Fprintf(&b, "  - id: g%d\n    members: [{resource: r%d}", g, g*3)
		for r := g*3 + 1; r < min(g*3+3, resources); r++ {
			fmt.Fprintf(&b, ", {resource: r%d, parent: r%d}", r, g*3)
		}
		fmt.Fprintf(&b, "]\n    placement: {domain: {hosts: [{host: h%d}, {host: h%d}]}, migration-threshold: 3%s}\n",
			1+g%hosts, 1+(g+1)%hosts, discovery)
	}
	return []byte(b.String()), nil
}
