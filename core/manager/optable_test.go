package manager

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/proto"
)

// TestOpTableIndexesAgreeWithAScan: after any sequence of commands added
// and retired, each index lists exactly the commands a scan of them all
// in ID order finds, in the same order, as the manager looked them up
// before it kept indexes.
func TestOpTableIndexesAgreeWithAScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	hosts, rscs := []string{"h1", "h2", "h3"}, []string{"", "a", "b", "c"}
	tab := newOpTable()
	all := map[proto.OpID]*pendingOp{}
	scan := func(keep func(*pendingOp) bool) []proto.OpID {
		out := []proto.OpID{}
		for _, id := range slices.Sorted(maps.Keys(all)) {
			if keep(all[id]) {
				out = append(out, id)
			}
		}
		return out
	}
	for step := range 2000 {
		id := proto.OpID(1 + rng.IntN(60))
		if rng.IntN(3) == 0 {
			tab.remove(id)
			delete(all, id)
		} else {
			p := &pendingOp{host: hosts[rng.IntN(len(hosts))], resource: rscs[rng.IntN(len(rscs))]}
			tab.put(id, p)
			all[id] = p
		}
		require.Len(t, tab.byID, len(all), "step %d", step)
		for _, h := range hosts {
			require.Equal(t, scan(func(p *pendingOp) bool { return p.host == h }), tab.onHost(h), "step %d host %s", step, h)
			for _, r := range rscs {
				require.Equal(t, scan(func(p *pendingOp) bool { return p.resource == r && p.host == h }), tab.of(r, h), "step %d", step)
				require.Equal(t, len(tab.of(r, h)) > 0, tab.has(r, h))
			}
		}
		for _, r := range rscs {
			require.Equal(t, scan(func(p *pendingOp) bool { return p.resource == r }), tab.ofResource(r), "step %d rsc %s", step, r)
		}
	}
	for id := range all {
		tab.remove(id)
	}
	require.Empty(t, tab.byHost, "an emptied table keeps no index entries")
	require.Empty(t, tab.byRsc)
	require.Empty(t, tab.byPair)
}
