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
	byHost map[string]*opSet
	byRsc  map[string]*opSet
	byPair map[rscHost][]proto.OpID
	// spareSets and spareIDs are index entries emptied and dropped, kept
	// for the next key that needs one: a resource's last command ending
	// and its next one sent is the usual rhythm, and making the set and
	// the slice anew each time was most of what a command cost the table.
	spareSets []*opSet
	spareIDs  [][]proto.OpID
}

// opSet is the commands of one host or resource. peak is the most it
// held: a Go map keeps its size once grown, and ranging over it costs
// that size, so a set that held a boot's probes is not kept as a spare.
type opSet struct {
	ops  map[proto.OpID]*pendingOp
	peak int
}

func newOpTable() opTable {
	return opTable{byID: map[proto.OpID]*pendingOp{}, byHost: map[string]*opSet{},
		byRsc: map[string]*opSet{}, byPair: map[rscHost][]proto.OpID{}}
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
	t.add(t.byHost, p.host, id, p)
	t.add(t.byRsc, p.resource, id, p)
	k := rscHost{p.resource, p.host}
	ids, ok := t.byPair[k]
	if !ok && len(t.spareIDs) > 0 {
		ids, t.spareIDs = t.spareIDs[len(t.spareIDs)-1], t.spareIDs[:len(t.spareIDs)-1]
	}
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
	t.drop(t.byHost, p.host, id)
	t.drop(t.byRsc, p.resource, id)
	k := rscHost{p.resource, p.host}
	ids := t.byPair[k]
	if i, found := slices.BinarySearch(ids, id); found {
		ids = slices.Delete(ids, i, i+1)
	}
	if len(ids) == 0 {
		delete(t.byPair, k)
		if cap(ids) > 0 && len(t.spareIDs) < maxSpares {
			t.spareIDs = append(t.spareIDs, ids)
		}
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

// pair is of without the copy, to read only: valid until the table
// changes.
func (t *opTable) pair(rsc, host string) []proto.OpID { return t.byPair[rscHost{rsc, host}] }

// has says whether a command about rsc on host is in flight.
func (t *opTable) has(rsc, host string) bool { return len(t.byPair[rscHost{rsc, host}]) > 0 }

// maxSpares bounds each list of spare index entries, and maxSparePeak
// the size of a set kept: a boot sends every resource's probe on every
// host at once, and keeping those would keep the boot's size for good.
const (
	maxSpares    = 64
	maxSparePeak = 16
)

func (t *opTable) add(idx map[string]*opSet, k string, id proto.OpID, p *pendingOp) {
	set := idx[k]
	if set == nil {
		if n := len(t.spareSets); n > 0 {
			set, t.spareSets = t.spareSets[n-1], t.spareSets[:n-1]
		} else {
			set = &opSet{ops: map[proto.OpID]*pendingOp{}}
		}
		idx[k] = set
	}
	set.ops[id] = p
	set.peak = max(set.peak, len(set.ops))
}

func (t *opTable) drop(idx map[string]*opSet, k string, id proto.OpID) {
	if set := idx[k]; set != nil {
		delete(set.ops, id)
		if len(set.ops) == 0 {
			delete(idx, k)
			if set.peak <= maxSparePeak && len(t.spareSets) < maxSpares {
				t.spareSets = append(t.spareSets, set)
			}
		}
	}
}

func sortedIDs(set *opSet) []proto.OpID {
	if set == nil {
		return []proto.OpID{}
	}
	ids := make([]proto.OpID, 0, len(set.ops))
	for id := range set.ops {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
