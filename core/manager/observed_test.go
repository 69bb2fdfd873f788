package manager

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/planner"
)

// TestObservationsFollowDiscovery: a host that does not discover a
// resource is never notable for it while it has no entry (it is taken for
// stopped), is notable when it has one that is not plainly stopped, and
// stops being notable when a change of discovery leaves it out.
func TestObservationsFollowDiscovery(t *testing.T) {
	discovered := map[string]bool{"a": true, "b": true}
	o := newObservations(hostsAndResources{hosts: []string{"a", "b", "c"}, resources: []string{"r"},
		probedOn: func(string) []string { return []string{"a", "b"} }},
		func(_, host string) bool { return discovered[host] })
	require.Equal(t, map[string]bool{"a": true, "b": true}, o.notable["r"])

	o.set("r", "a", planner.Observed{State: planner.Stopped})
	o.set("r", "c", planner.Observed{State: planner.Unknown}) // its agent listed it
	require.Equal(t, map[string]bool{"b": true, "c": true}, o.notable["r"])
	o.forget("r", "c")
	require.Equal(t, map[string]bool{"b": true}, o.notable["r"], "forgotten where it is not probed: stopped")
	o.forget("r", "a")
	require.Equal(t, map[string]bool{"a": true, "b": true}, o.notable["r"], "forgotten where it is probed: probed again")

	discovered = map[string]bool{"a": true, "c": true} // its domain moved from a, b to a, c
	o.addHosts([]string{"a", "b", "c"})
	o.rediscover("r", []string{"a", "b", "c"})
	require.Equal(t, map[string]bool{"a": true, "c": true}, o.notable["r"])

	o.set("r", "b", planner.Observed{State: planner.Running})
	o.rediscover("r", []string{"a", "b", "c"})
	require.Equal(t, map[string]bool{"a": true, "b": true, "c": true}, o.notable["r"], "running where it is not probed")
}
