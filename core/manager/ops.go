package manager

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

// opSlack is added to an operation's timeout before the manager gives up on
// hearing its result: the agent enforces the timeout and needs time to
// report.
const opSlack = 10 * time.Second

// pendingOp is a command in flight.
type pendingOp struct {
	action   planner.Action // Kind "" for commands outside a transition
	host     string
	resource string
	timer    effect.TimerID
	// monitor setups stay registered after their first result: every
	// later change of the recurring monitor comes back with this op.
	monitor   int
	recurring bool
	answered  bool
	// cleanedUp: an administrator's cleanup of its resource came while
	// this one-shot command was in flight (see acrossCleanup).
	cleanedUp bool
	// conn is the connection the command went out on (0: none known).
	conn effect.ConnID
	// device is the fence device a device monitor checks, or a power
	// status query asks (query, its ID).
	device string
	query  string
}

// oneShot: a command that ends with its first result (probe, start, stop).
func (p *pendingOp) oneShot() bool { return p.resource != "" && !p.recurring }

func (mg *Manager) op() proto.OpID {
	mg.nextOp++
	return mg.nextOp
}

// sendExec sends a resource command for a transition action and follows it
// with a timer, appended to effs.
func (mg *Manager) sendExec(effs []effect.Effect, now time.Time, a planner.Action, r *model.Resource, req lrm.OpRequest) []effect.Effect {
	recurring := a.Kind == planner.Monitor
	mg.assertOneInFlight(r.ID, a.Host)
	op := mg.op()
	t := mg.newTimer(timerUse{kind: opTimer, op: op})
	conn := mg.connTo(a.Host)
	mg.ops.put(op, &pendingOp{action: a, host: a.Host, resource: r.ID, timer: t, monitor: a.Monitor, recurring: recurring, conn: conn})
	if hi := mg.hosts[a.Host]; hi.known != nil {
		hi.known[r.ID] = true // it registers what it is told about
	}
	if effs == nil {
		effs = mg.batches.Take(3)
	}
	effs = append(effs,
		mg.batches.Send(effect.Send{To: a.Host, Conn: conn, Msg: proto.Exec{Epoch: mg.epoch, Op: op,
			Resource: lrm.Resource{ID: r.ID, Name: r.Name, Agent: r.Agent, Params: r.Params, Instance: mg.instanceName(r.ID, a.Host),
				Meta: mg.cloneMeta(r.ID, a.Host)},
			Request: req}}),
		mg.batches.SetTimer(effect.SetTimer{ID: t, At: now.Add(req.Timeout + opSlack)}))
	if !mg.logs(slog.LevelInfo) {
		return effs
	}
	return append(effs, mg.logRsc(slog.LevelInfo, r.ID, "dispatching", slog.String("action", string(a.Kind)), slog.String("host", a.Host)))
}

// instanceName is the OCF_RESOURCE_INSTANCE of rsc's instance on host: for
// a clone's resource "rsc:N", N the host's place in the configuration's
// hosts (one instance per host, so the number is the instance's, as
// Pacemaker numbers a clone's instances from 0); "" (the resource's ID)
// for any other.
func (mg *Manager) instanceName(rsc, host string) string {
	gid, ok := mg.m.GroupOf(rsc)
	if !ok {
		return ""
	}
	g, ok := mg.m.Group(gid)
	if !ok || g.Orphan || (g.Placement.MaxInstances <= 1 && !g.Placement.Clone.Promotable) {
		return ""
	}
	if hi := mg.hosts[host]; hi == nil || !hi.instances {
		return "" // an older agent refuses the field: its clones run as the resource's ID
	}
	for i, h := range mg.m.Hosts {
		if h.Name == host {
			return planner.InstanceName(rsc, i) // as the planner's notifications name it
		}
	}
	return ""
}

