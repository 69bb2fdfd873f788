package harness_test

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/harness"
	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/live/api"
)

var (
	chaosFor  = flag.Duration("chaos", 0, "run the process chaos test for this long (make chaos); 0 skips it")
	chaosSeed = flag.Uint64("chaos-seed", 0, "seed of the chaos run (default: from the clock, printed)")
	chaosKeep = flag.String("chaos-keep", "", "directory to copy logs, history and timeline into when the run fails")
	chaosNet  = flag.String("chaos-network", harness.NetProxy, "how partitions are made: proxy (a TCP proxy per agent) or netns (a network namespace per agent; needs root)")
)

// chaosFault is one kind of fault the chaos run draws, with its
// weight. Each returns the undo to run after its duration (nil for none).
type chaosFault struct {
	name   string
	weight int
	do     func(pc *procCluster, rng *rand.Rand, h string, d time.Duration) func()
}

var chaosFaults = []chaosFault{
	{"kill -9 agent", 3, func(pc *procCluster, rng *rand.Rand, h string, d time.Duration) func() {
		// Half the time systemd restarts it; otherwise it stays dead
		// until the cluster fences the host and the host reboots.
		restart := time.Duration(0)
		if rng.IntN(2) == 0 {
			restart = d
		}
		pc.CrashAgent(h, restart)
		return nil
	}},
	{"crash host", 1, func(pc *procCluster, rng *rand.Rand, h string, d time.Duration) func() {
		pc.CrashHost(h, d)
		return nil
	}},
	{"SIGSTOP agent", 3, func(pc *procCluster, rng *rand.Rand, h string, d time.Duration) func() {
		pc.Pause(h)
		return func() { pc.Resume(h) }
	}},
	{"partition manager from", 2, func(pc *procCluster, rng *rand.Rand, h string, d time.Duration) func() {
		pc.link(pc.Links[h].Partition())
		return func() { pc.link(pc.Links[h].Heal()) }
	}},
	{"cut agent→manager of", 1, func(pc *procCluster, rng *rand.Rand, h string, d time.Duration) func() {
		pc.link(pc.Links[h].Drop(harness.FromTarget, true))
		return func() { pc.link(pc.Links[h].Drop(harness.FromTarget, false)) }
	}},
	{"delay manager→agent of", 1, func(pc *procCluster, rng *rand.Rand, h string, d time.Duration) func() {
		err := pc.Links[h].Delay(harness.ToTarget, time.Duration(50+rng.IntN(400))*time.Millisecond)
		if errors.Is(err, harness.ErrUnsupported) {
			pc.Mark("skipped: %v", err) // a kernel without netem cannot delay a namespace's packets
			return nil
		}
		pc.link(err)
		return func() { pc.link(pc.Links[h].Delay(harness.ToTarget, 0)) }
	}},
	{"kill resource pool on", 1, func(pc *procCluster, rng *rand.Rand, h string, d time.Duration) func() {
		_ = pc.KillResource(h, "pool")
		return nil
	}},
	{"restart manager", 1, func(pc *procCluster, rng *rand.Rand, h string, d time.Duration) func() {
		if err := pc.RestartManager(); err != nil {
			pc.t.Errorf("restart manager: %v", err)
		}
		return nil
	}},
	{"kill -9 manager", 1, func(pc *procCluster, rng *rand.Rand, h string, d time.Duration) func() {
		pc.CrashManager()
		return func() {
			if err := pc.StartManager(); err != nil {
				pc.t.Errorf("start manager: %v", err)
			}
		}
	}},
	{"freeze manager, replacement takes over", 1, func(pc *procCluster, rng *rand.Rand, h string, d time.Duration) func() {
		err := pc.PauseManager()
		if errors.Is(err, harness.ErrNoManager) {
			return nil // a crash of the manager is under way: nothing to freeze
		}
		if err != nil {
			pc.t.Errorf("pause manager: %v", err)
		}
		return pc.ResumeStaleManagers
	}},
	{"move g to", 2, func(pc *procCluster, rng *rand.Rand, h string, d time.Duration) func() {
		_ = pc.Admin(api.Request{Command: string(manager.CmdMove), Target: "g", Host: h})
		return nil
	}},
}

