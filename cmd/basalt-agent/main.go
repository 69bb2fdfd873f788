// Command basalt-agent is the per-host daemon (serve): the LRM and the host's
// part of the fencer, commanded by the manager over mutual TLS. Its run-op
// subcommand runs one OCF action through the LRM, the way an administrator
// checks an agent by hand (crm_resource --force-start).
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type subcommand struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var subcommands = map[string]subcommand{
	"run-op": {"run one OCF action through the LRM and print its result", runOp},
	"serve":  {"run the agent daemon (LRM and fence execution for the manager)", serve},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	sc, ok := subcommands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "basalt-agent: unknown subcommand %q (try basalt-agent help)\n", args[0])
		return 2
	}
	return sc.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: basalt-agent <subcommand> [flags]")
	fmt.Fprintln(w, "\nsubcommands:")
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, subcommands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'basalt-agent <subcommand> --help' for its flags.")
}

// firstLine keeps error output to one line per problem.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
