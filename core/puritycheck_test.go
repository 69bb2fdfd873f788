package core

// The machinery of the purity guard: loading and type-checking packages,
// and judging one package against its policy. The policies themselves (what
// core/, sim/ and harness/check may import and call) are in purity_test.go.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// rule says how a package on an allow-list may be used.
type rule struct {
	why string
	// only, when set, lists the package-level names that may be used; any
	// other is refused. Methods are not package-level names: a method on a
	// seeded *rand.Rand is fine where rand.IntN is not.
	only []string
	// deny lists package-level names refused, with the reason.
	deny map[string]string
	// denyMethods lists methods refused ("Type.Method"), with the reason.
	denyMethods map[string]string
	// zeroArg names functions one of whose arguments must be the constant 0
	// (porcupine's wall-clock timeout): function name -> argument index.
	zeroArg map[string]int
	// needsUTC names functions whose result is in the host's time zone
	// (time.Unix): allowed only as x(...).UTC().
	needsUTC []string
}

// policy is what the packages under one root may import and do.
type policy struct {
	root string // directory relative to the module root: "core", "sim", "harness/check"
	// imports are the allowed packages outside this module, by path.
	imports map[string]rule
	// internal are the allowed packages of this module: a path relative to
	// the module root covers that package and everything under it.
	internal []string
	// exceptions widen the policy for one package (a path relative to the
	// module root), each documented.
	exceptions map[string]exception
}

// exception widens a policy for one package.
type exception struct {
	why         string
	imports     map[string]rule
	concurrency bool // may start goroutines and select
}

// violation is one finding, positioned relative to the module root.
type violation struct {
	pos token.Position
	msg string
}

func (v violation) String() string {
	return fmt.Sprintf("%s:%d: %s", v.pos.Filename, v.pos.Line, v.msg)
}

// markerPrefix is the comment that documents why a map range cannot leak
// its order: "// purity:unordered <why>" on the for line or the line above.
const markerPrefix = "purity:unordered"

// checker judges packages of one module.
type checker struct {
	module   string          // the module path
	standard map[string]bool // import paths known to be in the standard library
	knownBad map[string]string
}

// allowedImport returns the rule for path under pol (and the package's
// exception), or ok false.
func (c *checker) allowedImport(pol policy, ex exception, path string) (rule, bool) {
	if r, ok := ex.imports[path]; ok {
		return r, true
	}
	if r, ok := pol.imports[path]; ok {
		return r, true
	}
	if rel, ok := strings.CutPrefix(path, c.module+"/"); ok {
		for _, in := range pol.internal {
			if rel == in || strings.HasPrefix(rel, in+"/") {
				return rule{why: "a package of this module under " + in + "/"}, true
			}
		}
	}
	return rule{}, false
}

