// Package check holds the judges of a run, simulated or real:
// ground-truth safety on every change of a resource's state, linearizability
// of resource ownership over the operations the agents executed (with
// porcupine), the epoch rule, and flapping. They read plain records, so the
// simulator and the process harness feed them alike. It is pure: it never
// touches the machine, so the simulator links it without the harness.
package check

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/history"
	"github.com/basalt-ha/basalt/core/model"
)

// Violation is one broken property.
type Violation struct {
	At      time.Time
	Checker string
	Message string
}

// String renders the violation on one line.
func (v Violation) String() string { return fmt.Sprintf("[%s] %s", v.Checker, v.Message) }

// Safety checks ground truth incrementally: a resource of a group with
// max-instances n is never active on more than n hosts at once. A host's
// activity ends when its state file goes, which fencing does at the fence.
// An instance is a resource run with one definition (its digest,
// ocf.Digest): a resource whose definition changed is another instance
// (an IP address agent's new address), and the old and the new one count
// as two, on one host as on two. A resource keeps its ID when it becomes an
// orphan (a removed group's resource), so an orphan counts as the resource
// it was.
//
// Safety knows roles too: a resource of a promotable clone is never
// promoted on more hosts at once than its promoted-max (SetPromotedLimit).
// A host's promoted role ends when the role is given up (a demote) or when
// the instance ends there (a stop, its death, the fence that powers the
// host off): a promoted instance on a host fenced meanwhile is no longer
// promoted, from the fence on.
type Safety struct {
	limit map[string]int
	// active: resource -> instance (host and digest) -> since when.
	active map[string]map[instance]time.Time
	// promotedLimit: resource -> promoted-max, for promotable resources
	// only; promoted: resource -> host -> promoted since when.
	promotedLimit map[string]int
	promoted      map[string]map[string]time.Time
	Violations    []Violation
}

type instance struct{ host, digest string }

// NewSafety watches the resources in limits (resource → max instances).
// The map is the Safety's own from then on: SetLimit changes it.
func NewSafety(limits map[string]int) *Safety {
	return &Safety{limit: limits, active: map[string]map[instance]time.Time{}}
}

// SetLimit sets the max instances of rsc, for a resource a new
// configuration adds.
func (s *Safety) SetLimit(rsc string, n int) {
	if s.limit == nil {
		s.limit = map[string]int{}
	}
	s.limit[rsc] = n
}

// Observe records that rsc became active (or not) on host at at, with the
// definition it is watched under from the start.
func (s *Safety) Observe(at time.Time, host, rsc string, active bool) {
	s.ObserveInstance(at, host, rsc, "", active)
}

// ObserveInstance records that the instance of rsc with definition digest
// became active (or not) on host at at.
func (s *Safety) ObserveInstance(at time.Time, host, rsc, digest string, active bool) {
	if s.active[rsc] == nil {
		s.active[rsc] = map[instance]time.Time{}
	}
	in := instance{host, digest}
	if !active {
		delete(s.active[rsc], in)
		if !slices.Contains(s.ActiveOn(rsc), host) {
			delete(s.promoted[rsc], host) // no instance left there: no role either
		}
		return
	}
	s.active[rsc][in] = at
	limit, ok := s.limit[rsc]
	if !ok {
		limit = 1
	}
	if n := len(s.active[rsc]); n > limit {
		where := make([]string, 0, n)
		for i, since := range s.active[rsc] { // purity:unordered sorted below
			name := i.host
			if i.digest != "" {
				name += " with definition " + i.digest
			}
			where = append(where, fmt.Sprintf("%s (since %s)", name, since.Format("15:04:05.000")))
		}
		sort.Strings(where)
		times := fmt.Sprintf("%d times", n) // two instances on one host
		if hosts := s.ActiveOn(rsc); len(hosts) == n {
			times = fmt.Sprintf("on %d hosts", n)
		}
		s.Violations = append(s.Violations, Violation{At: at, Checker: "safety",
			Message: fmt.Sprintf("%s active %s at once (limit %d): %s", rsc, times, limit, strings.Join(where, ", "))})
	}
}

