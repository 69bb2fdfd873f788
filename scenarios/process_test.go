package scenarios

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/harness"
)

var (
	processScale = flag.Float64("process-scale", 0.2, "time scale of scenarios on real processes (0.2: five times faster than written)")
	processGrace = flag.Duration("process-grace", 5*time.Second, "how late an expectation may come true on real processes")
	processAll   = flag.Bool("process-all", false, "run every scenario on real processes (also implied by -run)")
	processNet   = flag.String("process-network", harness.NetProxy, "how partitions are made on real processes: proxy or netns (a network namespace per agent; needs root)")
)

// fastProcess is the subset of scenarios the default suite runs on real
// processes: the failover paths that matter most (fence before failover,
// a real partition, the epoch guard, hosts lost together and coming back
// one by one, which only real processes showed to break when the manager
// delivered messages queued for an earlier connection), about two minutes
// of wall time.
var fastProcess = map[string]bool{
	"startup":                 true,
	"host-loss":               true,
	"partition-manager-agent": true,
	"paused-manager-epoch":    true,
	"stop-failure-fence":      true,
	"double-failure-pair":     true,
	"leader-crash":            true,
}

// builds holds this test binary's builds of the daemons.
var builds harness.Builds

// binaries builds the binaries once per set of tags and test binary.
func binaries(t *testing.T, tags string) string {
	bin, err := builds.Get(tags)
	require.NoError(t, err)
	return bin
}

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "basalt-scenarios-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	builds = harness.Builds{Repo: repoRoot(), Dir: dir}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestProcessScenarios runs the scenarios against the real daemons as
// processes, with the same configuration, timeline and checkers as in
// the simulator. The default suite runs the fast subset; `go test
// ./scenarios -run Process` (or -process-all) runs every one. A failing
// run leaves its logs, history and timeline in testdata/out/<scenario>.
func TestProcessScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("process scenarios run the daemons")
	}
	all := *processAll || flag.Lookup("test.run").Value.String() != ""
	files, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	for _, f := range files {
		sc, err := Load(f, filepath.Join("..", "testdata", "configs"))
		require.NoError(t, err, f)
		t.Run(sc.Name, func(t *testing.T) {
			if sc.SimOnly {
				t.Skip("simulator only (sim-only): it has a step real processes cannot take")
			}
			if !all && !fastProcess[sc.Name] {
				t.Skip("not in the fast subset; go test ./scenarios -run Process runs it")
			}
			t.Parallel()
			r := runProcess(t, sc, ProcessRun{}, "")
			if r.Failed() {
				t.Errorf("%s", r.Summary())
			}
		})
	}
}

// TestProcessNetnsScenarios runs the scenarios that cut the network on
// real partitions as well: each agent in its own network namespace,
// packets dropped by the kernel and TCP retransmitting across the heal,
// where the proxy breaks the stream instead. It skips where the machine
// cannot make namespaces.
func TestProcessNetnsScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("process scenarios run the daemons")
	}
	files, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	ran := 0
	for _, f := range files {
		sc, err := Load(f, filepath.Join("..", "testdata", "configs"))
		require.NoError(t, err, f)
		if !sc.cutsNetwork() || sc.SimOnly {
			continue
		}
		ran++
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			r := runProcess(t, sc, ProcessRun{Network: harness.NetNetns}, "")
			if r.Failed() {
				t.Errorf("%s", r.Summary())
			}
		})
	}
	require.NotZero(t, ran, "no scenario cuts the network")
}

// runProcess runs one scenario on real processes built with tags; a run
// that fails keeps its files in testdata/out/<keep>.
func runProcess(t *testing.T, sc *Scenario, o ProcessRun, tags string) ProcessResult {
	if o.Network == "" {
		o.Network = *processNet
	}
	if o.Network == harness.NetNetns {
		if err := harness.NetnsAvailable(); err != nil {
			t.Skipf("no network namespaces here: %v", err)
		}
	}
	o.Bin, o.Repo, o.Dir = binaries(t, tags), repoRoot(), t.TempDir()
	if o.Scale == 0 {
		o.Scale = *processScale
	}
	if o.Grace == 0 {
		o.Grace = *processGrace
	}
	o.Logf = t.Logf
	r, err := sc.RunProcess(o)
	require.NoError(t, err)
	t.Log(r.Summary())
	if r.Failed() {
		keep := filepath.Join("testdata", "out", strings.ReplaceAll(t.Name(), "/", "_"))
		if err := r.Record.Keep(o.Dir, keep); err != nil {
			t.Logf("keeping the run's files: %v", err)
		} else {
			abs, _ := filepath.Abs(keep)
			t.Logf("logs, history and timeline kept in %s", abs)
		}
	}
	return r
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}
