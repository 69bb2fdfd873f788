package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestShardsCoverTheRangeOnce: over many ranges (down to one seed, up to
// the largest seed) and shard counts (more shards than seeds too), the N
// shards' seeds are the range, each seed exactly once, in order within a
// shard; each shard runs as many seeds as count says and of agrees, and
// no shard runs more than one seed more than another.
func TestShardsCoverTheRangeOnce(t *testing.T) {
	ranges := [][2]uint64{{1, 1}, {1, 2}, {1, 40}, {7, 7}, {0, 99}, {5, 1004}, {1000, 1999}, {math.MaxUint64 - 30, math.MaxUint64}}
	for _, r := range ranges {
		from, to := r[0], r[1]
		for n := uint64(1); n <= 37; n++ {
			seen := map[uint64]int{}
			lo, hi := uint64(math.MaxUint64), uint64(0)
			for k := uint64(1); k <= n; k++ {
				sh := shard{k, n}
				got := slices.Collect(sh.seeds(from, to))
				require.True(t, slices.IsSorted(got), "%d-%d %s", from, to, sh)
				require.Equal(t, sh.count(from, to), uint64(len(got)), "%d-%d %s", from, to, sh)
				for _, s := range got {
					require.True(t, s >= from && s <= to, "%d-%d %s: seed %d", from, to, sh, s)
					require.True(t, sh.of(from, s), "%d-%d %s: seed %d", from, to, sh, s)
					seen[s]++
				}
				lo, hi = min(lo, uint64(len(got))), max(hi, uint64(len(got)))
			}
			require.Equal(t, to-from+1, uint64(len(seen)), "%d-%d in %d shards", from, to, n)
			for s, times := range seen {
				require.Equal(t, 1, times, "%d-%d in %d shards: seed %d", from, to, n, s)
			}
			require.LessOrEqual(t, hi-lo, uint64(1), "%d-%d in %d shards: balanced", from, to, n)
		}
	}
}

func TestParseShard(t *testing.T) {
	sh, err := parseShard("3/8")
	require.NoError(t, err)
	require.Equal(t, shard{3, 8}, sh)
	require.Equal(t, "1/1", whole.String())
	require.Equal(t, "3/8 of seeds 1-20: 3 seeds, every 8th from 3", sh.describe(1, 20))
	require.Equal(t, "3/8 of seeds 1-2: no seed (fewer seeds than shards)", sh.describe(1, 2))
	for in, want := range map[string]string{
		"3/2":  `--shard "3/2": there is no shard 3 of 2 (K counts from 1 to N)`,
		"x":    `--shard "x": want K/N, the K-th of N slices, counted from 1 (1/8 to 8/8)`,
		"0/4":  `--shard "0/4": K counts from 1 (1/4 to 4/4)`,
		"1/0":  `--shard "1/0": N must be at least 1`,
		"1/":   `--shard "1/": want K/N`,
		"-1/4": `--shard "-1/4": want K/N`,
	} {
		_, err := parseShard(in)
		require.ErrorContains(t, err, want, in)
	}
}

// TestShardMistakes: a bad --shard, and a summary file that cannot be
// written, are messages and exit 2, before any seed runs.
func TestShardMistakes(t *testing.T) {
	for in, want := range map[string]string{
		"3/2": "there is no shard 3 of 2",
		"x":   `--shard "x": want K/N`,
		"":    `--shard "": want K/N`,
	} {
		rc, out, errOut := cli("run", "--seeds", "1-4", "--shard", in)
		require.Equal(t, 2, rc, in)
		require.Empty(t, out, in)
		require.True(t, strings.HasPrefix(errOut, "basalt-sim run: --shard "), "%s: %s", in, errOut)
		require.Contains(t, errOut, want, in)
	}
	rc, out, errOut := cli("run", "--seeds", "1", "--summary-json", filepath.Join(t.TempDir(), "no", "such", "dir.json"))
	require.Equal(t, 2, rc)
	require.Empty(t, out)
	require.Contains(t, errOut, "basalt-sim run: --summary-json: open ")
}

// withoutClock drops the lines of a summary that the real clock decides.
func withoutClock(out string) string {
	var kept []string
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "wall time") && !strings.HasPrefix(line, "events/s") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n")
}

// runShards runs args in n shards, each writing its summary into dir, and
// returns the files.
func runShards(t *testing.T, dir string, n int, args ...string) []string {
	var files []string
	for k := 1; k <= n; k++ {
		path := filepath.Join(dir, fmt.Sprintf("s%d.json", k))
		rc, out, errOut := cli(append([]string{"run", "--shard", fmt.Sprintf("%d/%d", k, n), "--summary-json", path}, args...)...)
		require.Less(t, rc, 2, errOut)
		require.Contains(t, out, fmt.Sprintf("shard                    %d/%d of seeds ", k, n))
		files = append(files, path)
	}
	return files
}

