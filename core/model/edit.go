package model

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// Structured edits of a configuration file, for whatever must change a
// running cluster's configuration without a person's editor: the
// simulator's config-apply fault draws them, scenarios name them. They
// work on the file's YAML tree, so comments and the rest of the file stay
// as they were, and the result is loaded before it is returned: an edit
// never yields a file the manager would refuse to load.

// EditKind names one kind of edit.
type EditKind string

// The kinds of edit.
const (
	// EditRemoveGroup removes Group and its resources.
	EditRemoveGroup EditKind = "remove-group"
	// EditAddGroup adds a copy of Group named As: each resource's ID and
	// name get "-<As>" appended, and each parameter's value ".<As>", so
	// that the copy is an instance of its own (another state file,
	// another address) and never the same thing as its model.
	EditAddGroup EditKind = "add-group"
	// EditSetParam sets parameter Param of Resource to Value (adding it
	// if it is not set).
	EditSetParam EditKind = "set-param"
	// EditSetMonitor sets the interval (when Interval is not 0) and the
	// timeout (when Timeout is not 0) of Resource's monitor number Monitor
	// (0 the first).
	EditSetMonitor EditKind = "set-monitor"
)

// EditOp is one edit of a configuration.
type EditOp struct {
	Kind     EditKind      `json:"kind" yaml:"kind"`
	Group    string        `json:"group,omitempty" yaml:"group,omitempty"`
	As       string        `json:"as,omitempty" yaml:"as,omitempty"`
	Resource string        `json:"resource,omitempty" yaml:"resource,omitempty"`
	Param    string        `json:"param,omitempty" yaml:"param,omitempty"`
	Value    string        `json:"value,omitempty" yaml:"value,omitempty"`
	Monitor  int           `json:"monitor,omitempty" yaml:"monitor,omitempty"`
	Interval time.Duration `json:"interval,omitempty" yaml:"interval,omitempty"`
	Timeout  time.Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// String renders an edit on one line, for people.
func (e EditOp) String() string {
	switch e.Kind {
	case EditRemoveGroup:
		return "remove group " + e.Group
	case EditAddGroup:
		return fmt.Sprintf("add group %s (a copy of %s)", e.As, e.Group)
	case EditSetParam:
		return fmt.Sprintf("set %s of %s to %q", e.Param, e.Resource, e.Value)
	case EditSetMonitor:
		s := fmt.Sprintf("set monitor %d of %s:", e.Monitor, e.Resource)
		if e.Interval != 0 {
			s += " interval " + e.Interval.String()
		}
		if e.Timeout != 0 {
			s += " timeout " + e.Timeout.String()
		}
		return s
	}
	return string(e.Kind)
}

// maxEdits bounds the edits of one call.
const maxEdits = 64

// Edit applies ops in order to the configuration text (name labels its
// errors) and returns the new text, which loads. A refused edit (an
// unknown group, an ID taken, a result the loader refuses) is an error
// naming it; text is not changed.
func Edit(name string, text []byte, ops []EditOp) ([]byte, error) {
	if len(ops) > maxEdits {
		return nil, fmt.Errorf("%d edits, more than the %d of one change", len(ops), maxEdits)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a configuration (a YAML mapping)", name)
	}
	root := doc.Content[0]
	for i, op := range ops {
		if err := edit(root, op); err != nil {
			return nil, fmt.Errorf("%s: edit %d (%s): %w", name, i+1, op, err)
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := Load(name, b.Bytes()); err != nil {
		return nil, fmt.Errorf("the edited configuration does not load: %w", err)
	}
	return b.Bytes(), nil
}

func edit(root *yaml.Node, op EditOp) error {
	switch op.Kind {
	case EditRemoveGroup:
		return removeGroup(root, op.Group)
	case EditAddGroup:
		return addGroup(root, op.Group, op.As)
	case EditSetParam:
		return setParam(root, op.Resource, op.Param, op.Value)
	case EditSetMonitor:
		return setMonitor(root, op)
	}
	return fmt.Errorf("unknown kind of edit %q (want %s, %s, %s or %s)", op.Kind, EditRemoveGroup, EditAddGroup, EditSetParam, EditSetMonitor)
}

// value is the value of key in mapping n, nil when it has none.
func value(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// set sets key of mapping n to v, adding it when it is not there.
func set(n *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			n.Content[i+1] = v
			return
		}
	}
	n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle}
}

// list is the sequence under key of the root.
func list(root *yaml.Node, key string) ([]*yaml.Node, error) {
	n := value(root, key)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("the configuration has no %s list", key)
	}
	return n.Content, nil
}

