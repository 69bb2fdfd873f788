package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/sim/cluster"
	"github.com/basalt-ha/basalt/sim/faults"
	"github.com/basalt-ha/basalt/sim/shape"
	"github.com/basalt-ha/basalt/sim/swarm"
)

// common flags of every subcommand.
type common struct {
	config string
	canary string
	chaos  time.Duration
	heal   time.Duration
	// shapes: every seed draws its own cluster shape (sim/shape).
	shapes bool
	// replicas: manager replicas on a simulated etcd (0: one manager).
	replicas int
	// configApply: the config-apply fault may switch on.
	configApply bool
	// promotable: the built-in cluster with a promotable clone, and the
	// promotion faults.
	promotable bool
}

// maxReplicas bounds --replicas: more managers than this buys nothing a
// production cluster would run.
const maxReplicas = 9

func (c *common) register(fs *subcmd.Flags) {
	fs.StringVar(&c.config, "config", "", "cluster configuration (default: the built-in 4-host, 12-resource cluster)")
	fs.StringVar(&c.canary, "canary", "", "run with a known defect: "+strings.Join(swarm.Canaries, ", "))
	fs.DurationVar(&c.chaos, "chaos", 5*time.Minute, "virtual length of the chaos phase")
	fs.DurationVar(&c.heal, "heal", 5*time.Minute, "virtual length of the heal phase (recovery must happen within it)")
	fs.BoolVar(&c.shapes, "shapes", false, "each seed draws its own cluster shape (hosts, groups, policies, fencing) instead of one cluster")
	fs.BoolVar(&c.configApply, "config-apply", false, "draw config-apply faults too: random valid changes of the running configuration (remove a group, add one, change a parameter or a monitor)")
	fs.BoolVar(&c.promotable, "promotable", false, "run the built-in cluster with a promotable clone (or --config's), and draw promotion faults too: failed promotes, hung demotes, the promoted instance's death, failed and hung notifications")
	fs.IntVar(&c.replicas, "replicas", 0, "run this many manager replicas on a simulated etcd, with leader and etcd faults (0: one manager, no etcd)")
}

// drawShape is the swarm's Config.Shapes: a seed's generated cluster and
// the features it exercises.
func drawShape(seed uint64) (*model.Model, []string, error) {
	s, err := shape.Generate(seed)
	if err != nil {
		return nil, nil, err
	}
	return s.Model, s.Features.Tags(), nil
}

// shapeText is the swarm's Config.ShapeText: a seed's shape's file.
func shapeText(seed uint64) []byte {
	s, err := shape.Generate(seed)
	if err != nil {
		return nil // drawShape reports it
	}
	return s.YAML
}

// forSeed fixes the configuration to seed's shape (replay, shrink): the
// fault plan is drawn from, and run on, that one cluster.
func (c *common) forSeed(cfg *swarm.Config, seed uint64) (shape.Shape, error) {
	if !c.shapes {
		return shape.Shape{}, nil
	}
	s, err := shape.Generate(seed)
	if err != nil {
		return s, fmt.Errorf("--shapes: %w", err)
	}
	cfg.Model, cfg.Shapes, cfg.Text = s.Model, nil, s.YAML
	return s, nil
}

// saveShape writes a seed's shape YAML into dir, so that a failing seed's
// cluster can be read and replayed with --config as well as --shapes.
func saveShape(dir string, seed uint64) (string, error) {
	s, err := shape.Generate(seed)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, shape.FileName(seed))
	return path, os.WriteFile(path, s.YAML, 0o644)
}

