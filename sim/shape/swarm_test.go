package shape

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/sim/swarm"
)

var (
	shapedSeeds = flag.Int("shaped-seeds", 300, "shaped seeds the swarm test runs")
	shapedFrom  = flag.Uint64("shaped-from", 1, "the first shaped seed the swarm test runs")
	update      = flag.Bool("update", false, "rewrite testdata/shaped-violations.txt from this run")
)

// shapedRun is one shaped seed through the swarm.
type shapedRun struct {
	shape  Shape
	result swarm.Result
	panic  string
}

// runShaped runs a shape's seed with every checker on; a panic of the
// simulator or the core is caught and returned, so that one bad shape is
// reported with its seed instead of ending the test binary.
func runShaped(s Shape) (run shapedRun) {
	run.shape = s
	defer func() {
		if p := recover(); p != nil {
			run.panic = fmt.Sprint(p)
		}
	}()
	run.result = swarm.RunSeed(swarm.Config{Model: s.Model}, s.Seed)
	return run
}

// knownDefects are shapes excluded from TestShapedSwarm's verdict because a
// diagnosed defect of the core, not fixed yet, makes them fail: each entry
// says which shapes (by feature, as narrowly as the defect allows) and why.
// A failing seed is excused only when an entry matches it. Empty: every
// defect the shapes found so far is fixed (testdata/NOTES.md).
var knownDefects = []struct {
	why   string
	match func(s Shape, r swarm.Result) bool
}{}

func excused(s Shape, r swarm.Result) string {
	for _, d := range knownDefects {
		if d.match(s, r) {
			return d.why
		}
	}
	return ""
}

// notedSeeds are the shaped seeds beyond TestShapedSwarm's range that
// testdata/NOTES.md tells of: each failed once, was fixed, and stays a
// regression test.
var notedSeeds = []uint64{1078, 1893, 3320}

func TestNotedShapedSeeds(t *testing.T) {
	for _, seed := range notedSeeds {
		s, err := Generate(seed)
		require.NoError(t, err)
		run := runShaped(s)
		require.Empty(t, run.panic, "shaped seed %d panics", seed)
		require.False(t, run.result.Failed(), "shaped seed %d: %s\nreplay: %s", seed, run.result.Summary(), replayCommand(seed))
	}
}

// TestShapedSwarm runs shaped seeds through the swarm: each seed's shape
// (this package's stream) and fault plan (the faults' streams) come from
// the same seed, so "basalt-sim replay --shapes --seed N" replays it. It
// fails on any violation of a shaped seed (but those knownDefects
// excuses, named with their reason), on a shape that does not load, a
// panic, or a seed that does not replay identically; it also reports the
// violations by kind, by diagnosed cause and by shape feature.
func TestShapedSwarm(t *testing.T) {
	var runs []shapedRun
	var wall time.Duration
	for seed := *shapedFrom; seed < *shapedFrom+uint64(*shapedSeeds); seed++ {
		s, err := Generate(seed)
		require.NoError(t, err)
		start := time.Now()
		run := runShaped(s)
		wall += time.Since(start)
		if run.panic != "" {
			t.Errorf("seed %d panics: %s\nreplay: %s", seed, run.panic, replayCommand(seed))
			continue
		}
		if seed%10 == 0 {
			again := runShaped(s)
			require.Equal(t, run.result.Hash, again.result.Hash, "shaped seed %d replays differently", seed)
		}
		if run.result.Failed() {
			if why := excused(s, run.result); why != "" {
				t.Logf("seed %d fails, excused (%s): %s", seed, why, run.result.Summary())
			} else {
				t.Errorf("shaped seed %d: %s [%s]\nreplay: %s", seed, run.result.Summary(), causeOf(s, run.result), replayCommand(seed))
			}
		}
		runs = append(runs, run)
	}
	byKind := violationsByKind(runs)
	byCause := violationsByCause(runs)
	t.Logf("%d shaped seeds, %d failing, %s per seed (wall), %s virtual per seed",
		len(runs), countFailed(runs), (wall / time.Duration(max(1, len(runs)))).Round(time.Millisecond),
		virtualPerSeed(runs))
	t.Log("violations by kind (first violation of each failing seed):\n" + byKind)
	t.Log("violations by cause:\n" + byCause)
	t.Log("failure rate by shape feature:\n" + failureByFeature(runs))
	if *update {
		require.NoError(t, os.WriteFile("testdata/shaped-violations.txt", []byte(violationsFile(runs, byKind, byCause)), 0o644))
	}
}

func countFailed(runs []shapedRun) int {
	n := 0
	for _, r := range runs {
		if r.result.Failed() {
			n++
		}
	}
	return n
}

func virtualPerSeed(runs []shapedRun) time.Duration {
	var v time.Duration
	for _, r := range runs {
		v += r.result.Virtual
	}
	return (v / time.Duration(max(1, len(runs)))).Round(time.Second)
}

func replayCommand(seed uint64) string {
	return fmt.Sprintf("go run ./cmd/basalt-sim replay --shapes --seed %d --trace /tmp/t-%d.jsonl", seed, seed)
}