// checkPackage judges one type-checked package: rel is its path relative to
// the module root, files its parsed non-test files.
func (c *checker) checkPackage(pol policy, rel string, fset *token.FileSet, files []*ast.File, pkg *types.Package, info *types.Info) []violation {
	ex := pol.exceptions[rel]
	imported := map[string]bool{}
	for _, f := range files {
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			imported[path] = true
		}
	}
	var out []violation
	report := func(p token.Pos, format string, args ...any) {
		out = append(out, violation{fset.Position(p), fmt.Sprintf(format, args...)})
	}
	utc := map[*ast.Ident]bool{} // function names called as f(...).UTC()
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "UTC" {
				if call, ok := ast.Unparen(sel.X).(*ast.CallExpr); ok {
					switch fn := ast.Unparen(call.Fun).(type) {
					case *ast.Ident:
						utc[fn] = true
					case *ast.SelectorExpr:
						utc[fn.Sel] = true
					}
				}
			}
			return true
		})
	}
	for _, f := range files {
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if imp.Name != nil && imp.Name.Name == "." {
				report(imp.Pos(), "dot import of %s: names must show where they come from (import it by name)", path)
			}
			if _, ok := c.allowedImport(pol, ex, path); !ok {
				why := c.knownBad[path]
				if why == "" && strings.HasPrefix(path, c.module+"/") {
					why = fmt.Sprintf("%s/ may import only %s/ of this module", pol.root, strings.Join(pol.internal, "/, "))
				}
				if why == "" {
					why = "not on the " + pol.root + "/ allow-list (purity_test.go)"
				}
				how := ""
				if imp.Name != nil {
					how = " (as " + imp.Name.Name + ")"
				}
				report(imp.Pos(), "imports %s%s: %s", path, how, why)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				if !ex.concurrency {
					report(n.Pos(), "go statement: %s/ machines are single-threaded; the driver serialises inputs", pol.root)
				}
			case *ast.SelectStmt:
				if !ex.concurrency {
					report(n.Pos(), "select statement: waits on channels, so the outcome depends on the scheduler")
				}
			case *ast.CallExpr:
				c.checkZeroArg(pol, ex, n, info, report)
				checkPointerVerb(n, info, report)
			case *ast.RangeStmt:
				c.checkRange(f, n, fset, info, report)
			}
			return true
		})
		c.checkMapIterators(f, info, report)
	}
	// Every use of a name from another package, through any spelling
	// (qualified, renamed or dot-imported), resolved by the type checker.
	idents := make([]*ast.Ident, 0, len(info.Uses))
	for id := range info.Uses { // purity:unordered collected, then sorted by position below
		idents = append(idents, id)
	}
	sort.Slice(idents, func(i, j int) bool { return idents[i].Pos() < idents[j].Pos() })
	for _, id := range idents {
		obj := info.Uses[id]
		if obj.Pkg() == nil || obj.Pkg() == pkg {
			continue
		}
		path := obj.Pkg().Path()
		r, ok := c.allowedImport(pol, ex, path)
		if !ok {
			// The import is refused already; name each package-level use
			// of it, and any method or field reached through a value of a
			// package this one does not even import.
			pkgLevel := obj.Parent() == obj.Pkg().Scope()
			if pkgLevel && (c.standard[path] || c.knownBad[path] != "") || !imported[path] {
				report(id.Pos(), "uses %s.%s: package %s is not allowed here", path, obj.Name(), path)
			}
			continue
		}
		if fn, isFunc := obj.(*types.Func); isFunc && fn.Signature().Recv() != nil {
			recv := fn.Signature().Recv().Type()
			if p, isPtr := recv.(*types.Pointer); isPtr {
				recv = p.Elem()
			}
			name := fn.Name()
			if nt, isNamed := recv.(*types.Named); isNamed {
				name = nt.Obj().Name() + "." + name
			}
			if why, bad := r.denyMethods[name]; bad {
				report(id.Pos(), "uses %s.%s: %s", path, name, why)
			}
			continue
		}
		if obj.Parent() != obj.Pkg().Scope() {
			continue // a field or a local of another package
		}
		if contains(r.needsUTC, obj.Name()) && !utc[id] {
			report(id.Pos(), "uses %s.%s without .UTC(): the result is in the host's time zone", path, obj.Name())
		}
		if why, bad := r.deny[obj.Name()]; bad {
			report(id.Pos(), "uses %s.%s: %s", path, obj.Name(), why)
		} else if r.only != nil && !contains(r.only, obj.Name()) {
			report(id.Pos(), "uses %s.%s: not among the names of %s allowed here (%s)", path, obj.Name(), path, r.why)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// calleeOf returns the package-level function or method a call names.
func calleeOf(call *ast.CallExpr, info *types.Info) *types.Func {
	var id *ast.Ident
	switch fn := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		id = fn
	case *ast.SelectorExpr:
		id = fn.Sel
	default:
		return nil
	}
	f, _ := info.Uses[id].(*types.Func)
	return f
}

func isPkgFunc(f *types.Func, path string, names ...string) bool {
	return f != nil && f.Pkg() != nil && f.Pkg().Path() == path && f.Signature().Recv() == nil && contains(names, f.Name())
}

func (c *checker) checkZeroArg(pol policy, ex exception, call *ast.CallExpr, info *types.Info, report func(token.Pos, string, ...any)) {
	f := calleeOf(call, info)
	if f == nil || f.Pkg() == nil || f.Signature().Recv() != nil {
		return
	}
	r, ok := c.allowedImport(pol, ex, f.Pkg().Path())
	if !ok {
		return
	}
	i, has := r.zeroArg[f.Name()]
	if !has {
		return
	}
	if i < len(call.Args) {
		if tv, ok := info.Types[call.Args[i]]; ok && tv.Value != nil && constant.Sign(tv.Value) == 0 {
			return
		}
	}
	report(call.Pos(), "calls %s.%s with a timeout: argument %d must be the constant 0 (a wall-clock timeout makes the verdict depend on machine speed)", f.Pkg().Path(), f.Name(), i+1)
}

// checkPointerVerb refuses a constant fmt format with %p: addresses differ
// from run to run.
func checkPointerVerb(call *ast.CallExpr, info *types.Info, report func(token.Pos, string, ...any)) {
	f := calleeOf(call, info)
	if f == nil || f.Pkg() == nil || f.Pkg().Path() != "fmt" || f.Signature().Recv() != nil {
		return
	}
	for _, a := range call.Args {
		if tv, ok := info.Types[a]; ok && tv.Value != nil && tv.Value.Kind() == constant.String &&
			strings.Contains(constant.StringVal(tv.Value), "%p") {
			report(call.Pos(), "formats with %%p: an address differs from run to run")
		}
	}
}

// mapIterators are the functions of package maps that yield in map order.
var mapIterators = []string{"Keys", "Values", "All"}

// checkMapIterators refuses maps.Keys/Values/All except where the order is
// discarded: as the argument of slices.Sorted/SortedFunc/SortedStableFunc or
// of maps.Collect/maps.Insert, or as a range expression (judged like a
// range over the map itself).
func (c *checker) checkMapIterators(f *ast.File, info *types.Info, report func(token.Pos, string, ...any)) {
	ok := map[ast.Expr]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if fn := calleeOf(n, info); isPkgFunc(fn, "slices", "Sorted", "SortedFunc", "SortedStableFunc") ||
				isPkgFunc(fn, "maps", "Collect", "Insert") {
				for _, a := range n.Args {
					ok[ast.Unparen(a)] = true
				}
			}
		case *ast.RangeStmt:
			ok[ast.Unparen(n.X)] = true
		}
		return true
	})
	ast.Inspect(f, func(n ast.Node) bool {
		if call, isCall := n.(*ast.CallExpr); isCall && isPkgFunc(calleeOf(call, info), "maps", mapIterators...) && !ok[call] {
			report(call.Pos(), "maps.%s yields in random map order: use slices.Sorted(maps.Keys(m)) or range over sorted keys", calleeOf(call, info).Name())
		}
		return true
	})
}

