package manager

import (
	"log/slog"
	"slices"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/planner"
)

// transition is the planner's transition as the manager carries it out.
// Beside each action's state it keeps what reconcile asks after every
// result (how many run, how many have not ended, which wait with every
// dependency met), so that a result costs O(its dependents), not a walk
// over a transition that probes every resource on every host.
type transition struct {
	actions []planner.Action
	state   []actionState
	// stale: the world changed under it; nothing more is dispatched, and
	// the manager plans again once what is in flight has ended.
	stale bool

	running, open int   // actions running; actions waiting or running
	unmet         []int // per action, its dependencies not succeeded
	// deps[depFrom[i]:depFrom[i+1]] are the actions that depend on
	// action i, ascending: one array, where a list per action cost an
	// allocation per dependency.
	depFrom, deps []int
	// candidates are the waiting actions whose dependencies all
	// succeeded, ascending: those reconcile may dispatch. An action leaves
	// them lazily (isCandidate false, compacted once they are half
	// dropped): a boot transition dispatches a whole host's probes from
	// the front, and deleting each there moved the rest.
	candidates  []int
	isCandidate []bool
	dropped     int
}

// newTransition is a planned transition, nothing dispatched yet. Its
// lists of numbers share one array: the candidates never hold an action
// twice, so n places are all they need.
func newTransition(actions []planner.Action) *transition {
	n, edges := len(actions), 0
	for _, a := range actions {
		edges += len(a.After)
	}
	ints := make([]int, 3*n+1+edges)
	t := &transition{actions: actions, state: make([]actionState, n), open: n, isCandidate: make([]bool, n),
		unmet: ints[:n:n], depFrom: ints[n : 2*n+1 : 2*n+1], candidates: ints[2*n+1 : 2*n+1 : 3*n+1], deps: ints[3*n+1:]}
	for _, a := range actions {
		for _, d := range a.After {
			t.depFrom[d+1]++
		}
	}
	for i := range n {
		t.depFrom[i+1] += t.depFrom[i]
	}
	fill := t.unmet // counts each action's dependents placed, then its unmet
	for i, a := range actions {
		for _, d := range a.After {
			t.deps[t.depFrom[d]+fill[d]] = i
			fill[d]++
		}
	}
	for i, a := range actions {
		t.unmet[i] = len(a.After)
		if t.unmet[i] == 0 {
			t.candidates, t.isCandidate[i] = append(t.candidates, i), true
		}
	}
	return t
}

// dependents are the actions that depend on action i, ascending.
func (t *transition) dependents(i int) []int { return t.deps[t.depFrom[i]:t.depFrom[i+1]] }

// nextCandidate is the first candidate after index after, -1 when none.
func (t *transition) nextCandidate(after int) int {
	k, _ := slices.BinarySearch(t.candidates, after+1)
	for k < len(t.candidates) && !t.isCandidate[t.candidates[k]] {
		k++
	}
	if k == len(t.candidates) {
		return -1
	}
	return t.candidates[k]
}

// drop takes a waiting action out of the candidates.
func (t *transition) drop(i int) {
	if !t.isCandidate[i] {
		return
	}
	t.isCandidate[i] = false
	if t.dropped++; t.dropped > 64 && 2*t.dropped > len(t.candidates) {
		t.candidates = slices.DeleteFunc(t.candidates, func(j int) bool { return !t.isCandidate[j] })
		t.dropped = 0
	}
}

// actionState is where one action of a transition is. It only moves
// forward: waiting, running, then succeeded or failed.
type actionState int

const (
	waiting actionState = iota
	running
	succeeded
	failed
)

// String names the state, as assertion messages print it.
func (s actionState) String() string {
	return [...]string{"waiting", "running", "succeeded", "failed"}[s]
}

// set moves action i forward.
func (t *transition) set(i int, to actionState) {
	from := t.state[i]
	if from >= succeeded || to <= from {
		broken("action %d (%s) moves from %s to %s", i, t.actions[i], from, to)
	}
	t.state[i] = to
	if from == waiting {
		t.drop(i)
	}
	if from == running {
		t.running--
	}
	switch to {
	case running:
		t.running++
	case succeeded:
		t.open--
		for _, j := range t.dependents(i) {
			if t.unmet[j]--; t.unmet[j] == 0 && t.state[j] == waiting {
				k, _ := slices.BinarySearch(t.candidates, j)
				t.candidates, t.isCandidate[j] = slices.Insert(t.candidates, k, j), true
			}
		}
	case failed:
		t.open--
	}
}

