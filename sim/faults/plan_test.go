package faults

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
)

func pairModel(t *testing.T) *model.Model {
	data, err := os.ReadFile("../../testdata/configs/failover-pair.yaml")
	require.NoError(t, err)
	m, err := model.Load("failover-pair.yaml", data)
	require.NoError(t, err)
	return m
}

func TestGenerateIsDeterministicAndSwarmed(t *testing.T) {
	m := pairModel(t)
	require.Equal(t, Generate(m, 5, Options{}), Generate(m, 5, Options{}))
	kinds := map[Kind]int{}
	mixes := map[string]bool{}
	for seed := uint64(1); seed <= 200; seed++ {
		p := Generate(m, seed, Options{})
		key := ""
		for _, k := range p.Enabled {
			key += string(k) + ","
		}
		mixes[key] = true
		for i, f := range p.Faults {
			kinds[f.Kind]++
			require.True(t, f.At >= 0 && f.At <= p.Chaos)
			if i > 0 {
				require.LessOrEqual(t, p.Faults[i-1].At, f.At, "sorted by time")
			}
			require.Contains(t, p.Enabled, f.Kind, "only enabled kinds appear")
		}
	}
	require.Greater(t, len(mixes), 150, "swarm testing: seeds enable different mixes")
	for _, k := range allKinds {
		require.Positive(t, kinds[k], "kind %s never drawn", k)
	}
}

// TestOwnStreamKindsLeaveTheOthersAlone: the kinds added later draw from
// streams of their own, so a seed's faults of the first kinds are the same
// whether the later ones may be drawn or not.
func TestOwnStreamKindsLeaveTheOthersAlone(t *testing.T) {
	m := pairModel(t)
	var first []Kind
	for _, k := range allKinds {
		if !slices.Contains(ownStreamKinds, k) {
			first = append(first, k)
		}
	}
	for seed := uint64(1); seed <= 100; seed++ {
		all := Generate(m, seed, Options{MaxFaults: 1000})
		only := Generate(m, seed, Options{MaxFaults: 1000, Kinds: first})
		kept := slices.DeleteFunc(slices.Clone(all.Faults), func(f Fault) bool { return slices.Contains(ownStreamKinds, f.Kind) })
		require.Equal(t, only.Faults, kept, "seed %d", seed)
	}
}

// TestSomeAgentCrashesRestartQuickly: agent crashes restart within a few
// seconds in some seeds, so that an orphaned action overlaps the next life.
func TestSomeAgentCrashesRestartQuickly(t *testing.T) {
	m := pairModel(t)
	quick, slow := 0, 0
	for seed := uint64(1); seed <= 200; seed++ {
		for _, f := range Generate(m, seed, Options{}).Faults {
			if f.Kind == CrashAgent {
				if f.For <= 3*time.Second {
					quick++
				} else {
					slow++
				}
			}
		}
	}
	require.Positive(t, quick)
	require.Positive(t, slow)
}
