package ocf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MetaData is what an agent's meta-data action says about it.
type MetaData struct {
	Name       string
	Version    string
	ShortDesc  string
	LongDesc   string
	Parameters []Parameter
	Actions    []ActionSpec
}

// Parameter describes one agent parameter.
type Parameter struct {
	Name     string
	Required bool
	// Unique is set by unique="1" and by membership of a unique-group.
	Unique bool
	// UniqueGroup names the group whose values must be unique together
	// across the agent's instances (Pacemaker's unique-group); "" when the
	// parameter is unique alone, or not unique.
	UniqueGroup string
	Reloadable  bool
	Type        string
	Default     string
	ShortDesc   string
	LongDesc    string
}

// ActionSpec is an action's advertised defaults.
type ActionSpec struct {
	Name       string
	Timeout    time.Duration
	Interval   time.Duration
	StartDelay time.Duration
	Depth      int
	Role       string
}

type xmlDesc struct {
	Text string `xml:",chardata"`
}

type xmlAgent struct {
	XMLName    xml.Name `xml:"resource-agent"`
	Name       string   `xml:"name,attr"`
	Version    string   `xml:"version"`
	LongDesc   xmlDesc  `xml:"longdesc"`
	ShortDesc  xmlDesc  `xml:"shortdesc"`
	Parameters struct {
		List []struct {
			Name        string  `xml:"name,attr"`
			Required    string  `xml:"required,attr"`
			Unique      string  `xml:"unique,attr"`
			UniqueGroup string  `xml:"unique-group,attr"`
			Reloadable  string  `xml:"reloadable,attr"`
			LongDesc    xmlDesc `xml:"longdesc"`
			ShortDesc   xmlDesc `xml:"shortdesc"`
			Content     struct {
				Type    string `xml:"type,attr"`
				Default string `xml:"default,attr"`
			} `xml:"content"`
		} `xml:"parameter"`
	} `xml:"parameters"`
	Actions struct {
		List []struct {
			Name       string `xml:"name,attr"`
			Timeout    string `xml:"timeout,attr"`
			Interval   string `xml:"interval,attr"`
			StartDelay string `xml:"start-delay,attr"`
			Depth      string `xml:"depth,attr"`
			Role       string `xml:"role,attr"`
		} `xml:"action"`
	} `xml:"actions"`
}

// maxMetaData bounds the XML accepted: real agents' meta-data is a few KiB.
const maxMetaData = 1 << 20

