package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
	"github.com/basalt-ha/basalt/sim/swarm"
)

// listedShards is how many missing shards a refused merge names.
const listedShards = 20

func mergeCmd(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt-sim merge", "FILE... [--summary-json OUT]",
		"Combine the --summary-json files of the shards of one swarm (basalt-sim run --shard K/N) and print\n"+
			"the whole swarm's summary, as one run over its seeds would; exit 1 on any violation, 2 when the\n"+
			"files are not every shard of one swarm, once each.")
	jsonPath := fs.String("summary-json", "", "write the merged summary as JSON here (it merges again like a shard's)")
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	files := fs.Args()
	if len(files) == 0 {
		return fs.Mistake(stderr, "missing FILE: the --summary-json files of a swarm's shards")
	}
	merged, err := mergeFiles(files)
	if err != nil {
		fmt.Fprintf(stderr, "basalt-sim merge: %v\n", err)
		return 2
	}
	var out *os.File
	if *jsonPath != "" {
		if out, err = os.Create(*jsonPath); err != nil {
			fmt.Fprintf(stderr, "basalt-sim merge: --summary-json: %v\n", err)
			return 2
		}
	}
	// flagsOf cannot fail here: reading the files checked their flags.
	c, _ := flagsOf(merged.Swarm)
	cfg := swarm.Config{Chaos: c.chaos, Heal: c.heal, Replicas: c.replicas, ConfigApply: c.configApply, Promotable: c.promotable}
	if c.shapes {
		cfg.Shapes = drawShape
	}
	sum := merged.summary()
	report(stdout, stderr, c, cfg, merged.Swarm.From, sum, header{merged: len(merged.Slices)})
	if out != nil {
		if err := writeSummaryFile(out, merged); err != nil {
			fmt.Fprintf(stderr, "basalt-sim merge: %v\n", err)
			return 2
		}
	}
	if !sum.Passed() {
		return 1
	}
	return 0
}

// mergeFiles reads the summaries in files and merges them into the whole
// swarm's: they must be of one swarm (the same range, shards, flags,
// configuration and build), hold each shard once, and every shard.
func mergeFiles(files []string) (summaryFile, error) {
	parts := make([]summaryFile, len(files))
	owner := map[uint64]string{}
	for i, path := range files {
		f, err := readSummaryFile(path)
		if err != nil {
			return summaryFile{}, fmt.Errorf("%s: %w", path, err)
		}
		if i > 0 {
			if d := parts[0].Swarm.differences(f.Swarm); len(d) > 0 {
				return summaryFile{}, fmt.Errorf("%s: not a shard of the same swarm as %s: %s", path, files[0], strings.Join(d, "; "))
			}
		}
		for _, k := range f.Slices {
			if prev, ok := owner[k]; ok && prev == path {
				return summaryFile{}, fmt.Errorf("%s: given twice", path)
			} else if ok {
				return summaryFile{}, fmt.Errorf("%s: shard %d/%d is also in %s: each shard must be merged once", path, k, f.Swarm.Shards, prev)
			}
			owner[k] = path
		}
		parts[i] = f
	}
	id := parts[0].Swarm
	if missing := missingShards(owner, id.Shards); missing != "" {
		return summaryFile{}, fmt.Errorf("seeds %d-%d in %d shards: missing %s (given: %s)", id.From, id.To, id.Shards, missing, strings.Join(files, ", "))
	}
	sums := make([]swarm.Summary, len(parts))
	var failures []failure
	complete := true
	for i, p := range parts {
		sums[i] = p.summary()
		failures = append(failures, p.Failures...)
		complete = complete && p.Complete
	}
	slices.SortStableFunc(failures, func(a, b failure) int { return cmp.Compare(a.Seed, b.Seed) })
	all := make([]uint64, 0, id.Shards)
	for k := uint64(1); k <= id.Shards; k++ {
		all = append(all, k)
	}
	return newSummaryFile(id, all, complete, mergeSummaries(sums), failures), nil
}

// missingShards names the shards of 1..n that no file holds, "" when none
// is missing.
func missingShards(owner map[uint64]string, n uint64) string {
	var names []string
	count := 0
	for k := uint64(1); k <= n; k++ {
		if _, ok := owner[k]; !ok {
			if count++; count <= listedShards {
				names = append(names, fmt.Sprintf("%d/%d", k, n))
			}
		}
	}
	if count == 0 {
		return ""
	}
	line := fmt.Sprintf("%d shards: %s", count, strings.Join(names, ", "))
	if count == 1 {
		line = "shard " + names[0]
	}
	if count > listedShards {
		line += fmt.Sprintf(", and %d more", count-listedShards)
	}
	return line
}

// mergeSummaries merges summaries pairwise, so that merging k shards'
// sorted recoveries costs n log k, not n k.
func mergeSummaries(sums []swarm.Summary) swarm.Summary {
	for len(sums) > 1 {
		next := sums[:0:0]
		for i := 0; i < len(sums); i += 2 {
			if i+1 < len(sums) {
				sums[i].Merge(sums[i+1])
			}
			next = append(next, sums[i])
		}
		sums = next
	}
	return sums[0]
}
