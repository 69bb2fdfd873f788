package harness_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/harness"
)

var (
	chaosFor  = flag.Duration("chaos", 0, "run the process chaos test for this long (make chaos); 0 skips it")
	chaosSeed = flag.Uint64("chaos-seed", 0, "seed of the chaos run (default: from the clock, printed)")
	chaosKeep = flag.String("chaos-keep", "", "directory to copy logs, history and timeline into when the run fails")
)

// truthWatcher polls every host's resource directory and feeds the safety
// checker: the ground truth of the real cluster, as the simulator's files
// are of the simulated one. Polling can miss an overlap shorter than its
// period; it cannot invent one.
type truthWatcher struct {
	mu      sync.Mutex
	safety  *harness.Safety
	changes []harness.Change
	state   map[string]bool
	stop    chan struct{}
	done    chan struct{}
}

func watchTruth(pc *procCluster, limits map[string]int) *truthWatcher {
	w := &truthWatcher{safety: harness.NewSafety(limits), state: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			now := time.Now()
			seen := map[string]bool{}
			for _, h := range pc.hosts {
				for _, f := range pc.stateFiles(h) {
					if r, ok := strings.CutPrefix(strings.TrimSuffix(f, ".state"), "statefile-"); ok {
						seen[h+"/"+r] = true
					}
				}
			}
			w.mu.Lock()
			keys := make([]string, 0, len(seen)+len(w.state))
			for k := range seen {
				keys = append(keys, k)
			}
			for k := range w.state {
				if !seen[k] {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				if seen[k] != w.state[k] {
					h, r, _ := strings.Cut(k, "/")
					w.safety.Observe(now, h, r, seen[k])
					w.changes = append(w.changes, harness.Change{At: now, Host: h, Resource: r, Active: seen[k]})
					w.state[k] = seen[k]
				}
			}
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *truthWatcher) close() {
	close(w.stop)
	<-w.done
}

// TestChaos runs real processes under random faults from a seed: kill -9
// and restarts of agents, SIGSTOP/SIGCONT, manager restarts, admin moves.
// Ground-truth safety is watched throughout; after the faults stop the
// cluster must recover. It runs only with -chaos DURATION (make chaos).
func TestChaos(t *testing.T) {
	if *chaosFor == 0 {
		t.Skip("process chaos runs with -chaos DURATION (make chaos)")
	}
	seed := *chaosSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano() % 1_000_000)
	}
	t.Logf("chaos seed %d (replay: make chaos CHAOS_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x6368616f73))
	pc := newProcCluster(t, []string{"h1", "h2", "h3"})
	pc.awaitHealthyOn("h1")
	w := watchTruth(pc, map[string]int{"pool": 1, "mnt": 1})

	stopped := map[string]bool{}
	var marks []harness.Mark
	mark := func(format string, a ...any) {
		marks = append(marks, harness.Mark{At: time.Now(), Label: fmt.Sprintf(format, a...)})
		t.Logf(format, a...)
	}
	powerOn := func(h string) {
		require.NoError(t, os.WriteFile(filepath.Join(pc.dir, "hosts", h, "power"), []byte("on\n"), 0o644))
		pc.startAgent(h)
	}
	dead := func(h string) bool { return exited(pc, h) }
	start := time.Now()
	for time.Since(start) < *chaosFor {
		time.Sleep(time.Duration(2000+rng.IntN(4000)) * time.Millisecond)
		h := pc.hosts[rng.IntN(len(pc.hosts))]
		switch rng.IntN(5) {
		case 0: // kill -9 an agent; it comes back (powered on) a little later
			if exited(pc, h) {
				if pc.agents[h] != nil {
					_ = pc.agents[h].Wait()
				}
				delete(stopped, h)
				powerOn(h)
				mark("power on %s", h)
				continue
			}
			_ = pc.agents[h].Process.Kill()
			_ = pc.agents[h].Wait()
			delete(pc.agents, h)
			delete(stopped, h)
			mark("kill -9 agent %s", h)
		case 1: // freeze an agent for a while
			if dead(h) || stopped[h] {
				continue
			}
			_ = pc.agents[h].Process.Signal(syscall.SIGSTOP)
			stopped[h] = true
			mark("SIGSTOP agent %s", h)
		case 2: // thaw a frozen agent (a fence may have killed it meanwhile)
			for _, s := range pc.hosts {
				if stopped[s] {
					_ = pc.agents[s].Process.Signal(syscall.SIGCONT)
					delete(stopped, s)
					mark("SIGCONT agent %s", s)
				}
			}
		case 3: // restart the manager
			_ = pc.mgr.Process.Signal(syscall.SIGTERM)
			_ = pc.mgr.Wait()
			pc.startManager()
			mark("restart manager")
		case 4:
			target := pc.hosts[rng.IntN(len(pc.hosts))]
			pc.cli("resource", "move", "g", "--host", target)
			mark("move g to %s", target)
		}
	}
	// Heal: thaw, power on, let the cluster recover.
	healAt := time.Now()
	for _, h := range pc.hosts {
		if stopped[h] {
			_ = pc.agents[h].Process.Signal(syscall.SIGCONT)
		}
	}
	for _, h := range pc.hosts {
		if exited(pc, h) {
			if pc.agents[h] != nil {
				_ = pc.agents[h].Wait()
			}
			powerOn(h)
		}
	}
	pc.cli("resource", "clear", "g")
	mark("heal")
	recovered := false
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if _, rc := pc.status(); rc == 0 {
			recovered = true
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	w.close()
	failed := len(w.safety.Violations) > 0 || !recovered
	if failed && *chaosKeep != "" {
		keep(t, pc, w, marks, start, seed)
	}
	for _, v := range w.safety.Violations {
		t.Errorf("seed %d: %s", seed, v)
	}
	require.True(t, recovered, "seed %d: not recovered within 90s of the heal", seed)
	t.Logf("seed %d: %d faults, recovered %s after the heal, no safety violation", seed, len(marks)-1, time.Since(healAt).Truncate(time.Millisecond))
}

// exited reports whether h's agent is gone: never started again after a
// kill, or powered off by a fence (the fence agent killed it).
func exited(pc *procCluster, h string) bool {
	if pc.agents[h] == nil {
		return true
	}
	power, _ := os.ReadFile(filepath.Join(pc.dir, "hosts", h, "power"))
	return strings.TrimSpace(string(power)) == "off"
}

// keep copies the logs and writes the timeline of a failing run.
func keep(t *testing.T, pc *procCluster, w *truthWatcher, marks []harness.Mark, start time.Time, seed uint64) {
	dir := filepath.Join(*chaosKeep, "chaos-"+strconv.FormatUint(seed, 10))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, f := range append([]string{"manager"}, pc.hosts...) {
		if data, err := os.ReadFile(filepath.Join(pc.dir, f+".log")); err == nil {
			_ = os.WriteFile(filepath.Join(dir, f+".log"), data, 0o644)
		}
	}
	f, err := os.Create(filepath.Join(dir, "timeline.html"))
	require.NoError(t, err)
	defer f.Close()
	_ = harness.WriteTimeline(f, fmt.Sprintf("Basalt process chaos, seed %d", seed), pc.hosts, []string{"pool", "mnt"},
		harness.Intervals(w.changes), marks, start, time.Now())
	t.Logf("logs and timeline kept in %s", dir)
}

// freezeWithSlowFence gives every agent a fence device that takes two
// seconds (as a real power switch may), then freezes h1, which holds the
// group, and watches the ground truth until cond says stop or a minute
// passes.
func freezeWithSlowFence(t *testing.T, pc *procCluster, cond func(w *truthWatcher) bool) *truthWatcher {
	slow := filepath.Join(t.TempDir(), "fence")
	require.NoError(t, os.MkdirAll(slow, 0o755))
	wrapper := "#!/bin/sh\nsleep 2\nexec " + filepath.Join(pc.fenceDir, "fence_basalt_pid") + " \"$@\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(slow, "fence_basalt_pid"), []byte(wrapper), 0o755))
	pc.awaitHealthyOn("h1")
	for _, h := range pc.hosts {
		require.NoError(t, pc.agents[h].Process.Signal(syscall.SIGTERM))
		_ = pc.agents[h].Wait()
	}
	pc.fenceDir = slow
	for _, h := range pc.hosts {
		pc.startAgent(h)
	}
	pc.awaitHealthyOn("h1")
	w := watchTruth(pc, map[string]int{"pool": 1, "mnt": 1})
	require.NoError(t, pc.agents["h1"].Process.Signal(syscall.SIGSTOP))
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		w.mu.Lock()
		stop := cond(w)
		w.mu.Unlock()
		if stop {
			break
		}
	}
	w.close()
	return w
}

// TestProcessCanarySkipFenceIsCaught runs a manager built with the
// skip-fence defect against real processes: when a frozen host is "lost",
// it starts the group elsewhere before the (slow) fence has confirmed, and
// the ground-truth watcher sees the resource active on two hosts. The
// correct manager, in the same situation, waits: no violation.
func TestProcessCanarySkipFenceIsCaught(t *testing.T) {
	t.Run("defective", func(t *testing.T) {
		pc := newProcClusterWith(t, []string{"h1", "h2"}, "canary", "--canary-skip-fence")
		w := freezeWithSlowFence(t, pc, func(w *truthWatcher) bool { return len(w.safety.Violations) > 0 })
		require.NotEmpty(t, w.safety.Violations, "the skip-fence canary was not caught")
		t.Logf("caught: %s", w.safety.Violations[0])
	})
	t.Run("correct", func(t *testing.T) {
		pc := newProcClusterWith(t, []string{"h1", "h2"}, "canary")
		w := freezeWithSlowFence(t, pc, func(w *truthWatcher) bool { return w.state["h2/pool"] && w.state["h2/mnt"] })
		require.True(t, w.state["h2/pool"], "the group failed over after the fence")
		require.Empty(t, w.safety.Violations)
	})
}

// TestProcessPartitionManagerAgent cuts the manager off from h1 for real
// (a proxy drops both directions) while h1 keeps running its resources: h1
// must be fenced (through h2) before the group starts on h2, never a
// double start; after the heal h1 comes back and nothing moves.
func TestProcessPartitionManagerAgent(t *testing.T) {
	pc := newProcClusterOpts(t, []string{"h1", "h2"}, procOpts{proxies: true})
	pc.awaitHealthyOn("h1")
	w := watchTruth(pc, map[string]int{"pool": 1, "mnt": 1})
	pc.proxies["h1"].Partition()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		moved := w.state["h2/pool"] && w.state["h2/mnt"]
		w.mu.Unlock()
		if moved {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.close()
	require.Empty(t, w.safety.Violations, "never active on two hosts")
	require.True(t, w.state["h2/pool"], "the group failed over")
	power, err := os.ReadFile(filepath.Join(pc.dir, "hosts", "h1", "power"))
	require.NoError(t, err)
	require.Equal(t, "off\n", string(power), "h1 was fenced first")
	pc.proxies["h1"].Heal()
}
