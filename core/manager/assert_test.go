package manager

import (
	"testing"

	"github.com/basalt-ha/basalt/core/invariant"
	"github.com/basalt-ha/basalt/core/planner"
)

// TestBrokenInvariantPanicsWithItsType: the manager's own invariants stop
// it with an invariant.Error, which drivers recognise.
func TestBrokenInvariantPanicsWithItsType(t *testing.T) {
	caught := func(fn func()) (e invariant.Error, ok bool) {
		defer func() { e, ok = invariant.Recovered(recover()) }()
		fn()
		return
	}
	tr := &transition{actions: []planner.Action{{ID: 0, Kind: planner.Start, Resource: "r", Host: "h"}}, state: []actionState{succeeded}}
	e, ok := caught(func() { tr.set(0, running) })
	if !ok || e.Machine != "manager" || e.Message != "action 0 (0: start r on h) moves from succeeded to running" {
		t.Fatalf("backward action state: got %#v, %t", e, ok)
	}
	mg := &Manager{epoch: 4}
	if e, ok := caught(func() { mg.setEpoch(3) }); !ok || e.Message != "epoch moves from 4 to 3" {
		t.Fatalf("epoch going back: got %#v, %t", e, ok)
	}
	mg.ops = newOpTable()
	mg.ops.put(7, &pendingOp{resource: "r", host: "h"})
	if _, ok := caught(func() { mg.assertOneInFlight("r", "h") }); !ok {
		t.Fatal("a second one-shot command for r on h was not caught")
	}
}