// ParseMetaData parses an agent's meta-data XML. Every problem found is
// reported, each naming its element and attribute.
func ParseMetaData(data []byte) (*MetaData, error) {
	if len(data) > maxMetaData {
		return nil, fmt.Errorf("meta-data: %d bytes is more than the %d accepted", len(data), maxMetaData)
	}
	var x xmlAgent
	dec := xml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&x); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("meta-data: no <resource-agent> element")
		}
		return nil, fmt.Errorf("meta-data: %w", err)
	}
	m := &MetaData{
		Name: x.Name, Version: strings.TrimSpace(x.Version),
		ShortDesc: strings.TrimSpace(x.ShortDesc.Text), LongDesc: strings.TrimSpace(x.LongDesc.Text),
	}
	var errs []error
	if m.Name == "" {
		errs = append(errs, fmt.Errorf("<resource-agent>: attribute name is missing"))
	}
	seen := map[string]bool{}
	for i, p := range x.Parameters.List {
		where := fmt.Sprintf("<parameter> #%d", i+1)
		if p.Name == "" {
			errs = append(errs, fmt.Errorf("%s: attribute name is missing", where))
			continue
		}
		where = fmt.Sprintf("<parameter name=%q>", p.Name)
		if seen[p.Name] {
			errs = append(errs, fmt.Errorf("%s: declared twice", where))
		}
		seen[p.Name] = true
		req, err1 := parseBool(p.Required)
		uniq, err2 := parseBool(p.Unique)
		rel, err3 := parseBool(p.Reloadable)
		for i, err := range []error{err1, err2, err3} {
			if err != nil {
				attr := [...]string{"required", "unique", "reloadable"}[i]
				errs = append(errs, fmt.Errorf("%s: attribute %s: %w", where, attr, err))
			}
		}
		m.Parameters = append(m.Parameters, Parameter{
			Name: p.Name, Required: req, Unique: uniq || p.UniqueGroup != "", UniqueGroup: strings.TrimSpace(p.UniqueGroup), Reloadable: rel,
			Type: p.Content.Type, Default: p.Content.Default,
			ShortDesc: strings.TrimSpace(p.ShortDesc.Text), LongDesc: strings.TrimSpace(p.LongDesc.Text),
		})
	}
	for i, a := range x.Actions.List {
		where := fmt.Sprintf("<action> #%d", i+1)
		if a.Name == "" {
			errs = append(errs, fmt.Errorf("%s: attribute name is missing", where))
			continue
		}
		where = fmt.Sprintf("<action name=%q>", a.Name)
		spec := ActionSpec{Name: a.Name, Role: a.Role}
		var err error
		for _, f := range []struct {
			attr string
			val  string
			dst  *time.Duration
		}{{"timeout", a.Timeout, &spec.Timeout}, {"interval", a.Interval, &spec.Interval}, {"start-delay", a.StartDelay, &spec.StartDelay}} {
			if *f.dst, err = ParseInterval(f.val); err != nil {
				errs = append(errs, fmt.Errorf("%s: attribute %s: %w", where, f.attr, err))
			}
		}
		if a.Depth != "" {
			if spec.Depth, err = strconv.Atoi(strings.TrimSpace(a.Depth)); err != nil || spec.Depth < 0 {
				errs = append(errs, fmt.Errorf("%s: attribute depth: %q is not a non-negative integer", where, a.Depth))
			}
		}
		m.Actions = append(m.Actions, spec)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("meta-data of %q: %w", m.Name, errors.Join(errs...))
	}
	return m, nil
}

func parseBool(s string) (bool, error) {
	switch strings.TrimSpace(strings.ToLower(s)) {
	case "", "0", "false", "no", "off":
		return false, nil
	case "1", "true", "yes", "on":
		return true, nil
	}
	return false, fmt.Errorf("%q is not a boolean", s)
}

// ParseInterval parses an OCF/Pacemaker duration: a bare number of seconds
// ("20"), or a number with a unit: ms, s, sec, m, min, h, hr ("100ms", "20s",
// "1m"). Empty means 0.
func ParseInterval(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 9 {
		return 0, fmt.Errorf("%q is not a duration (want e.g. 20s, 100ms, 1m)", s)
	}
	n, _ := strconv.Atoi(s[:i])
	units := map[string]time.Duration{
		"": time.Second, "ms": time.Millisecond, "msec": time.Millisecond, "s": time.Second, "sec": time.Second,
		"m": time.Minute, "min": time.Minute, "h": time.Hour, "hr": time.Hour,
	}
	u, ok := units[strings.ToLower(strings.TrimSpace(s[i:]))]
	if !ok {
		return 0, fmt.Errorf("%q is not a duration (unknown unit %q)", s, s[i:])
	}
	return time.Duration(n) * u, nil
}

// Action returns the spec of an action the agent advertises. Monitor may be
// listed several times (one per depth); the first is returned.
func (m *MetaData) Action(name Action) (ActionSpec, bool) {
	for _, a := range m.Actions {
		if a.Name == string(name) {
			return a, true
		}
	}
	return ActionSpec{}, false
}

// Parameter returns a declared parameter.
func (m *MetaData) Parameter(name string) (Parameter, bool) {
	for _, p := range m.Parameters {
		if p.Name == name {
			return p, true
		}
	}
	return Parameter{}, false
}

// CheckParams reports every required parameter missing from params and
// every parameter the agent does not declare, each by name.
func (m *MetaData) CheckParams(params map[string]string) error {
	var errs []error
	for _, p := range m.Parameters {
		if _, ok := params[p.Name]; p.Required && !ok {
			errs = append(errs, fmt.Errorf("parameter %s is required by %s", p.Name, m.Name))
		}
	}
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := m.Parameter(n); !ok {
			errs = append(errs, fmt.Errorf("parameter %s is not declared by %s", n, m.Name))
		}
	}
	return errors.Join(errs...)
}
