package check

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func TestSafetyCatchesOverlapOnly(t *testing.T) {
	s := NewSafety(map[string]int{"r": 1, "c": 2})
	s.Observe(at(1), "a", "r", true)
	s.Observe(at(2), "a", "r", false)
	s.Observe(at(2), "b", "r", true)
	s.Observe(at(3), "a", "c", true)
	s.Observe(at(3), "b", "c", true)
	require.Empty(t, s.Violations)
	s.Observe(at(4), "a", "r", true)
	require.Len(t, s.Violations, 1)
	require.Contains(t, s.Violations[0].Message, "r active on 2 hosts at once (limit 1)")
	require.Equal(t, []string{"a", "b"}, s.ActiveOn("r"))
}

// Two definitions of one resource are two instances: the old and the new
// one active at once is a violation on one host as on two, and their
// digests say which they were.
func TestSafetyCountsInstancesByDefinition(t *testing.T) {
	s := NewSafety(map[string]int{"ip": 1, "c": 2})
	s.ObserveInstance(at(1), "a", "ip", "", true)
	s.ObserveInstance(at(2), "a", "ip", "", false)
	s.ObserveInstance(at(2), "a", "ip", "d2", true) // stop old, then start new: fine
	require.Empty(t, s.Violations)
	s.ObserveInstance(at(3), "a", "ip", "", true) // the old one again, beside the new
	require.Len(t, s.Violations, 1)
	require.Contains(t, s.Violations[0].Message, "ip active 2 times at once (limit 1): a (since 00:00:03.000), a with definition d2 (since 00:00:02.000)")
	require.Equal(t, []string{"a"}, s.ActiveOn("ip"))

	s.ObserveInstance(at(4), "a", "c", "", true)
	s.ObserveInstance(at(4), "b", "c", "d2", true)
	require.Len(t, s.Violations, 1, "two instances of a clone of two")
	s.ObserveInstance(at(5), "b", "c", "", true)
	require.Len(t, s.Violations, 2)
	require.Contains(t, s.Violations[1].Message, "c active 3 times at once (limit 2)")

	s.SetLimit("new", 2)
	s.ObserveInstance(at(6), "a", "new", "x", true)
	s.ObserveInstance(at(6), "b", "new", "x", true)
	require.Len(t, s.Violations, 2, "a limit set for a resource a change adds")
}

func op(rsc, host, kind string, call, ret float64, rc int) Op {
	o := Op{Resource: rsc, Host: host, Kind: kind, Call: at(call), RC: rc}
	if ret >= 0 {
		o.Return = at(ret)
	}
	return o
}

func TestOwnershipLinearizable(t *testing.T) {
	ok := []Op{
		op("r", "a", "monitor", 0, 1, 7),
		op("r", "b", "monitor", 0, 1, 7),
		op("r", "a", "start", 2, 3, 0),
		op("r", "a", "monitor", 4, 5, 0),
		op("r", "a", "stop", 6, 7, 0),
		op("r", "b", "start", 8, 9, 0),
		// a's host lost mid-start; a fence ends it; b may start after.
		op("s", "a", "start", 1, -1, 0),
		{Host: "a", Kind: "fence", Call: at(9.5), Return: at(9.5)},
		op("s", "b", "start", 10, 11, 0),
	}
	for _, r := range CheckOwnership(ok, map[string]int{"r": 1, "s": 1}) {
		require.True(t, r.OK, r.Resource)
	}
}