func (c *common) build() (swarm.Config, error) {
	var m *model.Model
	var err error
	text := swarm.DefaultConfig()
	if c.shapes && c.config != "" {
		return swarm.Config{}, fmt.Errorf("--shapes and --config exclude each other: a shape is a configuration")
	}
	switch {
	case c.config == "" && c.promotable:
		text = swarm.PromotableConfig()
		m, err = swarm.PromotableModel()
	case c.config == "":
		m, err = swarm.DefaultModel()
	default:
		var data []byte
		data, err = os.ReadFile(c.config)
		if err != nil {
			return swarm.Config{}, fmt.Errorf("--config: %w", err)
		}
		m, err = model.Load(c.config, data)
		text = data
	}
	if err != nil {
		return swarm.Config{}, err
	}
	if c.canary != "" {
		ok := false
		for _, k := range swarm.Canaries {
			ok = ok || k == c.canary
		}
		if !ok {
			return swarm.Config{}, fmt.Errorf("--canary %q: want one of %s", c.canary, strings.Join(swarm.Canaries, ", "))
		}
	}
	if c.chaos <= 0 || c.heal <= 0 {
		return swarm.Config{}, fmt.Errorf("--chaos and --heal must be positive")
	}
	if c.replicas < 0 || c.replicas > maxReplicas {
		return swarm.Config{}, fmt.Errorf("--replicas %d: want 0 (one manager, no etcd) to %d", c.replicas, maxReplicas)
	}
	if c.promotable && c.shapes {
		return swarm.Config{}, fmt.Errorf("--promotable and --shapes exclude each other: shapes draw no promotable group")
	}
	cfg := swarm.Config{Model: m, Text: text, Canary: c.canary, Chaos: c.chaos, Heal: c.heal, Replicas: c.replicas,
		ConfigApply: c.configApply, Promotable: c.promotable}
	if c.shapes {
		cfg.Shapes, cfg.ShapeText = drawShape, shapeText
	}
	return cfg, nil
}

func (c *common) flags() string {
	var parts []string
	if c.config != "" {
		parts = append(parts, "--config "+c.config)
	}
	if c.shapes {
		parts = append(parts, "--shapes")
	}
	if c.canary != "" {
		parts = append(parts, "--canary "+c.canary)
	}
	if c.replicas > 0 {
		parts = append(parts, fmt.Sprintf("--replicas %d", c.replicas))
	}
	if c.configApply {
		parts = append(parts, "--config-apply")
	}
	if c.promotable {
		parts = append(parts, "--promotable")
	}
	if c.chaos != 5*time.Minute {
		parts = append(parts, "--chaos "+c.chaos.String())
	}
	if c.heal != 5*time.Minute {
		parts = append(parts, "--heal "+c.heal.String())
	}
	return strings.Join(parts, " ")
}

func parseSeeds(s string) (uint64, uint64, error) {
	a, b, ok := strings.Cut(s, "-")
	from, err := strconv.ParseUint(a, 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("--seeds %q: want N or FROM-TO", s)
	}
	to := from
	if ok {
		if to, err = strconv.ParseUint(b, 10, 64); err != nil || to < from {
			return 0, 0, fmt.Errorf("--seeds %q: want FROM-TO with FROM <= TO", s)
		}
	}
	return from, to, nil
}

