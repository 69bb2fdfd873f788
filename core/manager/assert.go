package manager

import (
	"github.com/basalt-ha/basalt/core/invariant"
	"github.com/basalt-ha/basalt/core/proto"
)

// The invariants the manager maintains itself. A broken one panics with an
// invariant.Error: it is a bug in the manager, never the fault of its input.
// Each is checked as "if !cond { broken(...) }", so that its message's
// values are boxed only when it breaks: an assertion function taking them
// boxed them on every call, an allocation per action state change, per
// timer set and per command sent.

// broken panics: the invariant its caller checked does not hold.
func broken(format string, args ...any) { invariant.Fail("manager", format, args...) }

// setEpoch: the epoch only grows.
func (mg *Manager) setEpoch(e proto.Epoch) {
	if e <= mg.epoch {
		broken("epoch moves from %d to %d", mg.epoch, e)
	}
	mg.epoch = e
}

// assertOneInFlight: a resource has at most one one-shot command (probe,
// start, stop) in flight on a host, and no monitor is set up while one is:
// the LRM would run them in order, but the manager would no longer know
// which result describes the resource.
func (mg *Manager) assertOneInFlight(rsc, host string) {
	for _, id := range mg.ops.pair(rsc, host) {
		p, ok := mg.ops.get(id)
		if !ok {
			continue
		}
		if p.oneShot() {
			broken("op %d (%s) for %s on %s is still in flight when another is sent", id, p.action.Kind, rsc, host)
		}
	}
}
