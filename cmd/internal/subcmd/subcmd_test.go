package subcmd

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDispatch(t *testing.T) {
	var got []string
	s := Set{Tool: "t", Default: "a", Commands: map[string]Command{
		"a": {Summary: "first", Run: func(args []string, _, _ io.Writer) int { got = append(got, "a"); return 0 }},
		"b": {Args: "X", Summary: "second", Run: func(args []string, _, _ io.Writer) int { got = append(got, "b:"+args[0]); return 3 }},
	}}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, s.Dispatch(nil, &out, &errOut))
	require.Equal(t, 3, s.Dispatch([]string{"b", "x"}, &out, &errOut))
	require.Equal(t, []string{"a", "b:x"}, got)
	require.Equal(t, 2, s.Dispatch([]string{"c"}, &out, &errOut))
	require.Equal(t, "t: unknown subcommand \"c\": one of a, b\nRun 't --help' for usage.\n", errOut.String())
	require.Equal(t, 0, s.Dispatch([]string{"help"}, &out, &errOut))
	require.Contains(t, out.String(), "  a    first\n  b X  second\n")
}

// TestDispatchMistakes: a set without a default refuses a missing
// subcommand and a flag in its place, saying so; with a default, a flag
// goes to the default.
func TestDispatchMistakes(t *testing.T) {
	var got [][]string
	run := func(args []string, _, _ io.Writer) int { got = append(got, args); return 0 }
	group := Set{Tool: "t g", Noun: "action", Commands: map[string]Command{"x": {Run: run}}}
	var out, errOut bytes.Buffer
	require.Equal(t, 2, group.Dispatch(nil, &out, &errOut))
	require.Equal(t, "t g: missing action: one of x\nRun 't g --help' for usage.\n", errOut.String())
	errOut.Reset()
	require.Equal(t, 2, group.Dispatch([]string{"--force", "x"}, &out, &errOut))
	require.Equal(t, "t g: unknown flag: --force (flags come after the action)\nRun 't g --help' for usage.\n", errOut.String())
	require.Equal(t, 0, group.Dispatch([]string{"help", "x"}, &out, &errOut))
	require.Equal(t, [][]string{{"--help"}}, got, "help X is X --help")
	require.Empty(t, out.String())

	withDefault := Set{Tool: "t", Default: "x", Commands: map[string]Command{"x": {Run: run}}}
	require.Equal(t, 0, withDefault.Dispatch([]string{"--seeds", "1"}, &out, &errOut))
	require.Equal(t, []string{"--seeds", "1"}, got[len(got)-1])
	require.Equal(t, 0, withDefault.Dispatch([]string{"--help"}, &out, &errOut))
	require.Contains(t, out.String(), "usage: t <subcommand>", "--help is the set's, not the default's")
}

func TestFlags(t *testing.T) {
	parse := func(args ...string) (*Flags, bool, int, string, string) {
		f := NewFlags("t c", "NAME [-o FORMAT]", "Does c.")
		f.StringP("output", "o", "text", "format")
		var out, errOut bytes.Buffer
		ok, rc := f.Parse(args, &out, &errOut)
		if ok && !f.Exact(&errOut, "NAME") {
			ok, rc = false, ExitUsage
		}
		if ok && !f.OneOf(&errOut, "-o", f.Lookup("output").Value.String(), "text", "json") {
			ok, rc = false, ExitUsage
		}
		return f, ok, rc, out.String(), errOut.String()
	}
	_, ok, _, _, _ := parse("n")
	require.True(t, ok)
	_, ok, rc, out, errOut := parse("--help")
	require.False(t, ok)
	require.Equal(t, 0, rc)
	require.Empty(t, errOut)
	require.Equal(t, "usage: t c NAME [-o FORMAT]\n\nDoes c.\n\nflags:\n  -o, --output string   format (default \"text\")\n", out)
	for args, want := range map[string]string{
		"--bogus n":   "unknown flag: --bogus",
		"":            "missing NAME",
		"n m":         `unexpected argument "m" after NAME`,
		"n -o xml":    `-o "xml": want one of text, json`,
		"n --output":  "flag needs an argument: --output",
		"n -o json x": `unexpected argument "x" after NAME`,
	} {
		_, ok, rc, out, errOut := parse(strings.Fields(args)...)
		require.False(t, ok, args)
		require.Equal(t, ExitUsage, rc, args)
		require.Empty(t, out)
		require.Equal(t, "t c: "+want+"\nRun 't c --help' for usage.\n", errOut, args)
	}
}
