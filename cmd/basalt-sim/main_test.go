package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
