package swarm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPromotableSwarm: the promotable cluster under the promotion faults
// (and every other) keeps at most one primary at every instant, heals with
// one, and the seeds really promote, demote and fail promotes, and fail
// and hang notifications (which the notify judge finds failed nothing).
func TestPromotableSwarm(t *testing.T) {
	m, err := PromotableModel()
	require.NoError(t, err)
	cfg := Config{Model: m, Text: PromotableConfig(), Promotable: true}
	var cov Coverage
	for seed := uint64(1); seed <= 20; seed++ {
		r := RunSeed(cfg, seed)
		require.False(t, r.Failed(), "seed %d: %s", seed, r.Summary())
		cov.Add(r.Coverage)
	}
	require.Positive(t, cov.Promotions)
	require.Positive(t, cov.Demotions)
	require.Positive(t, cov.PromoteFailures)
	require.Positive(t, cov.NotifyFaults)
	require.Positive(t, cov.NotifyFailures)
	require.Equal(t, RunSeed(cfg, 3).Hash, RunSeed(cfg, 3).Hash, "a promotable seed replays exactly")
}

// TestDefaultSeedsIgnorePromotable: the promotion faults change nothing of
// a cluster without a promotable clone.
func TestDefaultSeedsIgnorePromotable(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	require.Equal(t, RunSeed(Config{Model: m}, 2).Hash, RunSeed(Config{Model: m, Promotable: true}, 2).Hash)
}
