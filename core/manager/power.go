package manager

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/fencer"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

// The operator's power commands (HALO's power status|on|off HOST) and the
// manual override of a fence (basalt host confirm-down, Pacemaker's
// stonith_admin --confirm). A power-off is a fence (adminFence); a power-on
// runs the host's fence devices' "on" through the fencer, and the host
// joins when its agent says hello; a power status asks the devices and
// changes nothing; a confirm-down takes the operator's word for a fence.

// ConfirmDownWarning is what a confirm-down risks, in the words the event
// log, the CLI and the documentation use.
const ConfirmDownWarning = "if the host is in fact running, its resources may now run on two hosts at once; " +
	"confirm a host down only after checking by hand that its power is off"

// hasDevices refuses a power request for a host no fence device can reach.
func (mg *Manager) hasDevices(req Request) error {
	if len(mg.m.FencingLevels(req.Target)) == 0 {
		return fmt.Errorf("%s: no fence device can reach %s (the configuration gives it none)", req, req.Target)
	}
	return nil
}

// mayPowerOn refuses a power-on that would fight a fence: one in progress,
// or one a lost host still waits for (it must be fenced before it may
// boot again; basalt host confirm-down if its power was cut by hand).
func (mg *Manager) mayPowerOn(req Request) error {
	hi := mg.hosts[req.Target]
	switch {
	case hi.fence.active:
		return fmt.Errorf("%s: %s is being fenced; power it on once the fence has completed", req, req.Target)
	case hi.state == planner.Unclean && !hi.pending:
		return fmt.Errorf("%s: %s is lost and not yet fenced; it must be fenced first (or, once its power is checked off by hand, basalt host confirm-down %s)",
			req, req.Target, req.Target)
	}
	return nil
}

// mayConfirmDown refuses to take a host whose agent heartbeats for down:
// that would be a lie, and its resources would run twice.
func (mg *Manager) mayConfirmDown(req Request) error {
	hi := mg.hosts[req.Target]
	switch {
	case hi.talking:
		return fmt.Errorf("%s: %s is up: its agent is heartbeating (last heard at %s); confirming it down would be a lie that lets its resources run twice",
			req, req.Target, hi.lastSeen.UTC().Format(time.RFC3339))
	case hi.state == planner.Offline:
		return fmt.Errorf("%s: %s is already known to be off (fenced); there is nothing to confirm", req, req.Target)
	}
	return nil
}

// powerOn follows a power-on request to its end, for its report.
type powerOn struct {
	host   string
	done   bool
	ok     bool
	result string
}

// adminPowerOn asks the fencer to power a host on. Nothing else changes:
// the host is a member again only when its agent says hello.
func (mg *Manager) adminPowerOn(now time.Time, req Request, rep *Report, ev func(Event)) []effect.Effect {
	ev(Event{Kind: "power-on-requested", Host: req.Target, Message: "power on requested by " + req.operator()})
	rep.Groups = nil
	rep.Results[req.Target] = "powering on"
	mg.powerOns[rep.ID] = &powerOn{host: req.Target}
	return mg.fenceEffects(now, mg.fencer.Request(now, req.Target, proto.FenceOn, "operator (power on)"))
}

// powerOnDone: the fencer ended a power-on; its report says how.
func (mg *Manager) powerOnDone(now time.Time, d fencer.Done) []effect.Effect {
	for _, id := range mg.repOrder {
		po := mg.powerOns[id]
		if po == nil || po.done || po.host != d.Target {
			continue
		}
		po.done, po.ok = true, d.OK
		po.result = fmt.Sprintf("powered on by %s; it joins the cluster when its agent says hello", strings.Join(d.Devices, ", "))
		if !d.OK {
			po.result = "power on FAILED: " + d.Reason
		}
	}
	if d.OK {
		return mg.event(now, Event{Kind: "powered-on", Host: d.Target, Message: fmt.Sprintf("by %v", d.Devices)})
	}
	return mg.event(now, Event{Kind: "power-on-failed", Host: d.Target, Message: d.Reason})
}

// adminConfirmDown takes the operator's word that a host's power is off as
// a successful fence: a fence in progress is satisfied (its devices'
// answers are ignored), one waiting for its retry is not retried, and the
// host is fenced as if a device had done it (its resources known stopped,
// recovered elsewhere). The event says who stated it and what it risks.
func (mg *Manager) adminConfirmDown(now time.Time, req Request, rep *Report, ev func(Event)) []effect.Effect {
	ev(Event{Kind: "confirm-down", Host: req.Target, Message: req.operator() + " confirmed that the power of " + req.Target +
		" is off; it is taken as fenced. WARNING: " + ConfirmDownWarning})
	rep.Groups = nil
	rep.Results[req.Target] = "confirmed down"
	hi := mg.hosts[req.Target]
	effs := []effect.Effect{effect.Log{Level: slog.LevelWarn, Msg: "host confirmed down by the operator: taken as fenced",
		Attrs: []slog.Attr{slog.String("host", req.Target), slog.String("warning", ConfirmDownWarning)}}}
	if hi.fence.retryTimer != 0 {
		effs = append(effs, mg.cancelTimer(hi.fence.retryTimer))
		hi.fence.retryTimer = 0
	}
	return append(effs, mg.fenceEffects(now, mg.fencer.Confirm(now, req.Target, "operator (confirm-down)",
		"confirmed down by the operator: no device was run"))...)
}

// cmdPowerStatus names a power status query in its errors; it is no
// request (Admin refuses it).
const cmdPowerStatus Command = "power-status"

