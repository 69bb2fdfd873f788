package manager

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/planner"
)

// TestTransitionBookkeepingAgreesWithAWalk: on random transitions (each
// action after some earlier ones) carried out in random order, the
// counts and candidates the transition keeps are what a walk over every
// action finds: how many run, whether all ended, and which wait with every
// dependency succeeded, in action order.
func TestTransitionBookkeepingAgreesWithAWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 200 {
		n := 1 + rng.IntN(300)
		actions := make([]planner.Action, n)
		for i := range actions {
			actions[i] = planner.Action{ID: i, Kind: planner.Probe}
			for d := range i {
				if rng.IntN(6) == 0 {
					actions[i].After = append(actions[i].After, d)
				}
			}
		}
		tr := newTransition(actions)
		walk := func() (inFlight int, finished bool, candidates []int) {
			finished = true
			for i, s := range tr.state {
				if s == running {
					inFlight++
				}
				finished = finished && s != waiting && s != running
				met := s == waiting
				for _, d := range actions[i].After {
					met = met && tr.state[d] == succeeded
				}
				if met {
					candidates = append(candidates, i)
				}
			}
			return inFlight, finished, candidates
		}
		for step := 0; ; step++ {
			run, fin, cands := walk()
			require.Equal(t, run, tr.running, "round %d step %d", round, step)
			require.Equal(t, fin, tr.finished(), "round %d step %d", round, step)
			require.Equal(t, cands, tr.liveCandidates(), "round %d step %d", round, step)
			first := -1
			if len(cands) > 0 {
				first = cands[0]
			}
			require.Equal(t, first, tr.nextCandidate(-1), "round %d step %d", round, step)
			var movable []int
			for i, s := range tr.state {
				if s == running || s == waiting && rng.IntN(4) == 0 {
					movable = append(movable, i)
				}
			}
			if fin || len(movable) == 0 && len(cands) == 0 {
				break
			}
			if len(cands) > 0 && rng.IntN(2) == 0 {
				tr.set(cands[rng.IntN(len(cands))], running)
			} else if len(movable) > 0 {
				i := movable[rng.IntN(len(movable))]
				tr.set(i, []actionState{succeeded, succeeded, succeeded, failed}[rng.IntN(4)])
			}
		}
	}
}

// liveCandidates is a transition's the candidates without those dropped.
func (t *transition) liveCandidates() []int {
	var out []int
	for _, i := range t.candidates {
		if t.isCandidate[i] {
			out = append(out, i)
		}
	}
	return out
}