// undo is a fault's end, due at a time.
type undo struct {
	at   time.Time
	name string
	fn   func()
}

// TestChaos runs real processes under random faults from a seed: kill -9
// of agents and whole hosts, SIGSTOP/SIGCONT, partitions and one-way cuts
// and delays on the manager↔agent links (proxies, or network namespaces
// with -chaos-network netns), resources dying, manager restarts,
// crashes and freezes with a replacement taking over, admin moves. The
// ground truth is watched throughout; after the faults stop and heal, the
// cluster must recover, and the agents' operation history must be
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
	t.Logf("chaos seed %d on network %s (replay: make chaos CHAOS_SEED=%d CHAOS_NETWORK=%s)", seed, *chaosNet, seed, *chaosNet)
	rng := rand.New(rand.NewPCG(seed, 0x6368616f73))
	pc := newProcClusterOpts(t, []string{"h1", "h2", "h3"}, procOpts{network: *chaosNet, rebootAfter: 3 * time.Second})
	pc.awaitHealthyOn("h1")
	truth := harness.WatchTruth(pc.ProcessCluster, check.Limits(pc.Model))
	start := time.Now()
	total := 0
	for _, f := range chaosFaults {
		total += f.weight
	}
	var undos []undo
	runUndos := func(until time.Time) {
		sort.SliceStable(undos, func(i, j int) bool { return undos[i].at.Before(undos[j].at) })
		for len(undos) > 0 && !undos[0].at.After(until) {
			pc.Mark("end of %s", undos[0].name)
			undos[0].fn()
			undos = undos[1:]
		}
	}
	faults := 0
	for time.Since(start) < *chaosFor {
		next := time.Now().Add(time.Duration(1500+rng.IntN(2500)) * time.Millisecond)
		for time.Now().Before(next) {
			// Wait for the next fault, ending others on their schedule.
			wake := next
			if len(undos) > 0 && undos[0].at.Before(wake) {
				wake = undos[0].at
			}
			time.Sleep(time.Until(wake))
			runUndos(time.Now())
		}
		pick := rng.IntN(total)
		var f chaosFault
		for _, f = range chaosFaults {
			if pick < f.weight {
				break
			}
			pick -= f.weight
		}
		h := pc.Hosts[rng.IntN(len(pc.Hosts))]
		d := time.Duration(500+rng.IntN(5500)) * time.Millisecond
		pc.Mark("%s %s (%s)", f.name, h, d)
		faults++
		if fn := f.do(pc, rng, h, d); fn != nil {
			undos = append(undos, undo{at: time.Now().Add(d), name: f.name + " " + h, fn: fn})
		}
	}
	// Heal: end every fault, power everything on, clear the moves.
	runUndos(time.Now().Add(time.Hour))
	pc.Heal()
	healAt := time.Now()
	pc.Mark("heal")
	recovered := false
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		_ = pc.Admin(api.Request{Command: string(manager.CmdClear), Target: "g"})
		if _, rc := pc.status(); rc == 0 {
			recovered = true
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	rec, violations, err := harness.Finish(pc.ProcessCluster, truth, fmt.Sprintf("Basalt process chaos, seed %d", seed), start)
	require.NoError(t, err)
	if (len(violations) > 0 || !recovered) && *chaosKeep != "" {
		dir := filepath.Join(*chaosKeep, "chaos-"+strconv.FormatUint(seed, 10))
		if err := rec.Keep(pc.Dir, dir); err != nil {
			t.Errorf("keeping the run: %v", err)
		} else {
			t.Logf("logs, history and timeline kept in %s", dir)
		}
	}
	for _, v := range violations {
		t.Errorf("seed %d: %s", seed, v)
	}
	require.True(t, recovered, "seed %d: not recovered within 90s of the heal", seed)
	t.Logf("seed %d: %d faults, %d fences, %d operations linearizable, recovered %s after the heal, no safety violation",
		seed, faults, len(pc.Fences()), len(rec.Ops), time.Since(healAt).Truncate(time.Millisecond))
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

// link reports a link fault the harness could not set or lift.
func (pc *procCluster) link(err error) {
	if err != nil {
		pc.t.Errorf("link: %v", err)
	}
}
