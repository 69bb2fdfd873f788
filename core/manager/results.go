package manager

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

// opResult handles a resource operation's result.
func (mg *Manager) opResult(now time.Time, m proto.OpResult) []effect.Effect {
	p, ok := mg.ops[m.Op]
	if !ok {
		return mg.unsolicited(now, m)
	}
	r, known := mg.m.Resource(p.resource)
	if !known || p.host != m.Host || (m.Result.Resource != "" && m.Result.Resource != p.resource) {
		return []effect.Effect{effect.Log{Level: slog.LevelWarn, Msg: "result does not match the command it names: dropped",
			Attrs: []slog.Attr{slog.String("host", m.Host), slog.Uint64("op", uint64(m.Op)), slog.String("resource", m.Result.Resource)}}}
	}
	res := m.Result
	first := !p.answered
	effs := mg.retire(m.Op, p, res)
	if res.Status == lrm.Cancelled {
		return effs
	}
	okOutcome := !res.Failed()
	switch {
	case p.cleanedUp && res.Failed() && res.Action != ocf.Stop:
		effs = append(effs, mg.acrossCleanup(r, p, res)...)
	case p.action.Kind == planner.Probe || (!p.recurring && res.Action == ocf.Monitor):
		effs = append(effs, mg.probed(now, r, p.host, res)...)
		okOutcome = true // a probe that answers has done its job
	case res.Action == ocf.Start:
		effs = append(effs, mg.startResult(now, r, p.host, res)...)
	case res.Action == ocf.Stop:
		effs = append(effs, mg.stopResult(now, r, p.host, res)...)
	case res.Action == ocf.Monitor && p.recurring:
		effs = append(effs, mg.monitored(now, r, p, res, first)...)
		okOutcome = okOutcome || !first
	}
	if first || !p.recurring {
		mg.actionDone(p, okOutcome)
		if p.recurring {
			p.answered = true
		}
	}
	mg.wake()
	return effs
}

// acrossCleanup: a probe or start failed, but a cleanup of its resource
// came while it ran. The operator wiped the resource's failures up to then,
// and this one belongs to that past (its cause, a wrong configuration, a
// missing binary, was what the cleanup said is fixed): recorded, a fatal
// rc 6 would leave the resource down for good, as if the cleanup had never
// come. It is not a fact for the planner; what the operation left on the
// host is probed again instead. A stop is not excused: a failed stop leaves
// a resource that only a fence makes certainly stopped.
func (mg *Manager) acrossCleanup(r *model.Resource, p *pendingOp, res lrm.Result) []effect.Effect {
	delete(mg.observed[r.ID], p.host)
	mg.markStale()
	return []effect.Effect{mg.logRsc(slog.LevelWarn, r.ID, "operation failed across a cleanup: not counted, probed again",
		slog.String("host", p.host), slog.String("op", res.Key().String()), slog.String("result", describe(res)))}
}

// retire takes a command off the books once its result is in: one-shot
// commands (and cancelled monitors) entirely, a monitor setup's timer at
// its first result.
func (mg *Manager) retire(op proto.OpID, p *pendingOp, res lrm.Result) []effect.Effect {
	var effs []effect.Effect
	if !p.recurring || res.Status == lrm.Cancelled {
		delete(mg.ops, op)
		if p.timer != 0 {
			effs = append(effs, mg.cancelTimer(p.timer))
			p.timer = 0
		}
	} else if !p.answered && p.timer != 0 {
		effs = append(effs, mg.cancelTimer(p.timer))
		p.timer = 0
	}
	return effs
}

// probed records what a probe (a one-shot monitor) found.
func (mg *Manager) probed(now time.Time, r *model.Resource, host string, res lrm.Result) []effect.Effect {
	obs := mg.observed[r.ID]
	switch res.Outcome {
	case ocf.Stopped:
		obs[host] = planner.Observed{State: planner.Stopped}
		if res.RC == ocf.ErrInstalled || res.Status == lrm.NotInstalled {
			// Not running here because it cannot run here.
			return mg.recordFailure(now, r, host, res, planner.FailedProbe, 0, true)
		}
	case ocf.Success, ocf.Promoted, ocf.DegradedRunning:
		obs[host] = planner.Observed{State: planner.Running}
	default:
		obs[host] = planner.Observed{State: planner.Failed}
		return mg.recordFailure(now, r, host, res, planner.FailedProbe, 0, false)
	}
	return nil
}

