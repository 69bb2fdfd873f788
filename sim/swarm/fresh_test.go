package swarm

import (
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	freshFrom  = flag.Uint64("fresh-from", 0, "first seed of the fresh range (0: drawn from the clock, printed)")
	freshSeeds = flag.Int("fresh-seeds", 200, "how many fresh seeds TestFreshSeeds runs")
)

// TestFreshSeeds runs a range of seeds nobody has run before, a different
// one on every run, besides the fixed regression ranges: a swarm over fixed
// seeds only ever re-proves what it proved once. The range is printed, so
// a failure replays with the command in the message.
func TestFreshSeeds(t *testing.T) {
	from := *freshFrom
	if from == 0 {
		// Far above the fixed ranges (1-100,000 in make swarm).
		from = 1_000_000 + uint64(time.Now().UnixNano())%1_000_000_000_000
	}
	to := from + uint64(*freshSeeds) - 1
	t.Logf("fresh seeds %d-%d (again: go test ./sim/swarm -run TestFreshSeeds -fresh-from %d)", from, to, from)
	m, err := DefaultModel()
	require.NoError(t, err)
	sum := Swarm(Config{Model: m}, from, to, 1, false, nil)
	for _, r := range sum.Failed {
		t.Errorf("seed %d: %s (replay: basalt-sim replay --seed %d; shrink: basalt-sim shrink --seed %d)", r.Seed, r.Summary(), r.Seed, r.Seed)
	}
	require.Equal(t, *freshSeeds, sum.Seeds)
}

// TestFoundByFreshSeeds replays the seeds that fresh ranges found failing,
// once fixed: each stays a regression test.
//
//	809867: h3's agent restarted while its host was paused; on resume two
//	        managers' connections (epochs 1 and 2) arrived at once and the
//	        agent obeyed the first, of epoch 1, until the epoch-2 manager
//	        spoke. The connection judge took that for leaving the epoch-2
//	        manager, although the new agent had obeyed nobody yet: the rule
//	        is about the connection an agent obeys, not one it has not
//	        heard from.
//	866023: h3's agent restarted at the heal; the manager sent vip's start
//	        on its new connection before the new agent's hello, and on the
//	        hello counted that start lost with the old agent's commands. The
//	        start ran; the manager, believing vip stopped there, started it
//	        on h4 too: active on two hosts (safety). Commands sent on the
//	        connection a restarted agent's hello comes on reached it.
//	876597: after the heal, message loss dropped the result of mgs's stop
//	        on h1; a stop without a result was taken as failed and the
//	        healthy h1 was fenced. TCP never drops one message of an open
//	        connection: loss now delays (retransmits) in order, and a lost
//	        stop on a host that still answers is settled by a probe.
//	934805: a paused manager (epoch 1), replaced by epoch 2, resumed; h4
//	        and h2 greeted it with epoch 2, not a majority, and h3, rebooted
//	        while epoch 2 took over, had not heard of it and obeyed epoch 1:
//	        the old manager started pool-b there while epoch 2 ran it on h4
//	        (safety). A manager that a host tells of a newer one starts
//	        nothing until the report is withdrawn or it is deposed.
func TestFoundByFreshSeeds(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	for _, seed := range []uint64{809867, 866023, 876597, 934805} {
		r := RunSeed(Config{Model: m}, seed)
		require.False(t, r.Failed(), "seed %d: %s", seed, r.Summary())
	}
}