// SetPromotedLimit makes rsc a promotable clone's resource, promoted on at
// most n hosts at once.
func (s *Safety) SetPromotedLimit(rsc string, n int) {
	if s.promotedLimit == nil {
		s.promotedLimit = map[string]int{}
	}
	s.promotedLimit[rsc] = n
}

// ObserveRole records that rsc's instance on host took (or gave up) the
// promoted role at at. The role also ends with the host's last active
// instance of rsc (ObserveInstance).
func (s *Safety) ObserveRole(at time.Time, host, rsc string, promoted bool) {
	if s.promoted == nil {
		s.promoted = map[string]map[string]time.Time{}
	}
	if s.promoted[rsc] == nil {
		s.promoted[rsc] = map[string]time.Time{}
	}
	if !promoted {
		delete(s.promoted[rsc], host)
		return
	}
	if _, already := s.promoted[rsc][host]; already {
		return
	}
	s.promoted[rsc][host] = at
	limit, ok := s.promotedLimit[rsc]
	if !ok {
		limit = 1 // a role on a resource nobody declared promotable: one, as a primary
	}
	if n := len(s.promoted[rsc]); n > limit {
		where := make([]string, 0, n)
		for h, since := range s.promoted[rsc] { // purity:unordered sorted below
			where = append(where, fmt.Sprintf("%s (since %s)", h, since.Format("15:04:05.000")))
		}
		sort.Strings(where)
		s.Violations = append(s.Violations, Violation{At: at, Checker: "safety",
			Message: fmt.Sprintf("%s promoted on %d hosts at once (promoted-max %d): %s", rsc, n, limit, strings.Join(where, ", "))})
	}
}

