package manager

import (
	"slices"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
)

// observations is what the manager observed of each resource on each host,
// with the digest the planner reads instead of all of it: for each
// resource, the hosts whose entry is anything but a plain stopped (missing:
// not probed; running, failed, stop-failed). A steady cluster is mostly
// stopped entries, so a plan reads a few per resource, not one per host.
// Every change goes through set and forget, which keep the two together.
type observations struct {
	byRsc   map[string]map[string]planner.Observed
	notable map[string]map[string]bool
	// discovers says whether a host probes a resource (the configuration's
	// Model.Discovers): a host that does not, and has said nothing of it,
	// is taken for stopped there and is not notable.
	discovers func(rsc, host string) bool
}

// newObservations knows nothing yet: every host that discovers a resource
// (m.probedOn's, or all) is notable for it until probed. discovers answers
// the same question later, host by host, for the changes that follow.
func newObservations(m hostsAndResources, discovers func(rsc, host string) bool) observations {
	o := observations{byRsc: map[string]map[string]planner.Observed{}, notable: map[string]map[string]bool{}, discovers: discovers}
	for _, r := range m.resources {
		o.byRsc[r] = map[string]planner.Observed{}
		o.notable[r] = map[string]bool{}
		hosts := m.hosts
		if m.probedOn != nil {
			if only := m.probedOn(r); only != nil {
				hosts = only
			}
		}
		for _, h := range hosts {
			o.notable[r][h] = true
		}
	}
	return o
}

// hostsAndResources names a model's hosts and resources.
type hostsAndResources struct {
	hosts, resources []string
	// probedOn, when set, names the hosts a resource is probed on when
	// they are not all of them (nil: all), so that a 1,000-host cluster's
	// manager, and each shadow it replays its log into, need not ask of
	// hosts × resources pairs whether they are probed.
	probedOn func(rsc string) []string
}

// domainNames are the hosts of a domain, nil for none.
func domainNames(d []model.DomainHost) []string {
	if d == nil {
		return nil
	}
	out := make([]string, len(d))
	for i, dh := range d {
		out[i] = dh.Host
	}
	return out
}

// runningOn lists the hosts where rsc runs, and of them those where it is
// promoted, in host order. It reads the hosts the digest names (a running
// entry is never plainly stopped), not every host.
func (o *observations) runningOn(m *model.Model, rsc string) (on, promoted []string) {
	for h := range o.notable[rsc] { // purity:unordered collected, then sorted by host below
		if _, known := m.HostIndex(h); known && o.byRsc[rsc][h].State == planner.Running {
			on = append(on, h)
		}
	}
	slices.SortFunc(on, func(a, b string) int {
		i, _ := m.HostIndex(a)
		j, _ := m.HostIndex(b)
		return i - j
	})
	for _, h := range on {
		if o.byRsc[rsc][h].Promoted {
			promoted = append(promoted, h)
		}
	}
	return on, promoted
}

// get returns rsc's recorded state on host, and whether there is one.
func (o *observations) get(rsc, host string) (planner.Observed, bool) {
	ob, ok := o.byRsc[rsc][host]
	return ob, ok
}

// of returns rsc's recorded states by host, to read only.
func (o *observations) of(rsc string) map[string]planner.Observed { return o.byRsc[rsc] }

// set records rsc's state on host.
func (o *observations) set(rsc, host string, ob planner.Observed) {
	if o.byRsc[rsc] == nil {
		o.byRsc[rsc] = map[string]planner.Observed{}
		o.notable[rsc] = map[string]bool{}
	}
	o.byRsc[rsc][host] = ob
	if ob.State == planner.Stopped {
		delete(o.notable[rsc], host)
	} else {
		o.notable[rsc][host] = true
	}
}

// addResource knows rsc, unprobed on hosts, unless it is known already.
func (o *observations) addResource(rsc string, hosts []string) {
	if _, ok := o.byRsc[rsc]; ok {
		return
	}
	o.byRsc[rsc] = map[string]planner.Observed{}
	o.notable[rsc] = map[string]bool{}
	for _, h := range hosts {
		if o.discovers(rsc, h) {
			o.notable[rsc][h] = true
		}
	}
}

// rediscover makes rsc's notable hosts those of its entries that are not
// plainly stopped and those that discover it without an entry: after a
// change of where it is probed (its discovery or its domain).
func (o *observations) rediscover(rsc string, hosts []string) {
	byHost, ok := o.byRsc[rsc]
	if !ok {
		return
	}
	n := map[string]bool{}
	for _, h := range hosts {
		if ob, seen := byHost[h]; seen && ob.State != planner.Stopped || !seen && o.discovers(rsc, h) {
			n[h] = true
		}
	}
	o.notable[rsc] = n
}

// addHosts makes hosts with no state for a resource notable for it: a host
// that joins the configuration is unprobed everywhere.
func (o *observations) addHosts(hosts []string) {
	for rsc, byHost := range o.byRsc { // purity:unordered each resource's own set, whatever the order
		for _, h := range hosts {
			if _, ok := byHost[h]; !ok && o.discovers(rsc, h) {
				o.notable[rsc][h] = true
			}
		}
	}
}

// dropResource forgets rsc everywhere.
func (o *observations) dropResource(rsc string) {
	delete(o.byRsc, rsc)
	delete(o.notable, rsc)
}

// dropHost forgets every resource's state on host.
func (o *observations) dropHost(host string) {
	for rsc := range o.byRsc {
		delete(o.byRsc[rsc], host)
		delete(o.notable[rsc], host)
	}
}

// forget drops rsc's state on host: it is to be probed again, if host
// discovers it (else it is taken for stopped).
func (o *observations) forget(rsc, host string) {
	if o.byRsc[rsc] == nil {
		return
	}
	delete(o.byRsc[rsc], host)
	if o.discovers(rsc, host) {
		o.notable[rsc][host] = true
	} else {
		delete(o.notable[rsc], host)
	}
}