// terminal decides whether the progress line is rewritten in place: true
// when w is a character device (a terminal). A variable, so that a test can
// take either path.
var terminal = isTerminal

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt-sim run", "[--seeds N|FROM-TO] [--shard K/N] [--summary-json FILE] [--workers N] [--keep-going] [--config FILE | --shapes] [--canary NAME] [--replicas N]",
		"Simulate many seeds under generated faults and summarise them; exit 1 on any violation.\n"+
			"--shard K/N runs only the K-th of N interleaved slices of the seeds; basalt-sim merge\n"+
			"combines the shards' --summary-json files into the whole swarm's summary.")
	var c common
	c.register(fs)
	seedsFlag := fs.String("seeds", "1-1000", "seeds to run: N or FROM-TO")
	shardFlag := fs.String("shard", "", "run only slice K of N (1 to N) of the seeds: seed FROM+i is slice i mod N + 1")
	jsonPath := fs.String("summary-json", "", "write the summary as JSON here, for basalt-sim merge")
	workers := fs.Int("workers", 0, "parallel workers (default: one per core)")
	keepGoing := fs.Bool("keep-going", false, "run every seed even after a violation")
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	if !fs.Exact(stderr) {
		return subcmd.ExitUsage
	}
	cfg, err := c.build()
	if err != nil {
		return fs.Mistake(stderr, "%v", err)
	}
	from, to, err := parseSeeds(*seedsFlag)
	if err != nil {
		return fs.Mistake(stderr, "%v", err)
	}
	sh := whole
	if fs.Changed("shard") {
		if sh, err = parseShard(*shardFlag); err != nil {
			return fs.Mistake(stderr, "%v", err)
		}
	}
	if *workers < 0 {
		return fs.Mistake(stderr, "--workers %d: want 0 (one per core) or more", *workers)
	}
	id, err := c.identify(from, to, sh.n, *keepGoing)
	if err != nil {
		return fs.Mistake(stderr, "%v", err)
	}
	var out *os.File
	if *jsonPath != "" {
		// Opened before the run, so that a wrong path costs no swarm.
		if out, err = os.Create(*jsonPath); err != nil {
			fmt.Fprintf(stderr, "basalt-sim run: --summary-json: %v\n", err)
			return 2
		}
	}
	return runSwarm(stdout, stderr, c, cfg, id, sh, *workers, out)
}

// runSwarm runs the seeds of shard sh of id's range, prints the summary
// and writes its JSON to out (unless nil).
func runSwarm(stdout, stderr io.Writer, c common, cfg swarm.Config, id swarmID, sh shard, workers int, out *os.File) int {
	total := sh.count(id.From, id.To)
	start := time.Now()
	prog := newProgress(stderr, terminal(stderr), int(total), time.Now)
	sum := swarm.SwarmSeeds(cfg, sh.seeds(id.From, id.To), workers, !id.KeepGoing, func(done int, _ swarm.Result) { prog.seedDone(done) })
	sum.Wall = time.Since(start) // the CLI owns the real clock; the swarm never reads it
	prog.finish()
	h := header{}
	if sh != whole {
		h.shard = sh.describe(id.From, id.To)
	}
	report(stdout, stderr, c, cfg, id.From, sum, h)
	if out != nil {
		f := newSummaryFile(id, []uint64{sh.k}, uint64(sum.Seeds) == total, sum, failuresOf(c, sum))
		if err := writeSummaryFile(out, f); err != nil {
			fmt.Fprintf(stderr, "basalt-sim run: %v\n", err)
			return 2
		}
	}
	if !sum.Passed() {
		return 1
	}
	return 0
}

// report prints a swarm's whole human summary: the numbers, the first
// failure and the verdict.
func report(stdout, stderr io.Writer, c common, cfg swarm.Config, from uint64, sum swarm.Summary, h header) {
	printSummary(stdout, cfg, sum, h)
	if len(sum.Failed) > 0 {
		printFailure(stdout, stderr, c, from, sum)
	}
	printVerdict(stdout, sum)
}

// replayLine is the command that replays a failing seed with its trace and
// timeline.
func replayLine(c common, seed uint64) string {
	return fmt.Sprintf("basalt-sim replay --seed %d%s --trace seed-%d.jsonl --html seed-%d.html", seed, c.spacedFlags(), seed, seed)
}

// shrinkLine is the command that shrinks a failing seed's plan.
func shrinkLine(c common, seed uint64) string {
	return fmt.Sprintf("basalt-sim shrink --seed %d%s", seed, c.spacedFlags())
}

// spacedFlags is flags with a space before it, or nothing.
func (c *common) spacedFlags() string {
	if f := c.flags(); f != "" {
		return " " + f
	}
	return ""
}

