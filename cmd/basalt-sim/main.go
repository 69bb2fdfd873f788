// Command basalt-sim runs whole Basalt clusters in simulation: many seeds
// under generated faults (run, or one shard of them; merge combines the
// shards' summaries), one seed again with its trace and a picture
// (replay), or the smallest fault plan that still fails (shrink); and the
// configuration of a cluster of any size to simulate (generate).
package main

import (
	"io"
	"os"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
	"github.com/basalt-ha/basalt/internal/simgc"
)

var commands = subcmd.Set{Tool: "basalt-sim", Default: "run", Footer: exitCodes, Commands: map[string]subcmd.Command{
	"run":      {Args: "[--seeds N|FROM-TO] [--shard K/N]", Summary: "simulate many seeds and summarise (the default; seeds 1-1000 of the default cluster)", Run: runCmd},
	"generate": {Args: "--hosts N --resources M [--large]", Summary: "write the configuration of a generated cluster of any size, for run --config", Run: generateCmd},
	"merge":    {Args: "FILE...", Summary: "combine the --summary-json files of a sharded swarm's runs into the whole swarm's summary", Run: mergeCmd},
	"replay":   {Args: "--seed N | --plan FILE", Summary: "run one seed (or plan) again, with its trace, hash and HTML timeline", Run: replayCmd},
	"shrink":   {Args: "--seed N | --plan FILE", Summary: "find the smallest fault plan that still fails", Run: shrinkCmd},
}}

const exitCodes = `Exit codes:
  0  no violation (shrink: the seed does not fail)
  1  a violation (shrink: the seed fails, and its smallest plan is written)
  2  a command-line mistake, or a file that cannot be read or written (merge:
     or summaries that are not the shards of one swarm)
`

func main() {
	simgc.TuneGC()
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	return commands.Dispatch(args, stdout, stderr)
}
