// Package subcmd is the command-line plumbing the Basalt binaries share:
// `tool <subcommand> [arguments] [flags]` dispatch (groups of subcommands
// nest), the usage listings that --help prints, and one rule for every
// command-line mistake: a message on stderr naming what is wrong, a hint to
// --help, and exit code 2.
package subcmd

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// ExitUsage is the exit code of a command-line mistake.
const ExitUsage = 2

// Command is one subcommand. Run returns the process exit code.
type Command struct {
	// Args is the synopsis after the subcommand's name in a usage listing:
	// its positional arguments and main flags ("GROUP --host HOST").
	Args    string
	Summary string
	Run     func(args []string, stdout, stderr io.Writer) int
}

// Set is a binary's subcommands, or a group's ("basalt resource").
type Set struct {
	// Tool is the command line up to the subcommand: "basalt",
	// "basalt resource".
	Tool string
	// Noun is what a subcommand is called in messages; "" is
	// "subcommand".
	Noun     string
	Commands map[string]Command
	// Default runs when no subcommand is given, and takes the arguments
	// when the first is a flag; "" makes a missing subcommand a mistake.
	Default string
	// Footer ends the usage listing (common flags, exit codes).
	Footer string
}

func (s Set) noun() string {
	if s.Noun == "" {
		return "subcommand"
	}
	return s.Noun
}

func (s Set) names() []string {
	names := make([]string, 0, len(s.Commands))
	for n := range s.Commands {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Dispatch runs the subcommand named by args[0]. -h, --help and help print
// the usage to stdout; `help X` is `X --help`.
func (s Set) Dispatch(args []string, stdout, stderr io.Writer) int {
	if s.Default != "" && (len(args) == 0 || isFlag(args[0]) && !isHelp(args[0])) {
		return s.Commands[s.Default].Run(args, stdout, stderr)
	}
	if len(args) == 0 {
		return Mistake(stderr, s.Tool, "missing %s: one of %s", s.noun(), strings.Join(s.names(), ", "))
	}
	if isHelp(args[0]) || args[0] == "help" {
		if args[0] == "help" && len(args) > 1 {
			return s.Dispatch([]string{args[1], "--help"}, stdout, stderr)
		}
		s.Usage(stdout)
		return 0
	}
	if isFlag(args[0]) {
		// Flags come after the subcommand: the set itself has none.
		return Mistake(stderr, s.Tool, "unknown flag: %s (flags come after the %s)", args[0], s.noun())
	}
	c, ok := s.Commands[args[0]]
	if !ok {
		return Mistake(stderr, s.Tool, "unknown %s %q: one of %s", s.noun(), args[0], strings.Join(s.names(), ", "))
	}
	return c.Run(args[1:], stdout, stderr)
}

func isFlag(a string) bool { return strings.HasPrefix(a, "-") && a != "-" }
func isHelp(a string) bool { return a == "-h" || a == "--help" }

// Usage lists the subcommands, one line each.
func (s Set) Usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s <%s> [arguments] [flags]\n\n%ss:\n", s.Tool, s.noun(), s.noun())
	names := s.names()
	width := 0
	for _, n := range names {
		width = max(width, len(synopsis(n, s.Commands[n].Args)))
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, synopsis(n, s.Commands[n].Args), s.Commands[n].Summary)
	}
	fmt.Fprintf(w, "\nRun '%s <%s> --help' for its flags.\n", s.Tool, s.noun())
	if s.Footer != "" {
		fmt.Fprintf(w, "\n%s", s.Footer)
	}
}

func synopsis(name, args string) string {
	if args == "" {
		return name
	}
	return name + " " + args
}

// Mistake reports a command-line mistake of the command named cmd ("basalt
// resource move"): the message, then a hint to its --help. It returns
// ExitUsage.
func Mistake(stderr io.Writer, cmd, format string, args ...any) int {
	fmt.Fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", cmd, fmt.Sprintf(format, args...), cmd)
	return ExitUsage
}

// Flags is a leaf command's flag set, with the usage line that its --help
// prints and its mistakes refer to.
type Flags struct {
	*pflag.FlagSet
	// Cmd is the command line naming the command: "basalt resource move".
	Cmd string
	// Synopsis follows Cmd in the usage line: "GROUP --host HOST [--wait]".
	Synopsis string
	// Summary is one sentence on what the command does.
	Summary string
}

// NewFlags returns an empty flag set for the command cmd.
func NewFlags(cmd, synopsis, summary string) *Flags {
	fs := pflag.NewFlagSet(cmd, pflag.ContinueOnError)
	// pflag would print the error and then the whole flag list; a mistake
	// is one line and a hint, and --help prints the list to stdout.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.SortFlags = false
	return &Flags{FlagSet: fs, Cmd: cmd, Synopsis: synopsis, Summary: summary}
}

// Parse parses args. When it returns false the command is over and rc is
// its exit code: 0 after --help (the usage on stdout), ExitUsage after a
// mistake (the message on stderr).
func (f *Flags) Parse(args []string, stdout, stderr io.Writer) (ok bool, rc int) {
	err := f.FlagSet.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		f.PrintUsage(stdout)
		return false, 0
	}
	if err != nil {
		return false, f.Mistake(stderr, "%v", err)
	}
	return true, 0
}

// PrintUsage writes the usage line, the summary and the flags.
func (f *Flags) PrintUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n", synopsis(f.Cmd, f.Synopsis))
	if f.Summary != "" {
		fmt.Fprintf(w, "\n%s\n", f.Summary)
	}
	if f.HasFlags() {
		fmt.Fprintln(w, "\nflags:")
		f.SetOutput(w)
		f.PrintDefaults()
		f.SetOutput(io.Discard)
	}
}

// Mistake reports a command-line mistake (see the package function).
func (f *Flags) Mistake(stderr io.Writer, format string, args ...any) int {
	return Mistake(stderr, f.Cmd, format, args...)
}

// Exact checks, after Parse, that the positional arguments are exactly the
// ones named (in the usage line's words: "GROUP"), and reports the first
// one missing or the first one too many as a mistake.
func (f *Flags) Exact(stderr io.Writer, names ...string) bool {
	switch got := f.Args(); {
	case len(got) < len(names):
		f.Mistake(stderr, "missing %s", names[len(got)])
		return false
	case len(got) > len(names):
		if len(names) == 0 {
			f.Mistake(stderr, "unexpected argument %q: this command takes none (only flags)", got[0])
		} else {
			f.Mistake(stderr, "unexpected argument %q after %s", got[len(names)], strings.Join(names, " "))
		}
		return false
	}
	return true
}

// OneOf checks, after Parse, that the flag named (as the user sees it:
// "-o/--output") has one of the accepted values, and reports it as a
// mistake otherwise.
func (f *Flags) OneOf(stderr io.Writer, flag, value string, accepted ...string) bool {
	if slices.Contains(accepted, value) {
		return true
	}
	f.Mistake(stderr, "%s %q: want one of %s", flag, value, strings.Join(accepted, ", "))
	return false
}
