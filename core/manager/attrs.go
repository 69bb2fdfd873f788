package manager

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

// Node attributes: the store.
//
// The manager holds every host's attributes (core/proto's attrs.go), as
// Pacemaker's cluster keeps them in its CIB: the values a host's agents
// set through basalt-agent's crm_attribute, crm_master and attrd_updater
// (proto.AttrUpdate), and those an operator sets (AdminAttr). Each change
// is an event of the log (attribute-set, attribute-deleted) that replay
// and the snapshot rebuild, so that both lifetimes survive a manager
// restart, as they survive a change of Pacemaker's DC: the transient ones
// are kept by the nodes' attrd there, by the log here.
//
// A transient value (lifetime reboot) ends, as attrd's does, when its host
// is fenced, declared lost, or says hello from a new boot: each value
// remembers the boot it was set in (the host's hello says its boot), so
// that a host that rebooted while the manager was down loses its values
// too. A permanent one (forever) ends only when deleted.
//
// An agent setting the value it already holds records nothing (Stateful
// sets its promotion score at every monitor). A change asks for a new plan:
// promotion scores decide where a promotable clone's primary runs.

// AttrRecord is one attribute value as the event log and the snapshot
// keep it.
type AttrRecord struct {
	// Host is the host the value belongs to (in a snapshot; an event
	// names it in Event.Host).
	Host     string             `json:"host,omitempty"`
	Name     string             `json:"name"`
	Value    string             `json:"value,omitempty"`
	Lifetime proto.AttrLifetime `json:"lifetime"`
	// Boot is the host's boot when a transient value was set ("" when
	// unknown): a hello from another boot ends it.
	Boot string `json:"boot,omitempty"`
	// By says who set it.
	By string `json:"by,omitempty"`
}

// attrValue is one value in the store.
type attrValue struct {
	value, boot, by string
}

// attrStore is every host's attributes: host → lifetime → name → value.
type attrStore map[string]map[proto.AttrLifetime]map[string]attrValue

// count is how many values host holds, both lifetimes.
func (s attrStore) count(host string) int {
	return len(s[host][proto.AttrReboot]) + len(s[host][proto.AttrForever])
}

// total is how many values the store holds.
func (s attrStore) total() int {
	n := 0
	for _, h := range slices.Sorted(maps.Keys(s)) {
		n += s.count(h)
	}
	return n
}

func (s attrStore) get(host string, l proto.AttrLifetime, name string) (attrValue, bool) {
	v, ok := s[host][l][name]
	return v, ok
}

func (s attrStore) set(host string, l proto.AttrLifetime, name string, v attrValue) {
	if s[host] == nil {
		s[host] = map[proto.AttrLifetime]map[string]attrValue{}
	}
	if s[host][l] == nil {
		s[host][l] = map[string]attrValue{}
	}
	s[host][l][name] = v
}

func (s attrStore) remove(host string, l proto.AttrLifetime, name string) {
	delete(s[host][l], name)
	if len(s[host][l]) == 0 {
		delete(s[host], l)
	}
	if len(s[host]) == 0 {
		delete(s, host)
	}
}

// AttrChange is a change to one attribute: a tool's (through its agent)
// or an operator's.
type AttrChange struct {
	Host     string
	Name     string
	Value    string
	Delete   bool
	Lifetime proto.AttrLifetime
	// By says who asked, for the event log.
	By string
}

// checkAttrChange refuses a change the store does not take.
func (mg *Manager) checkAttrChange(c AttrChange) error {
	if _, ok := mg.hosts[c.Host]; !ok {
		return fmt.Errorf("attribute %s: no host %q is configured", c.Name, c.Host)
	}
	if !c.Lifetime.Valid() {
		return fmt.Errorf("attribute %s: lifetime %q is not reboot or forever", c.Name, c.Lifetime)
	}
	if err := proto.CheckAttrName(c.Name); err != nil {
		return err
	}
	if c.Delete {
		return nil
	}
	if err := proto.CheckAttrValue(c.Value); err != nil {
		return fmt.Errorf("attribute %s: %w", c.Name, err)
	}
	if _, exists := mg.attrs.get(c.Host, c.Lifetime, c.Name); exists {
		return nil
	}
	if mg.attrs.count(c.Host) >= proto.MaxAttrsPerHost {
		return fmt.Errorf("attribute %s: host %s already holds %d attributes, the most a host may hold (delete some first)",
			c.Name, c.Host, proto.MaxAttrsPerHost)
	}
	if mg.attrs.total() >= proto.MaxAttrsInCluster {
		return fmt.Errorf("attribute %s: the cluster already holds %d attributes, the most it may hold (delete some first)",
			c.Name, proto.MaxAttrsInCluster)
	}
	return nil
}