// cloneMeta are the meta attributes of rsc's clone instance on host, as
// Pacemaker passes them on every action of a clone's instance: clone (the
// instance's number), clone_max, clone_node_max, globally_unique (false:
// Basalt's clones are anonymous), notify, on_node, and for a promotable
// clone promotable, promoted_max and promoted_node_max with their older
// master_ spellings, which agents written for Pacemaker 1 still read. Nil for any
// other resource, and for an agent whose hello does not say it takes them.
func (mg *Manager) cloneMeta(rsc, host string) map[string]string {
	if hi := mg.hosts[host]; hi == nil || !hi.meta {
		return nil
	}
	name := mg.instanceName(rsc, host)
	if name == "" {
		return nil
	}
	gid, _ := mg.m.GroupOf(rsc)
	g, _ := mg.m.Group(gid)
	c := g.Placement.Clone
	m := map[string]string{
		"clone":           strings.TrimPrefix(name, rsc+":"),
		"clone_max":       strconv.Itoa(g.Placement.MaxInstances),
		"clone_node_max":  strconv.Itoa(max(1, c.NodeMax)),
		"globally_unique": "false",
		"notify":          strconv.FormatBool(c.Notify),
		"on_node":         host,
	}
	if c.Promotable {
		m["promotable"] = "true" // ocf_is_ms reads it, or master_max
		for _, k := range []string{"promoted_max", "master_max"} {
			m[k] = strconv.Itoa(c.PromotedMax)
		}
		for _, k := range []string{"promoted_node_max", "master_node_max"} {
			m[k] = strconv.Itoa(max(1, c.PromotedNodeMax))
		}
	}
	return m
}

// request builds the LRM request of a resource action.
func request(a planner.Action, r *model.Resource) lrm.OpRequest {
	req := lrm.OpRequest{Resource: r.ID}
	switch a.Kind {
	case planner.Probe:
		req.Action, req.Timeout = ocf.Monitor, r.Start.Timeout
		if len(r.Monitors) > 0 {
			req.Timeout = r.Monitors[0].Timeout
		}
	case planner.Start:
		req.Action, req.Timeout = ocf.Start, r.Start.Timeout
	case planner.Stop:
		req.Action, req.Timeout = ocf.Stop, r.Stop.Timeout
	case planner.Promote:
		// A promote brings a role up as a start brings the resource up,
		// a demote takes it down as a stop does: their timeouts.
		req.Action, req.Timeout = ocf.Promote, r.Start.Timeout
	case planner.Demote:
		req.Action, req.Timeout = ocf.Demote, r.Stop.Timeout
	case planner.Reload:
		req.Action, req.Timeout = a.ReloadAction, r.Reload.Timeout
		if req.Action == "" {
			req.Action = ocf.Reload
		}
		if req.Timeout <= 0 { // a model built without the loader's defaults
			req.Timeout = r.Start.Timeout
		}
	case planner.Notify:
		req.Action, req.Timeout = ocf.Notify, r.Notify.Timeout
		if req.Timeout <= 0 { // a model built without the loader's defaults
			req.Timeout = r.Start.Timeout
		}
		if a.Notify != nil {
			meta := lrm.Meta(a.Notify.Meta())
			req.Meta = &meta
		}
	case planner.Monitor:
		mon := r.Monitors[a.Monitor]
		req.Action, req.Interval, req.Timeout, req.Depth = ocf.Monitor, mon.Interval, mon.Timeout, mon.Depth
	}
	return req
}

// monitorDevices verifies the fence devices host checks (every one,
// unless cluster.device-check-hosts bounds their checkers), so that
// fencing can prefer devices known to answer from a host. Unbounded, a
// cluster's boot runs hosts × devices monitors.
func (mg *Manager) monitorDevices(now time.Time, host string) []effect.Effect {
	var effs []effect.Effect
	for _, d := range mg.m.FenceDevices {
		if !mg.m.ChecksDevice(d.ID, host) {
			continue // cluster.device-check-hosts: others check it
		}
		op := mg.op()
		t := mg.newTimer(timerUse{kind: opTimer, op: op})
		conn := mg.connTo(host)
		mg.ops.put(op, &pendingOp{host: host, timer: t, conn: conn, device: d.ID})
		effs = append(effs,
			mg.batches.Send(effect.Send{To: host, Conn: conn, Msg: proto.FenceExec{Epoch: mg.epoch, Op: op, Device: d.ID, Agent: d.Agent, Params: d.Params,
				Action: proto.FenceMonitor, Timeout: mg.m.Cluster.FenceTimeout}}),
			mg.batches.SetTimer(effect.SetTimer{ID: t, At: now.Add(mg.m.Cluster.FenceTimeout + opSlack)}))
	}
	return effs
}