// rangesOverMap tells whether a range statement walks a map in map order: a
// map itself, or maps.Keys/Values/All of one.
func rangesOverMap(r *ast.RangeStmt, info *types.Info) bool {
	if t := info.TypeOf(r.X); t != nil && mayBeMap(t) {
		return true
	}
	call, isCall := ast.Unparen(r.X).(*ast.CallExpr)
	return isCall && isPkgFunc(calleeOf(call, info), "maps", mapIterators...)
}

// mayBeMap reports whether t is a map, or a type parameter whose type set
// holds a map.
func mayBeMap(t types.Type) bool {
	if tp, ok := t.(*types.TypeParam); ok {
		return setHasMap(tp.Constraint())
	}
	_, isMap := t.Underlying().(*types.Map)
	return isMap
}

func setHasMap(t types.Type) bool {
	switch u := t.Underlying().(type) {
	case *types.Map:
		return true
	case *types.Interface:
		for i := range u.NumEmbeddeds() {
			if setHasMap(u.EmbeddedType(i)) {
				return true
			}
		}
	case *types.Union:
		for i := range u.Len() {
			if setHasMap(u.Term(i).Type()) {
				return true
			}
		}
	}
	return false
}

// checkRange judges one range statement over a map: fine if marked with a
// reason, or if its body is order-independent (see orderJudge).
func (c *checker) checkRange(f *ast.File, r *ast.RangeStmt, fset *token.FileSet, info *types.Info, report func(token.Pos, string, ...any)) {
	if !rangesOverMap(r, info) {
		return
	}
	if why, marked := marker(f, fset, r); marked {
		if why == "" {
			report(r.Pos(), "%s marker without a reason: say why the order cannot reach an output", markerPrefix)
		}
		return
	}
	j := &orderJudge{info: info, loop: r, ops: map[string]string{}, written: written(r.Body)}
	if j.stmts(r.Body.List) && j.earlyReturnAlone() && j.sortedAfter(f) {
		return
	}
	report(r.Pos(), "ranges over a map in random order (%s): iterate slices.Sorted(maps.Keys(m)), or mark the loop // %s <why> if the order cannot reach an output", j.reason(), markerPrefix)
}

