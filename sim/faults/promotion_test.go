package faults

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPromotionKindsOptIn: the promotion faults come only with
// Options.Promotable and a promotable group, name its resources, and leave
// every other draw of the seed as it was.
func TestPromotionKindsOptIn(t *testing.T) {
	m := pairModel(t)
	promo := *m
	promo.Groups = slices.Clone(m.Groups)
	promo.Groups[0].Placement.Clone.Promotable = true
	promo.Index()
	seen := map[Kind]int{}
	for seed := uint64(1); seed <= 100; seed++ {
		plain := Generate(m, seed, Options{})
		require.Equal(t, plain, Generate(m, seed, Options{Promotable: true}), "no promotable group: nothing changes")
		require.Equal(t, plain, Generate(&promo, seed, Options{}), "without the option: nothing changes")
		p := Generate(&promo, seed, Options{Promotable: true})
		var others []Fault
		for _, f := range p.Faults {
			if !slices.Contains(promotionKinds, f.Kind) {
				others = append(others, f)
				continue
			}
			seen[f.Kind]++
			require.Contains(t, promo.Groups[0].Resources(), f.Resource, "%s names a promotable resource", f.Kind)
		}
		if len(plain.Faults) < 40 && len(p.Faults) < 40 { // the cut at MaxFaults may drop others
			require.Equal(t, plain.Faults, others, "seed %d: the other faults are as drawn without the option", seed)
		}
	}
	for _, k := range promotionKinds {
		require.Positive(t, seen[k], "%s drawn in 100 seeds", k)
	}
	data, err := Generate(&promo, 3, Options{Promotable: true}).Encode()
	require.NoError(t, err)
	_, err = Decode(data)
	require.NoError(t, err, "a plan with promotion faults decodes")
}