// printFailure tells of a swarm's failing seeds: the first one's violations
// and the commands that replay and shrink it (with --shapes, its shape is
// saved next to where it runs).
func printFailure(stdout, stderr io.Writer, c common, from uint64, sum swarm.Summary) {
	f := sum.Failed[0]
	fmt.Fprintf(stdout, "\nVIOLATION in seed %d: %s\n", f.Seed, f.Summary())
	for _, v := range f.Violations[min(1, len(f.Violations)):min(5, len(f.Violations))] {
		fmt.Fprintf(stdout, "  also: %s\n", v)
	}
	if c.canary != "" {
		fmt.Fprintf(stdout, "canary %s caught after %d seeds\n", c.canary, f.Seed-from+1)
	}
	if len(sum.Failed) > 1 {
		fmt.Fprintln(stdout, otherFailures(sum.Failed[1:]))
	}
	if c.shapes {
		path, err := saveShape(".", f.Seed)
		if err != nil {
			fmt.Fprintf(stderr, "basalt-sim run: %v\n", err)
		} else {
			fmt.Fprintf(stdout, "shape of seed %d written to %s\n", f.Seed, path)
		}
	}
	fmt.Fprintf(stdout, "replay: %s\n", replayLine(c, f.Seed))
	fmt.Fprintf(stdout, "shrink: %s\n", shrinkLine(c, f.Seed))
}

// listedFailures is how many other failing seeds a run lists by name.
const listedFailures = 20

// otherFailures names the failing seeds after the first, each with the
// checker that caught it ("seed 7 [safety]"), and how many more there are
// beyond the first twenty: "other failing seeds: 2 (safety)" read as a
// count when it was seed 2.
func otherFailures(others []swarm.Result) string {
	var names []string
	for _, o := range others[:min(len(others), listedFailures)] {
		names = append(names, fmt.Sprintf("seed %d [%s]", o.Seed, checkerName(o)))
	}
	line := fmt.Sprintf("other failing seeds (%d): %s", len(others), strings.Join(names, ", "))
	if len(others) > listedFailures {
		line += fmt.Sprintf(", and %d more", len(others)-listedFailures)
	}
	return line
}

// header is what a summary says beyond the swarm's numbers: the shard a
// run ran, or how many shards a merge combined.
type header struct {
	// shard describes a shard run's seeds (shard.describe).
	shard string
	// merged is how many shard runs a merge combined: the wall time is
	// then theirs summed, and the rates those of one of them on average.
	merged int
}

