package manager

import (
	"log/slog"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/planner"
)

// recordFailure records a failed operation of r on host as a fact for the
// planner: the fail count (a failed stop is not counted: the fence or the
// block answers it), whether the host is now banned for r (hard), and which
// operation failed, so that the planner applies that operation's on-fail
// policy and the group's recovery policy. The manager decides nothing here:
// restart, relocate, ban, fence, block, stop and standby are the planner's.
// A fatal error (rc 6: configured wrong everywhere) is recorded apart: the
// resource can run nowhere until a cleanup.
func (mg *Manager) recordFailure(now time.Time, r *model.Resource, host string, res lrm.Result, op planner.FailedOp, monitor int, hard bool) []effect.Effect {
	effs := []effect.Effect{mg.logRsc(slog.LevelWarn, r.ID, "operation failed", slog.String("host", host),
		slog.String("op", res.Key().String()), slog.String("result", describe(res)))}
	ignored := op == planner.FailedMonitor &&
		planner.OnFail(mg.m, r.ID, planner.Failure{Op: op, Monitor: monitor}) == model.OnFailIgnore
	if res.Outcome == ocf.FatalFailure && !ignored {
		// (A monitor whose on-fail is ignore is ignored whatever its rc,
		// rc 6 too: it is recorded as any failure, and the planner
		// ignores it.)
		mg.fatal[r.ID] = describe(res)
		return mg.appendEvent(effs, now, Event{Kind: "fatal", Resource: r.ID, Name: r.Name, Message: describe(res)})
	}
	if mg.failures[r.ID] == nil {
		mg.failures[r.ID] = map[string]planner.Failure{}
	}
	f := mg.failures[r.ID][host]
	if mg.expired(r.ID, f, now) {
		// The planner ignores an expired record; counting on from it
		// would make one new failure weigh as many (Pacemaker's
		// failure-timeout clears the fail count).
		f = planner.Failure{}
	}
	if op != planner.FailedStop {
		f.Count++
		f.Hard = f.Hard || hard || res.Outcome == ocf.HardFailure
	}
	f.Last, f.Op, f.Monitor = now, op, monitor
	mg.failures[r.ID][host] = f
	return mg.appendEvent(effs, now, Event{Kind: "failure", Host: host, Resource: r.ID, Name: r.Name,
		Count: f.Count, Flag: f.Hard, Op: string(op), Monitor: monitor, Message: res.Key().String() + ": " + describe(res)})
}

// expired: the failure record has outlived its group's failure-timeout.
func (mg *Manager) expired(rsc string, f planner.Failure, now time.Time) bool {
	gid, ok := mg.m.GroupOf(rsc)
	if !ok || f.Last.IsZero() {
		return false
	}
	g, _ := mg.m.Group(gid)
	return g.Placement.FailureTimeout > 0 && now.Sub(f.Last) >= g.Placement.FailureTimeout
}
