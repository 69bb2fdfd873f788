package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
	"github.com/basalt-ha/basalt/sim/whatif"
)

const simulateSummary = "What if: run the manager's planner and the simulator from a saved state (--state FILE, from\n" +
	"`basalt status -o json`) or the live manager's (--live, one status read), with injected\n" +
	"events: hosts down, monitor failures, a new configuration, seeded faults. Print each\n" +
	"transition the manager would run, step by step, and the simulated outcome. Nothing is\n" +
	"sent to the live cluster but that one read. Exit 0 when done, 1 when the judges found a\n" +
	"safety violation or a file cannot be read."

// simulateFlags are basalt simulate's flags, parsed.
type simulateFlags struct {
	fs                   *subcmd.Flags
	sock                 *socket
	state, config, apply *string
	live, faults         *bool
	hostDown, fails      *[]string
	dur                  *time.Duration
	seed                 *uint64
	html, output         *string
}

func newSimulateFlags() *simulateFlags {
	fs := subcmd.NewFlags("basalt simulate", "(--state FILE | --live) [--config FILE] [--host-down H]... [--resource-fails R@H]... "+
		"[--apply FILE] [--for D] [--seed N] [--faults] [--html FILE] [-o text|json]", simulateSummary)
	f := &simulateFlags{fs: fs}
	f.state = fs.String("state", "", "start from this saved status (basalt status -o json > FILE)")
	f.live = fs.Bool("live", false, "start from the live manager's status (one read through --socket)")
	f.sock = socketFlag(fs)
	f.config = fs.String("config", "", "the cluster's configuration file, when the state holds none")
	f.hostDown = fs.StringArray("host-down", nil, "host H dies at the start: power lost, agent and resources gone (repeatable)")
	f.fails = fs.StringArray("resource-fails", nil, "resource R's next monitor fails on host H (R@H, repeatable)")
	f.apply = fs.String("apply", "", "apply this configuration file at the start, as basalt config apply does")
	f.dur = fs.Duration("for", 0, "run this long (default: until the cluster settles, at most 30m; with --faults, 5m)")
	f.seed = fs.Uint64("seed", 1, "the simulation's seed (and the fault plan's, with --faults)")
	f.faults = fs.Bool("faults", false, "draw seeded random faults during --for, as the swarm does, and print the plan")
	f.html = fs.String("html", "", "write an HTML timeline of the run to FILE")
	f.output = fs.StringP("output", "o", "text", "output format: text, json")
	return f
}

func simulateCmd(args []string, stdout, stderr io.Writer) int {
	f := newSimulateFlags()
	fs := f.fs
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	if !fs.Exact(stderr) || !fs.OneOf(stderr, "-o/--output", *f.output, "text", "json") {
		return exitUsage
	}
	switch {
	case *f.state != "" && *f.live:
		return fs.Mistake(stderr, "--state and --live both given: start from one state")
	case *f.state == "" && !*f.live:
		return fs.Mistake(stderr, "missing --state FILE or --live: the state to start from")
	case fs.Changed("for") && (*f.dur <= 0 || *f.dur > whatif.MaxFor):
		return fs.Mistake(stderr, "--for %s: want a duration above 0 and at most %s", *f.dur, whatif.MaxFor)
	case fs.Changed("socket") && !*f.live:
		return fs.Mistake(stderr, "--socket is --live's: a saved state is read from its file")
	}
	ev := whatif.Events{HostDown: *f.hostDown, For: *f.dur, Seed: *f.seed, Faults: *f.faults}
	for _, s := range *f.fails {
		rf, err := whatif.ParseResourceOn(s)
		if err != nil {
			return fs.Mistake(stderr, "--resource-fails %v", err)
		}
		ev.ResourceFails = append(ev.ResourceFails, rf)
	}
	st, config, rc := f.load(&ev, stderr)
	if rc >= 0 {
		return rc
	}
	res, err := whatif.Run(st, config, ev)
	if err != nil {
		var bad *whatif.EventError
		if errors.As(err, &bad) {
			return fs.Mistake(stderr, "%v", err)
		}
		fmt.Fprintf(stderr, "basalt simulate: %v\n", err)
		return exitFailed
	}
	return f.write(res, stdout, stderr)
}

// load reads the state, the configuration and --apply's file; rc is -1
// when all went well, else the exit code (the message printed).
func (f *simulateFlags) load(ev *whatif.Events, stderr io.Writer) (whatif.State, whatif.File, int) {
	var config whatif.File
	fail := func(err error) (whatif.State, whatif.File, int) {
		fmt.Fprintf(stderr, "basalt simulate: %v\n", err)
		return whatif.State{}, config, exitFailed
	}
	if *f.config != "" {
		text, err := readText(*f.config)
		if err != nil {
			return fail(fmt.Errorf("--config: %w", err))
		}
		config = whatif.File{Name: *f.config, Text: text}
	}
	if *f.apply != "" {
		text, err := readText(*f.apply)
		if err != nil {
			return fail(fmt.Errorf("--apply: %w", err))
		}
		ev.Apply = whatif.File{Name: *f.apply, Text: text}
	}
	if !*f.live {
		data, err := os.ReadFile(*f.state)
		if err != nil {
			return fail(fmt.Errorf("--state: %w", err))
		}
		st, err := whatif.ParseState(*f.state, data)
		if err != nil {
			return fail(err)
		}
		return st, config, -1
	}
	v, err := f.sock.client().Status()
	if err != nil {
		return whatif.State{}, config, f.sock.failed(stderr, err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fail(fmt.Errorf("the live status: %w", err))
	}
	st, err := whatif.ParseState("the live manager's status", data)
	if err != nil {
		return fail(err)
	}
	return st, config, -1
}

// readText reads a configuration file, bounded as the manager bounds one.
func readText(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Size() > maxConfigFile {
		return "", fmt.Errorf("%s: %d bytes, more than a configuration file may have (%d)", path, fi.Size(), maxConfigFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return string(data), nil
}

// maxConfigFile bounds a configuration file read whole.
const maxConfigFile = 16 << 20

// write prints the result and the timeline; exit 1 when the judges found
// a violation.
func (f *simulateFlags) write(res *whatif.Result, stdout, stderr io.Writer) int {
	if *f.html != "" {
		if err := writeHTMLFile(*f.html, res); err != nil {
			fmt.Fprintf(stderr, "basalt simulate: --html: %v\n", err)
			return exitFailed
		}
	}
	if err := render(stdout, *f.output, res, func(w io.Writer) { _ = res.WriteText(w) }); err != nil {
		fmt.Fprintf(stderr, "basalt simulate: %v\n", err)
		return exitFailed
	}
	if *f.html != "" && *f.output == "text" {
		fmt.Fprintf(stdout, "\ntimeline written to %s\n", *f.html)
	}
	if len(res.Outcome.Violations) > 0 {
		return exitFailed
	}
	return exitOK
}

func writeHTMLFile(path string, res *whatif.Result) (err error) {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, out.Close()) }()
	return res.WriteHTML(out)
}