// printSummary prints a swarm's summary. Everything in it but the line
// of rates and the wall time is a function of the seeds and the flags, so
// that a test can compare it whole, and a merge of shards print it as one
// run over the range does.
func printSummary(w io.Writer, cfg swarm.Config, s swarm.Summary, h header) {
	cov := s.Coverage
	fmt.Fprintf(w, "\n%-24s %d\n", "seeds", s.Seeds)
	if h.shard != "" {
		fmt.Fprintf(w, "%-24s %s\n", "shard", h.shard)
	}
	fmt.Fprintf(w, "%-24s %d\n", "violations", len(s.Failed))
	fmt.Fprintf(w, "%-24s %s per seed (%s chaos, then a heal phase of %s in which recovery must complete)\n", "virtual time",
		(s.Virtual / time.Duration(max(1, s.Seeds))).Truncate(time.Second), cfg.Chaos, cfg.Heal)
	printClock(w, s, h)
	fmt.Fprintf(w, "%-24s p50 %s  p90 %s  p99 %s  max %s\n", "recovery after heal",
		s.Percentile(50).Truncate(time.Millisecond), s.Percentile(90).Truncate(time.Millisecond),
		s.Percentile(99).Truncate(time.Millisecond), s.Percentile(100).Truncate(time.Millisecond))
	fmt.Fprintf(w, "%-24s %s\n", "recovery bound", recoveryBound(cfg, s))
	if len(s.Takeovers) > 0 {
		fmt.Fprintf(w, "%-24s p50 %s  p99 %s  max %s over %d (kill -9 of the leader to the new leader's first act)\n", "takeover after crash",
			s.TakeoverPercentile(50).Truncate(time.Millisecond), s.TakeoverPercentile(99).Truncate(time.Millisecond),
			s.TakeoverPercentile(100).Truncate(time.Millisecond), len(s.Takeovers))
	}
	fmt.Fprintln(w, "coverage:")
	type row struct {
		name string
		n    int
	}
	rows := []row{{"fences confirmed", cov.Fences}, {"fence attempts failed", cov.FenceFailures}, {"failovers", cov.Failovers},
		{"stop failures", cov.StopFailures}, {"resource failures", cov.MonitorFailures}, {"partitions", cov.Partitions},
		{"pauses", cov.Pauses}, {"crashes", cov.Crashes}, {"manager restarts", cov.ManagerRestarts},
		{"stale-epoch refusals", cov.StaleRefusals}, {"connection takeovers", cov.ConnTakeovers},
		{"stale conns refused", cov.StaleConnsRefused}, {"deposed conns closed", cov.DeposedConnsClosed},
		{"manager freezes", cov.ManagerFreezes}, {"slow hosts", cov.SlowHosts}, {"quick agent restarts", cov.QuickRestarts},
		{"orphans found", cov.Orphans}, {"clean agent restarts", cov.CleanRestarts},
		{"second cleanups", cov.SecondCleanups}, {"admin requests", cov.AdminRequests}, {"recoveries", cov.Recoveries}}
	if cfg.Replicas > 0 {
		rows = append(rows, []row{{"leader takeovers", cov.LeaderTakeovers}, {"leader cut from etcd", cov.EtcdCuts}, {"etcd outages", cov.EtcdOutages}}...)
	}
	if cfg.ConfigApply {
		rows = append(rows, []row{{"config applies", cov.ConfigApplies}, {"config refusals", cov.ConfigRefusals}}...)
	}
	if cfg.Promotable || cov.Promotions > 0 {
		rows = append(rows, []row{{"promotions", cov.Promotions}, {"demotions", cov.Demotions}, {"promotes failed", cov.PromoteFailures}}...)
	}
	if cov.Notifications > 0 {
		rows = append(rows, row{"notifications", cov.Notifications})
	}
	if cfg.Promotable || cov.NotifyFaults > 0 {
		// The notify faults, and the notifications that failed or timed
		// out: each one that failed nothing (the notify judge).
		rows = append(rows, []row{{"notify faults", cov.NotifyFaults}, {"notifications failed", cov.NotifyFailures}}...)
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-22s %d\n", r.name, r.n)
	}
	if cfg.Shapes != nil {
		printShapeCoverage(w, s)
	}
}

// printClock prints the lines the real clock decides: the wall time, the
// workers, and the rates.
func printClock(w io.Writer, s swarm.Summary, h header) {
	wall := s.Wall.Seconds()
	workers := fmt.Sprintf("%d workers", s.Workers)
	if s.Workers == 1 {
		workers = "1 worker"
	}
	rates := fmt.Sprintf("%.0f (%.0f seeds/min, %.0fx virtual/wall)", float64(s.Events)/wall, float64(s.Seeds)/wall*60, s.Virtual.Seconds()/wall)
	if h.merged > 0 {
		runs := fmt.Sprintf("%d shard runs", h.merged)
		if h.merged == 1 {
			runs = "1 shard run"
		}
		fmt.Fprintf(w, "%-24s %s summed over %s, %s in all\n", "wall time", s.Wall.Round(100*time.Millisecond), runs, workers)
		fmt.Fprintf(w, "%-24s %s per shard run\n", "events/s", rates)
		return
	}
	fmt.Fprintf(w, "%-24s %s on %s\n", "wall time", s.Wall.Round(100*time.Millisecond), workers)
	fmt.Fprintf(w, "%-24s %s\n", "events/s", rates)
}

