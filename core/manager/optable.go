package manager

import (
	"slices"

	"github.com/basalt-ha/basalt/core/proto"
)

// opTable holds the commands in flight, by ID and indexed by host and by
// resource, so that the manager finds a resource's or a host's commands
// without scanning (and sorting) every command in flight: with a probe of
// every resource on every host at boot, that scan made each dispatch
// O(commands). An entry's host and resource never change while it is in
// the table. A resource on a host has a command or two in flight, so
// byPair holds their IDs in order, a slice: a map per pair, made and
// dropped with each command, cost more than the command's other work.
type opTable struct {
	byID   map[proto.OpID]*pendingOp
	byHost map[string]map[proto.OpID]*pendingOp
	byRsc  map[string]map[proto.OpID]*pendingOp
	byPair map[rscHost][]proto.OpID
}

func newOpTable() opTable {
	return opTable{byID: map[proto.OpID]*pendingOp{}, byHost: map[string]map[proto.OpID]*pendingOp{},
		byRsc: map[string]map[proto.OpID]*pendingOp{}, byPair: map[rscHost][]proto.OpID{}}
}

// get is the command of an ID.
func (t *opTable) get(id proto.OpID) (*pendingOp, bool) {
	p, ok := t.byID[id]
	return p, ok
}

// put records a command (replacing any of the same ID).
func (t *opTable) put(id proto.OpID, p *pendingOp) {
	t.remove(id)
	t.byID[id] = p
	add(t.byHost, p.host, id, p)
	add(t.byRsc, p.resource, id, p)
	k := rscHost{p.resource, p.host}
	ids := t.byPair[k]
	i, _ := slices.BinarySearch(ids, id) // absent: remove above
	t.byPair[k] = slices.Insert(ids, i, id)
}

// remove forgets a command; an unknown ID is no-op.
func (t *opTable) remove(id proto.OpID) {
	p, ok := t.byID[id]
	if !ok {
		return
	}
	delete(t.byID, id)
	drop(t.byHost, p.host, id)
	drop(t.byRsc, p.resource, id)
	k := rscHost{p.resource, p.host}
	ids := t.byPair[k]
	if i, found := slices.BinarySearch(ids, id); found {
		ids = slices.Delete(ids, i, i+1)
	}
	if len(ids) == 0 {
		delete(t.byPair, k)
	} else {
		t.byPair[k] = ids
	}
}

// onHost is the IDs of the commands sent to host, in ID order.
func (t *opTable) onHost(host string) []proto.OpID { return sortedIDs(t.byHost[host]) }

// ofResource is the IDs of the commands about rsc on any host, in ID
// order.
func (t *opTable) ofResource(rsc string) []proto.OpID { return sortedIDs(t.byRsc[rsc]) }

// of is the IDs of the commands about rsc on host, in ID order.
func (t *opTable) of(rsc, host string) []proto.OpID {
	ids := t.byPair[rscHost{rsc, host}]
	return append(make([]proto.OpID, 0, len(ids)), ids...)
}

// has says whether a command about rsc on host is in flight.
func (t *opTable) has(rsc, host string) bool { return len(t.byPair[rscHost{rsc, host}]) > 0 }

func add[K comparable](idx map[K]map[proto.OpID]*pendingOp, k K, id proto.OpID, p *pendingOp) {
	set := idx[k]
	if set == nil {
		set = map[proto.OpID]*pendingOp{}
		idx[k] = set
	}
	set[id] = p
}

func drop[K comparable](idx map[K]map[proto.OpID]*pendingOp, k K, id proto.OpID) {
	if set := idx[k]; set != nil {
		delete(set, id)
		if len(set) == 0 {
			delete(idx, k)
		}
	}
}

func sortedIDs(set map[proto.OpID]*pendingOp) []proto.OpID {
	ids := make([]proto.OpID, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
