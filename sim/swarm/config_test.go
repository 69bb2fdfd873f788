package swarm

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/sim/cluster"
	"github.com/basalt-ha/basalt/sim/faults"
)

// Config-apply seeds that failed, once fixed, each a regression test:
//
//	12: mgs was stopped and started again by an administrator (basalt
//	    resource stop, then start: a target-role override), then a change
//	    removed it. The override outlived the group: the orphan was
//	    "started" and never stopped, running on h2 though no configuration
//	    had it (staleTruth). An orphan now stops whatever its group was
//	    told before.
//	3249, 3353: a change of a monitor's timeout cancelled the monitor and
//	    set it up again at once; a duplicate of the new setup overtook the
//	    cancel, so the agent set the new monitor up and then cancelled it
//	    (it cancels by key). The setup was answered "cancelled", which left
//	    its action running: the transition never ended, and the manager
//	    planned nothing more (every report open, pool-b down for good).
//	    A cancel now names the setup it means and the agent refuses one
//	    that crossed a newer setup (a cancelled setup, from an older agent,
//	    fails its action). The simulator no longer lets a copy overtake
//	    its original, so these seeds no longer cross: core/agent's
//	    TestCancelEndsOnlyTheSetupItNames and the interactions
//	    config-apply-monitor-cancel-* keep the crossing itself.
func TestConfigApplySeeds(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	cfg := Config{Model: m, Text: DefaultConfig(), ConfigApply: true}
	for _, seed := range []uint64{12, 3249, 3353} {
		r := RunSeed(cfg, seed)
		require.False(t, r.Failed(), "seed %d: %s", seed, r.Summary())
		require.Positive(t, r.Coverage.ConfigApplies, "seed %d applied a change", seed)
	}
}

// Without ConfigApply no plan has a config-apply, and a plan's other faults
// are the same with it: the kind draws from a stream of its own.
func TestConfigApplyIsOptIn(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	seen := 0
	for seed := uint64(1); seed <= 40; seed++ {
		off := PlanFor(Config{Model: m}, seed)
		on := PlanFor(Config{Model: m, ConfigApply: true}, seed)
		var others []faults.Fault
		for _, f := range on.Faults {
			if f.Kind == faults.ConfigApply {
				seen++
				continue
			}
			others = append(others, f)
		}
		for _, f := range off.Faults {
			require.NotEqual(t, faults.ConfigApply, f.Kind)
		}
		if len(off.Faults) < 40 { // the cut to MaxFaults may drop different ones
			require.Equal(t, off.Faults, others, "seed %d", seed)
		}
	}
	require.Positive(t, seen, "some seeds draw a config-apply")
}

// A drawn change is valid and keeps the hosts; the judge of the heal says
// what runs that the configuration does not have.
func TestDrawnChangesLoadAndKeepHosts(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	text := DefaultConfig()
	for seed := uint64(1); seed <= 50; seed++ {
		edits, next := faults.DrawEdits(text, m, randFor(seed), 3)
		require.NotEmpty(t, edits, "seed %d", seed)
		nm, err := model.Load("next", next)
		require.NoError(t, err, "seed %d", seed)
		require.Equal(t, m.HostNames(), nm.HostNames())
		require.NotEmpty(t, nm.Groups)
		text, m = next, nm
	}
}

func randFor(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

// A changed parameter reaches the judges as a new instance: the ground
// truth's changes carry the new definition's digest, the old instance
// stops before the new one starts, and the run is judged clean, its world
// running exactly the new configuration at the end.
func TestChangedDefinitionIsANewInstance(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	plan := faults.Plan{Seed: 5, Scripted: true, Chaos: 2 * time.Minute, Heal: time.Second,
		Network: faults.Network{LatencyMin: time.Millisecond, LatencyMax: 5 * time.Millisecond},
		Faults: []faults.Fault{{At: time.Minute, Kind: faults.ConfigApply,
			Edits: []model.EditOp{{Kind: model.EditSetParam, Resource: "db", Param: "state", Value: "/run/w/db-v2"}}}}}
	r := RunPlan(Config{Model: m, Text: DefaultConfig(), KeepHistory: true}, plan)
	require.False(t, r.Failed(), r.Summary())
	require.Equal(t, 1, r.Coverage.ConfigApplies)
	var db []string
	for _, ch := range r.Changes {
		if ch.Resource == "db" && ch.At.After(cluster.Start.Add(time.Minute)) {
			db = append(db, fmt.Sprintf("%s %t digest=%t", ch.Host, ch.Active, ch.Digest != ""))
		}
	}
	require.Equal(t, []string{"h4 false digest=false", "h4 true digest=true"}, db)
}

// TestOutrankedManagerSeeds: seed 4579 (every kind of run draws it) had a
// paused manager of epoch 1 wake beside its replacement; h2's agent handed
// the newer one its connection, closing the old one's, then stopped
// cleanly (its goodbye went to the newer manager only). The old manager
// saw a reset and a refused redial, took h2 for a dead agent on a live
// host, and declared it lost in two heartbeats (unjust-loss). The agent
// now tells the manager it outranks before letting its connection go, the
// simulator delivers that before the close (TCP's data before its FIN),
// and a manager told a host obeys a newer one leaves the fast path alone.
// Seed 10732: the replacement of a paused manager had just connected to
// h4 when h4's agent stopped cleanly; its goodbye went to the paused
// manager's connection alone, and the replacement judged the close and
// the refused redial a dead agent. A goodbye now goes to the candidate
// connection too.
func TestOutrankedManagerSeeds(t *testing.T) {
	m, err := DefaultModel()
	require.NoError(t, err)
	for _, cfg := range []Config{{Model: m}, {Model: m, Text: DefaultConfig(), ConfigApply: true}} {
		for _, seed := range []uint64{4579, 10732} {
			r := RunSeed(cfg, seed)
			require.False(t, r.Failed(), "seed %d (config-apply %v): %s", seed, cfg.ConfigApply, r.Summary())
		}
	}
}
