// Command basalt-sim runs whole Basalt clusters in simulation: many seeds
// under generated faults (run), one seed again with its trace and a picture
// (replay), or the smallest fault plan that still fails (shrink).
package main

import (
	"io"
	"os"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
)

var commands = subcmd.Set{Tool: "basalt-sim", Default: "run", Commands: map[string]subcmd.Command{
	"run":    {Summary: "simulate many seeds and summarise (default: seeds 1-1000 of the default cluster)", Run: runCmd},
	"replay": {Summary: "run one seed (or plan) again, with its trace, hash and HTML timeline", Run: replayCmd},
	"shrink": {Summary: "find the smallest fault plan that still fails", Run: shrinkCmd},
}}

func main() { os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr)) }

func dispatch(args []string, stdout, stderr io.Writer) int {
	return commands.Dispatch(args, stdout, stderr)
}