// refused: an agent would not run a command of ours (not for a stale
// epoch: that deposes the manager before this is reached).
func (mg *Manager) refused(now time.Time, m proto.Refused) []effect.Effect {
	mg.wake()
	if p, ok := mg.ops.get(m.Op); ok && p.host == m.Host {
		return mg.failPending(now, m.Op, p, "refused by "+m.Host+": "+m.Reason)
	}
	return nil
}

// failHostOps ends every command in flight on host: none will be answered.
func (mg *Manager) failHostOps(now time.Time, host, why string) []effect.Effect {
	return mg.failHostOpsBut(now, host, why, 0)
}

// failHostOpsBut is failHostOps, but for the commands sent on connection
// keep (0: none kept).
func (mg *Manager) failHostOpsBut(now time.Time, host, why string, keep effect.ConnID) []effect.Effect {
	var effs []effect.Effect
	for _, id := range mg.ops.onHost(host) {
		if p, ok := mg.ops.get(id); ok && (keep == 0 || p.conn != keep) {
			effs = append(effs, mg.failPending(now, id, p, why)...)
		}
	}
	return effs
}

// failPending ends a command that will not be answered: its resource's
// state becomes unknown (to be probed) unless the host is lost, where the
// fence decides.
func (mg *Manager) failPending(now time.Time, id proto.OpID, p *pendingOp, why string) []effect.Effect {
	mg.ops.remove(id)
	switch {
	case p.query != "":
		mg.powerLost(p, why)
	case p.device != "":
		mg.deviceChecked(DeviceCheck{Device: p.device, Host: p.host, At: now, Lost: why})
	}
	var effs []effect.Effect
	if p.timer != 0 {
		effs = append(effs, mg.cancelTimer(p.timer))
	}
	if p.action.Kind == planner.Notify {
		// A notification that got no answer changed nothing of its
		// resource: logged, and the transition goes on (notify-lost).
		mg.actionDone(p, true)
		return append(effs, mg.logRsc(slog.LevelWarn, p.resource, "notification lost", slog.String("host", p.host), slog.String("why", why)))
	}
	if p.resource != "" && !(p.recurring && p.answered) {
		if p.action.Kind == planner.Stop && !mg.stopFailureBlocks(p.resource) && !mg.probeLostStop(p) {
			// A stop we cannot confirm is treated as failed: only a fence
			// makes the resource certainly stopped. (Where no fence would
			// answer it, fencing off or on-fail=block, a probe settles it
			// instead: the LRM runs it after the stop, so it tells what
			// the stop left. Blocking on a lost message would leave the
			// group down until a cleanup, shaped seed 1078.)
			was, _ := mg.observed.get(p.resource, p.host)
			mg.observed.set(p.resource, p.host, planner.Observed{State: planner.StopFailed, Promoted: was.Promoted})
		} else {
			mg.observed.forget(p.resource, p.host)
		}
		effs = append(effs, mg.logRsc(slog.LevelWarn, p.resource, "operation lost", slog.String("host", p.host), slog.String("why", why)))
	}
	if p.recurring && p.answered {
		// The monitor is gone with its agent; what is known of the
		// resource stays as it is (or unknown, if the caller forgot it).
		if o, ok := mg.observed.get(p.resource, p.host); ok {
			o.Monitored = false
			mg.observed.set(p.resource, p.host, o)
		}
	} else {
		mg.actionDone(p, false)
	}
	return effs
}

// rscHost names one resource on one host.
type rscHost struct{ resource, host string }

// probeLostStop says whether a stop whose result never came is settled by a
// probe rather than by a fence, and records that it was. A host that is
// still online answers a probe, which its LRM runs after the stop: it tells
// what the stop left as surely as the lost result would have, and fencing a
// healthy host for one lost message powered it off with nothing wrong
// (seed 876597: a stop result lost after the heal). A stop that did fail
// reported so, or is stopped again after the probe finds the resource
// running; a second stop lost with no stop or start of that resource
// answered on that host since is treated as failed, so that a host whose
// stops never answer is still fenced.
func (mg *Manager) probeLostStop(p *pendingOp) bool {
	hi, ok := mg.hosts[p.host]
	if !ok || hi.state != planner.Online {
		return false // lost, or being fenced: the fence settles it
	}
	k := rscHost{p.resource, p.host}
	if mg.lostStops[k] {
		delete(mg.lostStops, k)
		return false
	}
	mg.lostStops[k] = true
	return true
}
