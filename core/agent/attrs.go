package agent

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// Node attributes: the agent's part (core/proto's attrs.go).
//
// The agent serves its host's tools (crm_attribute, crm_master,
// attrd_updater, crm_node, run by resource agents): a change goes to the
// manager, which holds the store, and the tool is answered once the manager
// has acknowledged it; a query is answered at once from the agent's copy
// of every host's attributes, which the manager sends after the agent's
// hello and after each change. crm_node's membership is asked of the
// manager each time (proto.AttrUpdate.Members): the agent holds no copy of
// it.
//
// While no manager that takes attributes is connected (none is, or an
// older one that would not understand them), changes wait in a bounded
// queue and the tool is answered at once that its change is queued, as
// Pacemaker's attrd_updater returns once attrd holds a change: the queue is
// sent, in order, once a manager welcomes the agent as one that takes
// them. Changes sent on a connection that closes before their answer go
// back to the queue and are sent again (setting a value twice records it
// once). Past the bound a change is refused: the tool says so.

// MaxPendingAttrs bounds the changes the agent holds for the manager (sent
// and not yet answered, or queued): a tool in a loop while the manager is
// away must not grow the agent's memory without limit.
const MaxPendingAttrs = 64

// AttrOp is what a tool asks of the agent.
type AttrOp string

// Tool requests.
const (
	AttrSet    AttrOp = "set"
	AttrDelete AttrOp = "delete"
	AttrQuery  AttrOp = "query"
	// AttrMembers asks for the cluster's hosts and which are online
	// (crm_node -l, -p).
	AttrMembers AttrOp = "members"
)

// AttrRequest is one request of a local tool. ID is the driver's, to
// route the answer to the tool's connection.
type AttrRequest struct {
	ID uint64
	Op AttrOp
	// Host is the host whose attribute it is ("": this agent's).
	Host  string
	Name  string
	Value string
	// Lifetime is the value's (a query: "" reads either, the transient
	// value first, as the planner does).
	Lifetime proto.AttrLifetime
	// By names the tool and resource, for the manager's event log.
	By string
}

// AttrAnswer answers a tool's request: an effect for the driver, which
// writes it to the tool.
type AttrAnswer struct {
	ID uint64
	// Err says why the request failed ("" when it did not).
	Err string
	// Queued is true when a change waits for a manager (the answer
	// comes before the manager's).
	Queued bool
	// Found, Value and Lifetime are a query's result.
	Found    bool
	Value    string
	Lifetime proto.AttrLifetime
	// Host is the host the request was about (this agent's when the tool
	// named none).
	Host string
	// Members are the cluster's hosts (AttrMembers), in configuration
	// order.
	Members []proto.Member
}

// Describe implements effect.Effect.
func (e AttrAnswer) Describe() string {
	switch {
	case e.Err != "":
		return fmt.Sprintf("attr-answer id=%d error=%q", e.ID, e.Err)
	case e.Queued:
		return fmt.Sprintf("attr-answer id=%d queued", e.ID)
	case e.Members != nil:
		return fmt.Sprintf("attr-answer id=%d members=%v", e.ID, e.Members)
	case e.Found:
		return fmt.Sprintf("attr-answer id=%d %s value=%q lifetime=%s", e.ID, e.Host, e.Value, e.Lifetime)
	}
	return fmt.Sprintf("attr-answer id=%d done", e.ID)
}

// pendingAttr is a change (or membership question) held for the manager.
type pendingAttr struct {
	req    uint64
	id     uint64 // the tool's, answered on the manager's ack; 0: answered already (queued)
	update proto.AttrUpdate
}

// attrState is the agent's attribute state.
type attrState struct {
	// copy is the manager's last Attributes (host → values); have is true
	// once one came.
	copy map[string][]proto.Attribute
	have bool
	// takes: the manager obeyed welcomed the agent as one that takes
	// attributes: changes may be sent.
	takes   bool
	nextReq uint64
	queue   []pendingAttr
	sent    []pendingAttr
}

// AttrRequest handles a local tool's request.
func (a *Agent) AttrRequest(now time.Time, r AttrRequest) []effect.Effect {
	host := r.Host
	if host == "" {
		host = a.cfg.Host
	}
	answer := func(ans AttrAnswer) []effect.Effect {
		ans.ID, ans.Host = r.ID, host
		return []effect.Effect{ans}
	}
	switch r.Op {
	case AttrQuery:
		if err := proto.CheckAttrName(r.Name); err != nil {
			return answer(AttrAnswer{Err: err.Error()})
		}
		return answer(a.queryAttr(host, r.Name, r.Lifetime))
	case AttrSet, AttrDelete, AttrMembers:
	default:
		return answer(AttrAnswer{Err: fmt.Sprintf("unknown request %q", r.Op)})
	}
	up := proto.AttrUpdate{Host: a.cfg.Host, Target: host, Name: r.Name, Value: r.Value, Delete: r.Op == AttrDelete,
		Lifetime: r.Lifetime, By: r.By, Members: r.Op == AttrMembers}
	if err := checkUpdate(up); err != nil {
		return answer(AttrAnswer{Err: err.Error()})
	}
	if len(a.attr.queue)+len(a.attr.sent) >= MaxPendingAttrs {
		return answer(AttrAnswer{Err: fmt.Sprintf("%d attribute changes already wait for the manager, the most this agent holds: "+
			"is the manager reachable?", MaxPendingAttrs)})
	}
	a.attr.nextReq++
	up.Req = a.attr.nextReq
	p := pendingAttr{req: up.Req, id: r.ID, update: up}
	if a.attr.takes && a.conn.cur != 0 {
		a.attr.sent = append(a.attr.sent, p)
		return []effect.Effect{a.send(up)}
	}
	if up.Members {
		a.attr.nextReq--
		return answer(AttrAnswer{Err: "no manager is connected: the cluster's membership is unknown here"})
	}
	p.id = 0 // answered now: its ack reaches no tool
	a.attr.queue = append(a.attr.queue, p)
	return append(answer(AttrAnswer{Queued: true}),
		a.log(slog.LevelWarn, "no manager takes attributes now; the change waits for one", slog.String("attribute", r.Name),
			slog.Int("waiting", len(a.attr.queue))))
}

