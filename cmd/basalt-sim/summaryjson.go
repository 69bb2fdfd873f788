package main

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"time"

	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/sim/cluster"
	"github.com/basalt-ha/basalt/sim/swarm"
)

// summaryFormat names the summary file's layout; a reader refuses any
// other.
const summaryFormat = "basalt-sim-summary/1"

// keptViolations is how many violations of a failing seed its summary
// keeps (violations_total counts them all): the human summary shows five,
// and replaying the seed shows every one.
const keptViolations = 20

// swarmID is everything that makes two summaries parts of one swarm: the
// range, how it is sliced, and every flag and build that decides a seed's
// outcome. Merge refuses summaries whose swarmID differs.
type swarmID struct {
	From   uint64 `json:"from"`
	To     uint64 `json:"to"`
	Shards uint64 `json:"shards"`
	// ConfigSHA256 is the digest of the cluster configuration (the
	// built-in one's without --config; none with --shapes, whose shapes
	// are the binary's). Config is its path as given, for the replay
	// commands: the same file may lie elsewhere on another machine.
	Config       string `json:"config,omitempty"`
	ConfigSHA256 string `json:"config_sha256,omitempty"`
	Shapes       bool   `json:"shapes"`
	Canary       string `json:"canary,omitempty"`
	Replicas     int    `json:"replicas"`
	// ConfigApply: the config-apply fault could switch on.
	ConfigApply bool `json:"config_apply,omitempty"`
	// Promotable: the promotable cluster (without --config) and faults.
	Promotable bool   `json:"promotable,omitempty"`
	Chaos      string `json:"chaos"`
	Heal       string `json:"heal"`
	// KeepGoing: without it each shard stops at its first violation.
	KeepGoing bool `json:"keep_going"`
	// Version is the binary's (its module version and VCS revision): a
	// seed's outcome is a function of the seed and the code.
	Version string `json:"version"`
}

// summaryFile is a swarm's (or some of its shards') summary as JSON: what
// merge needs to print the whole swarm's summary exactly as one run over
// the range would, and to replay every failing seed.
type summaryFile struct {
	Format string  `json:"format"`
	Swarm  swarmID `json:"swarm"`
	// Slices are the shards (1 to Swarm.Shards) summarised here: one for
	// a run, all of them once merged.
	Slices []uint64 `json:"slices"`
	// Complete says every seed of the slices ran; false when a shard
	// stopped at its first violation.
	Complete bool           `json:"complete"`
	Seeds    int            `json:"seeds"`
	Events   uint64         `json:"events"`
	Virtual  time.Duration  `json:"virtual_ns"`
	Wall     time.Duration  `json:"wall_ns"`
	Workers  int            `json:"workers"`
	Coverage swarm.Coverage `json:"coverage"`
	BoundMin time.Duration  `json:"bound_min_ns"`
	BoundMax time.Duration  `json:"bound_max_ns"`
	// Recoveries and Takeovers are every measured duration, sorted, in
	// nanoseconds: percentiles cannot be merged from percentiles, and
	// these are exact.
	Recoveries    []time.Duration `json:"recoveries_ns"`
	Takeovers     []time.Duration `json:"takeovers_ns"`
	FeatureSeeds  map[string]int  `json:"feature_seeds,omitempty"`
	FeatureFailed map[string]int  `json:"feature_failed,omitempty"`
	Failures      []failure       `json:"failures"`
}

// failure is a failing seed: its violations and the commands that replay
// and shrink it.
type failure struct {
	Seed            uint64          `json:"seed"`
	Summary         string          `json:"summary"`
	Violations      []violation     `json:"violations,omitempty"`
	ViolationsTotal int             `json:"violations_total"`
	Linearizability []linearization `json:"linearizability,omitempty"`
	Replay          string          `json:"replay"`
	Shrink          string          `json:"shrink"`
}

// violation is a check.Violation, its time counted from the run's start.
type violation struct {
	At      time.Duration `json:"at_ns"`
	Checker string        `json:"checker"`
	Message string        `json:"message"`
}

// linearization names a resource whose history is not linearizable.
type linearization struct {
	Resource string `json:"resource"`
	Ops      int    `json:"ops"`
}

// buildVersion is the running binary's version: its module version and,
// when the build recorded it, the VCS revision (marked when modified).
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "+modified"
		}
	}
	if rev != "" {
		v += " " + rev + dirty
	}
	return v
}