// recoveryBound says what the recovery percentiles are judged against:
// each seed must recover within its cluster's bound (swarm.RecoveryBound)
// or the heal phase, whichever is shorter; with --shapes every seed has
// its own bound, so the line gives their range.
func recoveryBound(cfg swarm.Config, s swarm.Summary) string {
	if s.BoundMax == 0 {
		return "none (no seed ran its heal phase)"
	}
	bound := s.BoundMax.String()
	if s.BoundMin != s.BoundMax {
		bound = s.BoundMin.String() + " to " + s.BoundMax.String() + " (per shape)"
	}
	if cfg.Heal < s.BoundMin {
		return fmt.Sprintf("%s, cut to the heal phase's %s: a seed not recovered by then fails", bound, cfg.Heal)
	}
	return fmt.Sprintf("%s after the heal: a seed not recovered by then fails", bound)
}

// printVerdict is the closing line of a run: PASS, or FAIL with how many
// seeds failed, so that the end of a long log says it all.
func printVerdict(w io.Writer, s swarm.Summary) {
	if s.Passed() {
		fmt.Fprintf(w, "PASS: %d seeds, no violation\n", s.Seeds)
		return
	}
	fmt.Fprintf(w, "FAIL: %d of %d seeds violated\n", len(s.Failed), s.Seeds)
}

// printShapeCoverage shows, per shape feature, how many seeds had it and how
// many of those failed: a green run shows it exercised every policy, a red
// one which feature its failures share.
func printShapeCoverage(w io.Writer, s swarm.Summary) {
	fmt.Fprintln(w, "coverage by shape feature (seeds, failing):")
	for _, tag := range shape.Catalogue() {
		fmt.Fprintf(w, "  %-32s %6d %6d\n", tag, s.FeatureSeeds[tag], s.FeatureFailed[tag])
	}
}

// seedPlan is the fault plan replay and shrink run: the seed's, or the one
// in planPath. With --shapes the cluster is the plan's seed's shape.
func (c *common) seedPlan(cfg *swarm.Config, seed uint64, planPath string) (faults.Plan, error) {
	var plan faults.Plan
	if planPath != "" {
		p, err := loadPlan(planPath)
		if err != nil {
			return plan, err
		}
		plan, seed = p, p.Seed
	}
	if _, err := c.forSeed(cfg, seed); err != nil {
		return plan, err
	}
	if planPath == "" {
		plan = swarm.PlanFor(*cfg, seed)
	}
	return plan, nil
}

func loadPlan(path string) (faults.Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return faults.Plan{}, fmt.Errorf("--plan: %w", err)
	}
	return faults.Decode(data)
}

// seedOrPlan checks that replay and shrink were given exactly one of --seed
// and --plan.
func seedOrPlan(fs *subcmd.Flags, stderr io.Writer) bool {
	switch {
	case fs.Changed("seed") && fs.Changed("plan"):
		fs.Mistake(stderr, "--seed and --plan exclude each other: a plan names its seed")
		return false
	case !fs.Changed("seed") && !fs.Changed("plan"):
		fs.Mistake(stderr, "--seed N or --plan FILE is required")
		return false
	}
	return true
}

