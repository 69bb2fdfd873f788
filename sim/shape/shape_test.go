package shape

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/sim/faults"
	"github.com/basalt-ha/basalt/sim/swarm"
)

var (
	shapes   = flag.Int("shapes", 2000, "seeds the load, bound, coverage and fault-plan tests draw shapes for")
	dumpSeed = flag.Uint64("shape-seed", 0, "TestDumpShape writes the shape of this seed")
	dumpOut  = flag.String("shape-out", "", "TestDumpShape writes to this file (basalt-sim --config FILE)")
)

// drawn caches the shapes of seeds 1..*shapes: several tests read them,
// and drawing 2,000 takes seconds.
var drawn []Shape

// generated returns the shapes of seeds 1..*shapes; each must load.
func generated(t *testing.T) []Shape {
	t.Helper()
	for seed := uint64(len(drawn) + 1); seed <= uint64(*shapes); seed++ {
		s, err := Generate(seed)
		require.NoError(t, err)
		drawn = append(drawn, s)
	}
	return drawn[:*shapes]
}

func TestSameSeedSameYAML(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		a, err := Generate(seed)
		require.NoError(t, err)
		b, err := Generate(seed)
		require.NoError(t, err)
		require.Equal(t, a.YAML, b.YAML, "seed %d", seed)
		require.Equal(t, a.Features, b.Features, "seed %d", seed)
	}
	a, _ := Generate(1)
	b, _ := Generate(2)
	require.NotEqual(t, a.YAML, b.YAML)
}

// TestEveryShapeLoadsAndFits: every shape loads (Generate would say
// otherwise), stays inside the drawn ranges and the swarm's heal phase,
// and is a cluster the simulator can play: loopback addresses, the
// statefile agent, the PID fence agent, clones no larger than their hosts.
func TestEveryShapeLoadsAndFits(t *testing.T) {
	for _, s := range generated(t) {
		m := s.Model
		for _, w := range m.Warnings {
			// Only the warnings a shape means: fencing off, a group
			// that cannot fail over.
			require.True(t, strings.Contains(w.Msg, "fencing is off") || strings.Contains(w.Msg, "cannot fail over"),
				"seed %d: unexpected warning %s", s.Seed, w.Warning())
		}
		require.LessOrEqual(t, swarm.RecoveryBound(m), MaxRecoveryBound, "seed %d: the recovery bound must fit the heal phase", s.Seed)
		f := s.Features
		require.True(t, f.Hosts >= 2 && f.Hosts <= 8, "seed %d: %d hosts", s.Seed, f.Hosts)
		require.True(t, f.Groups >= 1 && f.Groups <= 12, "seed %d: %d groups", s.Seed, f.Groups)
		require.True(t, f.MaxDepth >= 1 && f.MaxDepth <= maxDepth, "seed %d: depth %d", s.Seed, f.MaxDepth)
		require.LessOrEqual(t, f.MaxLevels, 3, "seed %d", s.Seed)
		for _, h := range m.Hosts {
			require.True(t, strings.HasPrefix(h.Address, "127.0.0."), "seed %d: %s", s.Seed, h.Address)
			if m.Cluster.Fencing {
				require.NotEmpty(t, m.FencingLevels(h.Name), "seed %d: %s cannot be fenced", s.Seed, h.Name)
			}
		}
		for _, d := range m.FenceDevices {
			require.Equal(t, "fence_basalt_pid", d.Agent)
		}
		for _, r := range m.Resources {
			require.Equal(t, ocf.Agent{Provider: "basalt", Type: "statefile"}, r.Agent)
			require.NotEmpty(t, r.Monitors, "seed %d: %s: an unmonitored resource that dies is never noticed", s.Seed, r.ID)
		}
		for _, g := range m.Groups {
			limit := len(m.Hosts)
			if g.Placement.Domain.Restricted {
				limit = len(g.Placement.Domain.Hosts)
			}
			require.LessOrEqual(t, g.Placement.MaxInstances, limit, "seed %d: %s", s.Seed, g.ID)
		}
	}
}

