package core

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// forbiddenImports may not appear in a core package: each is a way to reach
// the outside world (or real time, or hidden randomness) behind the
// simulator's back.
var forbiddenImports = map[string]string{
	"os":                               "touches the host",
	"os/exec":                          "runs processes",
	"os/signal":                        "touches the host",
	"net":                              "opens sockets",
	"net/http":                         "opens sockets",
	"syscall":                          "touches the host",
	"io/ioutil":                        "touches the host",
	"math/rand":                        "global randomness; take a seeded *rand.Rand from math/rand/v2",
	"crypto/rand":                      "hidden randomness",
	"sync":                             "core machines are single-threaded; drivers serialise inputs",
	"sync/atomic":                      "core machines are single-threaded",
	"log":                              "writes directly; return effect.Log instead",
	"unsafe":                           "not needed in pure logic",
	"github.com/benbjohnson/clock":     "the live clock belongs to drivers",
	"github.com/basalt-ha/basalt/live": "live adapters are for drivers",
}

// forbiddenCalls are package-level functions that read real time, sleep,
// draw global randomness or write output.
var forbiddenCalls = map[string]map[string]bool{
	"time": {"Now": true, "Sleep": true, "After": true, "AfterFunc": true, "Tick": true, "NewTimer": true,
		"NewTicker": true, "Since": true, "Until": true},
	"rand": {"Int": true, "IntN": true, "Int64": true, "Int64N": true, "Uint64": true, "Uint32": true,
		"Float64": true, "Perm": true, "Shuffle": true, "N": true, "Int32": true, "Int32N": true, "UintN": true},
	"slog": {"Info": true, "Warn": true, "Error": true, "Debug": true, "Log": true, "LogAttrs": true,
		"Default": true, "SetDefault": true, "InfoContext": true, "WarnContext": true, "ErrorContext": true, "DebugContext": true},
	"fmt": {"Print": true, "Println": true, "Printf": true, "Scan": true, "Scanln": true, "Scanf": true},
}

// checkPurity returns one line per violation in the given file.
func checkPurity(fset *token.FileSet, f *ast.File) []string {
	var out []string
	where := func(p token.Pos) string { return fset.Position(p).String() }
	local := map[string]string{} // local package name -> import path
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if why, bad := forbiddenImports[path]; bad {
			out = append(out, fmt.Sprintf("%s: imports %s (%s)", where(imp.Pos()), path, why))
		}
		name := path[strings.LastIndex(path, "/")+1:]
		if path == "math/rand/v2" {
			name = "rand"
		}
		if imp.Name != nil {
			name = imp.Name.Name
		}
		local[name] = path
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			out = append(out, fmt.Sprintf("%s: starts a goroutine", where(n.Pos())))
		case *ast.SelectStmt:
			out = append(out, fmt.Sprintf("%s: select statement (waits on channels)", where(n.Pos())))
		case *ast.SelectorExpr:
			id, ok := n.X.(*ast.Ident)
			if !ok {
				return true
			}
			path, imported := local[id.Name]
			if !imported {
				return true
			}
			pkg := path[strings.LastIndex(path, "/")+1:]
			if path == "math/rand/v2" {
				pkg = "rand"
			}
			if forbiddenCalls[pkg][n.Sel.Name] && (pkg != "rand" || strings.HasPrefix(path, "math/rand")) {
				out = append(out, fmt.Sprintf("%s: uses %s.%s", where(n.Pos()), path, n.Sel.Name))
			}
		}
		return true
	})
	return out
}

// TestCorePackagesArePure parses every non-test Go file under core/ except
// the live adapters and fails on any way out of determinism.
func TestCorePackagesArePure(t *testing.T) {
	fset := token.NewFileSet()
	var violations []string
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (path == "live" || strings.HasPrefix(path, "live/") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files++
		violations = append(violations, checkPurity(fset, f)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Fatalf("scanned only %d files: the walk is broken", files)
	}
	sort.Strings(violations)
	for _, v := range violations {
		t.Error(v)
	}
}

// TestPurityCheckCatchesViolations proves the checker sees each kind of
// violation, so that a green TestCorePackagesArePure means something.
func TestPurityCheckCatchesViolations(t *testing.T) {
	src := `package bad
import (
	"os"
	"time"
	mr "math/rand/v2"
	"log/slog"
)
func f(ch chan int) {
	go func() {}()
	select { case <-ch: }
	_ = time.Now()
	time.Sleep(time.Second)
	_ = mr.IntN(3)
	slog.Info("x")
	_ = os.Getenv("X")
	r := mr.New(mr.NewPCG(1, 2)) // allowed: seeded
	_ = r.IntN(3)               // allowed: a method on a seeded PRNG
	_ = time.Duration(3)        // allowed
}`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "bad.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(checkPurity(fset, f), "\n")
	for _, want := range []string{"imports os", "starts a goroutine", "select statement", "uses time.Now",
		"uses time.Sleep", "uses math/rand/v2.IntN", "uses log/slog.Info"} {
		if !strings.Contains(got, want) {
			t.Errorf("checker missed %q; it said:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != 7 {
		t.Errorf("want exactly 7 violations, got %d:\n%s", n, got)
	}
}