func (t *transition) finished() bool { return t.open == 0 }

// ActionProgress is one action of the transition the manager carries
// out, and how far it got.
type ActionProgress struct {
	Action planner.Action
	// State is "waiting", "running", "succeeded" or "failed".
	State string
}

// TransitionNumber is the number of the latest transition planned: each
// gets the next one, from 1 (0: none yet).
func (mg *Manager) TransitionNumber() int { return mg.transSeq }

// Transition is how far transition number n got, while the manager still
// holds it: the latest one and the one before, finished or not. A driver
// that shows the manager's decisions step by step (basalt simulate) reads
// it after every input, so that it sees each action dispatched and ended,
// even the last one of a transition that a new one replaced in the same
// input.
func (mg *Manager) Transition(n int) ([]ActionProgress, bool) {
	var t *transition
	switch n {
	case mg.transSeq:
		t = mg.recent[0]
	case mg.transSeq - 1:
		t = mg.recent[1]
	}
	if n <= 0 || t == nil {
		return nil, false
	}
	out := make([]ActionProgress, len(t.actions))
	for i, a := range t.actions {
		out[i] = ActionProgress{Action: a, State: t.state[i].String()}
	}
	return out, true
}

// markStale says the world changed under the current transition: no new
// action of it is dispatched, and the manager plans again once those in
// flight end. It also asks for a reconciliation at the end of the input.
func (mg *Manager) markStale() {
	if mg.trans != nil {
		mg.trans.stale = true
	}
	mg.wake()
}

// planInput builds the planner's view.
func (mg *Manager) planInput(now time.Time) planner.Input {
	in := planner.Input{Model: mg.m, Now: now, Observed: mg.observed.byRsc, Notable: mg.observed.notable, Failures: mg.failures, Fatal: mg.fatal, Constraints: mg.cons}
	for _, h := range mg.m.Hosts {
		hi := mg.hosts[h.Name]
		in.Hosts = append(in.Hosts, planner.Host{Name: h.Name, State: hi.state, Standby: hi.standby,
			Fencing: hi.fence.active || hi.fence.retryTimer != 0})
	}
	in.Attributes = mg.effectiveAttrs()
	return in
}

// reconcile plans when nothing is in flight, and dispatches every action
// whose dependencies are met. Only settle calls it, once per round.
func (mg *Manager) reconcile(now time.Time) []effect.Effect {
	if mg.deposed {
		return nil
	}
	if mg.reconciling {
		broken("reconcile re-entered")
	}
	mg.reconciling = true
	defer func() { mg.reconciling = false }()
	var effs []effect.Effect
	if mg.trans != nil && mg.inFlight() == 0 && (mg.trans.stale || mg.trans.finished()) {
		mg.trans = nil
	}
	if mg.trans == nil {
		var t planner.Transition
		effs, t = mg.plan(now)
		if t.Empty() {
			return effs
		}
		mg.trans = newTransition(t.Actions)
		mg.transSeq++
		mg.recent = [2]*transition{mg.trans, mg.recent[0]}
		mg.fenceAct = map[string]int{}
	}
	// The candidates in ascending order, as a walk over every action
	// would meet them; one that an action ending at once makes a
	// candidate is met if it comes later, as in that walk.
	for i := mg.trans.nextCandidate(-1); i >= 0; i = mg.trans.nextCandidate(i) {
		if mg.trans.stale {
			break // an action ended at once and changed the world
		}
		if a := mg.trans.actions[i]; mg.ready(a) {
			effs = mg.dispatch(effs, now, a)
		}
	}
	// Everything left waits for something that failed or cannot run yet
	// (a pending host's fence, a fence in backoff): plan again when the
	// world changes, not now.
	return effs
}