// byID is the index of the entry of the list under key whose id is id.
func byID(root *yaml.Node, key, id string) (int, *yaml.Node, error) {
	items, err := list(root, key)
	if err != nil {
		return 0, nil, err
	}
	for i, it := range items {
		if v := value(it, "id"); v != nil && v.Value == id {
			return i, it, nil
		}
	}
	return 0, nil, fmt.Errorf("no %s entry with id %q", key, id)
}

// members are the resource IDs of a group node.
func members(g *yaml.Node) []string {
	var out []string
	if ms := value(g, "members"); ms != nil {
		for _, m := range ms.Content {
			if r := value(m, "resource"); r != nil {
				out = append(out, r.Value)
			}
		}
	}
	return out
}

func removeGroup(root *yaml.Node, id string) error {
	i, g, err := byID(root, "groups", id)
	if err != nil {
		return err
	}
	groups := value(root, "groups")
	groups.Content = slices.Delete(groups.Content, i, i+1)
	rscs := members(g)
	rs := value(root, "resources")
	if rs == nil {
		return nil
	}
	rs.Content = slices.DeleteFunc(rs.Content, func(r *yaml.Node) bool {
		v := value(r, "id")
		return v != nil && slices.Contains(rscs, v.Value)
	})
	return nil
}

func addGroup(root *yaml.Node, from, as string) error {
	if as == "" {
		return errors.New("the new group needs an ID (as)")
	}
	if _, _, err := byID(root, "groups", as); err == nil {
		return fmt.Errorf("group %s exists already", as)
	}
	_, g, err := byID(root, "groups", from)
	if err != nil {
		return err
	}
	renamed := func(id string) string { return id + "-" + as }
	ng := clone(g)
	set(ng, "id", scalar(as))
	if ms := value(ng, "members"); ms != nil {
		for _, m := range ms.Content {
			for _, k := range []string{"resource", "parent"} {
				if v := value(m, k); v != nil {
					v.Value = renamed(v.Value)
				}
			}
		}
	}
	var added []*yaml.Node
	for _, r := range members(g) {
		_, rn, err := byID(root, "resources", r)
		if err != nil {
			return err
		}
		if _, _, err := byID(root, "resources", renamed(r)); err == nil {
			return fmt.Errorf("resource %s exists already", renamed(r))
		}
		nr := clone(rn)
		set(nr, "id", scalar(renamed(r)))
		if v := value(nr, "name"); v != nil {
			v.Value = v.Value + " (" + as + ")"
		}
		if ps := value(nr, "params"); ps != nil && ps.Kind == yaml.MappingNode {
			for i := 1; i < len(ps.Content); i += 2 {
				ps.Content[i] = scalar(ps.Content[i].Value + "." + as)
			}
		}
		added = append(added, nr)
	}
	rs := value(root, "resources")
	rs.Content = append(rs.Content, added...)
	gs := value(root, "groups")
	gs.Content = append(gs.Content, ng)
	return nil
}

func setParam(root *yaml.Node, rsc, param, val string) error {
	if param == "" {
		return errors.New("no parameter named")
	}
	_, r, err := byID(root, "resources", rsc)
	if err != nil {
		return err
	}
	ps := value(r, "params")
	if ps == nil {
		ps = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: r.Style & yaml.FlowStyle}
		set(r, "params", ps)
	}
	if ps.Kind != yaml.MappingNode {
		return fmt.Errorf("params of %s is not a mapping", rsc)
	}
	set(ps, param, scalar(val))
	return nil
}

func setMonitor(root *yaml.Node, op EditOp) error {
	_, r, err := byID(root, "resources", op.Resource)
	if err != nil {
		return err
	}
	mons := value(value(r, "ops"), "monitor")
	if mons == nil || mons.Kind != yaml.SequenceNode || op.Monitor < 0 || op.Monitor >= len(mons.Content) {
		return fmt.Errorf("%s has no monitor number %d", op.Resource, op.Monitor)
	}
	m := mons.Content[op.Monitor]
	if op.Interval != 0 {
		set(m, "interval", scalar(op.Interval.String()))
	}
	if op.Timeout != 0 {
		set(m, "timeout", scalar(op.Timeout.String()))
	}
	return nil
}

// clone is a deep copy of a YAML node (no aliases are followed: a
// configuration file has none worth sharing between a group and its copy).
func clone(n *yaml.Node) *yaml.Node {
	return cloneDepth(n, 0)
}

// maxDepth bounds clone's recursion: a configuration is a few levels deep.
const maxDepth = 64

func cloneDepth(n *yaml.Node, depth int) *yaml.Node {
	if n == nil || depth > maxDepth {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, 0, len(n.Content))
	for _, k := range n.Content {
		if kc := cloneDepth(k, depth+1); kc != nil {
			c.Content = append(c.Content, kc)
		}
	}
	return &c
}