// PromotedOn returns the hosts where rsc is promoted now, sorted.
func (s *Safety) PromotedOn(rsc string) []string {
	out := make([]string, 0, len(s.promoted[rsc]))
	for h := range s.promoted[rsc] { // purity:unordered sorted below
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// ActiveOn returns the hosts where rsc is active now (any instance),
// sorted.
func (s *Safety) ActiveOn(rsc string) []string {
	out := make([]string, 0, len(s.active[rsc]))
	for i := range s.active[rsc] { // purity:unordered sorted below
		out = append(out, i.host)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// Op is an operation an agent executed (history.Op, the one record both
// drivers produce). A zero Return means it never ended (its host or its
// agent died): its outcome is unknown, as Knossos treats indeterminate
// operations.
type Op = history.Op

type ownInput struct {
	kind, host string
}

type ownOutput struct {
	known bool
	rc    int
}

// ownership is the sequential specification of one single-instance
// resource: the set of hosts where it may be active. A start is legal only
// where no other host may have it, and leaves it (possibly) active there
// whatever its result — a failed or timed-out start may have half-started
// it; a successful stop, a monitor finding it stopped and a fence remove
// the host; a monitor finding it running, or a reload succeeding there,
// requires it to be possibly active there; meta-data and validate-all
// runs say nothing of it.
var ownership = porcupine.Model{
	Init: func() interface{} { return "" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		set := state.(string)
		ok, next := ownStep(set, input.(ownInput), output.(ownOutput))
		if next == set {
			return ok, state // unchanged: no new box for porcupine's search to allocate
		}
		return ok, next
	},
	Equal: func(a, b interface{}) bool { return a.(string) == b.(string) },
	DescribeOperation: func(input, output interface{}) string {
		in, out := input.(ownInput), output.(ownOutput)
		res := "unknown"
		if out.known {
			res = fmt.Sprintf("rc %d", out.rc)
		}
		return fmt.Sprintf("%s on %s → %s", in.kind, in.host, res)
	},
	DescribeState: func(state interface{}) string {
		if state.(string) == "" {
			return "inactive"
		}
		return "maybe active on " + state.(string)
	},
}

// A state of the ownership model is a set of hosts, sorted and joined by
// commas ("" for none). Porcupine steps the model again and again while it
// searches, so the set is read in place rather than split into a slice and
// joined back at every step; a step that changes nothing hands back the
// state it was given.

// ownStep is the ownership model's step on unboxed values, for the
// check's in-call-order pass, which needs no interface around each
// operation; the porcupine model wraps it.
func ownStep(set string, in ownInput, out ownOutput) (bool, string) {
	switch in.kind {
	case "start":
		if !onlyOn(set, in.host) {
			return false, set
		}
		return true, in.host
	case "stop":
		if out.known && out.rc == 0 {
			return true, without(set, in.host)
		}
		return true, set
	case "monitor":
		if !out.known {
			return true, set
		}
		switch out.rc {
		case 0:
			return inSet(set, in.host), set
		case 7:
			return true, without(set, in.host)
		}
		return true, set
	case "fence":
		return true, without(set, in.host)
	case "reload", "reload-agent":
		// Sent only to a running instance: a reload that succeeded
		// there says it may be active there, as a monitor would.
		if out.known && out.rc == 0 {
			return inSet(set, in.host), set
		}
		return true, set
	case "meta-data", "validate-all":
		return true, set // about the agent, not the instance
	}
	return false, set
}

// inSet reports whether host h is in set.
func inSet(set, h string) bool {
	for x := range strings.SplitSeq(set, ",") {
		if x == h {
			return true
		}
	}
	return false
}

// onlyOn reports whether set holds no host but h (or none).
func onlyOn(set, h string) bool {
	if set == "" {
		return true
	}
	for x := range strings.SplitSeq(set, ",") {
		if x != h {
			return false
		}
	}
	return true
}

// without is the set with host h removed.
func without(set, h string) string {
	switch {
	case set == h:
		return ""
	case !inSet(set, h):
		return set
	}
	var rest []string
	for x := range strings.SplitSeq(set, ",") {
		if x != h {
			rest = append(rest, x)
		}
	}
	return strings.Join(rest, ",")
}

// LinResult is the linearizability verdict for one resource.
type LinResult struct {
	Resource string
	OK       bool
	Ops      int
	info     porcupine.LinearizationInfo
}

// WriteHTML writes porcupine's visualisation of the resource's history.
func (r LinResult) WriteHTML(w io.Writer) error { return porcupine.Visualize(ownership, r.info, w) }

// CheckOwnership checks, per single-instance resource, that the operations
// the agents executed are linearizable against the ownership model. Fences
// join every resource's history. Resources with more than one instance are
// not checked here (the safety checker bounds them).
func CheckOwnership(ops []Op, limits map[string]int) []LinResult {
	ix := indexOwnership(ops, limits)
	var out []LinResult
	var byRsc map[string][]porcupine.Operation
	for _, r := range ix.names {
		n := len(ix.byRsc[r]) + len(ix.fences)
		if ix.inCallOrder(ops, ix.byRsc[r]) {
			out = append(out, LinResult{Resource: r, OK: true, Ops: n})
			continue
		}
		// Porcupine decides, on the history it has always been given:
		// built as ownershipHistories builds it, in call order.
		if byRsc == nil {
			byRsc, _ = ownershipHistories(ops, limits)
		}
		hist := byRsc[r]
		sortByCall(hist)
		res, info := porcupine.CheckOperationsVerbose(ownership, hist, 0)
		out = append(out, LinResult{Resource: r, OK: res == porcupine.Ok, Ops: n, info: info})
	}
	return out
}

// ownIndex is, by index into the operations, what ownershipHistories
// makes of them, for the in-call-order pass: nearly every history passes
// it, and it needs neither porcupine's operations nor their boxed inputs
// and outputs.
type ownIndex struct {
	// calls are the operations' call times as porcupine is given them:
	// nanoseconds since the earliest call.
	calls []int64
	// byRsc are each single-instance resource's operations in the order
	// of ops, fences the fences; names the resources, sorted.
	byRsc  map[string][]int32
	fences []int32
	names  []string
}

// indexOwnership indexes ops as ownershipHistories takes them.
func indexOwnership(ops []Op, limits map[string]int) ownIndex {
	ix := ownIndex{calls: make([]int64, len(ops)), byRsc: map[string][]int32{}}
	start := time.Time{}
	for i := range ops { // by index: an Op is 200 bytes to copy
		op := &ops[i]
		if start.IsZero() || op.Call.Before(start) {
			start = op.Call
		}
		if op.Kind == "fence" {
			ix.fences = append(ix.fences, int32(i))
		}
	}
	for i := range ops {
		op := &ops[i]
		ix.calls[i] = op.Call.Sub(start).Nanoseconds()
		if op.Kind == "fence" || op.Resource == "" {
			continue
		}
		if l, ok := limits[op.Resource]; ok && l > 1 {
			continue
		}
		ix.byRsc[op.Resource] = append(ix.byRsc[op.Resource], int32(i))
	}
	ix.names = make([]string, 0, len(ix.byRsc))
	for r := range ix.byRsc { // purity:unordered sorted below
		ix.names = append(ix.names, r)
	}
	sort.Strings(ix.names)
	ix.fences = ix.sortedByCall(ix.fences)
	return ix
}

// sortedByCall is idx in call order, stably; idx itself when it is
// already, as a simulated seed's operations are.
func (ix *ownIndex) sortedByCall(idx []int32) []int32 {
	byCall := func(a, b int32) int { return compareNs(ix.calls[a], ix.calls[b]) }
	if slices.IsSortedFunc(idx, byCall) {
		return idx
	}
	idx = slices.Clone(idx)
	slices.SortStableFunc(idx, byCall)
	return idx
}

// inCallOrder is the check inCallOrder makes of a resource's history
// (its operations rsc, then every fence), stepping the model on the
// operations themselves. The stable sort of the two appended is their
// merge with the resource's first among equal calls.
func (ix *ownIndex) inCallOrder(ops []Op, rsc []int32) bool {
	rsc = ix.sortedByCall(rsc)
	set := ""
	i, j := 0, 0
	for i < len(rsc) || j < len(ix.fences) {
		var k int32
		if j == len(ix.fences) || i < len(rsc) && ix.calls[rsc[i]] <= ix.calls[ix.fences[j]] {
			k, i = rsc[i], i+1
		} else {
			k, j = ix.fences[j], j+1
		}
		op := &ops[k]
		out := ownOutput{}
		if !op.Return.IsZero() {
			out = ownOutput{known: !op.Killed, rc: op.RC}
		}
		ok, next := ownStep(set, ownInput{op.Kind, op.Host}, out)
		if !ok {
			return false
		}
		set = next
	}
	return true
}

// ownershipHistories are the porcupine histories of the single-instance
// resources, each with every fence, and their names sorted.
func ownershipHistories(ops []Op, limits map[string]int) (map[string][]porcupine.Operation, []string) {
	byRsc := map[string][]porcupine.Operation{}
	var fences []Op
	start := time.Time{}
	for _, op := range ops {
		if start.IsZero() || op.Call.Before(start) {
			start = op.Call
		}
		if op.Kind == "fence" {
			fences = append(fences, op)
		}
	}
	// An operation's input and output as porcupine holds them (interface
	// values), boxed once per distinct value: a history has few (an
	// action on a host; an rc), and every fence joins every resource's.
	inputs, outputs := map[ownInput]interface{}{}, map[ownOutput]interface{}{}
	conv := func(op Op, client int) porcupine.Operation {
		ret := int64(math.MaxInt64)
		out := ownOutput{}
		if !op.Return.IsZero() {
			ret = op.Return.Sub(start).Nanoseconds()
			out = ownOutput{known: !op.Killed, rc: op.RC}
		}
		in := ownInput{op.Kind, op.Host}
		if _, ok := inputs[in]; !ok {
			inputs[in] = in
		}
		if _, ok := outputs[out]; !ok {
			outputs[out] = out
		}
		return porcupine.Operation{ClientId: client, Input: inputs[in], Call: op.Call.Sub(start).Nanoseconds(),
			Output: outputs[out], Return: ret}
	}
	hostIdx := map[string]int{}
	client := func(h string) int {
		if _, ok := hostIdx[h]; !ok {
			hostIdx[h] = len(hostIdx)
		}
		return hostIdx[h]
	}
	for _, op := range ops {
		if op.Kind == "fence" || op.Resource == "" {
			continue
		}
		if l, ok := limits[op.Resource]; ok && l > 1 {
			continue
		}
		byRsc[op.Resource] = append(byRsc[op.Resource], conv(op, client(op.Host)))
	}
	names := make([]string, 0, len(byRsc))
	for r := range byRsc {
		names = append(names, r)
	}
	sort.Strings(names)
	for _, r := range names {
		for _, f := range fences {
			byRsc[r] = append(byRsc[r], conv(f, client(f.Host)))
		}
	}
	return byRsc, names
}

// inCallOrder reports whether the model accepts hist stepped in the order
// its operations were called. That order always respects real time (an
// operation that returned before another was called was called before it),
// so an accepted one is a linearization and the history is linearizable.
// It is what nearly every seed's histories are, and it costs a pass where
// porcupine builds its entries and searches; a history it rejects may
// still linearize in another order, and porcupine decides it, with the
// information its visualisation needs. It sorts hist in place.
// CheckOwnership makes the same pass without porcupine's operations
// (ownIndex.inCallOrder).
func inCallOrder(hist []porcupine.Operation) bool {
	sortByCall(hist)
	state := ownership.Init()
	for _, op := range hist {
		ok, next := ownership.Step(state, op.Input, op.Output)
		if !ok {
			return false
		}
		state = next
	}
	return true
}

// sortByCall sorts hist by call time, stably.
func sortByCall(hist []porcupine.Operation) {
	slices.SortStableFunc(hist, func(a, b porcupine.Operation) int { return compareNs(a.Call, b.Call) })
}

// compareNs orders two times in nanoseconds.
func compareNs(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Act is a command an agent acted on.
type Act struct {
	At    time.Time
	Host  string
	Epoch uint64
	// What is the command, described only in a violation's message: a
	// simulated seed records every command its agents act on, and
	// describing each was one allocation in a hundred.
	What effect.Message
}

// describeAct is d's line, "" for none.
func describeAct(d effect.Message) string {
	if d == nil {
		return ""
	}
	return d.Describe()
}

// CheckEpochs verifies that no agent acted on a command of a lower epoch
// after acting on a higher one: a superseded manager never reaches the
// cluster.
func CheckEpochs(acts []Act) []Violation {
	highest := map[string]uint64{}
	var out []Violation
	for _, a := range acts {
		if a.Epoch < highest[a.Host] {
			out = append(out, Violation{At: a.At, Checker: "epoch",
				Message: fmt.Sprintf("%s acted on epoch %d after epoch %d: %s", a.Host, a.Epoch, highest[a.Host], describeAct(a.What))})
		}
		highest[a.Host] = max(highest[a.Host], a.Epoch)
	}
	return out
}

// CheckFlapping bounds how often a resource may start within a window:
// recovery that loops (start, fail, start...) without end is a bug even
// when it is safe.
func CheckFlapping(ops []Op, window time.Duration, maxStarts int) []Violation {
	starts := map[string][]time.Time{}
	var out []Violation
	for i := range ops { // by index: an Op is 200 bytes to copy
		op := &ops[i]
		if op.Kind != "start" {
			continue
		}
		ts := append(starts[op.Resource], op.Call)
		for len(ts) > 0 && op.Call.Sub(ts[0]) > window {
			ts = ts[1:]
		}
		starts[op.Resource] = ts
		if len(ts) == maxStarts+1 {
			out = append(out, Violation{At: op.Call, Checker: "flapping",
				Message: fmt.Sprintf("%s started %d times within %s", op.Resource, len(ts), window)})
		}
	}
	return out
}

// PromotedLimits are the promoted-max of each promotable clone's resource
// in a configuration (for SetPromotedLimit).
func PromotedLimits(m *model.Model) map[string]int {
	out := map[string]int{}
	for _, g := range m.Groups {
		if g.Placement.Clone.Promotable {
			for _, r := range g.Resources() {
				out[r] = g.Placement.Clone.PromotedMax
			}
		}
	}
	return out
}

// Limits are the safety checker's instance limits of a configuration: how
// many hosts each resource may be active on at once.
func Limits(m *model.Model) map[string]int {
	limits := map[string]int{}
	for _, g := range m.Groups {
		for _, r := range g.Resources() {
			limits[r] = g.Placement.MaxInstances
		}
	}
	return limits
}
