package model

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const configDoc = "../../docs/configuration.md"

// loaderKeys returns every key the loader accepts: the string literals
// passed after the node and the path to l.fields and l.entry in load.go.
// Reading them from the source, not from a list kept beside it, is what
// makes a key added to the loader without its documentation fail the test.
func loaderKeys(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "load.go", nil, 0)
	require.NoError(t, err)
	var keys []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "fields" && sel.Sel.Name != "entry" {
			return true
		}
		if recv, ok := sel.X.(*ast.Ident); !ok || recv.Name != "l" {
			return true
		}
		if call.Ellipsis.IsValid() {
			return true // entry passing its own keys on to fields
		}
		for _, arg := range call.Args[min(2, len(call.Args)):] {
			lit, ok := arg.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				// A key list built at run time would escape this test:
				// say so rather than pass without looking.
				t.Errorf("load.go: a %s call has a key that is not a string literal: the documentation test cannot read it", sel.Sel.Name)
				continue
			}
			k, err := strconv.Unquote(lit.Value)
			require.NoError(t, err)
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		return true
	})
	return keys
}

// docKeys returns the keys in the first column of the document's key
// tables (those whose header row starts with "| key |").
func docKeys(t *testing.T, doc string) []string {
	t.Helper()
	cell := regexp.MustCompile("^\\| `([^`]+)` \\|")
	var keys []string
	inKeyTable := false
	for _, line := range strings.Split(doc, "\n") {
		switch {
		case strings.HasPrefix(line, "| key |"):
			inKeyTable = true
		case !strings.HasPrefix(line, "|"):
			inKeyTable = false
		case inKeyTable:
			if m := cell.FindStringSubmatch(line); m != nil {
				keys = append(keys, m[1])
			}
		}
	}
	return keys
}

func readDoc(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(configDoc)
	require.NoError(t, err)
	return string(data)
}

// TestConfigDocCoversEveryKey: every key the loader accepts has a row in
// docs/configuration.md, and every row there is a key the loader accepts.
func TestConfigDocCoversEveryKey(t *testing.T) {
	keys := loaderKeys(t)
	// A sanity floor, so that a change in how load.go lists its keys
	// cannot make this test pass by finding none.
	for _, k := range []string{"cluster", "heartbeat-interval", "on-fail", "multiple-active", "failback", "priority"} {
		require.Contains(t, keys, k, "loaderKeys no longer finds the loader's keys")
	}
	documented := docKeys(t, readDoc(t))
	for _, k := range keys {
		if !slices.Contains(documented, k) {
			t.Errorf("the loader accepts %q but %s has no table row \"| `%s` |\" for it", k, configDoc, k)
		}
	}
	for _, k := range documented {
		if !slices.Contains(keys, k) {
			t.Errorf("%s documents %q, which the loader does not accept", configDoc, k)
		}
	}
}

// TestConfigDocExample: the complete example loads without a warning, and
// the summary the document shows for it is what validate prints.
func TestConfigDocExample(t *testing.T) {
	doc := readDoc(t)
	_, section, ok := strings.Cut(doc, "\n## A complete example\n")
	require.True(t, ok, "the document has no section \"A complete example\"")
	_, rest, ok := strings.Cut(section, "\n```yaml\n")
	require.True(t, ok, "the example section has no yaml block")
	example, rest, ok := strings.Cut(rest, "\n```\n")
	require.True(t, ok)
	m, err := Load("trio.yaml", []byte(example+"\n"))
	require.NoError(t, err)
	require.Empty(t, m.Warnings)
	_, out, ok := strings.Cut(rest, "\n```\ntrio.yaml: valid\n")
	require.True(t, ok, "the example section does not show validate's output")
	out, _, _ = strings.Cut(out, "```\n")
	require.Equal(t, m.Summary(), out)
}
