package attrtools

import (
	"fmt"
	"strings"
)

// The Pacemaker tools parse their command lines with GLib's option parser:
// short options alone, grouped ("-qG") or with their argument attached
// ("-nfoo") or following ("-n foo"); long options with "=value" or the
// value following; an optional argument only attached ("-pdb",
// "--promotion=db"). getopt does the same, bounded by the arguments.

// argKind says whether an option takes an argument.
type argKind int

const (
	noArg argKind = iota
	reqArg
	optArg
)

// option is one option a tool knows.
type option struct {
	short rune
	long  []string
	arg   argKind
	// key is the option's meaning, shared by its spellings.
	key string
	// unsupported options are known (so that the refusal names them as
	// typed) but not carried out by basalt.
	unsupported bool
}

// given is one option as it appeared on the command line.
type given struct {
	key    string
	typed  string // "-z", "--utilization"
	value  string
	hasVal bool
}

// unsupportedError is an option basalt does not carry out (exit 3).
type unsupportedError struct{ tool, what string }

func (e unsupportedError) Error() string {
	return fmt.Sprintf("%s: %s is not supported by basalt", e.tool, e.what)
}

// usageError is a malformed command line (exit 64, CRM_EX_USAGE).
type usageError struct{ tool, why string }

func (e usageError) Error() string { return fmt.Sprintf("%s: %s", e.tool, e.why) }

// getopt splits args by opts. An option not in opts, or unsupported, is an
// unsupportedError; a positional argument or a missing value a usageError.
func getopt(tool string, opts []option, args []string) ([]given, error) {
	var out []given
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return nil, usageError{tool, fmt.Sprintf("unexpected argument %q", args[i+1])}
			}
			return out, nil
		case strings.HasPrefix(a, "--"):
			g, used, err := longOpt(tool, opts, a, args[i+1:])
			if err != nil {
				return nil, err
			}
			i += used
			out = append(out, g)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			gs, used, err := shortOpts(tool, opts, a, args[i+1:])
			if err != nil {
				return nil, err
			}
			i += used
			out = append(out, gs...)
		default:
			return nil, usageError{tool, fmt.Sprintf("unexpected argument %q", a)}
		}
	}
	return out, nil
}

// longOpt parses one long option; used is how many of rest it took.
func longOpt(tool string, opts []option, a string, rest []string) (given, int, error) {
	name, val, hasVal := strings.Cut(strings.TrimPrefix(a, "--"), "=")
	for _, o := range opts {
		for _, l := range o.long {
			if l != name {
				continue
			}
			if o.unsupported {
				return given{}, 0, unsupportedError{tool, "--" + name}
			}
			g := given{key: o.key, typed: "--" + name, value: val, hasVal: hasVal}
			switch {
			case o.arg == noArg && hasVal:
				return given{}, 0, usageError{tool, fmt.Sprintf("--%s takes no value", name)}
			case o.arg == reqArg && !hasVal:
				if len(rest) == 0 {
					return given{}, 0, usageError{tool, fmt.Sprintf("--%s needs a value", name)}
				}
				g.value, g.hasVal = rest[0], true
				return g, 1, nil
			}
			return g, 0, nil
		}
	}
	return given{}, 0, unsupportedError{tool, "--" + name}
}

// shortOpts parses one argument of short options; used is how many of rest
// it took (the value of its last option).
func shortOpts(tool string, opts []option, a string, rest []string) ([]given, int, error) {
	var out []given
	runes := []rune(a[1:])
	for j := 0; j < len(runes); j++ {
		o, ok := findShort(opts, runes[j])
		typed := "-" + string(runes[j])
		if !ok || o.unsupported {
			return nil, 0, unsupportedError{tool, typed}
		}
		g := given{key: o.key, typed: typed}
		if o.arg == noArg {
			out = append(out, g)
			continue
		}
		if attached := string(runes[j+1:]); attached != "" {
			g.value, g.hasVal = attached, true
			return append(out, g), 0, nil
		}
		if o.arg == reqArg {
			if len(rest) == 0 {
				return nil, 0, usageError{tool, fmt.Sprintf("%s needs a value", typed)}
			}
			g.value, g.hasVal = rest[0], true
			return append(out, g), 1, nil
		}
		out = append(out, g) // an optional argument only attached
	}
	return out, 0, nil
}

func findShort(opts []option, r rune) (option, bool) {
	for _, o := range opts {
		if o.short == r {
			return o, true
		}
	}
	return option{}, false
}