// TestShardsMergeToTheWholeRun: a swarm run whole and the same swarm run
// in shards and merged print the same summary, but for the lines of the
// real clock (wall time, rates), with the same verdict and exit code;
// the merged JSON merges again to the same, and says it covers every
// shard.
func TestShardsMergeToTheWholeRun(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shards int
		rc     int
		args   []string
	}{
		{"passing", 3, 0, []string{"--seeds", "1-12", "--workers", "1"}},
		{"shapes", 2, 0, []string{"--seeds", "1-3", "--workers", "1", "--shapes"}},
		{"failing with replicas", 4, 1, []string{"--seeds", "3-11", "--workers", "1", "--keep-going", "--canary", "skip-fence", "--replicas", "3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rc, whole, errOut := cli(append([]string{"run"}, tc.args...)...)
			require.Equal(t, tc.rc, rc, errOut)
			files := runShards(t, dir, tc.shards, tc.args...)
			all := filepath.Join(dir, "all.json")
			rc, merged, errOut := cli(append([]string{"merge", "--summary-json", all}, files...)...)
			require.Equal(t, tc.rc, rc, errOut)
			require.Empty(t, errOut)
			require.Equal(t, withoutClock(whole), withoutClock(merged))
			require.Regexp(t, fmt.Sprintf(`\nwall time\s+\S+ summed over %d shard runs, %d workers in all\n`, tc.shards, tc.shards), merged)

			rc, again, _ := cli("merge", all)
			require.Equal(t, tc.rc, rc)
			require.Equal(t, merged, again, "a merged summary merges again to itself")
			var f summaryFile
			data, err := os.ReadFile(all)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(data, &f))
			require.Len(t, f.Slices, tc.shards)
			require.True(t, f.Complete)
			if slices.Contains(tc.args, "--shapes") {
				require.Contains(t, merged, "coverage by shape feature")
				require.NotEmpty(t, f.FeatureSeeds)
			}
			if tc.rc == 1 {
				require.NotEmpty(t, f.Failures)
				require.Equal(t, fmt.Sprintf("basalt-sim replay --seed %d --canary skip-fence --replicas 3 --trace seed-%d.jsonl --html seed-%d.html",
					f.Failures[0].Seed, f.Failures[0].Seed, f.Failures[0].Seed), f.Failures[0].Replay)
				require.Contains(t, whole, "takeover after crash")
			}
		})
	}
}

// TestMergeRefusesWhatIsNotOneSwarm: summaries of different swarms,
// a shard given twice, a missing shard, and files that are no summary
// are refused with a message naming the file, exit 2.
func TestMergeRefusesWhatIsNotOneSwarm(t *testing.T) {
	dir := t.TempDir()
	files := runShards(t, dir, 3, "--seeds", "1-3", "--workers", "1")
	other := filepath.Join(dir, "other.json")
	rc, _, errOut := cli("run", "--seeds", "1-3", "--shard", "2/3", "--heal", "4m", "--canary", "no-probe", "--workers", "1", "--summary-json", other)
	require.Less(t, rc, 2, errOut)
	empty, garbage, wrong := filepath.Join(dir, "empty.json"), filepath.Join(dir, "garbage.json"), filepath.Join(dir, "wrong.json")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	require.NoError(t, os.WriteFile(garbage, []byte("seeds 3\n"), 0o644))
	require.NoError(t, os.WriteFile(wrong, []byte(`{"format":"basalt-sim-summary/0"}`), 0o644))
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	dup := filepath.Join(dir, "dup.json")
	require.NoError(t, os.WriteFile(dup, mustRead(t, files[1]), 0o644))
	outside := filepath.Join(dir, "outside.json")
	require.NoError(t, os.WriteFile(outside, []byte(strings.Replace(string(data), `"slices":[1]`, `"slices":[4]`, 1)), 0o644))

	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{files[0], other, files[2]}, other + ": not a shard of the same swarm as " + files[0] + ": --canary none vs no-probe; --heal 5m0s vs 4m0s"},
		{[]string{files[0], files[1], files[1], files[2]}, files[1] + ": given twice"},
		{[]string{files[0], files[1], dup, files[2]}, dup + ": shard 2/3 is also in " + files[1] + ": each shard must be merged once"},
		{[]string{files[0], files[2]}, "seeds 1-3 in 3 shards: missing shard 2/3 (given: " + files[0] + ", " + files[2] + ")"},
		{[]string{files[1]}, "seeds 1-3 in 3 shards: missing 2 shards: 1/3, 3/3 (given: " + files[1] + ")"},
		{[]string{files[0], empty}, empty + ": empty: the run that was to write it did not finish"},
		{[]string{garbage}, garbage + ": not a basalt-sim summary: "},
		{[]string{wrong}, wrong + `: format "basalt-sim-summary/0": want "basalt-sim-summary/1"`},
		{[]string{outside}, outside + ": slices: 4 is not a shard of 1 to 3"},
		{[]string{filepath.Join(dir, "none.json")}, filepath.Join(dir, "none.json") + ": open "},
	} {
		rc, out, errOut := cli(append([]string{"merge"}, tc.files...)...)
		require.Equal(t, 2, rc, "%v", tc.files)
		require.Empty(t, out, "%v", tc.files)
		require.True(t, strings.HasPrefix(errOut, "basalt-sim merge: "+tc.want), "%v: %s", tc.files, errOut)
	}
	rc, out, errOut := cli("merge")
	require.Equal(t, 2, rc)
	require.Empty(t, out)
	require.True(t, strings.HasPrefix(errOut, "basalt-sim merge: missing FILE"), errOut)

	rc, out, errOut = cli(append([]string{"merge"}, files...)...)
	require.Equal(t, 0, rc, errOut)
	require.True(t, strings.HasSuffix(out, "\nPASS: 3 seeds, no violation\n"), out)

	// A run of the whole range is its only shard, and merges alone.
	single := filepath.Join(dir, "single.json")
	rc, _, errOut = cli("run", "--seeds", "1-2", "--workers", "1", "--summary-json", single)
	require.Equal(t, 0, rc, errOut)
	rc, out, errOut = cli("merge", single)
	require.Equal(t, 0, rc, errOut)
	require.Regexp(t, `\nwall time\s+\S+ summed over 1 shard run, 1 worker in all\n`, out)
	require.True(t, strings.HasSuffix(out, "\nPASS: 2 seeds, no violation\n"), out)
}

func mustRead(t *testing.T, path string) []byte {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}
