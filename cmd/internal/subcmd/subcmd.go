// Package subcmd is the subcommand dispatch the Basalt binaries share:
// `tool <subcommand> [flags]`, a usage listing, and one clear line for an
// unknown subcommand.
package subcmd

import (
	"fmt"
	"io"
	"sort"
)

// Command is one subcommand. Run returns the process exit code.
type Command struct {
	Summary string
	Run     func(args []string, stdout, stderr io.Writer) int
}

// Set is a binary's subcommands.
type Set struct {
	Tool     string
	Commands map[string]Command
	// Default runs when no subcommand is given; "" prints the usage.
	Default string
}

// Dispatch runs the subcommand named by args[0].
func (s Set) Dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 && s.Default != "" {
		return s.Commands[s.Default].Run(nil, stdout, stderr)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		s.Usage(stdout)
		return 0
	}
	c, ok := s.Commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown subcommand %q (try %s help)\n", s.Tool, args[0], s.Tool)
		return 2
	}
	return c.Run(args[1:], stdout, stderr)
}

// Usage lists the subcommands.
func (s Set) Usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s <subcommand> [flags]\n\nsubcommands:\n", s.Tool)
	names := make([]string, 0, len(s.Commands))
	for n := range s.Commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, s.Commands[n].Summary)
	}
	fmt.Fprintf(w, "\nRun '%s <subcommand> --help' for its flags.\n", s.Tool)
}