func replayCmd(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt-sim replay", "--seed N | --plan FILE [--trace FILE] [--html FILE] [--print-hash] [--config FILE | --shapes] [--canary NAME] [--replicas N]",
		"Run one seed, or one fault plan, again: its violations, trace hash, JSON trace and HTML timeline.\nExit 1 when it fails.")
	var c common
	c.register(fs)
	seed := fs.Uint64("seed", 0, "seed to replay")
	planPath := fs.String("plan", "", "replay this fault plan (JSON, from shrink) instead of a seed's")
	tracePath := fs.String("trace", "", "write the trace, one JSON object per line")
	htmlPath := fs.String("html", "", "write an HTML timeline of each resource's ownership per host")
	printHash := fs.Bool("print-hash", false, "print the trace hash")
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	if !fs.Exact(stderr) {
		return subcmd.ExitUsage
	}
	cfg, err := c.build()
	if err != nil {
		return fs.Mistake(stderr, "%v", err)
	}
	if !seedOrPlan(fs, stderr) {
		return subcmd.ExitUsage
	}
	plan, err := c.seedPlan(&cfg, *seed, *planPath)
	if err != nil {
		fmt.Fprintf(stderr, "basalt-sim replay: %v\n", err)
		return 2
	}
	var trace *os.File
	if *tracePath != "" {
		if trace, err = os.Create(*tracePath); err != nil {
			fmt.Fprintf(stderr, "basalt-sim replay: %v\n", err)
			return 2
		}
		defer trace.Close()
	}
	enc := json.NewEncoder(io.Discard)
	if trace != nil {
		enc = json.NewEncoder(trace)
	}
	// The timeline's host and manager lanes come from the trace (see
	// lanes); reading it as it goes keeps no copy of it.
	ln := newLanes()
	cfg.Trace = func(line string) {
		ln.line(line)
		at, text, _ := strings.Cut(line, " ")
		_ = enc.Encode(struct {
			At    string `json:"at"`
			Event string `json:"event"`
		}{at, text})
	}
	cfg.KeepHistory = true
	r := swarm.RunPlan(cfg, plan)
	fmt.Fprintf(stdout, "seed %d: %s\n", plan.Seed, r.Summary())
	for _, v := range r.Violations {
		fmt.Fprintf(stdout, "  %s %s\n", v.At.Sub(cluster.Start), v)
	}
	fmt.Fprintf(stdout, "%d faults, %d events, %s virtual, recovery %s\n", len(plan.Faults), r.Events, r.Virtual.Truncate(time.Millisecond), r.Recovery.Truncate(time.Millisecond))
	if *printHash {
		fmt.Fprintf(stdout, "trace hash %s\n", r.Hash)
	}
	if *htmlPath != "" {
		if err := writeHTML(*htmlPath, cfg, plan, r, ln); err != nil {
			fmt.Fprintf(stderr, "basalt-sim replay: %v\n", err)
			return 2
		}
		fmt.Fprintf(stdout, "timeline written to %s\n", *htmlPath)
	}
	if r.Failed() {
		return 1
	}
	return 0
}

// writeHTML writes the replay's timeline: each host's state and the
// manager's epoch (or leader) over time, the resources' ownership, the
// faults, fences and admin requests as marks, and the violations; and
// porcupine's page of each resource whose history is not linearizable.
func writeHTML(path string, cfg swarm.Config, plan faults.Plan, r swarm.Result, ln *lanes) error {
	var rscs []string
	known := map[string]bool{}
	for _, res := range cfg.Model.Resources {
		rscs, known[res.ID] = append(rscs, res.ID), true
	}
	var changes []check.Change
	for _, ch := range r.Changes {
		if ch.Role {
			continue // the lanes show activity; roles are in the trace
		}
		// An instance of another definition than the start-up one (a
		// config-apply's) has a lane of its own, named as the trace
		// names it, after the configured resources.
		name := ch.Resource
		if ch.Digest != "" {
			name += "#" + ch.Digest[:min(8, len(ch.Digest))]
		}
		if !known[name] {
			rscs, known[name] = append(rscs, name), true
		}
		changes = append(changes, check.Change{At: ch.At, Host: ch.Host, Resource: name, Active: ch.Active, Cause: ch.Cause})
	}
	marks := append(ln.planMarks(plan), ln.marks...)
	marks = append(marks, check.Mark{At: cluster.Start.Add(plan.Chaos), Kind: check.MarkHeal, Label: "heal"})
	for _, v := range r.Violations {
		marks = append(marks, check.Mark{At: v.At, Kind: check.MarkViolation, Label: "VIOLATION " + v.String()})
	}
	hosts := cfg.Model.HostNames()
	var buf bytes.Buffer
	tl := check.Timeline{Title: fmt.Sprintf("Basalt simulation, seed %d: %s", plan.Seed, r.Summary()),
		Hosts: hosts, Resources: rscs, Intervals: check.Intervals(changes),
		HostSpans: check.HostSpans(hosts, cluster.Start, ln.hosts), Managers: check.ManagerSpans(cluster.Start, ln.managers),
		Marks: marks, Start: cluster.Start, End: cluster.Start.Add(r.Virtual)}
	if err := tl.Write(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--html: %w", err)
	}
	for _, lr := range r.Lin {
		var lin bytes.Buffer
		if err := lr.WriteHTML(&lin); err != nil {
			return err
		}
		p := strings.TrimSuffix(path, ".html") + "-linearizability-" + lr.Resource + ".html"
		if err := os.WriteFile(p, lin.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--html: %w", err)
		}
	}
	return nil
}