// marker finds "// purity:unordered <why>" on the for line or the line
// just above it and returns the reason.
func marker(f *ast.File, fset *token.FileSet, r *ast.RangeStmt) (string, bool) {
	line := fset.Position(r.Pos()).Line
	for _, cg := range f.Comments {
		for _, cm := range cg.List {
			l := fset.Position(cm.Pos()).Line
			if l != line && l != line-1 {
				continue
			}
			text := strings.TrimSpace(strings.TrimPrefix(cm.Text, "//"))
			if why, ok := strings.CutPrefix(text, markerPrefix); ok {
				return strings.TrimSpace(why), true
			}
		}
	}
	return "", false
}

// orderJudge recognises loop bodies whose effect does not depend on the
// order of iteration. It is deliberately small: anything it does not
// recognise is order-dependent.
//
// Recognised statements (nested in if/else, in blocks and in inner for and
// range loops): continue; a local declared with := from a side-effect-free
// expression; writing dst[key] = e with key the loop's own key (distinct
// per iteration); dst[e] = constant (set insertion); delete(m, e);
// integer counters (x++, x--, x += e, x -= e, x |= e, x &= e, x ^= e);
// x = min(x, e) and x = max(x, e); x = constant (a flag); and
// s = append(s, e) when the first statement after the loop that mentions s
// sorts it. Each variable, field or map is updated in one way only (all
// additions, or all the same constant, ...): two ways do not commute.
// The expressions involved (conditions, values, keys) must be
// side-effect-free and may not read anything the loop itself writes (what
// earlier iterations left behind depends on the order). "Side-effect-free"
// means no calls other than conversions, the builtins len, cap, min and
// max, and the pure functions of pureCall, and no channel receives: a call
// could draw from a PRNG or append to a trace, which is order-dependent.
// A return is allowed when every return in the loop gives the same
// constants and the loop updates nothing (a search: "is there an entry
// such that ..."). Sorting after the loop must give one order: sort.Strings
// and slices.Sort on distinct keys do; a comparator sort of collected
// values is only as deterministic as its comparator is total, which the
// guard cannot see (tie-break on the key).
type orderJudge struct {
	info    *types.Info
	loop    *ast.RangeStmt
	ops     map[string]string // place updated -> how ("add", "max", "set true", ...): one way each
	sorted  []types.Object    // slices appended to, to be sorted right after
	written map[string]bool   // what the loop body assigns (x, x.f, or the map m of m[k])
	returns string            // the constant results every return in the loop gives
	mutates bool              // the loop updates something (then it may not return early)
	why     string            // the first thing not recognised
}

func (j *orderJudge) reason() string {
	if j.why == "" {
		return "the loop body"
	}
	return j.why
}

func (j *orderJudge) fail(what string) bool {
	if j.why == "" {
		j.why = what
	}
	return false
}

func (j *orderJudge) stmts(list []ast.Stmt) bool {
	for _, s := range list {
		if !j.stmt(s) {
			return false
		}
	}
	return true
}

