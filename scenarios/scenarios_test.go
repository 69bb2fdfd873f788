package scenarios

import (
	"flag"
	"os"
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

// A config-apply step names its edits, and only a sim-only scenario has
// one: the process harness cannot apply a configuration.
func TestConfigApplyStepsAreSimOnly(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ text, want string }{
		{"description: x\nconfig: default\nsteps: [{at: 1m, kind: config-apply, edits: [{kind: remove-group, group: mgs}]}]\n", "mark the scenario sim-only"},
		{"description: x\nconfig: default\nsim-only: true\nsteps: [{at: 1m, kind: config-apply}]\n", "names its edits"},
		{"description: x\nconfig: default\nsteps: [{at: 1m, kind: admin-cleanup, group: mgs, edits: [{kind: remove-group, group: mgs}]}]\n", "edits belong to a config-apply step"},
	} {
		path := filepath.Join(dir, "s.yaml")
		require.NoError(t, os.WriteFile(path, []byte(tc.text), 0o644))
		_, err := Load(path, "../testdata/configs")
		require.ErrorContains(t, err, tc.want)
	}
	sc, err := Load("config-apply.yaml", "../testdata/configs")
	require.NoError(t, err)
	require.True(t, sc.SimOnly)
	require.Len(t, sc.Steps[2].Edits, 1)
}