// TestOwnershipVerdictIsPorcupines: the check's short cut (a history the
// model accepts in call order is linearizable, unasked of porcupine) gives
// porcupine's verdict on every history, on random ones of overlapping
// starts, stops, monitors and fences on three hosts, some never returning.
func TestOwnershipVerdictIsPorcupines(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []string{"start", "stop", "monitor", "monitor", "fence"}
	hosts := []string{"a", "b", "c"}
	var short, both int
	for range 3000 {
		var ops []Op
		for range 1 + rng.IntN(7) {
			call := rng.Float64() * 10
			ret := call + rng.Float64()*3
			if rng.IntN(10) == 0 {
				ret = -1 // never returned
			}
			o := op("r", hosts[rng.IntN(len(hosts))], kinds[rng.IntN(len(kinds))], call, ret, []int{0, 0, 1, 7}[rng.IntN(4)])
			if o.Kind == "fence" {
				o.Resource = ""
			}
			ops = append(ops, o)
		}
		got := CheckOwnership(ops, map[string]int{"r": 1})
		hist, _ := ownershipHistories(ops, map[string]int{"r": 1})
		if len(got) == 0 {
			continue
		}
		res, _ := porcupine.CheckOperationsVerbose(ownership, hist["r"], 0)
		require.Equal(t, res == porcupine.Ok, got[0].OK, "%+v", ops)
		if got[0].OK {
			both++
		}
		ix := indexOwnership(ops, map[string]int{"r": 1})
		passes := inCallOrder(slices.Clone(hist["r"]))
		require.Equal(t, passes, ix.inCallOrder(ops, ix.byRsc["r"]), "the pass on the operations is the pass on porcupine's: %+v", ops)
		if passes {
			short++
		}
	}
	require.Greater(t, short, 100, "the short cut is taken")
	require.Greater(t, both, short, "and porcupine finds linearizations it does not")
}

func TestOwnershipViolations(t *testing.T) {
	// b starts while a still holds it: no linearization exists.
	bad := []Op{
		op("r", "a", "start", 0, 1, 0),
		op("r", "b", "start", 2, 3, 0),
	}
	res := CheckOwnership(bad, map[string]int{"r": 1})
	require.Len(t, res, 1)
	require.False(t, res[0].OK)
	var html bytes.Buffer
	require.NoError(t, res[0].WriteHTML(&html))
	require.Contains(t, html.String(), "<html")

	// A monitor saw it running where it could not be.
	bad = []Op{op("r", "a", "monitor", 0, 1, 0)}
	require.False(t, CheckOwnership(bad, map[string]int{"r": 1})[0].OK)
	// Overlapping stop and start may linearize: stop first.
	fine := []Op{op("r", "a", "start", 0, 1, 0), op("r", "a", "stop", 2, 5, 0), op("r", "b", "start", 4, 6, 0)}
	require.True(t, CheckOwnership(fine, map[string]int{"r": 1})[0].OK)
	// A failed stop leaves it active: a start elsewhere is not legal.
	bad = []Op{op("r", "a", "start", 0, 1, 0), op("r", "a", "stop", 2, 3, 1), op("r", "b", "start", 4, 6, 0)}
	require.False(t, CheckOwnership(bad, map[string]int{"r": 1})[0].OK)
}

// TestOwnershipOfReloadsAndMetaData: the LRM's meta-data runs say nothing
// of the instance, wherever they run; a reload that succeeded says it may
// be active there, so one where it cannot be is a violation.
func TestOwnershipOfReloadsAndMetaData(t *testing.T) {
	ok := []Op{
		op("r", "a", "meta-data", 0, 0.5, 0),
		op("r", "b", "meta-data", 0, 0.5, 0),
		op("r", "a", "start", 1, 2, 0),
		op("r", "a", "reload-agent", 3, 4, 0),
		op("r", "a", "reload", 5, 6, 0),
		op("r", "b", "reload-agent", 5, 6, 1), // failed: says nothing
	}
	require.True(t, CheckOwnership(ok, map[string]int{"r": 1})[0].OK)
	bad := []Op{op("r", "a", "start", 1, 2, 0), op("r", "b", "reload-agent", 3, 4, 0)}
	require.False(t, CheckOwnership(bad, map[string]int{"r": 1})[0].OK)
}

// line is a command's description, as a test writes it.
type line string

func (l line) Describe() string { return string(l) }

func TestEpochsAndFlapping(t *testing.T) {
	v := CheckEpochs([]Act{{At: at(1), Host: "a", Epoch: 2}, {At: at(2), Host: "b", Epoch: 1}, {At: at(3), Host: "a", Epoch: 1, What: line("exec")}})
	require.Len(t, v, 1)
	require.Contains(t, v[0].Message, "a acted on epoch 1 after epoch 2: exec")

	var ops []Op
	for i := range 6 {
		ops = append(ops, op("r", "a", "start", float64(i*10), float64(i*10+1), 0))
	}
	require.Empty(t, CheckFlapping(ops, time.Minute, 6))
	require.Len(t, CheckFlapping(ops, time.Minute, 5), 1)
	require.Empty(t, CheckFlapping(ops, 30*time.Second, 5))
}

