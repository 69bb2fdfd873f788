package swarm

import (
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/sim/cluster"
)

// truthWatch keeps, as the ground truth changes, the grouped resources
// that do not run, in truth, on exactly their group's number of instances
// of allowed hosts: the part of healthy that scanned every resource on
// every host. The heal phase asks healthy after every event, and that scan
// made each event cost O(resources × hosts); the watch makes it O(1) for
// the truth, and for the manager's view O(hosts) only when a host's state
// changed there (HostStateVersion).
type truthWatch struct {
	groups map[string]*model.Group   // by member resource
	on     map[string]map[string]int // resource -> hosts it runs on -> instances there
	bad    map[string]bool           // resources whyNot would name
	hosts  map[string]bool           // the model's hosts
	// promoted: a promotable clone's resource -> hosts where it runs
	// promoted, in truth.
	promoted map[string]map[string]bool
	// online is whether every model host was online for the manager
	// onlineOf at its HostStateVersion onlineAt.
	onlineOf *manager.Manager
	onlineAt uint64
	online   bool
}

func newTruthWatch(m *model.Model) *truthWatch {
	w := &truthWatch{groups: map[string]*model.Group{}, on: map[string]map[string]int{}, bad: map[string]bool{},
		hosts: map[string]bool{}, promoted: map[string]map[string]bool{}}
	for _, h := range m.HostNames() {
		w.hosts[h] = true
	}
	for i := range m.Groups {
		g := &m.Groups[i]
		for _, r := range g.Resources() {
			w.groups[r] = g
			w.judge(r)
		}
	}
	return w
}

// observe takes in a change of the truth.
func (w *truthWatch) observe(ch cluster.Change) {
	if _, ok := w.groups[ch.Resource]; !ok || !w.hosts[ch.Host] {
		return
	}
	if ch.Role {
		if w.promoted[ch.Resource] == nil {
			w.promoted[ch.Resource] = map[string]bool{}
		}
		if ch.Promoted {
			w.promoted[ch.Resource][ch.Host] = true
		} else {
			delete(w.promoted[ch.Resource], ch.Host)
		}
		w.judge(ch.Resource)
		return
	}
	on := w.on[ch.Resource]
	if on == nil {
		on = map[string]int{}
		w.on[ch.Resource] = on
	}
	// Counted: the old and the new definition of a resource are two
	// instances on one host (a change's restart), and the host runs it
	// until the last one stops.
	if ch.Active {
		on[ch.Host]++
	} else if on[ch.Host]--; on[ch.Host] <= 0 {
		delete(on, ch.Host)
		delete(w.promoted[ch.Resource], ch.Host) // the role ends with the instance
	}
	w.judge(ch.Resource)
}

// judge re-checks one resource as whyNot does.
func (w *truthWatch) judge(r string) {
	g, on := w.groups[r], w.on[r]
	ok := len(on) == g.Placement.MaxInstances
	if g.Placement.Clone.Promotable && len(w.promoted[r]) != g.Placement.Clone.PromotedMax {
		ok = false // a healed promotable clone has its primaries
	}
	for h := range on { // purity:unordered a conjunction over the hosts is the same in any order
		if _, allowed := g.DomainPriority(h); !allowed && g.Placement.Domain.Restricted {
			ok = false
		}
	}
	if ok {
		delete(w.bad, r)
	} else {
		w.bad[r] = true
	}
}

// healthy is whyNot(c, m) == "", without scanning the truth.
func (w *truthWatch) healthy(c *cluster.Cluster, m *model.Model) bool {
	if len(w.bad) > 0 {
		return false
	}
	mg := c.Manager()
	if mg == nil || mg.Deposed() || !mg.Idle() {
		return false // busy first: what a heal mostly is
	}
	if mg != w.onlineOf || mg.HostStateVersion() != w.onlineAt {
		w.onlineOf, w.onlineAt, w.online = mg, mg.HostStateVersion(), true
		for _, h := range m.Hosts {
			if mg.HostState(h.Name) != planner.Online {
				w.online = false
				break
			}
		}
	}
	return w.online
}