func (j *orderJudge) stmt(s ast.Stmt) bool {
	switch s := s.(type) {
	case *ast.BranchStmt:
		if s.Tok == token.CONTINUE && s.Label == nil {
			return true
		}
		return j.fail(s.Tok.String() + " ends the loop at an order-dependent point")
	case *ast.BlockStmt:
		return j.stmts(s.List)
	case *ast.ReturnStmt:
		// A search ("is there an entry such that ..."): fine when every
		// return in the loop gives the same constants and nothing else
		// changes, so that whichever entry is met first, the outcome is one.
		var vals []string
		for _, e := range s.Results {
			if !j.isConst(e) {
				return j.fail("a return of a value that depends on which entry came first")
			}
			vals = append(vals, j.constString(e))
		}
		v := "return " + strings.Join(vals, ", ")
		if j.returns != "" && j.returns != v {
			return j.fail("returns that differ (which one runs depends on the order)")
		}
		j.returns = v
		return true
	case *ast.IfStmt:
		if s.Init != nil && !j.stmt(s.Init) {
			return false
		}
		if !j.clean(s.Cond) || !j.stmts(s.Body.List) {
			return j.fail("an if whose condition or branch is not order-independent")
		}
		if s.Else != nil {
			return j.stmt(s.Else)
		}
		return true
	case *ast.RangeStmt:
		if !j.clean(s.X) {
			return j.fail("an inner range over an expression with calls")
		}
		return j.stmts(s.Body.List)
	case *ast.ForStmt:
		if s.Init != nil && !j.stmt(s.Init) || s.Cond != nil && !j.clean(s.Cond) || s.Post != nil && !j.stmt(s.Post) {
			return j.fail("an inner for loop")
		}
		return j.stmts(s.Body.List)
	case *ast.IncDecStmt:
		if j.isInteger(s.X) && j.pure(s.X) {
			j.mutates = true
			return j.op(s.X, "add")
		}
		return j.fail("++/-- on a non-integer")
	case *ast.ExprStmt:
		if call, ok := s.X.(*ast.CallExpr); ok {
			if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok && id.Name == "delete" {
				if _, builtin := j.info.Uses[id].(*types.Builtin); builtin && len(call.Args) == 2 && j.pure(call.Args[0]) && j.clean(call.Args[1]) {
					j.mutates = true
					if j.isLoopKey(call.Args[1]) {
						return j.op(call.Args[0], "by key")
					}
					return j.op(call.Args[0], "delete")
				}
			}
		}
		return j.fail("a call whose effect may depend on the order")
	case *ast.AssignStmt:
		return j.assign(s)
	}
	return j.fail(fmt.Sprintf("a %T", s))
}

func (j *orderJudge) assign(s *ast.AssignStmt) bool {
	if s.Tok == token.DEFINE {
		if j.allClean(s.Rhs) {
			return true
		}
		return j.fail("a local computed with a call")
	}
	if len(s.Lhs) != 1 || len(s.Rhs) != 1 {
		return j.fail("a multiple assignment")
	}
	lhs, rhs := ast.Unparen(s.Lhs[0]), ast.Unparen(s.Rhs[0])
	switch s.Tok {
	case token.ADD_ASSIGN, token.SUB_ASSIGN, token.OR_ASSIGN, token.AND_ASSIGN, token.XOR_ASSIGN:
		j.mutates = true
		if j.isInteger(lhs) && j.pure(lhs) && j.clean(rhs) {
			kind := map[token.Token]string{token.ADD_ASSIGN: "add", token.SUB_ASSIGN: "add", token.OR_ASSIGN: "or",
				token.AND_ASSIGN: "and", token.XOR_ASSIGN: "xor"}[s.Tok]
			return j.op(lhs, kind)
		}
		if ix, ok := lhs.(*ast.IndexExpr); ok && j.isMap(ix.X) && j.isLoopKey(ix.Index) && j.pure(ix.X) && j.clean(rhs) {
			return j.op(ix.X, "by key") // an entry of its own per iteration
		}
		return j.fail("an accumulation that is not an integer sum (float sums depend on the order)")
	case token.ASSIGN:
	default:
		return j.fail("an order-dependent update")
	}
	j.mutates = true
	if ix, ok := lhs.(*ast.IndexExpr); ok && j.isMap(ix.X) && j.pure(ix.X) && j.clean(ix.Index) {
		if j.isLoopKey(ix.Index) && j.clean(rhs) {
			return j.op(ix.X, "by key") // a distinct key per iteration
		}
		if j.isConst(rhs) {
			return j.op(ix.X, "set "+j.constString(rhs)) // set insertion: the same value whatever the order
		}
		return j.fail("a map write whose key may repeat across iterations")
	}
	if j.isConst(rhs) && j.isPlace(lhs) {
		return j.op(lhs, "set "+j.constString(rhs)) // a flag
	}
	id, ok := lhs.(*ast.Ident)
	if !ok {
		return j.fail("an assignment to something other than a local, a flag or a map entry")
	}
	obj := j.info.ObjectOf(id)
	if call, ok := rhs.(*ast.CallExpr); ok {
		if fid, ok := ast.Unparen(call.Fun).(*ast.Ident); ok {
			if b, builtin := j.info.Uses[fid].(*types.Builtin); builtin && len(call.Args) >= 2 && j.allPure(call.Args) {
				// The variable itself is one argument; the others may not
				// read what the loop writes.
				self, others := -1, []ast.Expr{}
				for i, a := range call.Args {
					if aid, ok := ast.Unparen(a).(*ast.Ident); ok && self < 0 && j.info.ObjectOf(aid) == obj {
						self = i
					} else {
						others = append(others, a)
					}
				}
				switch {
				case self < 0 || !j.allClean(others):
				case b.Name() == "min" || b.Name() == "max":
					return j.op(lhs, b.Name())
				case b.Name() == "append" && self == 0 && !call.Ellipsis.IsValid():
					j.sorted = append(j.sorted, obj)
					return j.op(lhs, "append")
				}
			}
		}
	}
	return j.fail("an assignment whose last writer wins")
}

