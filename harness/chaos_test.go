package harness_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/harness"
	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/sim/faults"
)

var (
	chaosFor  = flag.Duration("chaos", 0, "run the process chaos test for this long (make chaos); 0 skips it")
	chaosSeed = flag.Uint64("chaos-seed", 0, "seed of the chaos run (default: from the clock, printed)")
	chaosKeep = flag.String("chaos-keep", "", "directory to copy logs, history and timeline into when the run fails")
	chaosNet  = flag.String("chaos-network", harness.NetProxy, "how partitions are made: proxy (a TCP proxy per agent) or netns (a network namespace per agent; needs root)")
	chaosReps = flag.Int("chaos-replicas", 0, "run this many manager replicas on a real etcd instead of one manager; the manager faults strike the leader, and the etcd faults are drawn too")
)

// chaosKinds are the faults the chaos run draws: every kind real processes
// can inject (all the swarm's but the lying fence device; see
// ProcessCluster.FaultTarget), and two the swarm does not draw: an
// impostor holding a host's certificate, and a full state directory (the
// manager's or an agent's).
var chaosKinds = []faults.Kind{faults.CrashAgent, faults.CrashHost, faults.PauseHost, faults.Partition, faults.CutOneWay,
	faults.Isolate, faults.Clog, faults.KillResource, faults.FailStart, faults.FailStop, faults.HangAction, faults.FailDevice,
	faults.HangDevice, faults.CrashManager, faults.PauseManager, faults.FreezeManager, faults.RestartAgent, faults.AdminMove, faults.AdminStandby, faults.AdminStop,
	faults.AdminCleanup, faults.AdminUnmanage, faults.ImpostorAgent, faults.DiskFull}

// chaosTmpfs is the size of each state directory's own tmpfs in the chaos
// run, so that a disk-full fault fills one daemon's disk only: ample for a
// run's event log, small enough to fill at once.
const chaosTmpfs = "32m"

// chaosSpacing is the least time between two faults of the chaos run:
// real processes need a moment to show what a fault did.
const chaosSpacing = 1500 * time.Millisecond

// chaosHeal is how long the healed cluster has to recover.
const chaosHeal = 90 * time.Second

// chaosPlan is the chaos run's fault plan: the swarm's generator (each
// kind on or off per seed, with its own intensity), on real time. A
// simulated run stretches over minutes of virtual time; a real one has
// one, so each kind switched on comes twenty times as often as in the
// swarm (the spacing thins that to about twenty faults a minute, as busy
// as the generator this replaced), each lasting at most six seconds (two
// dead timeouts of the test cluster), at least chaosSpacing apart, with
// network faults on the manager↔agent links only.
func chaosPlan(m *model.Model, seed uint64, d time.Duration, replicas bool) faults.Plan {
	kinds := chaosKinds
	if replicas {
		kinds = append(slices.Clip(kinds), faults.CutLeaderStore, faults.StoreDown)
	}
	return faults.Generate(m, seed, faults.Options{Chaos: d, Heal: chaosHeal, Kinds: kinds, Intensity: 20,
		MaxFor: 6 * time.Second, Spacing: chaosSpacing, ManagerLinks: true, MaxFaults: int(d/chaosSpacing) + 1,
		Replicas: replicas})
}

// planSummary is a plan on one line: its seed, its faults, the kinds it
// switched on and how many faults of each.
func planSummary(p faults.Plan) string {
	n := map[faults.Kind]int{}
	for _, f := range p.Faults {
		n[f.Kind]++
	}
	var kinds []string
	for _, k := range p.Enabled {
		kinds = append(kinds, fmt.Sprintf("%s×%d", k, n[k]))
	}
	return fmt.Sprintf("plan of seed %d: %d faults in %s, kinds on: %s", p.Seed, len(p.Faults), p.Chaos, strings.Join(kinds, ", "))
}

// chaosTally counts what the chaos run did with its plan's steps.
type chaosTally struct{ applied, skipped, refused int }

// applyChaos applies one step of the plan. A fault real processes cannot
// inject here (a delay without netem) is skipped, as is a freeze of a
// manager that a crash has already taken down; an admin request the
// manager refuses or cannot take (it is down) is refused, as it would be
// for an operator. Anything else is the harness failing.
func applyChaos(pc *procCluster, s faults.Step, tally *chaosTally) {
	err := faults.Apply(pc.FaultTarget(), s)
	if err == nil && s.End && s.Fault.Kind == faults.ImpostorAgent {
		// What the impostor forged must have been refused: the manager
		// it spoke to still acts.
		if v, serr := pc.Status(); serr == nil && v.Deposed {
			pc.t.Errorf("%s: the impostor deposed the manager (epoch %d)", s, v.Epoch)
		}
	}
	switch {
	case err == nil:
		tally.applied++
	case errors.Is(err, errors.ErrUnsupported), errors.Is(err, harness.ErrNoManager):
		tally.skipped++
		pc.Mark("skipped: %v", err)
	case strings.HasPrefix(string(s.Fault.Kind), "admin-"):
		tally.refused++
		pc.Mark("refused: %v", err)
	default:
		pc.t.Errorf("%s: %v", s, err)
	}
}

