package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/sim/swarm"
	"github.com/stretchr/testify/require"
)

func cli(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	rc := dispatch(args, &out, &errOut)
	return rc, out.String(), errOut.String()
}

func TestRunSummarisesAndCatchesCanary(t *testing.T) {
	rc, out, errOut := cli("run", "--seeds", "1-20", "--workers", "2")
	require.Equal(t, 0, rc, errOut)
	require.Contains(t, out, "seeds                    20")
	require.Contains(t, out, "violations               0")
	require.Contains(t, out, "recovery after heal")
	require.Contains(t, out, "fences confirmed")

	rc, out, _ = cli("run", "--seeds", "1-1000", "--canary", "skip-fence")
	require.Equal(t, 1, rc)
	require.Contains(t, out, "VIOLATION in seed")
	require.Contains(t, out, "canary skip-fence caught after")
	require.Regexp(t, `replay: basalt-sim replay --seed \d+ --canary skip-fence`, out)
}

func TestReplayWritesTraceHashAndTimeline(t *testing.T) {
	dir := t.TempDir()
	trace, page := filepath.Join(dir, "t.jsonl"), filepath.Join(dir, "t.html")
	rc, out1, errOut := cli("replay", "--seed", "3", "--trace", trace, "--html", page, "--print-hash")
	require.Equal(t, 0, rc, errOut)
	rc, out2, _ := cli("replay", "--seed", "3", "--print-hash")
	require.Equal(t, 0, rc)
	hash := func(s string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "trace hash ") {
				return l
			}
		}
		return ""
	}
	require.NotEmpty(t, hash(out1))
	require.Equal(t, hash(out1), hash(out2), "replays are identical")
	data, err := os.ReadFile(trace)
	require.NoError(t, err)
	require.Contains(t, string(data), `"event":"manager started epoch=1"`)
	html, err := os.ReadFile(page)
	require.NoError(t, err)
	require.Contains(t, string(html), "<svg")
	require.Contains(t, string(html), "pool-a")
}

