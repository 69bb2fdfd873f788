package swarm

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/sim/shape"
)

// TestHealthWatchAgreesWithTheFullScan: on recorded runs of the default
// cluster, of drawn shapes (clones, restricted domains, fencing off) and
// of manager replicas, and with a canary that breaks recovery, every
// verdict of the heal phase's incremental health check is the full scan's.
func TestHealthWatchAgreesWithTheFullScan(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	shapes := func(seed uint64) (*model.Model, []string, error) {
		s, err := shape.Generate(seed)
		return s.Model, nil, err
	}
	for _, tc := range []struct {
		name  string
		cfg   Config
		seeds uint64
	}{
		{"default", Config{Model: m}, 15},
		{"shapes", Config{Model: m, Shapes: shapes}, 15},
		{"replicas", Config{Model: m, Replicas: 3}, 6},
		{"canary", Config{Model: m, Canary: "no-probe"}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var verdicts, healthy, mismatches int
			tc.cfg.healthCheck = func(incremental, full bool) {
				verdicts++
				if full {
					healthy++
				}
				if incremental != full {
					mismatches++
				}
			}
			for seed := uint64(1); seed <= tc.seeds; seed++ {
				RunSeed(tc.cfg, seed)
			}
			require.Zero(t, mismatches, "of %d verdicts", verdicts)
			require.Positive(t, healthy, "some verdicts say healthy")
			require.Greater(t, verdicts, 10*healthy, "most say not yet")
		})
	}
}
