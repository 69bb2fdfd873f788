package scenarios

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// canaryFlags are the daemon flags of each known defect, in builds with
// the canary tag.
var canaryFlags = map[string]struct{ manager, agent []string }{
	"skip-fence":   {manager: []string{"--canary-skip-fence"}},
	"no-probe":     {manager: []string{"--canary-no-probe"}},
	"ignore-epoch": {agent: []string{"--canary-ignore-epoch"}},
}

// TestCanaryScenarios shows that each known defect is caught in both
// worlds by the same scenario (testdata/canaries/<defect>.yaml): the
// correct manager and agents pass it, in the simulator and on real
// processes; with the defect switched on the checkers report it, in the
// simulator within the scenario's seeds and on real processes in one run.
func TestCanaryScenarios(t *testing.T) {
	for name, flags := range canaryFlags {
		sc, err := Load(filepath.Join("testdata", "canaries", name+".yaml"), filepath.Join("..", "testdata", "configs"))
		require.NoError(t, err)
		t.Run(name, func(t *testing.T) {
			t.Run("simulator", func(t *testing.T) {
				caught := 0
				for seed := uint64(1); seed <= uint64(sc.Seeds); seed++ {
					r := sc.Run(seed)
					require.False(t, r.Failed(), "the correct build fails seed %d: %s", seed, r.Summary())
					if sc.RunCanary(seed, name).Failed() {
						caught++
					}
				}
				require.Positive(t, caught, "the %s defect was never caught in %d seeds", name, sc.Seeds)
				t.Logf("%s caught in %d of %d seeds", name, caught, sc.Seeds)
			})
			if testing.Short() {
				return
			}
			t.Run("process", func(t *testing.T) {
				t.Parallel()
				r := runProcess(t, sc, ProcessRun{}, "canary")
				require.False(t, r.Failed(), "the correct build fails: %s", r.Summary())
			})
			t.Run("process-defect", func(t *testing.T) {
				t.Parallel()
				r := runProcess(t, sc, ProcessRun{ManagerArgs: flags.manager, AgentArgs: flags.agent}, "canary")
				require.True(t, r.Failed(), "the %s defect was not caught on real processes: %s", name, r.Summary())
				t.Logf("caught: %s", r.Summary())
			})
		})
	}
}
