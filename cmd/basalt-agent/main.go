// Command basalt-agent is the per-host daemon (serve): the LRM and the host's
// part of the fencer, commanded by the manager over mutual TLS. Its run-op
// subcommand runs one OCF action through the LRM, the way an administrator
// checks an agent by hand (crm_resource --force-start). Run under the name
// crm_attribute, crm_master, attrd_updater or crm_node, it is the node
// attribute tool of that name (live/attrtools), for the resource agents.
package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
	"github.com/basalt-ha/basalt/live/attrtools"
)

var commands = subcmd.Set{Tool: "basalt-agent", Commands: map[string]subcmd.Command{
	"epoch":  {Summary: "show or reset the stored manager epoch (with the agent stopped)", Run: epochCmd},
	"run-op": {Summary: "run one OCF action through the LRM and print its result", Run: runOp},
	"serve":  {Summary: "run the agent daemon (LRM and fence execution for the manager)", Run: serve},
}}

func main() {
	// Run as crm_attribute, crm_master, attrd_updater or crm_node (the
	// links serve makes in its tools directory), it is that tool.
	if tool := filepath.Base(os.Args[0]); slices.Contains(attrtools.Tools, tool) {
		os.Exit(attrtools.Main(tool, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int { return commands.Dispatch(args, stdout, stderr) }

// firstLine keeps error output to one line per problem.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