// configDigest is the sha256 of the configuration a run reads: --config's
// file, or the built-in cluster; none with --shapes.
func (c *common) configDigest() (string, error) {
	if c.shapes {
		return "", nil
	}
	data := swarm.DefaultConfig()
	if c.config != "" {
		var err error
		if data, err = os.ReadFile(c.config); err != nil {
			return "", fmt.Errorf("--config: %w", err)
		}
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// identify is the swarmID of a run of c over from..to in shards.
func (c *common) identify(from, to, shards uint64, keepGoing bool) (swarmID, error) {
	digest, err := c.configDigest()
	if err != nil {
		return swarmID{}, err
	}
	return swarmID{From: from, To: to, Shards: shards, Config: c.config, ConfigSHA256: digest, Shapes: c.shapes,
		Canary: c.canary, Replicas: c.replicas, ConfigApply: c.configApply, Promotable: c.promotable, Chaos: c.chaos.String(), Heal: c.heal.String(),
		KeepGoing: keepGoing, Version: buildVersion()}, nil
}

// flagsOf is the common flags a summary's swarm ran with.
func flagsOf(id swarmID) (common, error) {
	c := common{config: id.Config, canary: id.Canary, shapes: id.Shapes, replicas: id.Replicas, configApply: id.ConfigApply,
		promotable: id.Promotable}
	var err error
	if c.chaos, err = time.ParseDuration(id.Chaos); err != nil || c.chaos <= 0 {
		return c, fmt.Errorf("swarm.chaos %q: want a positive duration", id.Chaos)
	}
	if c.heal, err = time.ParseDuration(id.Heal); err != nil || c.heal <= 0 {
		return c, fmt.Errorf("swarm.heal %q: want a positive duration", id.Heal)
	}
	if c.replicas < 0 || c.replicas > maxReplicas {
		return c, fmt.Errorf("swarm.replicas %d: want 0 to %d", c.replicas, maxReplicas)
	}
	return c, nil
}

// failuresOf is the failing seeds of sum as the summary file keeps them.
func failuresOf(c common, sum swarm.Summary) []failure {
	out := make([]failure, 0, len(sum.Failed))
	for _, r := range sum.Failed {
		f := failure{Seed: r.Seed, Summary: r.Summary(), ViolationsTotal: len(r.Violations),
			Replay: replayLine(c, r.Seed), Shrink: shrinkLine(c, r.Seed)}
		for _, v := range r.Violations[:min(len(r.Violations), keptViolations)] {
			f.Violations = append(f.Violations, violation{At: v.At.Sub(cluster.Start), Checker: v.Checker, Message: v.Message})
		}
		for _, l := range r.Lin {
			f.Linearizability = append(f.Linearizability, linearization{Resource: l.Resource, Ops: l.Ops})
		}
		out = append(out, f)
	}
	return out
}

// newSummaryFile is the summary file of sum, a swarm of id's slices.
func newSummaryFile(id swarmID, slices []uint64, complete bool, sum swarm.Summary, failures []failure) summaryFile {
	return summaryFile{Format: summaryFormat, Swarm: id, Slices: slices, Complete: complete,
		Seeds: sum.Seeds, Events: sum.Events, Virtual: sum.Virtual, Wall: sum.Wall, Workers: sum.Workers,
		Coverage: sum.Coverage, BoundMin: sum.BoundMin, BoundMax: sum.BoundMax,
		Recoveries: nonNil(sum.Recoveries), Takeovers: nonNil(sum.Takeovers),
		FeatureSeeds: sum.FeatureSeeds, FeatureFailed: sum.FeatureFailed, Failures: failures}
}

// nonNil makes an empty list [] in JSON rather than null.
func nonNil(d []time.Duration) []time.Duration {
	if d == nil {
		return []time.Duration{}
	}
	return d
}

// summary is the swarm.Summary the file keeps, as a swarm over its
// slices returned it (a failing seed keeps its first violations), sorted
// as swarm.Summary.Merge needs it.
func (f summaryFile) summary() swarm.Summary {
	s := swarm.Summary{Seeds: f.Seeds, Coverage: f.Coverage, Events: f.Events, Virtual: f.Virtual, Wall: f.Wall,
		Workers: f.Workers, Recoveries: slices.Sorted(slices.Values(f.Recoveries)), Takeovers: slices.Sorted(slices.Values(f.Takeovers)),
		BoundMin: f.BoundMin, BoundMax: f.BoundMax, FeatureSeeds: f.FeatureSeeds, FeatureFailed: f.FeatureFailed}
	failures := slices.SortedStableFunc(slices.Values(f.Failures), func(a, b failure) int { return cmp.Compare(a.Seed, b.Seed) })
	for _, fl := range failures {
		r := swarm.Result{Seed: fl.Seed}
		for _, v := range fl.Violations {
			r.Violations = append(r.Violations, check.Violation{At: cluster.Start.Add(v.At), Checker: v.Checker, Message: v.Message})
		}
		for _, l := range fl.Linearizability {
			r.Lin = append(r.Lin, check.LinResult{Resource: l.Resource, Ops: l.Ops})
		}
		s.Failed = append(s.Failed, r)
	}
	return s
}

// writeSummaryFile writes f as compact JSON (a million recoveries
// indented one per line would take half as much again) and closes out.
func writeSummaryFile(out *os.File, f summaryFile) error {
	data, err := json.Marshal(f)
	if err == nil {
		_, err = out.Write(append(data, '\n'))
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--summary-json: %w", err)
	}
	return nil
}

// readSummaryFile reads and checks a summary file; its errors name what is
// wrong, the caller the file.
func readSummaryFile(path string) (summaryFile, error) {
	var f summaryFile
	data, err := os.ReadFile(path)
	if err != nil {
		return f, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return f, errors.New("empty: the run that was to write it did not finish")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("not a basalt-sim summary: %w", err)
	}
	if f.Format != summaryFormat {
		return f, fmt.Errorf("format %q: want %q (written by basalt-sim run --summary-json)", f.Format, summaryFormat)
	}
	err = f.check()
	return f, err
}

// check refuses a summary that cannot be one swarm's: slices out of
// range or twice, more seeds than its slices hold, failing seeds that are
// not its own.
func (f *summaryFile) check() error {
	id := f.Swarm
	if id.From > id.To || id.Shards < 1 {
		return fmt.Errorf("swarm: seeds %d-%d in %d shards: want FROM <= TO and at least one shard", id.From, id.To, id.Shards)
	}
	c, err := flagsOf(id)
	if err != nil {
		return err
	}
	// The same durations may be spelt differently ("5m", "5m0s").
	f.Swarm.Chaos, f.Swarm.Heal = c.chaos.String(), c.heal.String()
	if len(f.Slices) == 0 {
		return errors.New("slices: none")
	}
	var holds uint64
	for i, k := range f.Slices {
		if k < 1 || k > id.Shards || slices.Contains(f.Slices[:i], k) {
			return fmt.Errorf("slices: %d is not a shard of 1 to %d, or is listed twice", k, id.Shards)
		}
		holds += shard{k, id.Shards}.count(id.From, id.To)
	}
	if f.Seeds < 0 || uint64(f.Seeds) > holds || len(f.Recoveries) > f.Seeds {
		return fmt.Errorf("seeds %d (%d recoveries): its slices hold %d seeds", f.Seeds, len(f.Recoveries), holds)
	}
	for _, fl := range f.Failures {
		k := (fl.Seed-id.From)%id.Shards + 1
		if fl.Seed < id.From || fl.Seed > id.To || !slices.Contains(f.Slices, k) {
			return fmt.Errorf("failing seed %d is not in its slices %v of seeds %d-%d", fl.Seed, f.Slices, id.From, id.To)
		}
		if len(fl.Violations) == 0 && len(fl.Linearizability) == 0 {
			return fmt.Errorf("failing seed %d has no violation", fl.Seed)
		}
	}
	return nil
}

// differences lists, in flag terms, where b's swarm is not a's.
func (a swarmID) differences(b swarmID) []string {
	var out []string
	diff := func(what string, x, y any) {
		if x != y {
			out = append(out, fmt.Sprintf("%s %v vs %v", what, x, y))
		}
	}
	diff("--seeds", fmt.Sprintf("%d-%d", a.From, a.To), fmt.Sprintf("%d-%d", b.From, b.To))
	diff("shards", a.Shards, b.Shards)
	diff("configuration (sha256)", orNone(a.ConfigSHA256), orNone(b.ConfigSHA256))
	diff("--shapes", a.Shapes, b.Shapes)
	diff("--canary", orNone(a.Canary), orNone(b.Canary))
	diff("--replicas", a.Replicas, b.Replicas)
	diff("--config-apply", a.ConfigApply, b.ConfigApply)
	diff("--promotable", a.Promotable, b.Promotable)
	diff("--chaos", a.Chaos, b.Chaos)
	diff("--heal", a.Heal, b.Heal)
	diff("--keep-going", a.KeepGoing, b.KeepGoing)
	diff("version", a.Version, b.Version)
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
