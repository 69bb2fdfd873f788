package scenarios

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var seeds = flag.Int("scenario-seeds", 0, "seeds per scenario (default: each scenario's own)")

// TestScenariosInSimulation runs every scenario over its seeds with every
// checker on: safety, linearizability, epochs, flapping and the scenario's
// expectations.
func TestScenariosInSimulation(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 17)
	for _, f := range files {
		sc, err := Load(f, filepath.Join("..", "testdata", "configs"))
		require.NoError(t, err, f)
		t.Run(sc.Name, func(t *testing.T) {
			n := sc.Seeds
			if *seeds > 0 {
				n = *seeds
			}
			for seed := uint64(1); seed <= uint64(n); seed++ {
				r := sc.Run(seed)
				require.False(t, r.Failed(), "%s seed %d: %s\n%v", sc.Name, seed, r.Summary(), r.Violations)
			}
		})
	}
}

func TestScenarioValidation(t *testing.T) {
	_, err := Load("nope.yaml", "../testdata/configs")
	require.Error(t, err)
}