// normalizers turn a checker's message into its kind: names, durations
// and counts replaced, so that the same defect on different shapes is
// counted once.
var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\bg\d+-r\d+\b`), "RSC"},
	{regexp.MustCompile(`\b(pid-h\d+|pdu-\d+)\b`), "DEV"},
	{regexp.MustCompile(`\bg\d+\b`), "GROUP"},
	{regexp.MustCompile(`\bh\d+\b`), "HOST"},
	{regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s|m|h)(\d+(\.\d+)?(ms|s|m))*\b`), "D"},
	{regexp.MustCompile(`\b\d+\b`), "N"},
	{regexp.MustCompile(`\[(HOST ?)+\]`), "[HOSTS]"},
	{regexp.MustCompile(`\[\]`), "[HOSTS]"},
}

// causes are the defects diagnosed from traces so far, each recognised
// from the shape and the checker's message; testdata/NOTES.md has the
// traces' story. A failing seed none of them matches is "unclassified".
var causes = []struct {
	name  string
	match func(s Shape, r swarm.Result) bool
}{
	{"fencing off: a host once lost stays unclean after it talks again (the manager waits for a fence that fencing off never requests)",
		func(s Shape, r swarm.Result) bool {
			return s.Features.FencingOff && strings.Contains(r.Summary(), "is unclean")
		}},
	{"a stale recurring monitor (of a blocked resource, or one the cleanup's probe found stopped) reports not running after the heal's cleanup, " +
		"and its on-fail block or stop is applied to the group where it now runs: the group freezes part-started, or stops for good",
		func(s Shape, r swarm.Result) bool {
			return !s.Features.FencingOff && (s.Features.OnFail["monitor=block"] || s.Features.OnFail["monitor=stop"]) &&
				strings.HasPrefix(r.Summary(), "[liveness]") && strings.Contains(r.Summary(), " runs on [")
		}},
	{"fencing off: a resource whose stop failed (on-fail block, the default without fencing) or was lost is never probed again on that host, " +
		"not even by cleanup, so its group stays short there",
		func(s Shape, r swarm.Result) bool {
			return s.Features.FencingOff && strings.HasPrefix(r.Summary(), "[liveness] not recovered") && strings.Contains(r.Summary(), " runs on [")
		}},
}

func causeOf(s Shape, r swarm.Result) string {
	for _, c := range causes {
		if c.match(s, r) {
			return c.name
		}
	}
	return "unclassified"
}

func kindOf(r swarm.Result) string {
	s := r.Summary()
	for _, n := range normalizers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

// violationsByKind lists each kind with its count and up to five seeds.
func violationsByKind(runs []shapedRun) string {
	return tally(runs, func(r shapedRun) string { return kindOf(r.result) })
}

// violationsByCause is the same by diagnosed cause.
func violationsByCause(runs []shapedRun) string {
	return tally(runs, func(r shapedRun) string { return causeOf(r.shape, r.result) })
}

// tally groups the failing seeds by label, the largest group first.
func tally(runs []shapedRun, label func(shapedRun) string) string {
	seeds := map[string][]uint64{}
	for _, r := range runs {
		if r.result.Failed() {
			k := label(r)
			seeds[k] = append(seeds[k], r.shape.Seed)
		}
	}
	kinds := make([]string, 0, len(seeds))
	for k := range seeds {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if len(seeds[kinds[i]]) != len(seeds[kinds[j]]) {
			return len(seeds[kinds[i]]) > len(seeds[kinds[j]])
		}
		return kinds[i] < kinds[j]
	})
	var b strings.Builder
	for _, k := range kinds {
		ex := seeds[k][:min(5, len(seeds[k]))]
		fmt.Fprintf(&b, "  %4d  %s\n        seeds %v\n", len(seeds[k]), k, ex)
	}
	return b.String()
}

// failureByFeature is, for each shape feature, how many shaped seeds had
// it and how many of those failed: a feature whose rate stands out is a
// lead to the defect.
func failureByFeature(runs []shapedRun) string {
	var all, failed Coverage
	for _, r := range runs {
		all.Add(r.shape.Features)
		if r.result.Failed() {
			failed.Add(r.shape.Features)
		}
	}
	var b strings.Builder
	for _, tag := range Catalogue() {
		n, f := all.Counts[tag], failed.Counts[tag]
		rate := 0.0
		if n > 0 {
			rate = 100 * float64(f) / float64(n)
		}
		fmt.Fprintf(&b, "  %-26s %4d seeds %4d failing  %5.1f%%\n", tag, n, f, rate)
	}
	return b.String()
}

// violationsFile is testdata/shaped-violations.txt: the kinds, then every
// failing seed with its first violation.
func violationsFile(runs []shapedRun, byKind, byCause string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Violations found by TestShapedSwarm over %d shaped seeds from %d (go test ./sim/shape -run TestShapedSwarm -update).\n",
		len(runs), *shapedFrom)
	b.WriteString("# These are defects of the core found by shapes, not of sim/shape. Replay one:\n")
	b.WriteString("#   go run ./cmd/basalt-sim replay --shapes --seed N\n\n")
	for _, sec := range []struct{ title, body string }{{"By kind", byKind}, {"By cause (testdata/NOTES.md)", byCause}} {
		fmt.Fprintf(&b, "# %s (count, label, first seeds):\n", sec.title)
		for _, line := range strings.Split(strings.TrimRight(sec.body, "\n"), "\n") {
			b.WriteString("#" + line + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString("# seed  first violation  [cause]\n")
	for _, r := range runs {
		if r.result.Failed() {
			fmt.Fprintf(&b, "%d  %s  [%s]\n", r.shape.Seed, r.result.Summary(), causeOf(r.shape, r.result))
		}
	}
	return b.String()
}
