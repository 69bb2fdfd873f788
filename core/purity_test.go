package core

// The purity guard of DESIGN.md's determinism rules: an allow-list of what
// core/, sim/ and harness/check may import and call, checked on the
// type-checked source (so a renamed or dot import is seen through), plus
// no goroutines or select outside sim/swarm, and no map iteration whose
// order can reach an output. A new way out of determinism fails here
// instead of passing. The machinery is in puritycheck_test.go.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Rules shared by the three roots.
var (
	pure = func(why string) rule { return rule{why: why} }

	timeRule = rule{
		why: "types, durations, dates and parsing: the current time arrives with each input",
		deny: map[string]string{
			"Now": "reads the real clock", "Since": "reads the real clock", "Until": "reads the real clock",
			"Sleep": "waits in real time", "After": "waits in real time", "AfterFunc": "runs a callback in real time",
			"Tick": "ticks in real time", "NewTimer": "a real timer", "NewTicker": "a real ticker",
			"LoadLocation": "reads the host's time-zone database", "Local": "the host's time zone",
		},
		needsUTC:    []string{"Unix", "UnixMilli", "UnixMicro"},
		denyMethods: map[string]string{"Time.Local": "converts to the host's time zone"},
	}
	randRule = rule{
		why:  "seeded PRNGs handed in: every source of randomness is a seeded stream (DESIGN); package-level draws use a random seed",
		only: []string{"New", "NewPCG", "NewChaCha8", "NewZipf", "Rand", "Source", "PCG", "ChaCha8", "Zipf"},
	}
	slogRule = rule{
		why: "attributes and levels for effect.Log; writing the log is the driver's job",
		only: []string{"Attr", "Value", "Kind", "Level", "Leveler", "LogValuer", "LevelDebug", "LevelInfo", "LevelWarn", "LevelError",
			"Any", "Bool", "Duration", "Float64", "Group", "Int", "Int64", "String", "Time", "Uint64",
			"AnyValue", "BoolValue", "DurationValue", "Float64Value", "GroupValue", "Int64Value", "IntValue", "StringValue", "TimeValue", "Uint64Value",
			"KindAny", "KindBool", "KindDuration", "KindFloat64", "KindInt64", "KindString", "KindTime", "KindUint64", "KindGroup", "KindLogValuer"},
		denyMethods: map[string]string{
			"Logger.Debug": "writes a log line directly; return effect.Log", "Logger.Info": "writes a log line directly; return effect.Log",
			"Logger.Warn": "writes a log line directly; return effect.Log", "Logger.Error": "writes a log line directly; return effect.Log",
			"Logger.Log": "writes a log line directly; return effect.Log", "Logger.LogAttrs": "writes a log line directly; return effect.Log",
			"Logger.DebugContext": "writes a log line directly", "Logger.InfoContext": "writes a log line directly",
			"Logger.WarnContext": "writes a log line directly", "Logger.ErrorContext": "writes a log line directly",
		},
	}
	fmtRule = rule{
		why: "formatting into strings, errors and writers handed in",
		deny: map[string]string{"Print": "writes to the process's stdout", "Printf": "writes to the process's stdout",
			"Println": "writes to the process's stdout", "Scan": "reads the process's stdin", "Scanf": "reads the process's stdin",
			"Scanln": "reads the process's stdin"},
	}
	reflectRule = rule{
		why:  "core/wire names message types for the line encoding",
		deny: map[string]string{"NewAt": "builds a value from an unsafe pointer", "Select": "chooses among ready channels at random"},
		denyMethods: map[string]string{
			"Value.MapKeys": "returns keys in random map order", "Value.MapRange": "iterates in random map order",
			"Value.Seq": "may iterate a map in random order", "Value.Seq2": "may iterate a map in random order",
			"Value.UnsafePointer": "escapes the type system", "Value.UnsafeAddr": "escapes the type system",
		},
	}
	ioRule = pure("interfaces only: readers and writers are handed in (os is refused, so nothing here can open a file)")

	// coreStd is what core/ uses today, each entry pure: no clock, no host,
	// no hidden randomness, no goroutines.
	coreStd = map[string]rule{
		"bufio":           pure("core/ocf scans agent output and meta-data held in memory"),
		"bytes":           pure("byte-slice manipulation"),
		"crypto/sha256":   pure("core/ocf digests resource definitions (as Pacemaker's op digests): a fixed function, no key, no randomness"),
		"encoding/hex":    pure("prints digests"),
		"hash":            pure("the hash.Hash interface of a digest"),
		"encoding/binary": pure("core/eventlog frames records"),
		"encoding/json":   pure("core/wire, agent and manager encode messages and records; maps marshal in sorted key order"),
		"encoding/xml":    pure("core/ocf parses OCF meta-data"),
		"math":            pure("constants and arithmetic (core/manager bounds its epoch with math.MaxUint64)"),
		"errors":          pure("error values"),
		"fmt":             fmtRule,
		"hash/crc32":      pure("core/eventlog checksums records (a fixed polynomial, no seed)"),
		"io":              ioRule,
		"log/slog":        slogRule,
		"maps":            pure("map helpers; maps.Keys/Values/All are judged like a range over the map"),
		"math/rand/v2":    randRule,
		"path":            pure("slash-separated names (agent paths, OCF types); path/filepath, which walks the file system, is not allowed"),
		"reflect":         reflectRule,
		"regexp":          pure("core/model validates names (RE2: deterministic, linear time)"),
		"slices":          pure("slice helpers"),
		"sort":            pure("sorting, so that maps are walked in key order"),
		"strconv":         pure("number formatting and parsing"),
		"strings":         pure("string manipulation"),
		"time":            timeRule,
		"unicode":         pure("character classes: core/proto refuses control characters in fence arguments"),
		"unicode/utf8":    pure("core/proto refuses fence arguments that are not UTF-8"),
	}

	// simStd adds what the simulator needs to coreStd. sim/ touches no
	// file: a trace leaves through the Trace callback (cluster.Options) and
	// HTML pages through io.Writers; cmd/basalt-sim opens the files and
	// measures wall time. os stays refused here.
	simStd = with(coreStd, map[string]rule{
		"iter":                              pure("iterator types: sim/swarm runs any sequence of seeds"),
		"math/bits":                         pure("sim/eventq finds the wheel's next used bucket in its bitmap (bit counting, no state)"),
		"math":                              pure("sim/faults draws intensities from a seeded stream"),
		"github.com/anishathalye/porcupine": porcupineRule,
	})

	// porcupineRule: the linearizability checker is deterministic when its
	// timeout is 0; a wall-clock timeout makes the verdict machine-dependent.
	porcupineRule = rule{
		why:     "the ownership model's linearizability checker (harness/check), deterministic without a timeout",
		zeroArg: map[string]int{"CheckOperationsVerbose": 2, "CheckEventsVerbose": 2, "CheckOperationsTimeout": 2, "CheckEventsTimeout": 2},
	}

	// policies holds one policy per scanned root.
	policies = []policy{
		{
			root:     "core",
			imports:  coreStd,
			internal: []string{"core"},
			exceptions: map[string]exception{
				"core/model": {why: "the configuration is YAML", imports: map[string]rule{
					"go.yaml.in/yaml/v3": pure("decodes a byte slice it is given; no I/O, no randomness"),
				}},
				"core/storage/storagetest": {why: "the storage conformance suite, imported only by tests", imports: map[string]rule{
					"testing":                             pure("it is a test helper taking *testing.T"),
					"github.com/stretchr/testify/require": pure("assertions of the conformance suite"),
				}},
			},
		},
		{
			root:     "sim",
			imports:  simStd,
			internal: []string{"core", "sim", "harness/check"},
			exceptions: map[string]exception{
				"sim/cluster": {why: "the trace hash", imports: map[string]rule{
					"github.com/cespare/xxhash/v2": pure("xxHash64 of the trace lines: a fixed function, no key, no seed"),
				}},
				"sim/swarm": {
					why: "the swarm runs independent seeds on worker goroutines; each seed's run is single-threaded and its " +
						"result depends on the seed alone; results are sorted by seed before they are reported",
					concurrency: true,
					imports: map[string]rule{
						"sync":    {why: "joins the workers", only: []string{"WaitGroup", "Once"}},
						"runtime": {why: "the default worker count", only: []string{"NumCPU"}},
						"embed":   pure("the default cluster configuration, compiled in (//go:embed)"),
					},
				},
			},
		},
		{
			root: "harness/check",
			imports: map[string]rule{
				"fmt":                               fmtRule,
				"html":                              pure("escapes text in the HTML timeline"),
				"io":                                ioRule,
				"math":                              pure("timeline geometry"),
				"slices":                            pure("slice helpers"),
				"sort":                              pure("sorting, so that maps are walked in key order"),
				"strings":                           pure("string manipulation"),
				"time":                              timeRule,
				"github.com/anishathalye/porcupine": porcupineRule,
			},
			internal: []string{"core"},
		},
	}

	// knownBad explains the usual ways out, for clearer messages.
	knownBad = map[string]string{
		"os":                           "touches the host (files, environment, exit)",
		"os/exec":                      "runs processes",
		"os/signal":                    "touches the host",
		"io/ioutil":                    "touches the host",
		"io/fs":                        "file systems belong to the drivers",
		"path/filepath":                "walks the host's file system",
		"syscall":                      "touches the host",
		"net":                          "opens sockets",
		"net/http":                     "opens sockets",
		"context":                      "deadlines and cancellation run on the real clock (WithTimeout, WithDeadline)",
		"math/rand":                    "global randomness; take a seeded *rand.Rand from math/rand/v2",
		"crypto/rand":                  "hidden randomness from the host",
		"hash/maphash":                 "seeded randomly per process",
		"sync":                         "core machines are single-threaded; drivers serialise inputs",
		"sync/atomic":                  "core machines are single-threaded",
		"runtime":                      "depends on the machine and the scheduler",
		"log":                          "writes directly; return effect.Log instead",
		"unsafe":                       "escapes the type system (and enables go:linkname)",
		"github.com/benbjohnson/clock": "the live clock belongs to the live driver",
	}
)