// checkUpdate refuses, before it waits for a manager, what the manager
// would refuse for its form alone.
func checkUpdate(up proto.AttrUpdate) error {
	if up.Members {
		return nil
	}
	if !up.Lifetime.Valid() {
		return fmt.Errorf("attribute %s: lifetime %q is not reboot or forever", up.Name, up.Lifetime)
	}
	if err := proto.CheckAttrName(up.Name); err != nil {
		return err
	}
	if up.Delete {
		return nil
	}
	if err := proto.CheckAttrValue(up.Value); err != nil {
		return fmt.Errorf("attribute %s: %w", up.Name, err)
	}
	return nil
}

// queryAttr answers a query from the copy.
func (a *Agent) queryAttr(host, name string, l proto.AttrLifetime) AttrAnswer {
	var found *proto.Attribute
	for i, at := range a.attr.copy[host] {
		if at.Name != name || l != "" && at.Lifetime != l {
			continue
		}
		if found == nil || at.Lifetime == proto.AttrReboot {
			found = &a.attr.copy[host][i]
		}
	}
	if found == nil {
		return AttrAnswer{Lifetime: l}
	}
	return AttrAnswer{Found: true, Value: found.Value, Lifetime: found.Lifetime}
}

// attributes takes the manager's Attributes from the obeyed connection:
// the copy, and the answer to a request of ours.
func (a *Agent) attributes(m proto.Attributes) []effect.Effect {
	if m.Epoch < a.epoch {
		return nil // a superseded manager's
	}
	var effs []effect.Effect
	a.attr.copy, a.attr.have = m.Hosts, true
	if m.Ack == 0 {
		return nil
	}
	i := slices.IndexFunc(a.attr.sent, func(p pendingAttr) bool { return p.req == m.Ack })
	if i < 0 {
		return nil
	}
	p := a.attr.sent[i]
	a.attr.sent = slices.Delete(a.attr.sent, i, i+1)
	if m.Refused != "" {
		effs = append(effs, a.log(slog.LevelWarn, "the manager refused an attribute change", slog.String("attribute", p.update.Name),
			slog.String("why", m.Refused)))
	}
	if p.id == 0 {
		return effs // queued: its tool was answered then
	}
	ans := AttrAnswer{ID: p.id, Err: m.Refused, Host: p.update.Target}
	if p.update.Members {
		ans.Members = slices.Clone(m.Members)
		if ans.Members == nil {
			ans.Members = []proto.Member{}
		}
	}
	return append(effs, ans)
}

// attrsWelcome: the obeyed manager welcomed the agent; if it takes
// attributes, the queue goes to it.
func (a *Agent) attrsWelcome(w proto.Welcome) []effect.Effect {
	a.attr.takes = w.Attrs
	if !w.Attrs || len(a.attr.queue) == 0 {
		return nil
	}
	effs := make([]effect.Effect, 0, len(a.attr.queue)+1)
	effs = append(effs, a.log(slog.LevelInfo, "sending the attribute changes that waited for a manager", slog.Int("count", len(a.attr.queue))))
	for _, p := range a.attr.queue {
		effs = append(effs, a.send(p.update))
	}
	a.attr.sent = append(a.attr.sent, a.attr.queue...)
	a.attr.queue = nil
	return effs
}

// attrsConnLost: the obeyed connection closed (or was replaced): what was
// sent on it and not answered waits again, first in line, and membership
// questions fail (nobody can answer them now).
func (a *Agent) attrsConnLost() []effect.Effect {
	a.attr.takes = false
	var effs []effect.Effect
	var again []pendingAttr
	for _, p := range a.attr.sent {
		if p.update.Members {
			effs = append(effs, AttrAnswer{ID: p.id, Host: p.update.Target, Err: "the manager's connection closed before it answered"})
			continue
		}
		again = append(again, p)
	}
	a.attr.queue = append(again, a.attr.queue...)
	a.attr.sent = nil
	return effs
}

// Attributes is the agent's copy of every host's attributes (for its status),
// and whether a manager has sent one.
func (a *Agent) Attributes() (map[string][]proto.Attribute, bool) {
	out := make(map[string][]proto.Attribute, len(a.attr.copy))
	for _, h := range slices.Sorted(maps.Keys(a.attr.copy)) {
		out[h] = slices.Clone(a.attr.copy[h])
	}
	return out, a.attr.have
}