func TestHandoversToAnOlderManagerWhileTheNewerIsConnected(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	require.Empty(t, CheckHandovers([]Handover{
		{At: t0, Host: "h1", To: 2, Accepted: 2, AcceptedOpen: true},  // the newer one takes over
		{At: t0, Host: "h1", To: 1, Accepted: 2, AcceptedOpen: false}, // the only manager left
	}))
	v := CheckHandovers([]Handover{{At: t0, Host: "h1", To: 1, Accepted: 2, AcceptedOpen: true}})
	require.Len(t, v, 1)
	require.Equal(t, "connection", v[0].Checker)
	require.Contains(t, v[0].Message, "h1 gave its connection to a manager of epoch 1")
}

// TestLossesOfHealthyHostsAreCaught: a host declared lost while its
// heartbeats were reaching the manager is flagged; one silent for the dead
// timeout, never heard, or whose agent was killed since its last word, is
// not; one whose agent died before its last word is.
func TestLossesOfHealthyHostsAreCaught(t *testing.T) {
	dead := 5 * time.Second
	losses := []Loss{
		{At: at(20), Host: "a", Epoch: 1, LastHeard: at(19.5)}, // heard half a second before: healthy
		{At: at(20), Host: "b", Epoch: 1, LastHeard: at(15)},   // silent for the dead timeout
		{At: at(20), Host: "c", Epoch: 1},                      // never heard
		{At: at(20), Host: "d", Epoch: 1, LastHeard: at(20)},   // the same instant as the deadline
		// Its agent was killed after its last heartbeat: not healthy,
		// whatever the dead timeout says.
		{At: at(20), Host: "e", Epoch: 1, LastHeard: at(17), AgentDied: at(17.2)},
	}
	v := CheckLosses(losses, dead, 10*time.Millisecond)
	require.Len(t, v, 1)
	require.Equal(t, "unjust-loss", v[0].Checker)
	require.Contains(t, v[0].Message, "declared a lost")
	// An agent that died and came back (its hello reached the manager) is
	// healthy again.
	v = CheckLosses([]Loss{{At: at(20), Host: "f", Epoch: 1, LastHeard: at(18), AgentDied: at(17)}}, dead, 10*time.Millisecond)
	require.Len(t, v, 1)
}

// Two hosts promoted at once, where promoted-max is one, is a violation
// even though a clone may run on both.
func TestSafetyTwoPromoted(t *testing.T) {
	s := NewSafety(map[string]int{"db": 3})
	s.SetPromotedLimit("db", 1)
	for _, h := range []string{"a", "b", "c"} {
		s.Observe(at(1), h, "db", true)
	}
	s.ObserveRole(at(2), "a", "db", true)
	s.ObserveRole(at(3), "a", "db", false) // demoted
	s.ObserveRole(at(3), "b", "db", true)  // then another promoted: fine
	require.Empty(t, s.Violations)
	s.ObserveRole(at(4), "c", "db", true)
	require.Len(t, s.Violations, 1)
	require.Contains(t, s.Violations[0].Message, "db promoted on 2 hosts at once (promoted-max 1): b (since 00:00:03.000), c (since 00:00:04.000)")
	require.Equal(t, []string{"b", "c"}, s.PromotedOn("db"))

	s2 := NewSafety(map[string]int{"db": 3})
	s2.SetPromotedLimit("db", 2)
	s2.Observe(at(1), "a", "db", true)
	s2.Observe(at(1), "b", "db", true)
	s2.ObserveRole(at(2), "a", "db", true)
	s2.ObserveRole(at(2), "b", "db", true)
	require.Empty(t, s2.Violations, "promoted-max 2")
}

