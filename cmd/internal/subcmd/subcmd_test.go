package subcmd

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDispatch(t *testing.T) {
	var got []string
	s := Set{Tool: "t", Default: "a", Commands: map[string]Command{
		"a": {Summary: "first", Run: func(args []string, _, _ io.Writer) int { got = append(got, "a"); return 0 }},
		"b": {Summary: "second", Run: func(args []string, _, _ io.Writer) int { got = append(got, "b:"+args[0]); return 3 }},
	}}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, s.Dispatch(nil, &out, &errOut))
	require.Equal(t, 3, s.Dispatch([]string{"b", "x"}, &out, &errOut))
	require.Equal(t, []string{"a", "b:x"}, got)
	require.Equal(t, 2, s.Dispatch([]string{"c"}, &out, &errOut))
	require.Equal(t, "t: unknown subcommand \"c\" (try t help)\n", errOut.String())
	require.Equal(t, 0, s.Dispatch([]string{"help"}, &out, &errOut))
	require.Contains(t, out.String(), "  a            first\n  b            second\n")
}
