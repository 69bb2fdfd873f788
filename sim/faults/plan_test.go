package faults

import (
	"os"
	"testing"

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