// startResult records a start's result.
func (mg *Manager) startResult(now time.Time, r *model.Resource, host string, res lrm.Result) []effect.Effect {
	if !res.Failed() {
		mg.observed[r.ID][host] = planner.Observed{State: planner.Running}
		return mg.event(now, Event{Kind: "started", Host: host, Resource: r.ID, Name: r.Name})
	}
	mg.observed[r.ID][host] = planner.Observed{State: planner.Failed}
	// Start failure is fatal on that host (Pacemaker's default).
	return mg.recordFailure(now, r, host, res, planner.FailedStart, 0, true)
}

// stopResult records a stop's result. A failed stop leaves the resource in an
// unknown state that only a fence ends (or an administrator, when its
// policy blocks: the planner decides which).
func (mg *Manager) stopResult(now time.Time, r *model.Resource, host string, res lrm.Result) []effect.Effect {
	if !res.Failed() {
		mg.observed[r.ID][host] = planner.Observed{State: planner.Stopped}
		return mg.event(now, Event{Kind: "stopped", Host: host, Resource: r.ID, Name: r.Name})
	}
	mg.observed[r.ID][host] = planner.Observed{State: planner.StopFailed}
	effs := mg.event(now, Event{Kind: "stop-failed", Host: host, Resource: r.ID, Name: r.Name, Message: describe(res)})
	return append(effs, mg.recordFailure(now, r, host, res, planner.FailedStop, 0, false)...)
}

// monitored records a recurring monitor's report.
func (mg *Manager) monitored(now time.Time, r *model.Resource, p *pendingOp, res lrm.Result, first bool) []effect.Effect {
	obs := mg.observed[r.ID]
	if !res.Failed() {
		if o := obs[p.host]; o.State == planner.Running || o.State == "" || first {
			obs[p.host] = planner.Observed{State: planner.Running, Monitored: true}
		}
		return nil
	}
	obs[p.host] = planner.Observed{State: planner.Failed}
	mg.markStale()
	return mg.recordFailure(now, r, p.host, res, planner.FailedMonitor, p.monitor, false)
}

// unsolicited takes in a probe a restarted agent ran on its own (Op 0): a
// fresh observation is welcome, as long as no command of ours about that
// resource on that host is in flight (its result decides then). Any other
// result for an op the manager does not know (a stale or repeated one) is
// dropped.
func (mg *Manager) unsolicited(now time.Time, m proto.OpResult) []effect.Effect {
	res := m.Result
	if m.Op != 0 || res.Action != ocf.Monitor || res.Interval != 0 {
		return nil
	}
	if _, ok := mg.m.Resource(res.Resource); !ok {
		return nil
	}
	if _, ok := mg.hosts[m.Host]; !ok {
		return nil
	}
	for _, p := range mg.ops {
		if p.resource == res.Resource && p.host == m.Host {
			return nil
		}
	}
	if _, known := mg.observed[res.Resource][m.Host]; known {
		return nil // ours is as fresh: the manager probed after the hello
	}
	switch res.Outcome {
	case ocf.Stopped:
		mg.observed[res.Resource][m.Host] = planner.Observed{State: planner.Stopped}
	case ocf.Success, ocf.Promoted, ocf.DegradedRunning:
		mg.observed[res.Resource][m.Host] = planner.Observed{State: planner.Running}
	default:
		return nil // let the manager's own probe judge a failure
	}
	mg.markStale()
	return nil
}

func describe(res lrm.Result) string {
	s := fmt.Sprintf("%s %s (rc %d)", res.Status, res.RC, int(res.RC))
	if res.ExitReason != "" {
		s += ": " + res.ExitReason
	}
	return s
}