// changeAttr applies a checked change: it logs it (nothing when it changes
// nothing), applies it, asks for a new plan and tells every agent that
// takes attributes. changed is false when the store already held it.
func (mg *Manager) changeAttr(now time.Time, c AttrChange) (effs []effect.Effect, changed bool) {
	old, had := mg.attrs.get(c.Host, c.Lifetime, c.Name)
	if c.Delete && !had || !c.Delete && had && old.value == c.Value {
		return nil, false
	}
	rec := AttrRecord{Name: c.Name, Value: c.Value, Lifetime: c.Lifetime, By: c.By}
	e := Event{Kind: "attribute-set", Host: c.Host, Attr: &rec,
		Message: fmt.Sprintf("%s=%s (%s) by %s", c.Name, c.Value, c.Lifetime, c.By)}
	if c.Delete {
		rec.Value = ""
		e.Kind, e.Message = "attribute-deleted", fmt.Sprintf("%s (%s) by %s", c.Name, c.Lifetime, c.By)
	} else if c.Lifetime == proto.AttrReboot {
		rec.Boot = mg.hosts[c.Host].boot
	}
	effs = mg.event(now, e)
	mg.applyAttr(e)
	mg.markStale()
	return effs, true
}

// applyAttr applies an attribute event, live or at replay.
func (mg *Manager) applyAttr(e Event) {
	if e.Attr == nil || !e.Attr.Lifetime.Valid() {
		return
	}
	if mg.attrs == nil {
		mg.attrs = attrStore{}
	}
	switch e.Kind {
	case "attribute-set":
		mg.attrs.set(e.Host, e.Attr.Lifetime, e.Attr.Name, attrValue{value: e.Attr.Value, boot: e.Attr.Boot, by: e.Attr.By})
	case "attribute-deleted":
		mg.attrs.remove(e.Host, e.Attr.Lifetime, e.Attr.Name)
	}
}

// endTransient ends host's transient values for the reason why (its fence,
// its loss, a new boot): keep, when not nil, spares those it returns true
// for. It tells the agents when anything ended.
func (mg *Manager) endTransient(now time.Time, host, why string, keep func(attrValue) bool) []effect.Effect {
	vals := mg.attrs[host][proto.AttrReboot]
	var effs []effect.Effect
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		if keep != nil && keep(vals[name]) {
			continue
		}
		e := Event{Kind: "attribute-deleted", Host: host, Attr: &AttrRecord{Name: name, Lifetime: proto.AttrReboot, By: "basalt"},
			Message: fmt.Sprintf("%s (reboot): %s", name, why)}
		effs = mg.appendEvent(effs, now, e)
		mg.applyAttr(e)
	}
	if effs == nil {
		return nil
	}
	mg.markStale()
	return append(effs, mg.broadcastAttrs("", 0, "")...)
}

// attrsHello handles what an agent's hello says of attributes: whether it
// takes them, and its boot, from which a new one ends the host's transient
// values. It sends the agent the store when it holds anything (or the
// agent holds a copy to replace).
func (mg *Manager) attrsHello(now time.Time, hi *hostInfo, m proto.Hello) []effect.Effect {
	hi.attrs = m.Attrs
	var effs []effect.Effect
	if m.Boot != "" {
		if hi.boot != m.Boot {
			effs = mg.endTransient(now, hi.name, "the host booted anew", func(v attrValue) bool { return v.boot == "" || v.boot == m.Boot })
		}
		hi.boot = m.Boot
	}
	if m.Attrs && (len(mg.attrs) > 0 || m.HasAttrs) && effs == nil {
		effs = append(effs, mg.batches.Send(effect.Send{To: hi.name, Conn: mg.connTo(hi.name), Msg: mg.attributesMsg(0, "")}))
	}
	return effs
}

// attrUpdate handles a tool's request from host's agent: refused, or
// applied, and answered either way.
func (mg *Manager) attrUpdate(now time.Time, m proto.AttrUpdate) []effect.Effect {
	hi, ok := mg.hosts[m.Host]
	if !ok {
		return nil
	}
	c := AttrChange{Host: m.Target, Name: m.Name, Value: m.Value, Delete: m.Delete, Lifetime: m.Lifetime,
		By: m.By + " on " + m.Host}
	if m.By == "" {
		c.By = m.Host
	}
	answer := func(refused string) effect.Effect {
		return mg.batches.Send(effect.Send{To: hi.name, Conn: mg.connTo(hi.name), Msg: mg.attributesMsg(m.Req, refused)})
	}
	if m.Members {
		msg := mg.attributesMsg(m.Req, "")
		for _, h := range mg.m.Hosts {
			msg.Members = append(msg.Members, proto.Member{Name: h.Name, Online: mg.hosts[h.Name].state == planner.Online})
		}
		return []effect.Effect{mg.batches.Send(effect.Send{To: hi.name, Conn: mg.connTo(hi.name), Msg: msg})}
	}
	if err := mg.checkAttrChange(c); err != nil {
		return []effect.Effect{
			effect.Log{Level: slog.LevelWarn, Msg: "attribute update refused", Attrs: []slog.Attr{slog.String("host", m.Host), slog.String("why", err.Error())}},
			answer(err.Error()),
		}
	}
	effs, changed := mg.changeAttr(now, c)
	if !changed {
		// Nothing new for the others: only the asker hears, to be answered.
		return []effect.Effect{answer("")}
	}
	return append(effs, mg.broadcastAttrs(m.Host, m.Req, "")...)
}

