// Command basalt-sim runs whole Basalt clusters in simulation: many seeds
// under generated faults (run), one seed again with its trace and a picture
// (replay), or the smallest fault plan that still fails (shrink).
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

type subcommand struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var subcommands = map[string]subcommand{
	"run":    {"simulate many seeds and summarise (default: seeds 1-1000 of the default cluster)", runCmd},
	"replay": {"run one seed (or plan) again, with its trace, hash and HTML timeline", replayCmd},
	"shrink": {"find the smallest fault plan that still fails", shrinkCmd},
}

func main() { os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr)) }

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return runCmd(nil, stdout, stderr)
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	sc, ok := subcommands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "basalt-sim: unknown subcommand %q (try basalt-sim help)\n", args[0])
		return 2
	}
	return sc.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: basalt-sim <subcommand> [flags]")
	fmt.Fprintln(w, "\nsubcommands:")
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, subcommands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'basalt-sim <subcommand> --help' for its flags.")
}
