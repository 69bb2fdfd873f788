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

// opResult handles a resource operation's result, its effects appended
// to effs.
func (mg *Manager) opResult(effs []effect.Effect, now time.Time, m proto.OpResult) []effect.Effect {
	p, ok := mg.ops.get(m.Op)
	if !ok {
		return append(effs, mg.unsolicited(now, m)...)
	}
	r, known := mg.m.Resource(p.resource)
	if !known || p.host != m.Host || (m.Result.Resource != "" && m.Result.Resource != p.resource) {
		return append(effs, effect.Log{Level: slog.LevelWarn, Msg: "result does not match the command it names: dropped",
			Attrs: []slog.Attr{slog.String("host", m.Host), slog.Uint64("op", uint64(m.Op)), slog.String("resource", m.Result.Resource)}})
	}
	res := m.Result
	first := !p.answered
	effs = mg.retire(effs, m.Op, p, res)
	if res.Status == lrm.Cancelled {
		mg.setupCancelled(p)
		return effs
	}
	okOutcome := !mg.failed(r, p, res)
	switch {
	case p.cleanedUp && res.Failed() && res.Action != ocf.Stop:
		effs = append(effs, mg.acrossCleanup(r, p, res)...)
	case p.action.Kind == planner.Notify || res.Action == ocf.Notify:
		effs = append(effs, mg.notified(now, r, p, res)...)
		okOutcome = true // a notification never fails its resource
	case p.action.Kind == planner.Probe || (!p.recurring && res.Action == ocf.Monitor):
		effs = append(effs, mg.probed(now, r, p.host, res)...)
		okOutcome = true // a probe that answers has done its job
	case res.Action == ocf.Start:
		effs = append(effs, mg.startResult(now, r, p.host, res)...)
	case res.Action == ocf.Stop:
		effs = append(effs, mg.stopResult(now, r, p.host, res)...)
	case res.Action == ocf.Reload || res.Action == ocf.ReloadAgent:
		effs = append(effs, mg.reloadResult(now, r, p.host, res)...)
	case res.Action == ocf.Promote || res.Action == ocf.Demote:
		effs = append(effs, mg.roleResult(now, r, p.host, res)...)
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

// notified records a notification's result. A failed one is logged and an
// event (notify-failed), never a failure of its resource: Pacemaker
// ignores notify failures by default, and an agent that does not
// implement notify (rc 3) is common.
func (mg *Manager) notified(now time.Time, r *model.Resource, p *pendingOp, res lrm.Result) []effect.Effect {
	what := "notify"
	if n := p.action.Notify; n != nil {
		what = n.Type + "-" + string(n.Operation)
	}
	if !res.Failed() {
		if !mg.logs(slog.LevelDebug) {
			return nil
		}
		return []effect.Effect{mg.logRsc(slog.LevelDebug, r.ID, "notified", slog.String("host", p.host), slog.String("notify", what))}
	}
	effs := []effect.Effect{mg.logRsc(slog.LevelWarn, r.ID, "notification failed: ignored", slog.String("host", p.host),
		slog.String("notify", what), slog.String("result", describe(res)))}
	return mg.appendEvent(effs, now, Event{Kind: "notify-failed", Host: p.host, Resource: r.ID, Name: r.Name,
		Message: what + ": " + describe(res)})
}

// setupCancelled: the agent cancelled a monitor whose setup this manager
// still awaits. The manager forgets the monitors it cancels before it
// sends the cancel, so this cancel was meant for an earlier setup of the
// same monitor and ended this one instead: a network that delivers a copy
// of the new setup ahead of the cancel (seeds 3249 and 3353: a
// configuration change cancels a changed monitor and sets it up again at
// once). A current agent refuses such a cancel, since it names its setup
// (cancelMonitors); this is the defence where it cannot: an agent older
// than setup-named cancels, and the cancels that go by key on purpose (a
// cleanup's, cancelAllMonitors, which end whoever set a monitor up). The
// setup fails its action, or the transition would wait for a first result
// that never comes, and the planner sets the monitor up once more.
func (mg *Manager) setupCancelled(p *pendingOp) {
	if !p.recurring || p.answered {
		return
	}
	if o, ok := mg.observed.get(p.resource, p.host); ok {
		o.Monitored = false
		mg.observed.set(p.resource, p.host, o)
	}
	mg.actionDone(p, false)
	mg.wake()
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
	mg.observed.forget(r.ID, p.host)
	mg.markStale()
	return []effect.Effect{mg.logRsc(slog.LevelWarn, r.ID, "operation failed across a cleanup: not counted, probed again",
		slog.String("host", p.host), slog.String("op", res.Key().String()), slog.String("result", describe(res)))}
}

// retire takes a command off the books once its result is in: one-shot
// commands (and cancelled monitors) entirely, a monitor setup's timer at
// its first result. Its effects are appended to effs.
func (mg *Manager) retire(effs []effect.Effect, op proto.OpID, p *pendingOp, res lrm.Result) []effect.Effect {
	if !p.recurring || res.Status == lrm.Cancelled {
		mg.ops.remove(op)
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
	switch res.Outcome {
	case ocf.Stopped:
		mg.observed.set(r.ID, host, planner.Observed{State: planner.Stopped})
		effs := mg.cancelMonitors(r.ID, host) // nothing left there to watch
		if res.RC == ocf.ErrInstalled || res.Status == lrm.NotInstalled {
			// Not running here because it cannot run here.
			return append(effs, mg.recordFailure(now, r, host, res, planner.FailedProbe, 0, true)...)
		}
		return effs
	case ocf.Success, ocf.Promoted, ocf.DegradedRunning:
		mg.observed.set(r.ID, host, mg.runningAs(r, res, false))
	default:
		mg.observed.set(r.ID, host, planner.Observed{State: planner.Failed, Promoted: mg.promotedRC(r, res)})
		return mg.recordFailure(now, r, host, res, planner.FailedProbe, 0, false)
	}
	return nil
}

// startResult records a start's result.
func (mg *Manager) startResult(now time.Time, r *model.Resource, host string, res lrm.Result) []effect.Effect {
	delete(mg.lostStops, rscHost{r.ID, host}) // the host's LRM answers
	if !res.Failed() {
		mg.observed.set(r.ID, host, mg.runningAs(r, res, false))
		return mg.event(now, Event{Kind: "started", Host: host, Resource: r.ID, Name: r.Name})
	}
	mg.observed.set(r.ID, host, planner.Observed{State: planner.Failed, Promoted: mg.promotedRC(r, res)})
	// Start failure is fatal on that host (Pacemaker's default).
	return mg.recordFailure(now, r, host, res, planner.FailedStart, 0, true)
}

// runningAs is what a result that found its resource running says of it:
// the definition it runs with and how that one reloads, and for a
// promotable clone's instance its role.
func (mg *Manager) runningAs(r *model.Resource, res lrm.Result, monitored bool) planner.Observed {
	return planner.Observed{State: planner.Running, Monitored: monitored, Digest: res.Digest,
		ReloadAction: res.ReloadAction, ForceRestart: res.ForceRestart, RestartDigest: res.RestartDigest,
		Promoted: mg.promotedRC(r, res)}
}

// promotable reports whether rsc belongs to a promotable clone: only
// there do roles mean anything (an agent answering 8 elsewhere is just
// running, as before).
func (mg *Manager) promotable(rsc string) bool {
	gid, ok := mg.m.GroupOf(rsc)
	if !ok {
		return false
	}
	g, ok := mg.m.Group(gid)
	return ok && g.Placement.Clone.Promotable
}

// promotedRC: res says r's instance is in the promoted role (8, 9, 191).
func (mg *Manager) promotedRC(r *model.Resource, res lrm.Result) bool {
	return mg.promotable(r.ID) && ocf.PromotedRC(res.RC)
}

// failed judges a result: as the LRM classified it, and for a promotable
// clone's recurring monitor, promote or demote against the role expected
// (ocf.RoleOutcome).
func (mg *Manager) failed(r *model.Resource, p *pendingOp, res lrm.Result) bool {
	if res.Failed() || !mg.promotable(r.ID) {
		return res.Failed()
	}
	switch {
	case res.Action == ocf.Promote || res.Action == ocf.Demote:
		return ocf.RoleOutcome(res.Action, res.RC, res.Outcome, res.Action == ocf.Promote).Failed()
	case res.Action == ocf.Monitor && p.recurring && p.monitor < len(r.Monitors):
		return ocf.RoleOutcome(ocf.Monitor, res.RC, res.Outcome, r.Monitors[p.monitor].ForPromoted()).Failed()
	}
	return false
}

// roleResult records a promote's or a demote's result. Done, the instance
// holds its new role, and the monitors of the other role are cancelled
// (the planner set up the new role's after the action). Failed, it may be
// in either role: it counts as promoted, and is recovered by a stop and a
// start (never a demote: a stop ends any role).
func (mg *Manager) roleResult(now time.Time, r *model.Resource, host string, res lrm.Result) []effect.Effect {
	promote := res.Action == ocf.Promote
	was, _ := mg.observed.get(r.ID, host)
	if !ocf.RoleOutcome(res.Action, res.RC, res.Outcome, promote).Failed() {
		ob := was
		ob.State, ob.Promoted = planner.Running, promote
		mg.observed.set(r.ID, host, ob)
		effs := mg.cancelRoleMonitors(r, host, promote)
		kind := "demoted"
		if promote {
			kind = "promoted"
		}
		return mg.appendEvent(effs, now, Event{Kind: kind, Host: host, Resource: r.ID, Name: r.Name})
	}
	mg.observed.set(r.ID, host, planner.Observed{State: planner.Failed, Promoted: true, Digest: was.Digest})
	op, kind := planner.FailedDemote, "demote-failed"
	if promote {
		op, kind = planner.FailedPromote, "promote-failed"
	}
	effs := mg.event(now, Event{Kind: kind, Host: host, Resource: r.ID, Name: r.Name, Message: describe(res)})
	return append(effs, mg.recordFailure(now, r, host, res, op, 0, false)...)
}

// cancelRoleMonitors cancels r's recurring monitors on host that watch
// the role other than the one it now holds.
func (mg *Manager) cancelRoleMonitors(r *model.Resource, host string, promoted bool) []effect.Effect {
	var effs []effect.Effect
	for _, id := range mg.ops.of(r.ID, host) {
		p, ok := mg.ops.get(id)
		if !ok || !p.recurring || p.monitor >= len(r.Monitors) || r.Monitors[p.monitor].ForPromoted() == promoted {
			continue
		}
		mg.ops.remove(id)
		if p.timer != 0 {
			effs = append(effs, mg.cancelTimer(p.timer))
		}
		if !p.answered {
			mg.actionDone(p, false)
		}
		effs = append(effs, mg.batches.Send(effect.Send{To: p.host, Conn: mg.connTo(p.host),
			Msg: proto.Cancel{Epoch: mg.epoch, Op: mg.op(), Resource: r.ID, Key: request(p.action, r).Key()}}))
	}
	if o, ok := mg.observed.get(r.ID, host); ok && len(effs) > 0 {
		o.Monitored = false // until the new role's monitors answer
		mg.observed.set(r.ID, host, o)
	}
	return effs
}

// reloadResult records a reload's result. A reload that succeeded leaves
// the resource running with the new definition, monitored as before (the
// agent's recurring monitors run with the definition it holds, the new
// one from now on). One that failed leaves it failed, as a failed
// monitor would: the resource is recovered by a stop and a start, and the
// failure counts, as Pacemaker treats a failed reload.
func (mg *Manager) reloadResult(now time.Time, r *model.Resource, host string, res lrm.Result) []effect.Effect {
	was, _ := mg.observed.get(r.ID, host)
	if !res.Failed() {
		ob := mg.runningAs(r, res, was.Monitored)
		ob.Promoted = was.Promoted // a reload changes no role
		mg.observed.set(r.ID, host, ob)
		return mg.event(now, Event{Kind: "reloaded", Host: host, Resource: r.ID, Name: r.Name})
	}
	mg.observed.set(r.ID, host, planner.Observed{State: planner.Failed, Promoted: was.Promoted})
	effs := mg.event(now, Event{Kind: "reload-failed", Host: host, Resource: r.ID, Name: r.Name, Message: describe(res)})
	return append(effs, mg.recordFailure(now, r, host, res, planner.FailedReload, 0, false)...)
}

// stopResult records a stop's result. A failed stop leaves the resource in an
// unknown state that only a fence ends (or an administrator, when its
// policy blocks: the planner decides which).
func (mg *Manager) stopResult(now time.Time, r *model.Resource, host string, res lrm.Result) []effect.Effect {
	delete(mg.lostStops, rscHost{r.ID, host}) // the host's stops answer
	if !res.Failed() {
		mg.observed.set(r.ID, host, planner.Observed{State: planner.Stopped})
		mg.dropMonitors(r.ID, host) // the LRM ended them with the stop
		return mg.event(now, Event{Kind: "stopped", Host: host, Resource: r.ID, Name: r.Name})
	}
	// It may still run, in the role it had: a promoted one counts as
	// promoted until the fence (or a cleanup) ends it.
	was, _ := mg.observed.get(r.ID, host)
	mg.observed.set(r.ID, host, planner.Observed{State: planner.StopFailed, Promoted: was.Promoted || mg.promotedRC(r, res)})
	effs := mg.event(now, Event{Kind: "stop-failed", Host: host, Resource: r.ID, Name: r.Name, Message: describe(res)})
	return append(effs, mg.recordFailure(now, r, host, res, planner.FailedStop, 0, false)...)
}

// monitored records a recurring monitor's report.
func (mg *Manager) monitored(now time.Time, r *model.Resource, p *pendingOp, res lrm.Result, first bool) []effect.Effect {
	obs := mg.observed.of(r.ID)
	if !mg.failed(r, p, res) {
		if o := obs[p.host]; o.State == planner.Running || o.State == "" || first {
			mg.observed.set(r.ID, p.host, mg.runningAs(r, res, true))
		}
		return nil
	}
	if obs[p.host].State == planner.Stopped && !first {
		// Known stopped there (a probe or a stop said so since): the
		// monitor outlived what it watched, and its report is no failure
		// of the group wherever it runs now.
		return mg.appendLog(mg.cancelMonitors(r.ID, p.host), mg.logRsc(slog.LevelInfo, r.ID, "report of an unwanted monitor dropped",
			slog.String("host", p.host), slog.String("result", describe(res))))
	}
	if !res.Failed() && res.ExitReason == "" {
		// Failed by its role alone: say so, the rc reads as a success.
		res.ExitReason = "expected the unpromoted role (rc 0)"
		if r.Monitors[p.monitor].ForPromoted() {
			res.ExitReason = "expected the promoted role (rc 8)"
		}
	}
	// A failed instance that was (or says it is) promoted may still be:
	// it counts as promoted until it is stopped or fenced.
	mg.observed.set(r.ID, p.host, planner.Observed{State: planner.Failed, Promoted: obs[p.host].Promoted || mg.promotedRC(r, res)})
	mg.markStale()
	if mg.cons.Maintenance {
		// Nothing counts while maintenance is on (the administrator is
		// working on the resources): what the monitor saw is shown, and
		// acted on once maintenance ends, but it is no failure.
		return []effect.Effect{mg.logRsc(slog.LevelWarn, r.ID, "monitor failed in maintenance mode: not counted",
			slog.String("host", p.host), slog.String("result", describe(res)))}
	}
	return mg.recordFailure(now, r, p.host, res, planner.FailedMonitor, p.monitor, false)
}

// cancelMonitors cancels the recurring monitors of rsc that this manager
// set up on host (on every host when host is ""): it no longer wants them
// (the resource is known stopped there). The commands are forgotten at once,
// so that a report already on its way, and the agent's "cancelled", are
// dropped as foreign rather than applied to the group where it runs now.
// Each cancel names its setup to an agent that reads it: a monitor changed
// by a configuration is cancelled and set up again at once, and a cancel
// that reached the agent after the new setup ended that one (the agent
// refuses it now, and the refusal of a command no longer pending is
// nothing to act on: the monitor it meant is gone already).
func (mg *Manager) cancelMonitors(rsc, host string) []effect.Effect {
	rc, _ := mg.m.Resource(rsc)
	var effs []effect.Effect
	for _, d := range mg.dropMonitors(rsc, host) {
		p := d.p
		if p.timer != 0 {
			effs = append(effs, mg.cancelTimer(p.timer))
		}
		c := proto.Cancel{Epoch: mg.epoch, Op: mg.op(), Resource: rsc, Key: request(p.action, rc).Key()}
		if hi := mg.hosts[p.host]; hi != nil && hi.cancelsBySetup {
			c.Setup = d.op
		}
		effs = append(effs, mg.batches.Send(effect.Send{To: p.host, Conn: mg.connTo(p.host), Msg: c}))
	}
	return effs
}

// cancelAllMonitors cancels, on every online host, every configured monitor
// of rsc by its key, whoever set it up: a cleanup forgets what they
// watched. A monitor an earlier manager left running would otherwise be
// merged with the next identical request and answer it with a result from
// before the start (shaped seed 1893, after a manager restart). A host
// that does not discover rsc is skipped when its agent knows nothing of
// it: it never ran it, so no monitor of it runs there (a thousand hosts'
// cancels for every resource cleaned up made a large cluster's cleanup
// quadratic).
func (mg *Manager) cancelAllMonitors(rsc string) []effect.Effect {
	rc, ok := mg.m.Resource(rsc)
	if !ok {
		return nil
	}
	var effs []effect.Effect
	for _, d := range mg.dropMonitors(rsc, "") {
		if d.p.timer != 0 {
			effs = append(effs, mg.cancelTimer(d.p.timer))
		}
	}
	for _, h := range mg.m.Hosts {
		if hi := mg.hosts[h.Name]; hi.state != planner.Online || !mg.mayMonitor(rsc, hi) {
			continue
		}
		for i := range rc.Monitors {
			key := request(planner.Action{Kind: planner.Monitor, Monitor: i}, rc).Key()
			effs = append(effs, mg.batches.Send(effect.Send{To: h.Name, Conn: mg.connTo(h.Name),
				Msg: proto.Cancel{Epoch: mg.epoch, Op: mg.op(), Resource: rsc, Key: key}}))
		}
	}
	return effs
}

// mayMonitor: a monitor of rsc may run on hi's host, for all the manager
// knows. Only one that does not discover rsc, has no entry for it, and
// whose agent listed what it knows without it, cannot.
func (mg *Manager) mayMonitor(rsc string, hi *hostInfo) bool {
	if mg.m.Discovers(rsc, hi.name) || !hi.lists || hi.known[rsc] {
		return true
	}
	_, seen := mg.observed.get(rsc, hi.name)
	return seen
}

// droppedMonitor is a monitor setup dropMonitors forgot, and its op.
type droppedMonitor struct {
	op proto.OpID
	p  *pendingOp
}

// dropMonitors forgets the recurring monitors of rsc on host (every host
// when ""), and returns them: what cancelMonitors cancels, and what a
// successful stop ended in the LRM already. A setup not yet answered fails
// its action: the transition is planned again.
func (mg *Manager) dropMonitors(rsc, host string) []droppedMonitor {
	var out []droppedMonitor
	var ids []proto.OpID
	if host != "" {
		ids = mg.ops.of(rsc, host)
	} else {
		ids = mg.ops.ofResource(rsc)
	}
	for _, id := range ids {
		p, ok := mg.ops.get(id)
		if !ok || !p.recurring {
			continue
		}
		mg.ops.remove(id)
		if !p.answered {
			if p.timer != 0 {
				delete(mg.timers, p.timer)
			}
			mg.actionDone(p, false)
		}
		if o, ok := mg.observed.get(rsc, p.host); ok {
			o.Monitored = false
			mg.observed.set(rsc, p.host, o)
		}
		out = append(out, droppedMonitor{op: id, p: p})
	}
	return out
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
	if mg.ops.has(res.Resource, m.Host) {
		return nil
	}
	if _, known := mg.observed.get(res.Resource, m.Host); known {
		return nil // ours is as fresh: the manager probed after the hello
	}
	switch res.Outcome {
	case ocf.Stopped:
		mg.observed.set(res.Resource, m.Host, planner.Observed{State: planner.Stopped})
	case ocf.Success, ocf.Promoted, ocf.DegradedRunning:
		r, _ := mg.m.Resource(res.Resource)
		mg.observed.set(res.Resource, m.Host, mg.runningAs(r, res, false))
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
