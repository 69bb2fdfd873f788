package planner

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
)

// exclusiveInput is a fresh 4-host cluster (nothing probed) whose groups
// are probed only on their restricted pair of hosts.
func exclusiveInput() Input {
	in := steadyInput(clusterSize{4, 12})
	for gi := range in.Model.Groups {
		pl := &in.Model.Groups[gi].Placement
		pl.Domain.Restricted, pl.Discovery = true, model.DiscoveryExclusive
	}
	in.Model.Index()
	in.Observed = map[string]map[string]Observed{}
	return in
}

// TestExclusiveDiscoveryProbesOnlyTheDomain: with nothing known, each
// resource is probed on its domain's two hosts and nowhere else; once
// they have answered, the group starts, though the other hosts never
// said. Reading every entry or only the notable ones plans the same.
func TestExclusiveDiscoveryProbesOnlyTheDomain(t *testing.T) {
	for _, notable := range []bool{false, true} {
		in := exclusiveInput()
		if notable {
			in.Notable = notableOf(in)
			for r, hosts := range in.Notable {
				for h := range hosts {
					if !in.Model.Discovers(r, h) {
						delete(hosts, h) // the manager's digest leaves them out
					}
				}
			}
		}
		probes := 0
		for _, a := range Plan(in).Actions {
			require.Equal(t, Probe, a.Kind, "nothing but probes while unknown")
			require.True(t, in.Model.Discovers(a.Resource, a.Host), "%s probed on %s, outside its domain", a.Resource, a.Host)
			probes++
		}
		require.Equal(t, 12*2, probes, "each resource on its two hosts")

		for _, g := range in.Model.Groups {
			for _, r := range g.Resources() {
				in.Observed[r] = map[string]Observed{}
				for _, dh := range g.Placement.Domain.Hosts {
					in.Observed[r][dh.Host] = Observed{State: Stopped}
					if notable {
						delete(in.Notable[r], dh.Host)
					}
				}
			}
		}
		starts := map[string]string{}
		for _, a := range Plan(in).Actions {
			if a.Kind == Start {
				starts[a.Resource] = a.Host
			}
		}
		g := in.Model.Groups[0]
		require.Equal(t, g.Placement.Domain.Hosts[0].Host, starts[g.Root()], "notable=%v: started on its first host", notable)
	}
}