func shrinkCmd(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt-sim shrink", "--seed N | --plan FILE [--out FILE] [--budget N] [--config FILE | --shapes] [--canary NAME] [--replicas N]",
		"Find the smallest fault plan that still fails and write it as JSON; exit 1 when one is found\n(the seed fails), 0 when the seed does not fail.")
	var c common
	c.register(fs)
	seed := fs.Uint64("seed", 0, "failing seed to shrink")
	planPath := fs.String("plan", "", "failing plan to shrink instead of a seed's")
	out := fs.String("out", "", "write the smallest plan here (default plan-<seed>.json)")
	budget := fs.Int("budget", 500, "maximum runs")
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	if !fs.Exact(stderr) {
		return subcmd.ExitUsage
	}
	cfg, err := c.build()
	if err != nil {
		return fs.Mistake(stderr, "%v", err)
	}
	if !seedOrPlan(fs, stderr) {
		return subcmd.ExitUsage
	}
	plan, err := c.seedPlan(&cfg, *seed, *planPath)
	if err != nil {
		fmt.Fprintf(stderr, "basalt-sim shrink: %v\n", err)
		return 2
	}
	if *budget < 1 {
		return fs.Mistake(stderr, "--budget %d: want at least 1 run", *budget)
	}
	small, r, runs := swarm.Shrink(cfg, plan, *budget)
	if !r.Failed() {
		fmt.Fprintf(stdout, "seed %d does not fail: nothing to shrink\n", plan.Seed)
		return 0
	}
	data, err := small.Encode()
	if err != nil {
		fmt.Fprintf(stderr, "basalt-sim shrink: %v\n", err)
		return 2
	}
	path := *out
	if path == "" {
		path = fmt.Sprintf("plan-%d.json", plan.Seed)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		fmt.Fprintf(stderr, "basalt-sim shrink: %v\n", err)
		return 2
	}
	if c.shapes {
		// Next to the plan: the plan names its seed, the shape its cluster.
		if sp, err := saveShape(filepath.Dir(path), plan.Seed); err == nil {
			fmt.Fprintf(stdout, "shape written to %s (replay with --config %s or --shapes)\n", sp, sp)
		}
	}
	sum := sha256.Sum256(data)
	fmt.Fprintf(stdout, "%d faults shrunk to %d in %d runs (chaos %s); still fails: %s\n", len(plan.Faults), len(small.Faults), runs, small.Chaos, r.Summary())
	for _, f := range small.Faults {
		fmt.Fprintf(stdout, "  %s\n", f)
	}
	flags := c.flags()
	if flags != "" {
		flags = " " + flags
	}
	fmt.Fprintf(stdout, "plan written to %s (sha256 %s)\nreplay: basalt-sim replay --plan %s%s --html plan-%d.html\n", path, hex.EncodeToString(sum[:8]), path, flags, plan.Seed)
	return 1
}

func checkerName(r swarm.Result) string {
	if len(r.Violations) > 0 {
		return r.Violations[0].Checker
	}
	return "linearizability"
}
