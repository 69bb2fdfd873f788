package model

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// threeHosts is a cluster of three hosts a, b, c, each fenced by its own
// device, and one PDU fencing all of them.
func threeHosts(cluster, placement string) string {
	return doc(map[string]string{
		"cluster":       "cluster:\n  name: t\n" + cluster,
		"hosts":         "hosts:\n  - {name: a, address: \"127.0.0.1:1\"}\n  - {name: b, address: \"127.0.0.1:2\"}\n  - {name: c, address: \"127.0.0.1:3\"}\n",
		"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, hosts: {a: a}}\n  - {id: fb, agent: fence_x, hosts: {b: b}}\n  - {id: fc, agent: fence_x, hosts: {c: c}}\n  - {id: pdu, agent: fence_x, hosts: {a: \"1\", b: \"2\", c: \"3\"}}\n",
		"groups":        "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: " + placement + "}\n",
	})
}

// TestExclusiveDiscoveryProbesOnlyTheDomain: an exclusive group's
// resources are discovered on its domain's hosts only; any other group's
// everywhere, and a resource of no group everywhere.
func TestExclusiveDiscoveryProbesOnlyTheDomain(t *testing.T) {
	m, err := Load("t.yaml", []byte(threeHosts("", "{domain: {hosts: [{host: a}, {host: c}]}, resource-discovery: exclusive}")))
	require.NoError(t, err)
	require.Equal(t, DiscoveryExclusive, m.Groups[0].Placement.Discovery)
	for _, r := range []string{"r1", "r2"} {
		require.Equal(t, []string{"a", "c"}, m.DiscoveryHosts(r))
		require.False(t, m.Discovers(r, "b"))
		require.Equal(t, []DomainHost{{Host: "a", Priority: 1}, {Host: "c", Priority: 2}}, m.ExclusiveDomain(r))
	}
	require.True(t, m.Discovers("nobody", "b"), "a resource of no group")
	require.Contains(t, m.Summary(), "domain a(1) > c(2), restricted, no failback, probed only there")

	m, err = Load("t.yaml", []byte(threeHosts("", "{domain: {hosts: [{host: a}, {host: c}]}}")))
	require.NoError(t, err)
	require.Equal(t, DiscoveryAlways, m.Groups[0].Placement.Discovery)
	require.Equal(t, []string{"a", "b", "c"}, m.DiscoveryHosts("r1"))
	require.Nil(t, m.ExclusiveDomain("r1"))
	require.NotContains(t, m.Summary(), "probed only")
}

// TestResourceDiscoveryRules: exclusive needs a written, restricted
// domain; never and unknown modes are refused, each saying why.
func TestResourceDiscoveryRules(t *testing.T) {
	for _, c := range []struct{ placement, want string }{
		{"{resource-discovery: exclusive}", "groups[0].placement.resource-discovery: exclusive probes only the domain's hosts, so the group must never run elsewhere: give it a domain with restricted: true"},
		{"{domain: {hosts: [{host: a}], restricted: false}, resource-discovery: exclusive}", "give it a domain with restricted: true"},
		{"{domain: {hosts: [{host: a}]}, resource-discovery: never}", "groups[0].placement.resource-discovery: never is not supported: a resource must be probed where it may run"},
		{"{resource-discovery: sometimes}", `groups[0].placement.resource-discovery: "sometimes" is not a resource-discovery mode (always, exclusive)`},
	} {
		t.Run(c.placement, func(t *testing.T) {
			require.Contains(t, loadErrors(t, threeHosts("", c.placement)).Error(), c.want)
		})
	}
}

// TestDeviceCheckersSpreadRoundTheHosts: bounded, each device is checked
// from that many hosts, starting from its own position in the host list,
// hosts it cannot fence first; unbounded (or bounded by as many hosts as
// there are), by every host.
func TestDeviceCheckersSpreadRoundTheHosts(t *testing.T) {
	m, err := Load("t.yaml", []byte(threeHosts("  device-check-hosts: 2\n", "{}")))
	require.NoError(t, err)
	got := map[string][]string{}
	for _, d := range m.FenceDevices {
		got[d.ID] = m.DeviceCheckers(d.ID)
	}
	require.Equal(t, map[string][]string{
		"fa":  {"b", "c"}, // from a on: a is its own target, so b and c
		"fb":  {"a", "c"}, // from b on: c, a
		"fc":  {"a", "b"}, // from c on: a, b
		"pdu": {"a", "b"}, // fences every host: from the 4th position (a) on
	}, got)
	require.Contains(t, m.Summary(), "each fence device checked by 2 hosts when they join")

	for _, n := range []string{"", "  device-check-hosts: 0\n", "  device-check-hosts: 3\n", "  device-check-hosts: 7\n"} {
		m, err := Load("t.yaml", []byte(threeHosts(n, "{}")))
		require.NoError(t, err, n)
		for _, d := range m.FenceDevices {
			require.Equal(t, []string{"a", "b", "c"}, m.DeviceCheckers(d.ID), "%q: %s", n, d.ID)
		}
		require.NotContains(t, m.Summary(), "each fence device checked")
	}
	require.Contains(t, loadErrors(t, threeHosts("  device-check-hosts: -1\n", "{}")).Error(), "cluster.device-check-hosts: -1 is outside 0..1000000")
}

// TestDeviceCheckersOfManyHosts: in a large cluster of one device per
// host, every device has its bound of checkers, none of them its target,
// and the checks spread evenly over the hosts.
func TestDeviceCheckersOfManyHosts(t *testing.T) {
	var b strings.Builder
	b.WriteString("cluster: {device-check-hosts: 3}\nhosts:\n")
	for i := range 50 {
		fmt.Fprintf(&b, "  - {name: h%d, address: \"127.0.0.1:%d\"}\n", i, 1000+i)
	}
	b.WriteString("fence-devices:\n")
	for i := range 50 {
		fmt.Fprintf(&b, "  - {id: d%d, agent: fence_x, hosts: {h%d: h%d}}\n", i, i, i)
	}
	m := mustLoad(t, b.String())
	load := map[string]int{}
	for _, d := range m.FenceDevices {
		cs := m.DeviceCheckers(d.ID)
		require.Len(t, cs, 3, d.ID)
		for _, h := range cs {
			_, target := d.Plugs[h]
			require.False(t, target, "%s checked by its own target", d.ID)
			load[h]++
		}
	}
	for _, h := range m.Hosts {
		require.Equal(t, 3, load[h.Name], "checks on %s", h.Name)
	}
}