// op records that the loop updates place in one way (adding, taking the
// maximum, setting a constant, ...): two ways on one place do not commute
// (x++ then x = 1 is not x = 1 then x++).
func (j *orderJudge) op(place ast.Expr, kind string) bool {
	p := types.ExprString(ast.Unparen(place))
	if prev, seen := j.ops[p]; seen && prev != kind {
		return j.fail(fmt.Sprintf("%s is updated two ways (%s, %s), and their order matters", p, prev, kind))
	}
	j.ops[p] = kind
	return true
}

// earlyReturnAlone refuses a loop that both returns early and updates
// something: what was updated before the return depends on the order.
func (j *orderJudge) earlyReturnAlone() bool {
	if j.returns != "" && j.mutates {
		j.why = "an early return after updates (what was updated depends on the order)"
		return false
	}
	return true
}

func (j *orderJudge) isMap(e ast.Expr) bool {
	if t := j.info.TypeOf(e); t != nil {
		_, isMap := t.Underlying().(*types.Map)
		return isMap
	}
	return false
}

// isPlace reports whether e is a variable or a field path (x, x.f, x.f.g)
// without calls or indexing.
func (j *orderJudge) isPlace(e ast.Expr) bool {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		return true
	case *ast.SelectorExpr:
		if sel, ok := j.info.Selections[e]; !ok || sel.Kind() != types.FieldVal {
			return false
		}
		return j.isPlace(e.X)
	case *ast.StarExpr:
		return j.isPlace(e.X)
	}
	return false
}

// sortedAfter checks that every slice appended to in the loop is sorted by
// the first statement after the loop that mentions it.
func (j *orderJudge) sortedAfter(f *ast.File) bool {
	if len(j.sorted) == 0 {
		return true
	}
	after := stmtsAfter(f, j.loop)
	for _, obj := range j.sorted {
		if !j.sortedFirst(after, obj) {
			j.why = "appends to " + obj.Name() + " without sorting it right after the loop"
			return false
		}
	}
	return true
}

func (j *orderJudge) sortedFirst(after []ast.Stmt, obj types.Object) bool {
	for _, s := range after {
		if !j.mentions(s, obj) {
			continue
		}
		es, ok := s.(*ast.ExprStmt)
		if !ok {
			return false
		}
		call, ok := es.X.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return false
		}
		fn := calleeOf(call, j.info)
		if !isPkgFunc(fn, "sort", "Strings", "Ints", "Float64s", "Slice", "SliceStable", "Sort", "Stable") &&
			!isPkgFunc(fn, "slices", "Sort", "SortFunc", "SortStableFunc") {
			return false
		}
		arg := ast.Unparen(call.Args[0])
		if conv, ok := arg.(*ast.CallExpr); ok && len(conv.Args) == 1 { // sort.Sort(byName(s))
			if tv, ok := j.info.Types[conv.Fun]; ok && tv.IsType() {
				arg = ast.Unparen(conv.Args[0])
			}
		}
		id, ok := arg.(*ast.Ident)
		return ok && j.info.ObjectOf(id) == obj
	}
	return false
}

func (j *orderJudge) mentions(n ast.Node, obj types.Object) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && j.info.ObjectOf(id) == obj {
			found = true
		}
		return !found
	})
	return found
}