// TestChaos runs real processes under a fault plan drawn from a seed by
// the simulator's generator (sim/faults), applied through the same fault
// interface as in the simulator: kill -9 of agents and whole hosts,
// SIGSTOP/SIGCONT, partitions, one-way cuts and delays on the manager↔agent
// links (proxies, or network namespaces with -chaos-network netns),
// resources dying, failing and hanging, fence devices failing and hanging,
// manager crashes and freezes with a replacement taking over, and admin
// requests. The ground truth is watched throughout; after the plan's chaos
// phase the faults are lifted, an operator cleans up (faults.Recovery), and
// the cluster must recover; the agents' operation history must be
// linearizable. It runs only with -chaos DURATION (make chaos; make test
// runs a short one).
func TestChaos(t *testing.T) {
	if *chaosFor == 0 {
		t.Skip("process chaos runs with -chaos DURATION (make chaos)")
	}
	seed := *chaosSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano() % 1_000_000)
	}
	t.Logf("chaos seed %d on network %s with %d manager replicas (replay: make chaos CHAOS_SEED=%d CHAOS_NETWORK=%s CHAOS_REPLICAS=%d)",
		seed, *chaosNet, *chaosReps, seed, *chaosNet, *chaosReps)
	pc := newProcClusterOpts(t, []string{"h1", "h2", "h3"}, procOpts{network: *chaosNet, rebootAfter: 3 * time.Second,
		stateTmpfs: chaosTmpfs, replicas: *chaosReps})
	plan := chaosPlan(pc.Model, seed, *chaosFor, *chaosReps > 0)
	t.Log(planSummary(plan))
	pc.awaitHealthyOn("h1")
	truth := harness.WatchTruth(pc.ProcessCluster, check.Limits(pc.Model))
	start := time.Now()
	var tally chaosTally
	for _, s := range faults.Steps(plan.Faults) {
		if s.At() > plan.Chaos {
			break // the heal ends what is still on
		}
		time.Sleep(time.Until(start.Add(s.At()))) // the plan's pacing
		pc.Mark("%s", s)
		applyChaos(pc, s, &tally)
	}
	time.Sleep(time.Until(start.Add(plan.Chaos)))
	healAt := time.Now()
	pc.Mark("heal")
	recovered := awaitRecovery(pc, &tally)
	rec, violations, err := harness.Finish(pc.ProcessCluster, truth, fmt.Sprintf("Basalt process chaos, seed %d", seed), start)
	require.NoError(t, err)
	if *chaosReps > 0 {
		acts, tenures, err := pc.ReplicaLeaderships()
		require.NoError(t, err)
		violations = append(violations, check.CheckLeadership(acts, tenures)...)
	}
	if (len(violations) > 0 || !recovered) && *chaosKeep != "" {
		keepChaos(t, pc, rec, plan)
	}
	for _, v := range violations {
		t.Errorf("seed %d: %s", seed, v)
	}
	require.True(t, recovered, "seed %d: not recovered within %s of the heal", seed, chaosHeal)
	t.Logf("seed %d: %d faults (%d steps applied, %d skipped, %d admin requests refused), %d fences, %d operations linearizable, recovered %s after the heal, no safety violation",
		seed, len(plan.Faults), tally.applied, tally.skipped, tally.refused, len(pc.Fences()), len(rec.Ops), time.Since(healAt).Truncate(time.Millisecond))
}

