package model

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/basalt-ha/basalt/core/fenceargs"
	"github.com/basalt-ha/basalt/core/ocf"
)

// Error is one problem in a configuration file, with where it is.
type Error struct {
	File string
	Line int
	Path string
	Msg  string
}

// Warning renders a warning as "file:line: warning: path: message", the
// shape compilers use, so that editors jump to it as to an error.
func (e *Error) Warning() string {
	return fmt.Sprintf("%s:%d: warning: %s", e.File, e.Line, e.what())
}

// Error renders "file:line: path: message".
func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.what())
}

// what is "path: message", or the message alone for the file as a whole.
func (e *Error) what() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errors is every problem found in a file, sorted by line, then by path.
type Errors struct {
	List []*Error
}

// Error renders one problem per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, x := range e.List {
		lines[i] = x.Error()
	}
	return strings.Join(lines, "\n")
}

// maxConfig bounds the file accepted; a real cluster's is a few KiB.
const maxConfig = 4 << 20

type loader struct {
	file  string
	errs  []*Error
	warns []*Error
	// roles are the monitors given a role, checked once the groups are
	// known: only a promotable group's resources have roles.
	roles []roleAt
}

// roleAt is where a monitor's role was written.
type roleAt struct {
	resource string
	node     *yaml.Node
	path     string
}

// warnf records something valid that is probably not what the
// administrator wants; it does not stop the file from loading.
func (l *loader) warnf(n *yaml.Node, path, format string, args ...any) {
	l.warns = append(l.warns, l.problem(n, path, format, args...))
}

func (l *loader) errf(n *yaml.Node, path, format string, args ...any) {
	l.errs = append(l.errs, l.problem(n, path, format, args...))
}

func (l *loader) problem(n *yaml.Node, path, format string, args ...any) *Error {
	// Line 1 when no node is at hand (the file as a whole): every problem
	// names a line an editor can jump to.
	line := 1
	if n != nil && n.Line > 0 {
		line = n.Line
	}
	return &Error{File: l.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)}
}

type field struct {
	key   *yaml.Node
	value *yaml.Node
}