// TestCoverageReachesEveryFeature: over the shapes drawn, every feature of
// the catalogue turns up a few times.
func TestCoverageReachesEveryFeature(t *testing.T) {
	var cov Coverage
	for _, s := range generated(t) {
		cov.Add(s.Features)
	}
	t.Log(cov.String())
	require.Empty(t, cov.Missing(min(20, *shapes/100)), "features seen too rarely over %d shapes", *shapes)
}

// TestFeaturesOfTheDefaultCluster reads features from a configuration
// written by hand, so that they describe any model and not just shapes.
func TestFeaturesOfTheDefaultCluster(t *testing.T) {
	m, err := swarm.DefaultModel()
	require.NoError(t, err)
	f := FeaturesOf(m)
	require.Equal(t, 4, f.Hosts)
	require.Equal(t, 4, f.MaxDepth)
	require.Equal(t, 2, f.MaxLevels)
	require.True(t, f.SharedDevice)
	require.False(t, f.ANDLevel)
	require.True(t, f.Failback && f.Stickiness && f.Threshold && f.FailureTimeout)
	require.Contains(t, f.Tags(), "on-fail:stop=fence")
	require.Contains(t, f.Tags(), "recovery=restart")
}

// TestFaultPlansFitShapes: the swarm's fault plans are drawn from any
// model; on every shape they must name only its hosts, resources, groups
// and devices.
func TestFaultPlansFitShapes(t *testing.T) {
	for _, s := range generated(t) {
		m := s.Model
		p := faults.Generate(m, s.Seed, faults.Options{})
		for _, f := range p.Faults {
			for _, h := range []string{f.Host, f.Peer} {
				if _, ok := m.Host(h); h != "" && h != "manager" && !ok {
					t.Fatalf("seed %d: %s names unknown host %q", s.Seed, f, h)
				}
			}
			if _, ok := m.Resource(f.Resource); f.Resource != "" && !ok {
				t.Fatalf("seed %d: %s names unknown resource", s.Seed, f)
			}
			if _, ok := m.Group(f.Group); f.Group != "" && !ok {
				t.Fatalf("seed %d: %s names unknown group", s.Seed, f)
			}
			if _, ok := m.Device(f.Device); f.Device != "" && !ok {
				t.Fatalf("seed %d: %s names unknown device", s.Seed, f)
			}
		}
	}
}

// TestDumpShape writes one seed's configuration for replay:
//
//	go test ./sim/shape -run TestDumpShape -shape-seed 17 -shape-out /tmp/shape-17.yaml
//	go run ./cmd/basalt-sim replay --config /tmp/shape-17.yaml --seed 17
func TestDumpShape(t *testing.T) {
	if *dumpSeed == 0 || *dumpOut == "" {
		t.Skip("needs -shape-seed N -shape-out FILE")
	}
	s, err := Generate(*dumpSeed)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(*dumpOut, s.YAML, 0o644))
	back, err := model.Load(*dumpOut, s.YAML)
	require.NoError(t, err)
	require.Equal(t, len(s.Model.Resources), len(back.Resources))
	t.Logf("wrote %s (%d bytes)", *dumpOut, len(s.YAML))
}

// goldenSeeds are shapes kept in testdata: the failing seeds NOTES.md
// tells, and a few others. A change to the generator that changes them
// changes every saved seed's shape too, so it must be deliberate:
// go test ./sim/shape -run TestGoldenShapes -update-golden.
var (
	goldenSeeds  = []uint64{1, 24, 37, 188, 449, 727, 854, 918, 1078, 1893, 3320}
	updateGolden = flag.Bool("update-golden", false, "rewrite testdata/shape-N.yaml")
)

func TestGoldenShapes(t *testing.T) {
	for _, seed := range goldenSeeds {
		s, err := Generate(seed)
		require.NoError(t, err)
		path := fmt.Sprintf("testdata/shape-%d.yaml", seed)
		if *updateGolden {
			require.NoError(t, os.WriteFile(path, s.YAML, 0o644))
			continue
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, string(want), string(s.YAML), "seed %d: the generator changed its shapes (saved seeds no longer replay); -update-golden if meant", seed)
	}
}