func TestShrinkWritesAReplayablePlan(t *testing.T) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.json")
	rc, out, errOut := cli("shrink", "--seed", "1", "--canary", "skip-fence", "--out", plan)
	require.Equal(t, 1, rc, errOut)
	require.Contains(t, out, "still fails")
	rc, out, _ = cli("replay", "--plan", plan, "--canary", "skip-fence")
	require.Equal(t, 1, rc)
	require.Contains(t, out, "[safety]")
	rc, out, _ = cli("replay", "--plan", plan)
	require.Equal(t, 0, rc, "without the defect the same plan passes: %s", out)
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--seeds", "x"}, `--seeds "x"`},
		{[]string{"run", "--seeds", "9-3"}, "FROM <= TO"},
		{[]string{"run", "--canary", "nope"}, `--canary "nope"`},
		{[]string{"replay"}, "--seed N or --plan FILE is required"},
		{[]string{"run", "--config", "/nonexistent.yaml"}, "--config"},
		{[]string{"fly"}, `unknown subcommand "fly"`},
	} {
		rc, _, errOut := cli(tc.args...)
		require.Equal(t, 2, rc, "%v", tc.args)
		require.Contains(t, errOut, tc.want, "%v", tc.args)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"chaos":1,"heal":1,"faults":[{"at":5,"kind":"crash-agent"}]}`), 0o644))
	rc, _, errOut := cli("replay", "--plan", bad)
	require.Equal(t, 2, rc)
	require.Contains(t, errOut, "outside the chaos phase")
}

// TestShapesRunReplayAndShape: --shapes draws each seed's cluster, the
// summary shows coverage by shape feature, and a seed replays the same
// from --shapes as from its shape's YAML saved by shrink next to the plan.
func TestShapesRunReplayAndShape(t *testing.T) {
	rc, out, errOut := cli("run", "--shapes", "--seeds", "1-3", "--workers", "1")
	require.Equal(t, 0, rc, errOut+out)
	require.Contains(t, out, "coverage by shape feature")
	require.Regexp(t, `on-fail:monitor=restart\s+3\s+0`, out)

	dir := t.TempDir()
	path, err := saveShape(dir, 2)
	require.NoError(t, err)
	hashOf := func(args ...string) string {
		rc, out, errOut := cli(append([]string{"replay", "--seed", "2", "--print-hash"}, args...)...)
		require.Equal(t, 0, rc, errOut+out)
		return out[strings.Index(out, "trace hash "):]
	}
	require.Equal(t, hashOf("--shapes"), hashOf("--config", path), "a shape replays the same from its seed and from its YAML")

	rc, _, errOut = cli("run", "--shapes", "--config", path)
	require.Equal(t, 2, rc)
	require.Contains(t, errOut, "exclude each other")
}

// TestMistakesSayWhatIsWrong: before, an unknown flag (or --help's
// exit) printed nothing but pflag's list, and a stray argument was
// ignored. Every mistake is a message naming it and a hint to --help,
// exit 2.
func TestMistakesSayWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		args []string
		cmd  string
		want string
	}{
		{[]string{"run", "--frobnicate"}, "basalt-sim run", "unknown flag: --frobnicate"},
		{[]string{"--frobnicate"}, "basalt-sim run", "unknown flag: --frobnicate"},
		{[]string{"replay", "--frobnicate"}, "basalt-sim replay", "unknown flag: --frobnicate"},
		{[]string{"shrink", "-x"}, "basalt-sim shrink", "unknown shorthand flag: 'x' in -x"},
		{[]string{"run", "1-20"}, "basalt-sim run", `unexpected argument "1-20": this command takes none (only flags)`},
		{[]string{"replay", "42"}, "basalt-sim replay", `unexpected argument "42"`},
		{[]string{"replay", "--seed", "1", "--plan", "p.json"}, "basalt-sim replay", "--seed and --plan exclude each other"},
		{[]string{"shrink", "--seed", "1", "--budget", "0"}, "basalt-sim shrink", "--budget 0: want at least 1 run"},
		{[]string{"run", "--workers", "-1"}, "basalt-sim run", "--workers -1: want 0 (one per core) or more"},
		{[]string{"run", "--seeds", "x"}, "basalt-sim run", `--seeds "x": want N or FROM-TO`},
		{[]string{"run", "--chaos", "soon"}, "basalt-sim run", `invalid argument "soon" for "--chaos" flag`},
		{[]string{"fly"}, "basalt-sim", `unknown subcommand "fly": one of generate, merge, replay, run, shrink`},
	} {
		rc, out, errOut := cli(tc.args...)
		require.Equal(t, 2, rc, "%v", tc.args)
		require.Empty(t, out, "%v", tc.args)
		require.True(t, strings.HasPrefix(errOut, tc.cmd+": "+tc.want), "%v: %s", tc.args, errOut)
		require.True(t, strings.HasSuffix(errOut, "\nRun '"+tc.cmd+" --help' for usage.\n"), "%v: %s", tc.args, errOut)
	}
}

// TestHelp: --help on the binary and on each subcommand prints the usage
// to stdout, with each usage line naming what the command needs, and
// exits 0.
func TestHelp(t *testing.T) {
	for args, want := range map[string]string{
		"--help":        "usage: basalt-sim <subcommand> [arguments] [flags]",
		"help":          "usage: basalt-sim <subcommand> [arguments] [flags]",
		"run --help":    "usage: basalt-sim run [--seeds N|FROM-TO] [--shard K/N] [--summary-json FILE] [--workers N] [--keep-going] [--config FILE | --shapes] [--canary NAME] [--replicas N]",
		"replay -h":     "usage: basalt-sim replay --seed N | --plan FILE [--trace FILE] [--html FILE] [--print-hash] [--config FILE | --shapes] [--canary NAME] [--replicas N]",
		"help shrink":   "usage: basalt-sim shrink --seed N | --plan FILE [--out FILE] [--budget N] [--config FILE | --shapes] [--canary NAME] [--replicas N]",
		"shrink --help": "usage: basalt-sim shrink --seed N | --plan FILE",
	} {
		rc, out, errOut := cli(strings.Fields(args)...)
		require.Equal(t, 0, rc, args)
		require.Empty(t, errOut, args)
		require.True(t, strings.HasPrefix(out, want), "%s: %s", args, out)
	}
	_, out, _ := cli("--help")
	require.Regexp(t, `\n  replay --seed N \| --plan FILE +run one seed`, out)
	require.Regexp(t, `\n  merge FILE\.\.\. +combine the --summary-json files`, out)
	require.Contains(t, out, "\nExit codes:\n  0  no violation")
}

var update = flag.Bool("update", false, "rewrite testdata/run-summary.txt")

// TestRunSummaryGolden: a failing run's whole output, compared to its
// golden file with the wall time and the rates (the only things the real
// clock decides) masked; the progress goes to stderr, not here. It shows the recovery bound
// the percentiles are judged against, what the heal phase is for, the wall
// time and workers, every other failing seed by number and checker, and a
// closing verdict.
func TestRunSummaryGolden(t *testing.T) {
	rc, out, errOut := cli("run", "--seeds", "1-4", "--workers", "1", "--keep-going", "--canary", "skip-fence")
	require.Equal(t, 1, rc, errOut)
	var kept []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "wall time") || strings.HasPrefix(line, "events/s") {
			line = line[:25] + "(masked)"
		}
		kept = append(kept, line)
	}
	got := strings.Join(kept, "\n")
	golden := filepath.Join("testdata", "run-summary.txt")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), got)
	require.Regexp(t, `wall time\s+\S+ on 1 worker\n`, out)
	require.True(t, strings.HasSuffix(out, "\nFAIL: 3 of 4 seeds violated\n"), out)
}

// TestSummaryLinesSayWhatTheyMean: the other failing seeds are named
// (past twenty, counted), a heal phase shorter than the bound is said to
// cut it, a passing run ends with PASS and the nearest-rank p99 of three
// seeds is their maximum.
func TestSummaryLinesSayWhatTheyMean(t *testing.T) {
	var others []swarm.Result
	for seed := uint64(2); seed <= 23; seed++ {
		others = append(others, swarm.Result{Seed: seed, Violations: []check.Violation{{Checker: "safety"}}})
	}
	line := otherFailures(others)
	require.True(t, strings.HasPrefix(line, "other failing seeds (22): seed 2 [safety], seed 3 [safety], "), line)
	require.True(t, strings.HasSuffix(line, "seed 21 [safety], and 2 more"), line)

	s := swarm.Summary{Seeds: 3, Workers: 2, Wall: time.Second, BoundMin: 9 * time.Minute, BoundMax: 9 * time.Minute,
		Recoveries: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}}
	var w bytes.Buffer
	printSummary(&w, swarm.Config{Chaos: 10 * time.Minute, Heal: 5 * time.Minute}, s, header{})
	printVerdict(&w, s)
	out := w.String()
	require.Contains(t, out, "recovery bound           9m0s, cut to the heal phase's 5m0s: a seed not recovered by then fails\n")
	require.Contains(t, out, "p99 3s  max 3s")
	require.Contains(t, out, "wall time                1s on 2 workers\n")
	require.Contains(t, out, "(10m0s chaos, then a heal phase of 5m0s in which recovery must complete)")
	require.True(t, strings.HasSuffix(out, "PASS: 3 seeds, no violation\n"), out)
}