// awaitRecovery lifts every fault and does the operator's cleanup
// (faults.Recovery), retrying each request until the manager takes it (a
// restarted one needs a moment to listen), and polls until the cluster is
// healthy or chaosHeal has passed.
func awaitRecovery(pc *procCluster, tally *chaosTally) bool {
	pending := faults.Recovery()
	deadline := time.Now().Add(chaosHeal)
	for time.Now().Before(deadline) {
		var left []faults.Fault
		for _, f := range pending {
			if err := faults.Apply(pc.FaultTarget(), faults.Step{Fault: f}); err != nil {
				left = append(left, f)
			}
		}
		pending = left
		if _, rc := pc.status(); rc == 0 && len(pending) == 0 {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// keepChaos copies a failing run's logs, history and timeline, and its
// plan, into the -chaos-keep directory.
func keepChaos(t *testing.T, pc *procCluster, rec harness.Record, plan faults.Plan) {
	dir := filepath.Join(*chaosKeep, "chaos-"+strconv.FormatUint(plan.Seed, 10))
	err := rec.Keep(pc.Dir, dir)
	if err == nil {
		var data []byte
		if data, err = plan.Encode(); err == nil {
			err = os.WriteFile(filepath.Join(dir, "plan.json"), data, 0o644)
		}
	}
	if err != nil {
		t.Errorf("keeping the run: %v", err)
		return
	}
	t.Logf("logs, history, timeline and plan kept in %s", dir)
}

// TestChaosPlan checks the chaos run's plans without running them: drawn
// from the seed alone, within what real processes can inject, and as busy
// as the run this replaced (about twenty faults a minute). It logs the plan
// of make test's seed.
func TestChaosPlan(t *testing.T) {
	m, err := model.Load("proc", testConfig([]string{"h1", "h2", "h3"}))
	require.NoError(t, err)
	total := 0
	for seed := uint64(1); seed <= 200; seed++ {
		p := chaosPlan(m, seed, time.Minute, false)
		require.Equal(t, p, chaosPlan(m, seed, time.Minute, false), "the seed selects the plan")
		for _, f := range p.Faults {
			require.Contains(t, chaosKinds, f.Kind)
			require.LessOrEqual(t, f.For, 6*time.Second)
		}
		total += len(p.Faults)
	}
	require.Greater(t, total/200, 10, "faults per minute")
	p := chaosPlan(m, 7, time.Minute, false)
	t.Log(planSummary(p))
	for _, f := range p.Faults {
		t.Logf("  %s: %s", f.At, f)
	}
}

// slowFence is a fence agent directory whose fence_basalt_pid takes two
// seconds, as a real power switch may.
func slowFence(t *testing.T) string {
	slow := filepath.Join(t.TempDir(), "fence")
	require.NoError(t, os.MkdirAll(slow, 0o755))
	wrapper := "#!/bin/sh\nsleep 2\nexec " + filepath.Join(repo(), "agents", "fence", "fence_basalt_pid") + " \"$@\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(slow, "fence_basalt_pid"), []byte(wrapper), 0o755))
	return slow
}

// freezeH1 freezes h1, which holds the group, and watches the ground truth
// until cond says stop or a minute passes.
func freezeH1(t *testing.T, pc *procCluster, cond func(w *harness.Truth) bool) *harness.Truth {
	pc.awaitHealthyOn("h1")
	w := harness.WatchTruth(pc.ProcessCluster, check.Limits(pc.Model))
	pc.Pause("h1")
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && !cond(w) {
		time.Sleep(50 * time.Millisecond)
	}
	w.Close()
	return w
}

// TestProcessCanarySkipFenceIsCaught runs a manager built with the
// skip-fence defect against real processes: when a frozen host is "lost",
// it starts the group elsewhere before the (slow) fence has confirmed, and
// the ground-truth watcher sees the resource active on two hosts. The
// correct manager, in the same situation, waits: no violation.
func TestProcessCanarySkipFenceIsCaught(t *testing.T) {
	t.Run("defective", func(t *testing.T) {
		pc := newProcClusterOpts(t, []string{"h1", "h2"}, procOpts{tags: "canary", mgrArgs: []string{"--canary-skip-fence"}, fenceDir: slowFence(t)})
		w := freezeH1(t, pc, func(w *harness.Truth) bool { return len(w.Violations()) > 0 })
		require.NotEmpty(t, w.Violations(), "the skip-fence canary was not caught")
		t.Logf("caught: %s", w.Violations()[0])
	})
	t.Run("correct", func(t *testing.T) {
		pc := newProcClusterOpts(t, []string{"h1", "h2"}, procOpts{tags: "canary", fenceDir: slowFence(t)})
		w := freezeH1(t, pc, func(w *harness.Truth) bool { return w.Active("h2", "pool") && w.Active("h2", "mnt") })
		require.True(t, w.Active("h2", "pool"), "the group failed over after the fence")
		require.Empty(t, w.Violations())
	})
}

// TestProcessPartitionManagerAgent cuts the manager off from h1 for real
// while h1 keeps running its resources, once through a proxy that drops
// both directions and once in the kernel, h1's agent in its own network
// namespace: h1 must be fenced (through h2) before the group starts on h2,
// never a double start.
func TestProcessPartitionManagerAgent(t *testing.T) {
	for _, network := range []string{harness.NetProxy, harness.NetNetns} {
		t.Run(network, func(t *testing.T) { partitionManagerAgent(t, network) })
	}
}

func partitionManagerAgent(t *testing.T, network string) {
	pc := newProcClusterOpts(t, []string{"h1", "h2"}, procOpts{network: network})
	pc.awaitHealthyOn("h1")
	w := harness.WatchTruth(pc.ProcessCluster, check.Limits(pc.Model))
	require.NoError(t, pc.Links["h1"].Partition())
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && !(w.Active("h2", "pool") && w.Active("h2", "mnt")) {
		time.Sleep(50 * time.Millisecond)
	}
	w.Close()
	require.Empty(t, w.Violations(), "never active on two hosts")
	require.True(t, w.Active("h2", "pool"), "the group failed over")
	power, err := os.ReadFile(filepath.Join(pc.HostDir("h1"), "power"))
	require.NoError(t, err)
	require.Equal(t, "off\n", string(power), "h1 was fenced first")
	require.NoError(t, pc.Links["h1"].Heal())
}
