package proto

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Node attributes.
//
// A node attribute is a name and a value the cluster keeps per host, as
// Pacemaker's attribute manager (attrd) and crm_attribute keep them: the
// resource agents set them through basalt-agent's crm_attribute,
// crm_master and attrd_updater front ends (promotion scores, named
// master-<resource> as Pacemaker names them, among them), operators with
// basalt host attr, and the planner reads them. The manager holds the
// store (core/manager's attrs.go); every agent that says it can (Hello.
// Attrs) holds a copy of every host's attributes, sent after its hello and
// after each change, so that a query from a local tool is answered from it.
//
// A value lives until the host reboots (AttrReboot, Pacemaker's transient
// "status" section: lost when the host is fenced, lost or boots anew) or
// for ever (AttrForever, the "nodes" section, kept in the manager's event
// log across its restarts).

// AttrLifetime is how long an attribute's value lasts.
type AttrLifetime string

// Attribute lifetimes, named as crm_attribute's --lifetime names them.
const (
	AttrReboot  AttrLifetime = "reboot"
	AttrForever AttrLifetime = "forever"
)

// Valid reports whether l is one of the two lifetimes.
func (l AttrLifetime) Valid() bool { return l == AttrReboot || l == AttrForever }

// Bounds on the attribute store, so that one agent in a loop cannot grow
// the manager's memory, its event log or the Attributes message without
// limit. Every host's attributes travel in one Attributes line, which
// these keep under wire.MaxLine even at their worst: 512 values of 256
// bytes that JSON escapes six-fold ("<" is \u003c), ≈ 880 KB.
const (
	MaxAttrName       = 128
	MaxAttrValue      = 256
	MaxAttrsPerHost   = 64
	MaxAttrsInCluster = 512
)

// CheckAttrName refuses a name the store does not keep: empty, too long,
// or with a character outside letters, digits and "_.:-#" (Pacemaker's
// names are XML attribute values; these are the characters its agents use,
// "#" for the health attributes).
func CheckAttrName(name string) error {
	if name == "" {
		return fmt.Errorf("an attribute name may not be empty")
	}
	if len(name) > MaxAttrName {
		return fmt.Errorf("attribute name %.32q... is %d bytes long, above the limit of %d", name, len(name), MaxAttrName)
	}
	for i, r := range name {
		if r > unicode.MaxASCII || !(r == '_' || r == '.' || r == ':' || r == '-' || r == '#' ||
			'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return fmt.Errorf("attribute name %q: the character %q at byte %d is not a letter, digit or one of _.:-#", name, r, i)
		}
	}
	return nil
}

// CheckAttrValue refuses a value the store does not keep: too long, not
// UTF-8, or with a control character (the status and the tools print a
// value on one line).
func CheckAttrValue(value string) error {
	if len(value) > MaxAttrValue {
		return fmt.Errorf("attribute value of %d bytes is above the limit of %d", len(value), MaxAttrValue)
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("attribute value %q is not valid UTF-8", value)
	}
	for i, r := range value {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("attribute value %q holds the control character %U at byte %d", value, r, i)
		}
	}
	return nil
}

// PromotionAttr is the name of a resource's promotion score, as Pacemaker
// names it (crm_master, crm_attribute --promotion): master-<resource>, the
// resource without the ":N" suffix of a clone instance
// (OCF_RESOURCE_INSTANCE is "db:1" for an instance of the clone db).
func PromotionAttr(resource string) string {
	if i := strings.LastIndexByte(resource, ':'); i >= 0 {
		suffix := resource[i+1:]
		if suffix != "" && strings.Trim(suffix, "0123456789") == "" {
			resource = resource[:i]
		}
	}
	return "master-" + resource
}

// Attribute is one value of one host's attributes.
type Attribute struct {
	Name     string
	Value    string
	Lifetime AttrLifetime
}

// AttrUpdate asks the manager to set (or delete) one attribute: a local
// tool's request, forwarded by the agent of host Host. Target is the host
// the attribute belongs to (crm_attribute -N may name another). Req is the
// agent's number for the request; the manager's Attributes answering it
// carries it back in Ack.
type AttrUpdate struct {
	Host     string
	Req      uint64
	Target   string
	Name     string
	Value    string `json:",omitempty"`
	Delete   bool   `json:",omitempty"`
	Lifetime AttrLifetime
	// By says who asked ("crm_master (db)"), for the event log.
	By string `json:",omitempty"`
	// Members asks no change: the answer carries the cluster's hosts
	// (crm_node -l, -p), which agents hold no copy of.
	Members bool `json:",omitempty"`
}

// Describe implements Message.
func (m AttrUpdate) Describe() string {
	if m.Members {
		return fmt.Sprintf("attr-update host=%s req=%d members", m.Host, m.Req)
	}
	if m.Delete {
		return fmt.Sprintf("attr-update host=%s req=%d delete %s@%s lifetime=%s by=%q", m.Host, m.Req, m.Name, m.Target, m.Lifetime, m.By)
	}
	return fmt.Sprintf("attr-update host=%s req=%d set %s@%s=%q lifetime=%s by=%q", m.Host, m.Req, m.Name, m.Target, m.Value, m.Lifetime, m.By)
}

// Member is one host of the cluster as crm_node lists it.
type Member struct {
	Name string
	// Online: the manager hears from its agent and it is not lost.
	Online bool `json:",omitempty"`
}

// Attributes is the manager's copy of every host's attributes, sent to an
// agent that takes them (Hello.Attrs) after its hello, after each change,
// and with every answer. Ack, when not 0, is the agent's request
// (AttrUpdate.Req) this message answers: done, or refused for the reason
// Refused says. Members answers a membership question.
type Attributes struct {
	Epoch   Epoch
	Hosts   map[string][]Attribute `json:",omitempty"`
	Ack     uint64                 `json:",omitempty"`
	Refused string                 `json:",omitempty"`
	Members []Member               `json:",omitempty"`
}

// Describe implements Message.
func (m Attributes) Describe() string {
	hosts := make([]string, 0, len(m.Hosts))
	n := 0
	for h, as := range m.Hosts {
		hosts = append(hosts, h)
		n += len(as)
	}
	sort.Strings(hosts)
	s := fmt.Sprintf("attributes epoch=%d hosts=%v count=%d", m.Epoch, hosts, n)
	if m.Ack != 0 {
		s += fmt.Sprintf(" ack=%d", m.Ack)
	}
	if m.Refused != "" {
		s += fmt.Sprintf(" refused=%q", m.Refused)
	}
	return s
}