// stmtsAfter returns the statements that follow s in its enclosing block.
func stmtsAfter(f *ast.File, s ast.Stmt) []ast.Stmt {
	var out []ast.Stmt
	ast.Inspect(f, func(n ast.Node) bool {
		var list []ast.Stmt
		switch b := n.(type) {
		case *ast.BlockStmt:
			list = b.List
		case *ast.CaseClause:
			list = b.Body
		case *ast.CommClause:
			list = b.Body
		default:
			return out == nil
		}
		for i, x := range list {
			if x == s {
				out = list[i+1:]
				return false
			}
			if lb, ok := x.(*ast.LabeledStmt); ok && lb.Stmt == s {
				out = list[i+1:]
				return false
			}
		}
		return out == nil
	})
	return out
}

func (j *orderJudge) isLoopKey(e ast.Expr) bool {
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok || j.loop.Key == nil || j.loop.Tok != token.DEFINE {
		return false
	}
	key, ok := j.loop.Key.(*ast.Ident)
	if !ok || key.Name == "_" {
		return false
	}
	if call, isCall := ast.Unparen(j.loop.X).(*ast.CallExpr); isCall && !isPkgFunc(calleeOf(call, j.info), "maps", "Keys", "All") {
		return false // maps.Values yields values, which may repeat
	}
	return j.info.ObjectOf(id) == j.info.ObjectOf(key)
}

func (j *orderJudge) isInteger(e ast.Expr) bool {
	t := j.info.TypeOf(e)
	if t == nil {
		return false
	}
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Info()&types.IsInteger != 0
}

func (j *orderJudge) isConst(e ast.Expr) bool {
	tv, ok := j.info.Types[e]
	if ok && (tv.Value != nil || tv.IsNil()) {
		return true
	}
	if cl, ok := ast.Unparen(e).(*ast.CompositeLit); ok && len(cl.Elts) == 0 {
		return true // struct{}{}
	}
	return false
}

func (j *orderJudge) constString(e ast.Expr) string {
	if tv := j.info.Types[e]; tv.Value != nil {
		return tv.Value.ExactString()
	}
	return types.ExprString(e)
}

// written collects what a loop body assigns, other than the locals it
// declares: a variable, a field path, or the map of a map entry.
func written(body *ast.BlockStmt) map[string]bool {
	out := map[string]bool{}
	add := func(e ast.Expr) {
		e = ast.Unparen(e)
		if ix, ok := e.(*ast.IndexExpr); ok {
			e = ix.X
		}
		out[types.ExprString(e)] = true
	}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok != token.DEFINE {
				for _, l := range n.Lhs {
					add(l)
				}
			}
		case *ast.IncDecStmt:
			add(n.X)
		case *ast.CallExpr:
			if id, ok := ast.Unparen(n.Fun).(*ast.Ident); ok && id.Name == "delete" && len(n.Args) > 0 {
				add(n.Args[0])
			}
		}
		return true
	})
	return out
}

// clean reports whether e is pure and reads nothing the loop writes: a
// value computed from what earlier iterations left behind depends on the
// order.
func (j *orderJudge) clean(e ast.Expr) bool {
	if !j.pure(e) {
		return false
	}
	ok := true
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident, *ast.SelectorExpr:
			if j.written[types.ExprString(n.(ast.Expr))] {
				ok = false
			}
		}
		return ok
	})
	if !ok {
		j.fail("reads " + types.ExprString(e) + ", which the loop itself changes")
	}
	return ok
}

func (j *orderJudge) allClean(es []ast.Expr) bool {
	for _, e := range es {
		if !j.clean(e) {
			return false
		}
	}
	return true
}

func (j *orderJudge) allPure(es []ast.Expr) bool {
	for _, e := range es {
		if !j.pure(e) {
			return false
		}
	}
	return true
}

