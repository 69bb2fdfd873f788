package faults

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPromotionKindsOptIn: the promotion faults come only with
// Options.Promotable and a promotable group, name its resources, and leave
// every other draw of the seed as it was; the notification faults come
// only for a group with notify: true, and leave the other promotion kinds'
// draws as they were.
func TestPromotionKindsOptIn(t *testing.T) {
	m := pairModel(t)
	promo := *m
	promo.Groups = slices.Clone(m.Groups)
	promo.Groups[0].Placement.Clone.Promotable = true
	promo.Index()
	notifying := promo
	notifying.Groups = slices.Clone(promo.Groups)
	notifying.Groups[0].Placement.Clone.Notify = true
	notifying.Index()
	seen := map[Kind]int{}
	for seed := uint64(1); seed <= 100; seed++ {
		plain := Generate(m, seed, Options{})
		require.Equal(t, plain, Generate(m, seed, Options{Promotable: true}), "no promotable group: nothing changes")
		require.Equal(t, plain, Generate(&promo, seed, Options{}), "without the option: nothing changes")
		silent := Generate(&promo, seed, Options{Promotable: true})
		p := Generate(&notifying, seed, Options{Promotable: true})
		var withoutNotify []Fault
		for _, f := range p.Faults {
			if f.Kind != FailNotify && f.Kind != HangNotify {
				withoutNotify = append(withoutNotify, f)
			}
		}
		for _, f := range silent.Faults {
			require.NotContains(t, []Kind{FailNotify, HangNotify}, f.Kind, "seed %d: no notification fault without notify: true", seed)
		}
		if len(silent.Faults) < 40 && len(p.Faults) < 40 {
			require.Equal(t, silent.Faults, withoutNotify, "seed %d: the notification faults leave the other draws as they were", seed)
		}
		var others []Fault
		for _, f := range p.Faults {
			if !slices.Contains(promotionKinds, f.Kind) {
				others = append(others, f)
				continue
			}
			seen[f.Kind]++
			require.Contains(t, promo.Groups[0].Resources(), f.Resource, "%s names a promotable resource", f.Kind)
			if f.Kind == FailNotify || f.Kind == HangNotify {
				require.Positive(t, f.Times, "%s strikes a number of notifications", f.Kind)
				require.Equal(t, f.Kind == FailNotify, f.RC == 1, "%s: rc 1 for a failure, none for a hang", f.Kind)
			}
		}
		if len(plain.Faults) < 40 && len(p.Faults) < 40 { // the cut at MaxFaults may drop others
			require.Equal(t, plain.Faults, others, "seed %d: the other faults are as drawn without the option", seed)
		}
	}
	for _, k := range promotionKinds {
		require.Positive(t, seen[k], "%s drawn in 100 seeds", k)
	}
	data, err := Generate(&notifying, 3, Options{Promotable: true}).Encode()
	require.NoError(t, err)
	_, err = Decode(data)
	require.NoError(t, err, "a plan with promotion faults decodes")
}

// TestNotifyFaultsApply: a notification fault reaches the world as a fault
// of the resource's notify action (the simulated agent's exit code, or a
// hang until the LRM's timeout kills it), never of another action.
func TestNotifyFaultsApply(t *testing.T) {
	r := &recorder{}
	require.NoError(t, Apply(r, Step{Fault: Fault{Kind: FailNotify, Host: "h1", Resource: "repl", RC: 1, Times: 2}}))
	require.NoError(t, Apply(r, Step{Fault: Fault{Kind: HangNotify, Host: "h2", Resource: "repl", Times: 1}}))
	require.Equal(t, []string{"fail h1 repl notify rc=1 x2 hang=false", "fail h2 repl notify rc=0 x1 hang=true"}, r.calls)
	require.False(t, Fault{Kind: HangNotify, For: 1}.Ends(), "a hang ends by the timeout, not by a step")
	require.Equal(t, "fail-notify h1 repl rc=1 x2", Fault{Kind: FailNotify, Host: "h1", Resource: "repl", RC: 1, Times: 2}.String())
}