// plan asks the planner for the next transition, closes the reports it
// shows done, and sets the timer of the next time-bound change.
func (mg *Manager) plan(now time.Time) ([]effect.Effect, planner.Transition) {
	pruned := mg.pruneOrphans(now)
	in := mg.planInput(now)
	t := planner.Plan(in)
	mg.lastPlan, mg.planned = t, true
	effs := append(pruned, mg.recordFound(now, t)...)
	effs = append(effs, mg.closeReports(now, t)...)
	if exp := planner.Expiry(in); !exp.IsZero() {
		if mg.expiry != 0 {
			effs = append(effs, mg.cancelTimer(mg.expiry))
		}
		mg.expiry = mg.newTimer(timerUse{kind: expiryTimer})
		effs = append(effs, mg.batches.SetTimer(effect.SetTimer{ID: mg.expiry, At: exp}))
	}
	return effs, t
}

func (mg *Manager) inFlight() int {
	if mg.trans == nil {
		return 0
	}
	return mg.trans.running
}

func (mg *Manager) ready(a planner.Action) bool {
	for _, d := range a.After {
		if mg.trans.state[d] != succeeded {
			return false
		}
	}
	if a.Kind == planner.Fence && mg.fenceHeld(a.Host) != "" {
		return false // a pending host gets its dead timeout; a failed fence its backoff
	}
	if a.Resource != "" && mg.oneShotInFlight(a.Resource, a.Host) {
		// One command on an instance at a time: a notification runs
		// beside the monitors and role changes planned after the same
		// action, and whichever comes second waits for the first.
		return false
	}
	if a.Kind == planner.Start && len(mg.newer) > 0 {
		// A host says a newer manager exists: until a majority says so
		// (deposed) or the report is withdrawn, this manager starts
		// nothing. The newer one may run the resource elsewhere, and a
		// host that has not heard of it (one that rebooted meanwhile)
		// would obey this one's start: active on two hosts (seed
		// 934805). Stops and probes go on: they never add activity.
		return false
	}
	return true
}

// dispatch carries out one action, its effects appended to effs: a
// transition dispatches many, and a batch of each's own, copied into the
// round's, was one of the manager's most frequent allocations.
func (mg *Manager) dispatch(effs []effect.Effect, now time.Time, a planner.Action) []effect.Effect {
	mg.trans.set(a.ID, running)
	if a.Kind == planner.Fence {
		hi := mg.hosts[a.Host]
		mg.fenceAct[a.Host] = a.ID
		if hi.fence.active {
			return effs // the request in progress serves this action too
		}
		return append(effs, mg.requestFence(now, hi, a.Reason, "manager")...)
	}
	r, _ := mg.m.Resource(a.Resource)
	if a.Kind == planner.Notify {
		if hi := mg.hosts[a.Host]; hi == nil || !hi.meta {
			// An agent older than notifications would refuse the
			// command's fields: its instance is not told, and nothing
			// waits for it.
			mg.trans.set(a.ID, succeeded)
			return append(effs, mg.logRsc(slog.LevelWarn, r.ID, "notification skipped: the host's agent does not take notifications",
				slog.String("host", a.Host), slog.String("notify", a.Notify.Type+"-"+string(a.Notify.Operation))))
		}
	}
	return mg.sendExec(effs, now, a, r, request(a, r))
}

// oneShotInFlight: a one-shot command on rsc's instance on host (a probe,
// start, stop, role change, reload or notification) awaits its result.
func (mg *Manager) oneShotInFlight(rsc, host string) bool {
	for _, id := range mg.ops.pair(rsc, host) {
		if p, ok := mg.ops.get(id); ok && p.oneShot() {
			return true
		}
	}
	return false
}

// actionDone records the end of a transition action.
func (mg *Manager) actionDone(p *pendingOp, ok bool) {
	if mg.trans == nil || p.action.Kind == "" {
		return
	}
	if p.action.ID < len(mg.trans.state) && mg.trans.actions[p.action.ID].Kind == p.action.Kind && mg.trans.state[p.action.ID] == running {
		if ok {
			mg.trans.set(p.action.ID, succeeded)
		} else {
			mg.trans.set(p.action.ID, failed)
			mg.trans.stale = true
		}
	}
}