// fields checks that n is a mapping whose keys are all known, and returns
// them. Unknown and repeated keys are errors: a typo must not silently
// leave a setting at its default.
func (l *loader) fields(n *yaml.Node, path string, known ...string) map[string]field {
	out := map[string]field{}
	if isNull(n) {
		return out
	}
	if n.Kind != yaml.MappingNode {
		l.errf(n, path, "must be a mapping (key: value lines)")
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kp := join(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			l.errf(k, path, "a key must be a plain word")
			continue
		}
		if !slices.Contains(known, k.Value) {
			l.errf(k, kp, "unknown key (known here: %s)", strings.Join(known, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			l.errf(k, kp, "given twice")
			continue
		}
		out[k.Value] = field{k, v}
	}
	return out
}

// isNull reports a value that is absent or written empty ("key:" or "~"):
// an administrator who comments out every line of a section means "none",
// not "wrong type".
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// entry is fields for one list entry, which must be a mapping; false (and
// the error reported) when it is not, so that the caller skips it rather
// than reporting each of its keys missing.
func (l *loader) entry(n *yaml.Node, path string, known ...string) (map[string]field, bool) {
	if n.Kind != yaml.MappingNode {
		l.errf(n, path, "must be a mapping (key: value lines)")
		return nil, false
	}
	return l.fields(n, path, known...), true
}

func (l *loader) str(f field, path string, def string) string {
	if f.value == nil {
		return def
	}
	if f.value.Kind != yaml.ScalarNode || f.value.Tag == "!!null" {
		l.errf(f.value, path, "must be a string")
		return def
	}
	return f.value.Value
}

func (l *loader) boolean(f field, path string, def bool) bool {
	if f.value == nil {
		return def
	}
	if f.value.Kind != yaml.ScalarNode {
		l.errf(f.value, path, "must be true or false")
		return def
	}
	// Only YAML's own booleans: "yes", "on" or a quoted "true" are the
	// kind of near-miss strictness is for.
	if f.value.Tag != "!!bool" {
		l.errf(f.value, path, "%q is not a boolean (true or false)", f.value.Value)
		return def
	}
	b, _ := strconv.ParseBool(f.value.Value)
	return b
}

func (l *loader) integer(f field, path string, def, lo, hi int) int {
	if f.value == nil {
		return def
	}
	if f.value.Kind != yaml.ScalarNode {
		l.errf(f.value, path, "must be a whole number")
		return def
	}
	n, err := strconv.Atoi(f.value.Value)
	if err != nil {
		l.errf(f.value, path, "%q is not a whole number", f.value.Value)
		return def
	}
	if n < lo || n > hi {
		l.errf(f.value, path, "%d is outside %d..%d", n, lo, hi)
		return def
	}
	return n
}

// onePerHost reads clone-node-max or promoted-node-max, whose only value
// Basalt supports is 1: instances are told apart by their host, so a host
// runs at most one of a clone's. Any other whole number is refused saying
// so, rather than as a bare range.
func (l *loader) onePerHost(f field, path string) int {
	if f.value != nil && f.value.Kind == yaml.ScalarNode {
		if n, err := strconv.Atoi(f.value.Value); err == nil && n != 1 {
			l.errf(f.value, path, "%d is not supported: Basalt runs at most one instance of a clone per host, so only 1 is accepted", n)
			return 1
		}
	}
	return l.integer(f, path, 1, 1, 1)
}

func (l *loader) duration(f field, path string, def time.Duration) time.Duration {
	if f.value == nil {
		return def
	}
	v := f.value.Value
	if f.value.Kind != yaml.ScalarNode {
		l.errf(f.value, path, "must be a duration such as 10s")
		return def
	}
	// OCF and Pacemaker read a bare number as seconds; Go would refuse it
	// with a puzzling message. Say what is missing instead.
	if bareNumber.MatchString(v) {
		l.errf(f.value, path, "%q has no unit (write e.g. %ss)", v, v)
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		l.errf(f.value, path, "%q is not a duration (use e.g. 10s, 1m30s)", v)
		return def
	}
	if d < 0 {
		l.errf(f.value, path, "%q is negative", v)
		return def
	}
	return d
}

// stringMap reads a mapping of plain values; check, when given, vets each
// entry further.
func (l *loader) stringMap(f field, path string, check func(k, v *yaml.Node, kp string)) map[string]string {
	out := map[string]string{}
	if isNull(f.value) {
		return out
	}
	if f.value.Kind != yaml.MappingNode {
		l.errf(f.value, path, "must be a mapping")
		return out
	}
	for i := 0; i+1 < len(f.value.Content); i += 2 {
		k, v := f.value.Content[i], f.value.Content[i+1]
		kp := join(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			l.errf(k, path, "a key must be a plain word")
			continue
		}
		if _, dup := out[k.Value]; dup {
			l.errf(k, kp, "given twice")
			continue
		}
		if v.Kind != yaml.ScalarNode {
			l.errf(v, kp, "must be a plain value")
			continue
		}
		// Values travel in environment variables and key=value lines,
		// neither of which can carry a NUL.
		if strings.ContainsRune(v.Value, 0) {
			l.errf(v, kp, "contains a NUL character")
			continue
		}
		if check != nil {
			check(k, v, kp)
		}
		out[k.Value] = v.Value
	}
	return out
}

func (l *loader) list(f field, path string) []*yaml.Node {
	if isNull(f.value) {
		return nil
	}
	if f.value.Kind != yaml.SequenceNode {
		l.errf(f.value, path, "must be a list")
		return nil
	}
	return f.value.Content
}

var (
	bareNumber = regexp.MustCompile(`^[-+]?[0-9]+(\.[0-9]*)?$`)
	fenceParam = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`)
	hostName   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	ident      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	yamlLine   = regexp.MustCompile(`line (\d+): (.*)`)
)

// validAddress accepts host:port with a port from 1 to 65535 ([v6]:port too).
func validAddress(a string) bool {
	i := strings.LastIndex(a, ":")
	if i <= 0 {
		return false
	}
	host, port := a[:i], a[i+1:]
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return false
	}
	if strings.HasPrefix(host, "[") {
		return strings.HasSuffix(host, "]") && len(host) > 2
	}
	return !strings.ContainsAny(host, ":/ ")
}

// Load parses and validates a configuration. filename only labels errors.
// On failure the error is an *Errors listing every problem found.
func Load(filename string, data []byte) (*Model, error) {
	l := &loader{file: filename}
	if len(data) > maxConfig {
		l.errf(nil, "", "file is %d bytes, more than the %d accepted", len(data), maxConfig)
		return nil, l.result()
	}
	doc, extra, err := decode(data)
	switch {
	case errors.Is(err, io.EOF):
		l.errf(nil, "", "the file is empty")
		return nil, l.result()
	case err != nil:
		l.syntax(data, err)
		return nil, l.result()
	case extra != nil:
		// A plain unmarshal would silently ignore a second document;
		// strictness means saying so.
		l.errf(extra, "", "a second YAML document (after ---): the configuration is one document")
		return nil, l.result()
	}
	if len(doc.Content) == 0 {
		l.errf(nil, "", "the file is empty")
		return nil, l.result()
	}
	if root := doc.Content[0]; root.Kind != yaml.MappingNode {
		l.errf(root, "", "the configuration must be a mapping of sections (cluster:, hosts:, resources:, ...)")
		return nil, l.result()
	}
	budget := maxAliasNodes
	if !expandAliases(doc.Content[0], &budget) {
		l.errf(doc.Content[0], "", "YAML aliases expand to more than %d values", maxAliasNodes)
		return nil, l.result()
	}
	m := l.model(doc.Content[0])
	if err := l.result(); err != nil {
		return nil, err
	}
	sortProblems(l.warns)
	m.Warnings = l.warns
	m.Index()
	return m, nil
}

// decode parses the first YAML document and looks for a second one. The
// error is io.EOF when there is no document at all.
func decode(data []byte) (doc, extra *yaml.Node, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	doc = &yaml.Node{}
	if err := dec.Decode(doc); err != nil {
		return nil, nil, err
	}
	extra = &yaml.Node{}
	if err := dec.Decode(extra); err != nil {
		if errors.Is(err, io.EOF) {
			return doc, nil, nil
		}
		return nil, nil, err
	}
	return doc, extra, nil
}

// syntax records a YAML parser error at the line where it is.
func (l *loader) syntax(data []byte, err error) {
	msg := err.Error()
	line := problemLine(data, msg)
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if line == 0 {
			line, _ = strconv.Atoi(m[1])
		}
		msg = m[2]
	}
	l.errs = append(l.errs, &Error{File: l.file, Line: max(line, 1), Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")})
}

// maxProblemScan bounds the bytes problemLine re-parses; beyond it (a file
// far larger than any real configuration) the parser's own line stands.
const maxProblemScan = 16 << 20

// problemLine finds the line a syntax error is on. The parser names the
// line where the enclosing block began (or none at all), which can be far
// from the mistake; the first prefix of the file, in whole lines, that fails
// with exactly the same error ends on the line that causes it. The search
// starts at the parser's line, since the mistake cannot come before the
// block that contains it. 0 when no prefix is found within the bound.
func problemLine(data []byte, msg string) int {
	from := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 1 {
			from = n - 1
		}
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	n, work := 0, 0
	for k, ln := range lines {
		n += len(ln)
		if k+1 < from {
			continue
		}
		if work += n; work > maxProblemScan {
			return 0
		}
		if _, _, err := decode(data[:n]); err != nil && err.Error() == msg {
			return k + 1
		}
	}
	return 0
}

// maxAliasNodes bounds the values alias expansion may add, so that a few
// lines of nested aliases ("billion laughs") cannot make validation take
// exponential time and memory. The file's own values are bounded by its size.
const maxAliasNodes = 100_000

// expandAliases replaces every alias (*name) by a copy of what its anchor
// (&name) holds, so that the walk sees plain values; errors inside an
// aliased value then name the anchor's line, where the text is. It returns
// false when the copies would exceed the budget.
func expandAliases(n *yaml.Node, budget *int) bool {
	for i, c := range n.Content {
		if c.Kind == yaml.AliasNode && c.Alias != nil {
			cp := copyNode(c.Alias, budget)
			if cp == nil {
				return false
			}
			n.Content[i] = cp
			continue
		}
		if !expandAliases(c, budget) {
			return false
		}
	}
	return true
}

// copyNode deep-copies n, expanding aliases inside it; nil when over budget.
func copyNode(n *yaml.Node, budget *int) *yaml.Node {
	*budget--
	if *budget < 0 {
		return nil
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return copyNode(n.Alias, budget)
	}
	cp := *n
	cp.Content = make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		if cp.Content[i] = copyNode(c, budget); cp.Content[i] == nil {
			return nil
		}
	}
	return &cp
}

func (l *loader) result() error {
	if len(l.errs) == 0 {
		return nil
	}
	sortProblems(l.errs)
	return &Errors{List: l.errs}
}

// sortProblems orders by line then path, so that the output reads top to
// bottom and several problems on one line (a flow mapping) come in a
// stable order.
func sortProblems(ps []*Error) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Path < b.Path
	})
}

func (l *loader) model(root *yaml.Node) *Model {
	top := l.fields(root, "", "cluster", "hosts", "fence-devices", "fencing-topology", "resources", "groups")
	m := &Model{Topology: map[string][][]string{}}
	l.cluster(top["cluster"], m)
	hostLine := map[string]*yaml.Node{}
	hostPath := map[string]string{}
	hostList := l.list(top["hosts"], "hosts")
	for i, n := range hostList {
		p := fmt.Sprintf("hosts[%d]", i)
		f, ok := l.entry(n, p, "name", "address")
		if !ok {
			continue
		}
		h := Host{Name: l.str(f["name"], p+".name", ""), Address: l.str(f["address"], p+".address", "")}
		switch {
		case f["name"].value == nil:
			l.errf(n, p+".name", "is required")
		case !hostName.MatchString(h.Name):
			l.errf(f["name"].value, p+".name", "%q is not a host name (lower-case letters, digits and '-')", h.Name)
		case hostLine[h.Name] != nil:
			l.errf(f["name"].value, p+".name", "host %q is defined twice (first on line %d)", h.Name, hostLine[h.Name].Line)
		}
		switch av := f["address"].value; {
		case av == nil:
			l.errf(n, p+".address", "is required (host:port of its basalt-agent)")
		case av.Kind == yaml.ScalarNode && !validAddress(h.Address):
			l.errf(av, p+".address", "%q is not host:port", h.Address)
		}
		if h.Name != "" && hostLine[h.Name] == nil {
			hostLine[h.Name] = n
			hostPath[h.Name] = p
		}
		m.Hosts = append(m.Hosts, h)
	}
	if len(hostList) == 0 && (isNull(top["hosts"].value) || top["hosts"].value.Kind == yaml.SequenceNode) {
		l.errf(nodeOr(top["hosts"].key, root), "hosts", "at least one host is required")
	}
	l.devices(top["fence-devices"], m, hostLine)
	l.topology(top["fencing-topology"], m, hostLine)
	if m.Cluster.Fencing {
		for _, h := range m.Hosts {
			// A host with a topology whose levels were all rejected has
			// its errors already; only a host nothing mentions is reported.
			_, hasTopology := m.Topology[h.Name]
			if !hasTopology && !m.anyDeviceFences(h.Name) && hostLine[h.Name] != nil {
				l.errf(hostLine[h.Name], hostPath[h.Name], "fencing is on but no fence device can fence host %q (add one to fence-devices, or a fencing-topology)", h.Name)
			}
		}
	}
	rscs := l.resources(top["resources"], m)
	l.groups(top["groups"], m, hostLine, rscs)
	l.checkRoles(m)
	return m
}

// checkRoles: a monitor's role means something only in a promotable group.
func (l *loader) checkRoles(m *Model) {
	promotable := map[string]bool{}
	for _, g := range m.Groups {
		for _, mem := range g.Members {
			promotable[mem.Resource] = g.Placement.Clone.Promotable
		}
	}
	for _, ra := range l.roles {
		if !promotable[ra.resource] {
			l.errf(ra.node, ra.path, "resource %q is not in a promotable group: its monitors have no role", ra.resource)
		}
	}
}

// anyDeviceFences reports whether some fence device lists the host.
func (m *Model) anyDeviceFences(host string) bool {
	for _, d := range m.FenceDevices {
		if hasKey(d.Plugs, host) {
			return true
		}
	}
	return false
}

func (l *loader) cluster(f field, m *Model) {
	c := &m.Cluster
	fs := l.fields(f.value, "cluster", "name", "heartbeat-interval", "dead-timeout", "fast-failover", "fencing",
		"fence-timeout", "op-defaults", "ocf-root", "device-check-hosts")
	c.Name = l.str(fs["name"], "cluster.name", "basalt")
	c.HeartbeatInterval = l.duration(fs["heartbeat-interval"], "cluster.heartbeat-interval", time.Second)
	if c.HeartbeatInterval <= 0 {
		l.errf(fs["heartbeat-interval"].value, "cluster.heartbeat-interval", "must be positive")
		c.HeartbeatInterval = time.Second
	}
	c.DeadTimeout = l.duration(fs["dead-timeout"], "cluster.dead-timeout", 5*c.HeartbeatInterval)
	switch {
	case c.DeadTimeout <= c.HeartbeatInterval:
		l.errf(fs["dead-timeout"].value, "cluster.dead-timeout", "%s must be longer than the heartbeat interval %s", c.DeadTimeout, c.HeartbeatInterval)
	case c.DeadTimeout < 3*c.HeartbeatInterval:
		// One heartbeat late (a busy host, a GC pause, a dropped packet)
		// would then be enough to declare a healthy host lost and fence it.
		at := fs["dead-timeout"].value
		if at == nil {
			at = fs["heartbeat-interval"].value
		}
		l.warnf(at, "cluster.dead-timeout", "%s is less than three heartbeats of %s: one late heartbeat gets a healthy host declared lost",
			c.DeadTimeout, c.HeartbeatInterval)
	}
	c.Fencing = l.boolean(fs["fencing"], "cluster.fencing", true)
	if !c.Fencing {
		l.warnf(fs["fencing"].value, "cluster.fencing", "fencing is off: the groups of a host that is lost stay down until it comes back (only for test clusters)")
	}
	c.FastFailover = l.boolean(fs["fast-failover"], "cluster.fast-failover", true)
	c.FenceTimeout = l.duration(fs["fence-timeout"], "cluster.fence-timeout", 60*time.Second)
	if c.FenceTimeout <= 0 {
		l.errf(fs["fence-timeout"].value, "cluster.fence-timeout", "must be positive")
	}
	od := l.fields(fs["op-defaults"].value, "cluster.op-defaults", "start-timeout", "stop-timeout", "monitor-timeout")
	c.StartTimeout = l.positive(od["start-timeout"], "cluster.op-defaults.start-timeout", 20*time.Second)
	c.StopTimeout = l.positive(od["stop-timeout"], "cluster.op-defaults.stop-timeout", 20*time.Second)
	c.MonitorTimeout = l.positive(od["monitor-timeout"], "cluster.op-defaults.monitor-timeout", 20*time.Second)
	c.DeviceCheckHosts = l.integer(fs["device-check-hosts"], "cluster.device-check-hosts", 0, 0, 1_000_000)
	c.OCFRoot = l.str(fs["ocf-root"], "cluster.ocf-root", "/usr/lib/ocf")
	if !strings.HasPrefix(c.OCFRoot, "/") {
		l.errf(fs["ocf-root"].value, "cluster.ocf-root", "%q must be an absolute path", c.OCFRoot)
	}
}

func (l *loader) positive(f field, path string, def time.Duration) time.Duration {
	d := l.duration(f, path, def)
	if d <= 0 {
		l.errf(f.value, path, "must be positive")
		return def
	}
	return d
}

// checkID reports a missing or malformed id. Ids become environment
// values, file names and command-line arguments, so they are kept to a
// plain alphabet, starting with a letter or digit.
func (l *loader) checkID(f field, entry *yaml.Node, path, id string) bool {
	switch {
	case f.value == nil:
		l.errf(entry, path, "is required")
		return false
	case !ident.MatchString(id):
		l.errf(f.value, path, "%q is not a valid id (letters, digits, '_', '.', '-', starting with a letter or digit, at most 128)", id)
		return false
	}
	return true
}

func (l *loader) devices(f field, m *Model, hosts map[string]*yaml.Node) {
	seen := map[string]int{}
	for i, n := range l.list(f, "fence-devices") {
		p := fmt.Sprintf("fence-devices[%d]", i)
		fs, ok := l.entry(n, p, "id", "agent", "params", "hosts")
		if !ok {
			continue
		}
		d := FenceDevice{ID: l.str(fs["id"], p+".id", ""), Agent: l.str(fs["agent"], p+".agent", "")}
		if l.checkID(fs["id"], n, p+".id", d.ID) {
			if first, dup := seen[d.ID]; dup {
				l.errf(fs["id"].value, p+".id", "fence device %q is defined twice (first on line %d)", d.ID, first)
			} else {
				seen[d.ID] = n.Line
			}
		}
		if d.Agent == "" || strings.ContainsAny(d.Agent, "/ \x00") || d.Agent == "." || d.Agent == ".." {
			l.errf(n, p+".agent", "%q is not a fence agent name (a plain file name such as fence_ipmilan)", d.Agent)
		}
		d.Params = l.stringMap(fs["params"], p+".params", func(k, v *yaml.Node, kp string) {
			switch {
			case !fenceParam.MatchString(k.Value):
				l.errf(k, kp, "%q is not a fence agent parameter name (letters, digits, '_', '-')", k.Value)
			case fenceargs.Reserved(k.Value):
				l.errf(k, kp, "%s is set by basalt for each request (reserved: %s; plugs go under hosts:)", k.Value, strings.Join(fenceargs.ReservedNames(), ", "))
			}
			l.oneLine(v, kp)
		})
		d.Plugs = l.stringMap(fs["hosts"], p+".hosts", func(k, v *yaml.Node, kp string) {
			if hosts[k.Value] == nil {
				l.errf(k, kp, "unknown host %q", k.Value)
			}
			l.oneLine(v, kp)
		})
		if len(d.Plugs) == 0 {
			l.errf(n, p+".hosts", "must list the hosts this device can fence (host: plug)")
		}
		m.FenceDevices = append(m.FenceDevices, d)
	}
}

// oneLine refuses a value a fence agent would misread: its arguments are
// key=value lines on stdin, so a newline (or any character some agents
// split lines at) would smuggle in another argument.
func (l *loader) oneLine(v *yaml.Node, kp string) {
	if err := fenceargs.CheckText(v.Value); err != nil {
		l.errf(v, kp, "must be on one line, in plain text (fence agents read their arguments as key=value lines): it %v", err)
	}
}

func (l *loader) topology(f field, m *Model, hosts map[string]*yaml.Node) {
	if isNull(f.value) {
		return
	}
	if f.value.Kind != yaml.MappingNode {
		l.errf(f.value, "fencing-topology", "must map each host to its list of levels")
		return
	}
	for i := 0; i+1 < len(f.value.Content); i += 2 {
		k, v := f.value.Content[i], f.value.Content[i+1]
		p := "fencing-topology." + k.Value
		if hosts[k.Value] == nil {
			l.errf(k, p, "unknown host %q", k.Value)
			continue
		}
		if _, dup := m.Topology[k.Value]; dup {
			l.errf(k, p, "given twice")
			continue
		}
		var levels [][]string
		raw := l.list(field{k, v}, p)
		for li, lv := range raw {
			lp := fmt.Sprintf("%s[%d]", p, li)
			if lv.Kind != yaml.SequenceNode || len(lv.Content) == 0 {
				l.errf(lv, lp, "a level is a non-empty list of device ids that must all succeed")
				continue
			}
			var level []string
			for di, dn := range lv.Content {
				dp := fmt.Sprintf("%s[%d]", lp, di)
				if dn.Kind != yaml.ScalarNode {
					l.errf(dn, dp, "must be a fence device id")
					continue
				}
				var dev *FenceDevice
				for j := range m.FenceDevices {
					if m.FenceDevices[j].ID == dn.Value {
						dev = &m.FenceDevices[j]
						break
					}
				}
				switch {
				case dev == nil:
					l.errf(dn, dp, "unknown fence device %q", dn.Value)
				case !hasKey(dev.Plugs, k.Value):
					l.errf(dn, dp, "fence device %q cannot fence %s (%s is not in its hosts)", dn.Value, k.Value, k.Value)
				case slices.Contains(level, dn.Value):
					l.errf(dn, dp, "fence device %q is listed twice in this level", dn.Value)
				}
				level = append(level, dn.Value)
			}
			levels = append(levels, level)
		}
		if len(raw) == 0 {
			l.errf(v, p, "needs at least one level")
		}
		m.Topology[k.Value] = levels
	}
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

var onFails = []OnFail{OnFailIgnore, OnFailBlock, OnFailStop, OnFailRestart, OnFailFence, OnFailStandby}

// stopOnFails are the on-fail values a stop may have. A failed stop
// leaves the resource in an unknown state on its host, so only a policy
// that settles that without starting it elsewhere is safe: fence (the
// fence proves it stopped), block (nothing moves until an administrator's
// cleanup probes it), standby (block, and the host runs nothing else).
// ignore would start it elsewhere while it may still run (active twice);
// stop and restart would answer a failed stop with another stop.
var stopOnFails = []OnFail{OnFailFence, OnFailBlock, OnFailStandby}

// StopOnFails returns the on-fail values a stop may have.
func StopOnFails() []OnFail { return slices.Clone(stopOnFails) }

// checkStopOnFail refuses a stop policy that cannot be honoured.
func (l *loader) checkStopOnFail(f field, path string, v OnFail, fencing bool) {
	if f.value == nil || !slices.Contains(onFails, v) {
		return // the default, or already reported as no policy at all
	}
	switch {
	case !slices.Contains(stopOnFails, v):
		l.errf(f.value, path, "%q cannot answer a failed stop, which leaves the resource in an unknown state "+
			"(use fence, block or standby)", v)
	case v == OnFailFence && !fencing:
		l.errf(f.value, path, "%q needs fencing, which is off (use block or standby)", v)
	}
}

// checkFenceOnFail refuses on-fail=fence with fencing off: it could only
// be ignored.
func (l *loader) checkFenceOnFail(f field, path string, v OnFail, fencing bool) {
	if f.value != nil && v == OnFailFence && !fencing {
		l.errf(f.value, path, "%q needs fencing, which is off (use restart, stop, block or standby)", v)
	}
}

func (l *loader) onFail(f field, path string, def OnFail) OnFail {
	if f.value == nil {
		return def
	}
	v := OnFail(f.value.Value)
	if !slices.Contains(onFails, v) {
		l.errf(f.value, path, "%q is not an on-fail policy (ignore, block, stop, restart, fence, standby)", f.value.Value)
		return def
	}
	return v
}

// resources loads the resources and returns where each id was first
// defined.
func (l *loader) resources(f field, m *Model) map[string]memberAt {
	seen := map[string]memberAt{}
	c := m.Cluster
	stopDefault := OnFailFence
	if !c.Fencing {
		stopDefault = OnFailBlock
	}
	for i, n := range l.list(f, "resources") {
		p := fmt.Sprintf("resources[%d]", i)
		fs, ok := l.entry(n, p, "id", "name", "agent", "params", "ops")
		if !ok {
			continue
		}
		r := Resource{ID: l.str(fs["id"], p+".id", ""), Line: n.Line}
		if l.checkID(fs["id"], n, p+".id", r.ID) {
			if first := seen[r.ID]; first.node != nil {
				l.errf(fs["id"].value, p+".id", "resource %q is defined twice (first on line %d)", r.ID, first.node.Line)
			} else {
				seen[r.ID] = memberAt{n, p}
			}
		}
		r.Name = l.str(fs["name"], p+".name", r.ID)
		agent := l.str(fs["agent"], p+".agent", "")
		if a, err := ocf.ParseAgent(agent); err != nil {
			l.errf(nodeOr(fs["agent"].value, n), p+".agent", "%v", err)
		} else {
			r.Agent = a
		}
		r.Params = l.stringMap(fs["params"], p+".params", func(k, _ *yaml.Node, kp string) {
			if err := ocf.ValidParamName(k.Value); err != nil {
				l.errf(k, kp, "%v", err)
			}
		})
		ops := l.fields(fs["ops"].value, p+".ops", "start", "stop", "reload", "notify", "monitor")
		st := l.fields(ops["start"].value, p+".ops.start", "timeout", "on-fail")
		r.Start = Op{Timeout: l.positive(st["timeout"], p+".ops.start.timeout", c.StartTimeout),
			OnFail: l.onFail(st["on-fail"], p+".ops.start.on-fail", OnFailRestart)}
		l.checkFenceOnFail(st["on-fail"], p+".ops.start.on-fail", r.Start.OnFail, c.Fencing)
		sp := l.fields(ops["stop"].value, p+".ops.stop", "timeout", "on-fail")
		r.Stop = Op{Timeout: l.positive(sp["timeout"], p+".ops.stop.timeout", c.StopTimeout),
			OnFail: l.onFail(sp["on-fail"], p+".ops.stop.on-fail", stopDefault)}
		l.checkStopOnFail(sp["on-fail"], p+".ops.stop.on-fail", r.Stop.OnFail, c.Fencing)
		rl := l.fields(ops["reload"].value, p+".ops.reload", "timeout")
		r.Reload = Op{Timeout: l.positive(rl["timeout"], p+".ops.reload.timeout", r.Start.Timeout), OnFail: OnFailRestart}
		nt := l.fields(ops["notify"].value, p+".ops.notify", "timeout")
		r.Notify = Op{Timeout: l.positive(nt["timeout"], p+".ops.notify.timeout", r.Start.Timeout), OnFail: OnFailIgnore}
		intervals := map[time.Duration]bool{}
		for j, mn := range l.list(ops["monitor"], p+".ops.monitor") {
			mp := fmt.Sprintf("%s.ops.monitor[%d]", p, j)
			mf, ok := l.entry(mn, mp, "interval", "timeout", "depth", "on-fail", "role")
			if !ok {
				continue
			}
			before := len(l.errs)
			mon := Monitor{Interval: l.duration(mf["interval"], mp+".interval", 0)}
			// An interval already reported as malformed is not also "not
			// positive" or a duplicate.
			intervalOK := len(l.errs) == before
			mon.Timeout = l.positive(mf["timeout"], mp+".timeout", c.MonitorTimeout)
			mon.Depth = l.integer(mf["depth"], mp+".depth", 0, 0, 1000)
			mon.OnFail = l.onFail(mf["on-fail"], mp+".on-fail", OnFailRestart)
			l.checkFenceOnFail(mf["on-fail"], mp+".on-fail", mon.OnFail, c.Fencing)
			mon.Role = MonitorRole(l.str(mf["role"], mp+".role", ""))
			if mf["role"].value != nil {
				if mon.Role != MonitorPromoted && mon.Role != MonitorUnpromoted {
					l.errf(mf["role"].value, mp+".role", "%q is not a role (promoted, unpromoted)", mon.Role)
				}
				l.roles = append(l.roles, roleAt{r.ID, mf["role"].value, mp + ".role"})
			}
			switch {
			case mf["interval"].value == nil:
				l.errf(mn, mp+".interval", "is required (how often the monitor runs, e.g. 10s)")
			case !intervalOK:
			case mon.Interval <= 0:
				l.errf(mf["interval"].value, mp+".interval", "a recurring monitor needs a positive interval")
			case intervals[mon.Interval]:
				l.errf(mf["interval"].value, mp+".interval", "another monitor of %s already uses %s (intervals identify monitors)", r.ID, mon.Interval)
			default:
				intervals[mon.Interval] = true
			}
			r.Monitors = append(r.Monitors, mon)
		}
		m.Resources = append(m.Resources, r)
	}
	return seen
}

func nodeOr(n, def *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return def
}

var (
	recoveries = []Recovery{RecoveryRestart, RecoveryRelocate, RecoveryDisable}
	// multipleActives are the multiple-active policies, the default first.
	multipleActives = []MultipleActive{MultipleStopUnexpected, MultipleStopStart, MultipleStopOnly, MultipleBlock}
	roles           = []Role{RoleStarted, RoleStopped}
)

func (l *loader) groups(f field, m *Model, hosts map[string]*yaml.Node, rscs map[string]memberAt) {
	seen := map[string]int{}
	// memberOf names the group (or, for a group without a valid id, its
	// path) each resource was first placed in.
	memberOf := map[string]string{}
	for i, n := range l.list(f, "groups") {
		p := fmt.Sprintf("groups[%d]", i)
		fs, ok := l.entry(n, p, "id", "name", "members", "placement")
		if !ok {
			continue
		}
		g := Group{ID: l.str(fs["id"], p+".id", ""), Line: n.Line}
		if l.checkID(fs["id"], n, p+".id", g.ID) {
			if first, dup := seen[g.ID]; dup {
				l.errf(fs["id"].value, p+".id", "group %q is defined twice (first on line %d)", g.ID, first)
			} else {
				seen[g.ID] = n.Line
			}
		}
		g.Name = l.str(fs["name"], p+".name", g.ID)
		label := fmt.Sprintf("%q", g.ID)
		if g.ID == "" {
			label = p
		}
		nodes := map[string]memberAt{}
		raw := l.list(fs["members"], p+".members")
		for j, mn := range raw {
			mp := fmt.Sprintf("%s.members[%d]", p, j)
			mf, ok := l.entry(mn, mp, "resource", "parent")
			if !ok {
				continue
			}
			mem := Member{Resource: l.str(mf["resource"], mp+".resource", ""), Parent: l.str(mf["parent"], mp+".parent", "")}
			switch {
			case mem.Resource == "":
				l.errf(mn, mp+".resource", "is required")
				continue
			case rscs[mem.Resource].node == nil:
				l.errf(mf["resource"].value, mp+".resource", "unknown resource %q", mem.Resource)
				continue
			case memberOf[mem.Resource] == label:
				l.errf(mf["resource"].value, mp+".resource", "resource %q is listed twice in this group", mem.Resource)
				continue
			case memberOf[mem.Resource] != "":
				l.errf(mf["resource"].value, mp+".resource", "resource %q is already in group %s (a resource belongs to exactly one group)", mem.Resource, memberOf[mem.Resource])
				continue
			}
			memberOf[mem.Resource] = label
			nodes[mem.Resource] = memberAt{mn, mp}
			g.Members = append(g.Members, mem)
		}
		if len(raw) == 0 {
			l.errf(nodeOr(fs["members"].value, n), p+".members", "a group needs at least one member")
		} else {
			l.tree(&g, p, nodes, fs["members"].value)
		}
		g.Placement = l.placement(fs["placement"], p+".placement", m, hosts)
		m.Groups = append(m.Groups, g)
	}
	reported := map[string]bool{}
	for _, r := range m.Resources {
		// Once per id, at its first definition: a duplicate is reported as such.
		if first := rscs[r.ID]; first.node != nil && memberOf[r.ID] == "" && !reported[r.ID] {
			reported[r.ID] = true
			l.errf(first.node, first.path, "resource %q is in no group (every resource belongs to exactly one)", r.ID)
		}
	}
}

// memberAt is where a group member was written.
type memberAt struct {
	node *yaml.Node
	path string
}

// tree checks that a group's accepted members form one tree: one root,
// parents in the group, no cycles. Members already rejected (unknown or
// taken resources) are not in g.Members; their own errors stand for them.
func (l *loader) tree(g *Group, p string, nodes map[string]memberAt, at *yaml.Node) {
	if len(g.Members) == 0 {
		return
	}
	var roots []string
	badParent := false
	for _, mem := range g.Members {
		w := nodes[mem.Resource]
		switch {
		case mem.Parent == "":
			roots = append(roots, mem.Resource)
		case mem.Parent == mem.Resource:
			l.errf(w.node, w.path+".parent", "%q cannot be its own parent", mem.Resource)
			badParent = true
		case nodes[mem.Parent].node == nil:
			l.errf(w.node, w.path+".parent", "parent %q is not a member of this group", mem.Parent)
			badParent = true
		}
	}
	switch len(roots) {
	case 0:
		l.errf(at, p+".members", "a group needs exactly one root member (one without parent), found none: every member has a parent")
		return
	case 1:
	default:
		l.errf(at, p+".members", "a group needs exactly one root member (one without parent), found %d: %s",
			len(roots), strings.Join(roots, ", "))
		return
	}
	if badParent {
		return
	}
	// With one root and every parent a member, a member the walk from the
	// root does not reach can only be on a cycle of parents.
	order := g.StartOrder()
	if len(order) == len(g.Members) {
		return
	}
	var lost []string
	for _, mem := range g.Members {
		if !slices.Contains(order, mem.Resource) {
			lost = append(lost, mem.Resource)
		}
	}
	l.errf(at, p+".members", "members %s form a cycle of parents (each member's parents must lead up to the root %q)",
		strings.Join(lost, ", "), roots[0])
}

func (l *loader) placement(f field, p string, m *Model, hosts map[string]*yaml.Node) Placement {
	fs := l.fields(f.value, p, "domain", "stickiness", "migration-threshold", "failure-timeout", "recovery",
		"multiple-active", "max-instances", "target-role", "managed", "clone", "clone-max", "clone-node-max",
		"interleave", "ordered", "notify", "promotable", "promoted-max", "promoted-node-max", "resource-discovery")
	pl := Placement{
		Stickiness:         l.integer(fs["stickiness"], p+".stickiness", 0, 0, 1_000_000),
		MigrationThreshold: l.integer(fs["migration-threshold"], p+".migration-threshold", 3, 0, 1_000_000),
		FailureTimeout:     l.duration(fs["failure-timeout"], p+".failure-timeout", 0),
		Recovery:           Recovery(l.str(fs["recovery"], p+".recovery", string(RecoveryRestart))),
		MultipleActive:     MultipleActive(l.str(fs["multiple-active"], p+".multiple-active", string(MultipleStopUnexpected))),
		TargetRole:         Role(l.str(fs["target-role"], p+".target-role", string(RoleStarted))),
		Managed:            l.boolean(fs["managed"], p+".managed", true),
	}
	if !slices.Contains(recoveries, pl.Recovery) {
		l.errf(fs["recovery"].value, p+".recovery", "%q is not a recovery policy (restart, relocate, disable)", pl.Recovery)
	}
	if !slices.Contains(multipleActives, pl.MultipleActive) {
		l.errf(fs["multiple-active"].value, p+".multiple-active",
			"%q is not a multiple-active policy (stop-unexpected, stop-start, stop-only, block)", pl.MultipleActive)
	}
	if !slices.Contains(roles, pl.TargetRole) {
		l.errf(fs["target-role"].value, p+".target-role", "%q is not a target role (started, stopped)", pl.TargetRole)
	}
	if fs["domain"].value == nil {
		for i, h := range m.Hosts {
			pl.Domain.Hosts = append(pl.Domain.Hosts, DomainHost{Host: h.Name, Priority: i + 1})
		}
	} else {
		l.domain(fs["domain"], p+".domain", &pl, m, hosts)
	}
	l.clone(fs, p, &pl, m)
	pl.Discovery = l.discovery(fs["resource-discovery"], p+".resource-discovery", pl.Domain)
	return pl
}

// discovery reads a placement's resource-discovery. Exclusive is only
// safe for a group that can run nowhere but its domain, so it needs a
// restricted one (a group without a domain has an unrestricted one of
// every host); never (Pacemaker's third mode) would let a resource run
// unseen anywhere, and Basalt has no use for it.
func (l *loader) discovery(f field, path string, d Domain) Discovery {
	v := Discovery(l.str(f, path, string(DiscoveryAlways)))
	switch {
	case v == DiscoveryAlways:
	case v == "never":
		l.errf(f.value, path, "never is not supported: a resource must be probed where it may run (always, or exclusive with a restricted domain)")
		return DiscoveryAlways
	case v != DiscoveryExclusive:
		l.errf(f.value, path, "%q is not a resource-discovery mode (always, exclusive)", v)
		return DiscoveryAlways
	case !d.Restricted:
		l.errf(f.value, path, "exclusive probes only the domain's hosts, so the group must never run elsewhere: give it a domain with restricted: true")
		return DiscoveryAlways
	}
	return v
}

// clone reads the clone keys of a placement: how many instances, and for a
// promotable clone how many promoted. max-instances is clone-max's older
// name, still accepted.
func (l *loader) clone(fs map[string]field, p string, pl *Placement, m *Model) {
	c := &pl.Clone
	c.Promotable = l.boolean(fs["promotable"], p+".promotable", false)
	clone := l.boolean(fs["clone"], p+".clone", false) || c.Promotable
	// A clone runs, by default, one instance on every host it may run on
	// (Pacemaker's clone-max default: the number of nodes).
	allowed := len(m.Hosts)
	if pl.Domain.Restricted && len(pl.Domain.Hosts) > 0 {
		allowed = len(pl.Domain.Hosts)
	}
	def := 1
	if clone {
		def = max(1, allowed)
	}
	maxKey := "clone-max"
	if fs["max-instances"].value != nil {
		if fs["clone-max"].value != nil {
			l.errf(fs["max-instances"].key, p+".max-instances", "max-instances is the older name of clone-max: give only clone-max")
		} else {
			maxKey = "max-instances"
			l.warnf(fs["max-instances"].key, p+".max-instances", "max-instances is deprecated: call it clone-max")
		}
	}
	pl.MaxInstances = l.integer(fs[maxKey], p+"."+maxKey, def, 1, max(1, len(m.Hosts)))
	c.NodeMax = l.onePerHost(fs["clone-node-max"], p+".clone-node-max")
	c.Interleave = l.boolean(fs["interleave"], p+".interleave", false)
	c.Ordered = l.boolean(fs["ordered"], p+".ordered", false)
	c.Notify = l.boolean(fs["notify"], p+".notify", false)
	c.PromotedMax = l.integer(fs["promoted-max"], p+".promoted-max", 1, 1, max(1, pl.MaxInstances))
	c.PromotedNodeMax = l.onePerHost(fs["promoted-node-max"], p+".promoted-node-max")
	if !c.Promotable {
		for _, k := range []string{"promoted-max", "promoted-node-max"} {
			if fs[k].value != nil {
				l.errf(fs[k].key, p+"."+k, "only a promotable group has promoted instances (set promotable: true)")
			}
		}
	}
}

// domain reads a placement's failover domain.
func (l *loader) domain(f field, dp string, pl *Placement, m *Model, hosts map[string]*yaml.Node) {
	fs := map[string]field{"domain": f}
	df := l.fields(fs["domain"].value, dp, "hosts", "restricted", "failback")
	pl.Domain.Restricted = l.boolean(df["restricted"], dp+".restricted", true)
	pl.Domain.Failback = l.boolean(df["failback"], dp+".failback", false)
	inDomain := map[string]bool{}
	for i, hn := range l.list(df["hosts"], dp+".hosts") {
		hp := fmt.Sprintf("%s.hosts[%d]", dp, i)
		hf, ok := l.entry(hn, hp, "host", "priority")
		if !ok {
			continue
		}
		dh := DomainHost{Host: l.str(hf["host"], hp+".host", ""), Priority: l.integer(hf["priority"], hp+".priority", i+1, 0, 1000)}
		switch {
		case hf["host"].value == nil:
			l.errf(hn, hp+".host", "is required")
		case hosts[dh.Host] == nil:
			l.errf(hf["host"].value, hp+".host", "unknown host %q", dh.Host)
		case inDomain[dh.Host]:
			l.errf(hf["host"].value, hp+".host", "host %q is listed twice", dh.Host)
		}
		inDomain[dh.Host] = true
		pl.Domain.Hosts = append(pl.Domain.Hosts, dh)
	}
	if len(pl.Domain.Hosts) == 0 {
		l.errf(fs["domain"].value, dp+".hosts", "a domain needs at least one host")
	}
	if len(pl.Domain.Hosts) == 1 && pl.Domain.Restricted && len(m.Hosts) > 1 {
		l.warnf(fs["domain"].key, dp, "the group may run only on host %q: it cannot fail over (add hosts to the domain, or set restricted: false)",
			pl.Domain.Hosts[0].Host)
	}
}