// Power states a status query reads from a fence agent's exit code.
const (
	PowerOn      = "ON"
	PowerOff     = "OFF"
	PowerUnknown = "UNKNOWN"
)

// maxPowerQueries bounds the status queries the manager remembers.
const maxPowerQueries = 32

// PowerReading is one device's answer to a power status query.
type PowerReading struct {
	Device   string
	Executor string
	// Done: the answer came, or will never come (Lost says why).
	Done bool
	// State is PowerOn (rc 0), PowerOff (rc 2) or PowerUnknown.
	State   string
	RC      int
	Timeout bool
	Output  string
	Lost    string
}

// PowerQuery is a power status query (basalt power status HOST): each of
// the host's fence devices asked for its power state. It is kept in memory
// only: it changes nothing.
type PowerQuery struct {
	ID       string
	Host     string
	Asked    time.Time
	Done     bool
	Readings []PowerReading
}

// PowerStatus asks each of host's fence devices, through a peer that can
// run it, for host's power state, and returns the query's ID (PowerQuery
// follows it). It is read-only: no event, no report, no decision.
func (mg *Manager) PowerStatus(now time.Time, host string) (string, []effect.Effect, error) {
	req := Request{Command: cmdPowerStatus, Target: host}
	switch {
	case !mg.started:
		return "", nil, fmt.Errorf("power status %s: the manager has not started", host)
	case mg.deposed:
		return "", nil, fmt.Errorf("power status %s: this manager has been superseded by a newer one", host)
	}
	if _, ok := mg.m.Host(host); !ok {
		return "", nil, fmt.Errorf("power status %s: no host %q (hosts: %s)", host, host, strings.Join(mg.m.HostNames(), ", "))
	}
	if err := mg.hasDevices(req); err != nil {
		return "", nil, err
	}
	effs := mg.input(now)
	mg.nextQuery++
	q := &PowerQuery{ID: fmt.Sprintf("p%d-%d", mg.epoch, mg.nextQuery), Host: host, Asked: now}
	mg.queries[q.ID] = q
	mg.queryOrder = append(mg.queryOrder, q.ID)
	if len(mg.queryOrder) > maxPowerQueries {
		delete(mg.queries, mg.queryOrder[0])
		mg.queryOrder = mg.queryOrder[1:]
	}
	seen := map[string]bool{}
	for _, level := range mg.m.FencingLevels(host) {
		for _, dev := range level {
			if seen[dev] {
				continue
			}
			seen[dev] = true
			effs = append(effs, mg.askPower(now, q, dev)...)
		}
	}
	mg.queryDone(q)
	return q.ID, mg.settle(now, effs), nil
}

// askPower sends one device's status action to the peer that would fence
// with it.
func (mg *Manager) askPower(now time.Time, q *PowerQuery, dev string) []effect.Effect {
	d, _ := mg.m.Device(dev)
	exec := mg.fencer.Executor(dev, q.Host)
	q.Readings = append(q.Readings, PowerReading{Device: dev, Executor: exec, State: PowerUnknown})
	if exec == "" {
		r := &q.Readings[len(q.Readings)-1]
		r.Done, r.Lost = true, "no host but "+q.Host+" is online to run it"
		return nil
	}
	op := mg.op()
	t := mg.newTimer(timerUse{kind: opTimer, op: op})
	conn := mg.connTo(exec)
	mg.ops.put(op, &pendingOp{host: exec, timer: t, conn: conn, device: dev, query: q.ID})
	return []effect.Effect{
		mg.batches.Send(effect.Send{To: exec, Conn: conn, Msg: proto.FenceExec{Epoch: mg.epoch, Op: op, Device: d.ID, Agent: d.Agent, Params: d.Params,
			Action: proto.FenceStatus, Target: q.Host, Plug: d.Plugs[q.Host], Timeout: mg.m.Cluster.FenceTimeout}}),
		mg.batches.SetTimer(effect.SetTimer{ID: t, At: now.Add(mg.m.Cluster.FenceTimeout + opSlack)}),
	}
}

// powerRead records a device's answer to a status query.
func (mg *Manager) powerRead(p *pendingOp, m proto.FenceResult) {
	mg.powerReading(p, func(r *PowerReading) {
		r.RC, r.Timeout, r.Output = m.RC, m.Timeout, firstLine(m.Output)
		switch {
		case m.Timeout:
		case m.RC == 0:
			r.State = PowerOn
		case m.RC == 2:
			r.State = PowerOff
		}
	})
}

// powerLost: a status query's device will not answer.
func (mg *Manager) powerLost(p *pendingOp, why string) {
	mg.powerReading(p, func(r *PowerReading) { r.Lost = why })
}

// powerReading ends the reading of p's device in p's query with set.
func (mg *Manager) powerReading(p *pendingOp, set func(r *PowerReading)) {
	q := mg.queries[p.query]
	if q == nil {
		return // forgotten beyond the bound
	}
	for i := range q.Readings {
		if r := &q.Readings[i]; r.Device == p.device && !r.Done {
			r.Done = true
			set(r)
			break
		}
	}
	mg.queryDone(q)
}

// queryDone marks a query done once every reading is.
func (mg *Manager) queryDone(q *PowerQuery) {
	for _, r := range q.Readings {
		if !r.Done {
			return
		}
	}
	q.Done = true
}

// Query returns a copy of a power status query.
func (mg *Manager) Query(id string) (PowerQuery, bool) {
	q, ok := mg.queries[id]
	if !ok {
		return PowerQuery{}, false
	}
	c := *q
	c.Readings = append([]PowerReading(nil), q.Readings...)
	return c, true
}