// pure reports whether evaluating e can have no effect: no calls but
// conversions, len/cap/min/max and pureCall's, no receives, no function
// literals.
func (j *orderJudge) pure(e ast.Expr) bool {
	ok := true
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if tv, isType := j.info.Types[n.Fun]; isType && tv.IsType() {
				return true
			}
			if id, isID := ast.Unparen(n.Fun).(*ast.Ident); isID {
				if b, builtin := j.info.Uses[id].(*types.Builtin); builtin && contains([]string{"len", "cap", "min", "max"}, b.Name()) {
					return true
				}
			}
			if pureCall(calleeOf(n, j.info)) {
				return true
			}
			ok = false
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				ok = false
			}
		case *ast.FuncLit:
			ok = false
		}
		return ok
	})
	return ok
}

// pureFuncs are standard packages whose package-level functions only
// compute a result from their arguments.
var pureFuncs = []string{"strings", "strconv", "math", "unicode", "unicode/utf8", "path"}

// pureCall reports whether f only computes from its arguments: a function
// of pureFuncs, fmt's Sprint/Sprintf/Sprintln/Errorf, or a method of
// time.Time or time.Duration (value receivers).
func pureCall(f *types.Func) bool {
	if f == nil || f.Pkg() == nil {
		return false
	}
	path, recv := f.Pkg().Path(), f.Signature().Recv()
	if recv == nil {
		return contains(pureFuncs, path) || path == "fmt" && contains([]string{"Sprint", "Sprintf", "Sprintln", "Errorf"}, f.Name())
	}
	if nt, ok := recv.Type().(*types.Named); ok && path == "time" {
		return nt.Obj().Name() == "Time" || nt.Obj().Name() == "Duration"
	}
	return false
}

// listed is what `go list -export -deps -json` says about one package.
type listed struct {
	ImportPath string
	Dir        string
	Export     string
	Standard   bool
	GoFiles    []string
	CgoFiles   []string
	SFiles     []string
	Module     *struct{ Path string }
	DepOnly    bool
}

// loaded is the result of one go list, shared by the tests of this file.
type loaded struct {
	root     string // the module root directory
	module   string
	pkgs     map[string]*listed
	targets  []*listed // the packages named by the patterns, in go list order
	exports  map[string]string
	standard map[string]bool
}

var (
	loadOnce   sync.Once
	loadResult *loaded
	loadErr    error
)

// extraStd are standard packages the loophole test type-checks snippets
// against even though no scanned package imports them.
var extraStd = []string{"context", "hash/maphash", "os", "os/exec", "net", "net/http", "crypto/rand", "sync", "time", "math/rand/v2", "maps", "slices", "sort", "runtime", "log/slog", "fmt", "reflect"}

// load lists (and compiles, through the build cache) the scanned packages
// and their dependencies once.
func load(t *testing.T) *loaded {
	t.Helper()
	loadOnce.Do(func() { loadResult, loadErr = doLoad() })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return loadResult
}

func doLoad() (*loaded, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	args := append([]string{"list", "-export", "-deps", "-json", "./core/...", "./sim/...", "./harness/check/..."}, extraStd...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	data, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v\n%s", err, stderr.String())
	}
	l := &loaded{root: root, pkgs: map[string]*listed{}, exports: map[string]string{}, standard: map[string]bool{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		p := new(listed)
		if err := dec.Decode(p); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		l.pkgs[p.ImportPath] = p
		if p.Export != "" {
			l.exports[p.ImportPath] = p.Export
		}
		if p.Standard {
			l.standard[p.ImportPath] = true
		}
		if !p.DepOnly && !p.Standard {
			l.targets = append(l.targets, p)
			if p.Module != nil {
				l.module = p.Module.Path
			}
		}
	}
	return l, nil
}

// importer returns a types.Importer reading the compiler's export data.
func (l *loaded) importer(fset *token.FileSet) types.Importer {
	return importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := l.exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
}

// typeCheck parses and type-checks files as package path. Errors are
// returned but do not stop the check (an unknown import becomes an empty
// package), so that a snippet naming a forbidden package is still judged.
func typeCheck(fset *token.FileSet, imp types.Importer, path string, files []*ast.File) (*types.Package, *types.Info, []error) {
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{},
		Defs: map[*ast.Ident]types.Object{}, Selections: map[*ast.SelectorExpr]*types.Selection{}}
	var errs []error
	conf := types.Config{Importer: imp, Error: func(err error) { errs = append(errs, err) }}
	pkg, _ := conf.Check(path, fset, files, info)
	return pkg, info, errs
}