// broadcastAttrs sends the store to every agent that takes it, in the
// configuration's host order; the one of host asker gets ack with it. An
// agent with no connection up gets it after its next hello.
func (mg *Manager) broadcastAttrs(asker string, ack uint64, refused string) []effect.Effect {
	var effs []effect.Effect
	for _, h := range mg.m.Hosts {
		switch {
		case h.Name == asker:
			effs = append(effs, mg.batches.Send(effect.Send{To: h.Name, Conn: mg.connTo(h.Name), Msg: mg.attributesMsg(ack, refused)}))
		case mg.hosts[h.Name].attrs:
			effs = append(effs, mg.batches.Send(effect.Send{To: h.Name, Conn: mg.connTo(h.Name), Msg: mg.attributesMsg(0, "")}))
		}
	}
	return effs
}

// attributesMsg is the store as agents get it: the effective values of the
// configured hosts, transient and permanent both, sorted by name.
func (mg *Manager) attributesMsg(ack uint64, refused string) proto.Attributes {
	msg := proto.Attributes{Epoch: mg.epoch, Ack: ack, Refused: refused}
	all := mg.Attributes()
	if len(all) > 0 {
		msg.Hosts = all
	}
	return msg
}

// Attributes is every configured host's attributes, each host's sorted by
// name then lifetime (a name may hold a value of each).
func (mg *Manager) Attributes() map[string][]proto.Attribute {
	out := map[string][]proto.Attribute{}
	for _, h := range mg.m.Hosts {
		var as []proto.Attribute
		for _, l := range []proto.AttrLifetime{proto.AttrForever, proto.AttrReboot} {
			vals := mg.attrs[h.Name][l]
			for _, name := range slices.Sorted(maps.Keys(vals)) {
				as = append(as, proto.Attribute{Name: name, Value: vals[name].value, Lifetime: l})
			}
		}
		if len(as) == 0 {
			continue
		}
		// By name, then lifetime ("forever" before "reboot"): stable, so
		// each lifetime's own order by name stays.
		slices.SortStableFunc(as, func(a, b proto.Attribute) int { return strings.Compare(a.Name, b.Name) })
		out[h.Name] = as
	}
	return out
}

// effectiveAttrs is host → name → value for the planner: a transient value
// hides a permanent one of the same name, as Pacemaker's status section
// overrides its nodes section.
func (mg *Manager) effectiveAttrs() map[string]map[string]string {
	if len(mg.attrs) == 0 {
		return nil
	}
	out := map[string]map[string]string{}
	for _, h := range mg.m.Hosts {
		vals := map[string]string{}
		for _, l := range []proto.AttrLifetime{proto.AttrForever, proto.AttrReboot} {
			for name, v := range mg.attrs[h.Name][l] {
				vals[name] = v.value
			}
		}
		if len(vals) > 0 {
			out[h.Name] = vals
		}
	}
	return out
}

// AdminAttr is basalt host attr's change: checked, applied, and told to
// the agents. It opens no report: nothing runs for it (a plan it causes is
// the planner's).
func (mg *Manager) AdminAttr(now time.Time, c AttrChange) ([]effect.Effect, error) {
	if !mg.started {
		return nil, fmt.Errorf("attribute %s: the manager has not started", c.Name)
	}
	if mg.deposed {
		return nil, fmt.Errorf("attribute %s: this manager has been superseded by a newer one", c.Name)
	}
	if err := mg.checkAttrChange(c); err != nil {
		return nil, err
	}
	effs := mg.input(now)
	more, changed := mg.changeAttr(now, c)
	effs = append(effs, more...)
	if changed {
		effs = append(effs, mg.broadcastAttrs("", 0, "")...)
	}
	return mg.settle(now, effs), nil
}

// snapshotAttrs renders the store for a snapshot, sorted.
func (mg *Manager) snapshotAttrs() []AttrRecord {
	var out []AttrRecord
	for _, h := range slices.Sorted(maps.Keys(mg.attrs)) {
		for _, l := range []proto.AttrLifetime{proto.AttrForever, proto.AttrReboot} {
			vals := mg.attrs[h][l]
			for _, name := range slices.Sorted(maps.Keys(vals)) {
				v := vals[name]
				out = append(out, AttrRecord{Host: h, Name: name, Value: v.value, Lifetime: l, Boot: v.boot, By: v.by})
			}
		}
	}
	return out
}

// restoreAttrs replaces the store with a snapshot's.
func (mg *Manager) restoreAttrs(recs []AttrRecord) {
	mg.attrs = attrStore{}
	for _, r := range recs {
		if r.Lifetime.Valid() {
			mg.attrs.set(r.Host, r.Lifetime, r.Name, attrValue{value: r.Value, boot: r.Boot, by: r.By})
		}
	}
}