// A promoted instance on a host fenced meanwhile is not promoted any more:
// its role ends with the instance, at the fence, and promoting another
// after that is no violation; promoting one before it is.
func TestSafetyPromotedEndsAtFence(t *testing.T) {
	s := NewSafety(map[string]int{"db": 2})
	s.SetPromotedLimit("db", 1)
	s.Observe(at(1), "a", "db", true)
	s.Observe(at(1), "b", "db", true)
	s.ObserveRole(at(2), "a", "db", true)
	s.Observe(at(5), "a", "db", false) // the fence powers a off
	s.ObserveRole(at(6), "b", "db", true)
	require.Empty(t, s.Violations)
	require.Equal(t, []string{"b"}, s.PromotedOn("db"))

	early := NewSafety(map[string]int{"db": 2})
	early.SetPromotedLimit("db", 1)
	early.Observe(at(1), "a", "db", true)
	early.Observe(at(1), "b", "db", true)
	early.ObserveRole(at(2), "a", "db", true)
	early.ObserveRole(at(4), "b", "db", true) // before the fence
	early.Observe(at(5), "a", "db", false)
	require.Len(t, early.Violations, 1, "promoted before the old primary's fence")
}

func TestPromotedLimits(t *testing.T) {
	m, err := model.Load("t.yaml", []byte(`
cluster: {name: t, fencing: false}
hosts: [{name: a, address: "127.0.0.1:1"}, {name: b, address: "127.0.0.1:2"}]
resources: [{id: db, agent: "ocf:heartbeat:Dummy"}, {id: web, agent: "ocf:heartbeat:Dummy"}]
groups:
  - {id: db, members: [{resource: db}], placement: {promotable: true, promoted-max: 2}}
  - {id: web, members: [{resource: web}]}
`))
	require.NoError(t, err)
	require.Equal(t, map[string]int{"db": 2}, PromotedLimits(m))
}

// TestOwnershipStepIsTheSetModel: the ownership model's step, which reads
// its state in place, agrees with the model written over a split and
// re-joined set (its earlier form) on every state of up to three hosts,
// every kind of operation, host and outcome.
func TestOwnershipStepIsTheSetModel(t *testing.T) {
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	join := func(hs []string) string { sort.Strings(hs); return strings.Join(hs, ",") }
	minus := func(set []string, h string) []string {
		var out []string
		for _, x := range set {
			if x != h {
				out = append(out, x)
			}
		}
		return out
	}
	reference := func(state string, in ownInput, out ownOutput) (bool, string) {
		set := split(state)
		switch in.kind {
		case "start":
			for _, h := range set {
				if h != in.host {
					return false, state
				}
			}
			return true, in.host
		case "stop":
			if out.known && out.rc == 0 {
				return true, join(minus(set, in.host))
			}
			return true, state
		case "monitor":
			if !out.known {
				return true, state
			}
			switch out.rc {
			case 0:
				return slices.Contains(set, in.host), state
			case 7:
				return true, join(minus(set, in.host))
			}
			return true, state
		case "fence":
			return true, join(minus(set, in.host))
		case "reload", "reload-agent":
			if out.known && out.rc == 0 {
				return slices.Contains(set, in.host), state
			}
			return true, state
		case "meta-data", "validate-all":
			return true, state
		}
		return false, state
	}
	hosts := []string{"a", "b", "c"}
	var states []string
	for mask := range 8 {
		var set []string
		for i, h := range hosts {
			if mask&(1<<i) != 0 {
				set = append(set, h)
			}
		}
		states = append(states, join(set))
	}
	steps := 0
	for _, state := range states {
		for _, kind := range []string{"start", "stop", "monitor", "fence", "reload", "reload-agent", "meta-data", "validate-all", "promote"} {
			for _, h := range append(hosts, "d") {
				for _, out := range []ownOutput{{}, {known: true}, {known: true, rc: 1}, {known: true, rc: 7}} {
					wantOK, want := reference(state, ownInput{kind, h}, out)
					ok, got := ownership.Step(state, ownInput{kind, h}, out)
					require.Equal(t, wantOK, ok, "%s on %s (%+v) from %q", kind, h, out, state)
					require.Equal(t, want, got, "%s on %s (%+v) from %q", kind, h, out, state)
					steps++
				}
			}
		}
	}
	require.Equal(t, 8*9*4*4, steps)
}