// with returns base plus more.
func with(base, more map[string]rule) map[string]rule {
	out := make(map[string]rule, len(base)+len(more))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// minFiles is the least number of non-test files each root must yield: a
// walk that finds fewer is broken, not clean.
var minFiles = map[string]int{"core": 20, "sim": 6, "harness/check": 2}

func policyFor(rel string) (policy, bool) {
	for _, p := range policies {
		if rel == p.root || strings.HasPrefix(rel, p.root+"/") {
			return p, true
		}
	}
	return policy{}, false
}

// TestCorePackagesArePure type-checks every non-test file of every package
// under core/, sim/ and harness/check and fails on any way out of
// determinism, listing every violation sorted, as file:line: message.
func TestCorePackagesArePure(t *testing.T) {
	l := load(t)
	c := &checker{module: l.module, standard: l.standard, knownBad: knownBad}
	if l.module == "" {
		t.Fatal("go list named no module")
	}
	files := map[string]int{}
	scanned := map[string]bool{}
	var violations []violation
	for _, p := range l.targets {
		rel, ok := strings.CutPrefix(p.ImportPath, l.module+"/")
		if !ok {
			continue
		}
		pol, ok := policyFor(rel)
		if !ok {
			continue
		}
		scanned[rel] = true
		fset := token.NewFileSet()
		var parsed []*ast.File
		for _, name := range p.GoFiles {
			relFile := filepath.ToSlash(filepath.Join(rel, name))
			src, err := os.ReadFile(filepath.Join(p.Dir, name))
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(fset, relFile, src, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			parsed = append(parsed, f)
		}
		for _, name := range append(append([]string{}, p.CgoFiles...), p.SFiles...) {
			violations = append(violations, violation{token.Position{Filename: filepath.ToSlash(filepath.Join(rel, name)), Line: 1},
				"cgo or assembly: code the guard cannot read"})
		}
		files[pol.root] += len(parsed)
		pkg, info, errs := typeCheck(fset, l.importer(fset), p.ImportPath, parsed)
		if len(errs) > 0 {
			t.Fatalf("type-checking %s: %v", p.ImportPath, errs[0])
		}
		violations = append(violations, c.checkPackage(pol, rel, fset, parsed, pkg, info)...)
	}
	for _, pol := range policies {
		for _, rel := range slices.Sorted(maps.Keys(pol.exceptions)) {
			if !scanned[rel] {
				t.Errorf("%s/: the exception for %s names no package: remove it or follow the rename", pol.root, rel)
			}
		}
		if files[pol.root] < minFiles[pol.root] {
			t.Errorf("%s/: scanned %d files, want at least %d: the walk is broken or the root is missing", pol.root, files[pol.root], minFiles[pol.root])
		}
	}
	sortViolations(violations)
	for _, v := range violations {
		t.Error(v)
	}
}

func sortViolations(vs []violation) {
	sort.Slice(vs, func(i, j int) bool {
		a, b := vs[i].pos, vs[j].pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return vs[i].msg < vs[j].msg
	})
}

// judge type-checks one source file as a package at rel (a path relative
// to the module root) and returns what the guard says of it.
func judge(t *testing.T, rel, src string) []string {
	t.Helper()
	out, _ := judgeErrs(t, rel, src)
	return out
}

// judgeErrs is judge that also returns the type checker's errors.
func judgeErrs(t *testing.T, rel, src string) ([]string, []error) {
	t.Helper()
	l := load(t)
	pol, ok := policyFor(rel)
	if !ok {
		t.Fatalf("no policy covers %s", rel)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, rel+"/snippet.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	// Errors are expected (a refused import has no export data here); the
	// guard judges what the type checker resolved.
	pkg, info, errs := typeCheck(fset, l.importer(fset), l.module+"/"+rel, []*ast.File{f})
	c := &checker{module: l.module, standard: l.standard, knownBad: knownBad}
	vs := c.checkPackage(pol, rel, fset, []*ast.File{f}, pkg, info)
	sortViolations(vs)
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out, errs
}

// TestPurityCheckCatchesViolations proves the guard refuses each known
// loophole (and each ordinary way out), so that a green
// TestCorePackagesArePure means something: every case must draw exactly
// the findings it lists, no fewer and no more.
func TestPurityCheckCatchesViolations(t *testing.T) {
	cases := []struct {
		name, rel, src string
		want           []string
	}{
		{"harness import", "core/bad", `package bad
import "github.com/basalt-ha/basalt/harness"
var _ = harness.Cluster{}`, []string{"imports github.com/basalt-ha/basalt/harness: core/ may import only core/ of this module"}},
		{"renamed import of the simulator", "core/bad", `package bad
import c "github.com/basalt-ha/basalt/sim/cluster"
var _ *c.Cluster`, []string{"imports github.com/basalt-ha/basalt/sim/cluster (as c)"}},
		{"live import", "core/bad", `package bad
import _ "github.com/basalt-ha/basalt/live/process"`, []string{"imports github.com/basalt-ha/basalt/live/process (as _)"}},
		{"third-party clock", "core/bad", `package bad
import "github.com/benbjohnson/clock"
var _ = clock.New`, []string{"imports github.com/benbjohnson/clock: the live clock"}},
		{"dot-imported time", "core/bad", `package bad
import . "time"
func f() Duration { _ = Now(); return Second }`, []string{"dot import of time", "uses time.Now: reads the real clock"}},
		{"real clock", "core/bad", `package bad
import "time"
func f(t time.Time) { time.Sleep(time.Second); _ = time.Since(t); _ = time.After(1); _ = t.Local() }`,
			[]string{"uses time.Sleep", "uses time.Since", "uses time.After", "uses time.Time.Local"}},
		{"context deadline", "core/bad", `package bad
import ("context"; "time")
func f() { ctx, cancel := context.WithTimeout(context.Background(), time.Second); _ = ctx; cancel() }`,
			[]string{"imports context: deadlines", "uses context.WithTimeout", "uses context.Background"}},
		{"package-level rand", "core/bad", `package bad
import ("math/rand/v2"; mr "math/rand/v2")
func f() { _ = rand.Uint64N(3); _ = mr.IntN(3); rand.Shuffle(2, func(i, j int) {}) }`,
			[]string{"uses math/rand/v2.Uint64N", "uses math/rand/v2.IntN", "uses math/rand/v2.Shuffle"}},
		{"maphash", "core/bad", `package bad
import "hash/maphash"
var seed = maphash.MakeSeed()`, []string{"imports hash/maphash: seeded randomly per process", "uses hash/maphash.MakeSeed"}},
		{"map range appending into an output", "core/bad", `package bad
func keys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}`, []string{"snippet.go:4: ranges over a map in random order (appends to out without sorting it right after the loop)"}},
		{"map range emitting effects", "core/bad", `package bad
func emit(string) {}
func f(m map[string]int) {
	for k := range m {
		emit(k)
	}
}`, []string{"ranges over a map in random order (a call"}},
		{"map range, first match wins", "core/bad", `package bad
func find(m map[string]int) string {
	for k, v := range m {
		if v > 0 {
			return k
		}
	}
	return ""
}`, []string{"ranges over a map in random order (a return of a value that depends on which entry came first)"}},
		{"map range, float sum", "core/bad", `package bad
func sum(m map[string]float64) (s float64) {
	for _, v := range m {
		s += v
	}
	return s
}`, []string{"not an integer sum"}},
		{"map range, last writer wins", "core/bad", `package bad
func inv(m map[string]int) map[int]string {
	out := map[int]string{}
	for k, v := range m {
		out[v] = k
	}
	return out
}`, []string{"a map write whose key may repeat"}},
		{"map range, early return after updates", "core/bad", `package bad
func f(m map[string]int, seen map[string]bool) bool {
	for k, v := range m {
		seen[k] = true
		if v < 0 {
			return false
		}
	}
	return true
}`, []string{"an early return after updates"}},
		{"map range reading what it writes", "core/bad", `package bad
func f(m map[string]int) (int, int) {
	best, total := 0, 0
	for _, v := range m {
		best = max(best, v)
		total += best
	}
	return best, total
}`, []string{"reads best, which the loop itself changes"}},
		{"map range updating one place two ways", "core/bad", `package bad
func f(m map[string]int) (n int, set map[int]bool) {
	for k, v := range m {
		if v > 0 {
			n = 1
		} else {
			n++
		}
		set[v] = true
		set[len(k)] = false
	}
	return n, set
}`, []string{"n is updated two ways"}},
		{"marker without a reason", "core/bad", `package bad
func f(m map[string]int, g func(string)) {
	for k := range m { // purity:unordered
		g(k)
	}
}`, []string{"purity:unordered marker without a reason"}},
		{"unsorted maps.Keys", "core/bad", `package bad
import ("maps"; "slices")
func f(m map[string]int) []string { return slices.Collect(maps.Keys(m)) }`, []string{"maps.Keys yields in random map order"}},
		{"reflect map order", "core/bad", `package bad
import "reflect"
func f(v reflect.Value) { _ = v.MapKeys(); _, _, _ = reflect.Select(nil) }`, []string{"uses reflect.Value.MapKeys", "uses reflect.Select"}},
		{"map range through a type parameter", "core/bad", `package bad
func keys[M ~map[K]V, K comparable, V any](m M, emit func(K)) {
	for k := range m {
		emit(k)
	}
}`, []string{"ranges over a map in random order"}},
		{"local time zone and addresses", "core/bad", `package bad
import ("fmt"; "time")
func f(p *int) string { return fmt.Sprintf("%p %s", p, time.Unix(0, 0)) }`,
			[]string{"formats with %p", "uses time.Unix without .UTC()"}},
		{"go statement", "core/bad", `package bad
func f() { go func() {}() }`, []string{"go statement"}},
		{"select", "core/bad", `package bad
func f(ch chan int) { select { case <-ch: } }`, []string{"select statement"}},
		{"os", "core/bad", `package bad
import "os"
var _ = os.Getenv("X")`, []string{"imports os: touches the host", "uses os.Getenv"}},
		{"net", "core/bad", `package bad
import "net"
func f() { _, _ = net.Dial("tcp", "x:1") }`, []string{"imports net: opens sockets", "uses net.Dial"}},
		{"unsafe", "core/bad", `package bad
import "unsafe"
var _ = unsafe.Sizeof(0)`, []string{"imports unsafe", "uses unsafe.Sizeof"}},
		{"crypto/rand", "core/bad", `package bad
import "crypto/rand"
var _ = rand.Text()`, []string{"imports crypto/rand: hidden randomness", "uses crypto/rand.Text"}},
		{"sync", "core/bad", `package bad
import "sync"
var mu sync.Mutex`, []string{"imports sync: core machines are single-threaded", "uses sync.Mutex"}},
		{"logging and printing directly", "core/bad", `package bad
import ("fmt"; "log/slog")
func f(l *slog.Logger) { slog.Info("x"); l.Info("x"); fmt.Println("x") }`,
			[]string{"uses log/slog.Logger: not among", "uses log/slog.Info: not among", "uses log/slog.Logger.Info: writes", "uses fmt.Println: writes"}},
		{"yaml outside core/model", "core/bad", `package bad
import "go.yaml.in/yaml/v3"
var _ = yaml.Unmarshal`, []string{"imports go.yaml.in/yaml/v3"}},
		{"goroutines in the simulator outside sim/swarm", "sim/cluster2", `package c
import "sync"
func f() { var wg sync.WaitGroup; wg.Add(1); go wg.Done(); wg.Wait() }`, []string{"imports sync", "uses sync.WaitGroup", "go statement"}},
		{"the simulator may not run processes or open sockets", "sim/bad", `package bad
import ("os/exec"; "net/http"; "os")
var _ = exec.Command
var _ = http.Get
var _ = os.WriteFile`, []string{"imports os/exec", "imports net/http", "imports os:", "uses os/exec.Command", "uses net/http.Get", "uses os.WriteFile"}},
		{"the swarm may only count CPUs and join workers", "sim/swarm", `package swarm
import ("runtime"; "sync"; "time")
var mu sync.Mutex
func f() { runtime.GC(); _ = time.Now() }`, []string{"uses sync.Mutex: not among", "uses runtime.GC: not among", "uses time.Now"}},
		{"judges may not reach the harness or the clock", "harness/check", `package check
import ("github.com/basalt-ha/basalt/harness"; "time")
var _ = harness.Cluster{}
var _ = time.Now`, []string{"imports github.com/basalt-ha/basalt/harness", "uses time.Now"}},
		{"porcupine with a wall-clock timeout", "harness/check", `package check
import ("time"; "github.com/anishathalye/porcupine")
func f(m porcupine.Model, h []porcupine.Operation) { porcupine.CheckOperationsVerbose(m, h, time.Second) }`,
			[]string{"calls github.com/anishathalye/porcupine.CheckOperationsVerbose with a timeout"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := judge(t, c.rel, c.src)
			for _, w := range c.want {
				if !slicesContainsSub(got, w) {
					t.Errorf("missed %q; the guard said:\n%s", w, strings.Join(got, "\n"))
				}
			}
			for _, g := range got {
				if !anyIn(g, c.want) {
					t.Errorf("unexpected finding %q", g)
				}
			}
		})
	}
}

// TestPurityCheckAllows proves the guard lets the sanctioned forms pass.
func TestPurityCheckAllows(t *testing.T) {
	cases := []struct{ name, rel, src string }{
		{"seeded randomness, durations, attributes, formatting", "core/good", `package good
import ("fmt"; "log/slog"; "math/rand/v2"; "time")
func f(seed uint64, now time.Time) (time.Duration, slog.Attr, string) {
	r := rand.New(rand.NewPCG(seed, 1))
	d := time.Duration(r.Uint64N(5)) * time.Second
	_ = r.IntN(3)
	p, _ := time.ParseDuration("3s")
	_ = time.Unix(0, 0).UTC()
	return d + p + now.Sub(now), slog.String("k", "v"), fmt.Sprintf("%d", r.Int())
}`},
		{"order-independent map loops", "core/good", `package good
import ("fmt"; "maps"; "slices"; "sort")
type T struct{ Failed bool }
func f(m map[string]int, out map[string]int, t *T) ([]string, []string, int, bool) {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var lines []string
	for k, v := range m {
		lines = append(lines, fmt.Sprintf("%s=%d", k, v))
	}
	slices.Sort(lines)
	n, best, set := 0, 0, map[int]bool{}
	for k, v := range m {
		n++
		n += v
		best = max(best, v)
		set[v] = true
		out[k] = v * 2
		if v < 0 {
			t.Failed = true
			continue
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		lines = append(lines, k)
	}
	least := 0
	consider := func(v int) { least = min(least, v) }
	// purity:unordered consider keeps the minimum
	for _, v := range m {
		consider(v)
	}
	return keys, lines, n + best + len(set) + least, all(m)
}
func all(m map[string]int) bool {
	for _, v := range m {
		if v < 0 {
			return false
		}
	}
	return true
}`},
		{"the swarm's workers", "sim/swarm", `package swarm
import ("runtime"; "sync")
func run(f func()) {
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	wg.Wait()
}`},
		{"yaml in core/model", "core/model", `package model
import "go.yaml.in/yaml/v3"
func parse(b []byte, v any) error { return yaml.Unmarshal(b, v) }`},
		{"porcupine without a timeout", "harness/check", `package check
import "github.com/anishathalye/porcupine"
func f(m porcupine.Model, h []porcupine.Operation) bool {
	res, _ := porcupine.CheckOperationsVerbose(m, h, 0)
	return res == porcupine.Ok
}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, errs := judgeErrs(t, c.rel, c.src)
			if len(errs) > 0 {
				t.Fatalf("the snippet does not type-check, so the verdict means nothing: %v", errs)
			}
			if len(got) > 0 {
				t.Errorf("the guard refused a sanctioned form:\n%s", strings.Join(got, "\n"))
			}
		})
	}
}

func slicesContainsSub(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func anyIn(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
