package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/basalt-ha/basalt/core/fenceargs"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
)

// The agent daemon's defaults (cmd/basalt-agent: --ocf-root, --fence-agents).
// validate must look where basalt-agent will run agents, so these two must
// change together with that command's flags.
const (
	fallbackOCFRoot = "/usr/lib/ocf"
	defaultFenceDir = "/usr/sbin"
	// agentPath is the PATH agents run with (live/daemon.DefaultPath, which
	// this command may not link: it pulls in the LRM).
	agentPath = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
)

// metaDataTimeout bounds one meta-data run: real agents answer in well under
// a second, and a hung one must not hang validate.
const metaDataTimeout = 10 * time.Second

// maxMetaDataOutput is what is kept of an agent's output: ParseMetaData
// refuses more than 1 MiB anyway, and a runaway agent must not fill memory.
const maxMetaDataOutput = 1<<20 + 1

// defaultOCFRoot is basalt-agent's default: $OCF_ROOT, else /usr/lib/ocf.
func defaultOCFRoot() string {
	if r := os.Getenv("OCF_ROOT"); r != "" {
		return r
	}
	return fallbackOCFRoot
}

// agentChecker checks a loaded configuration against the agents installed
// on this machine. Meta-data is cached per agent, so that ten resources of
// one agent run it once.
type agentChecker struct {
	ocfRoot  string // absolute
	fenceDir string // absolute
	timeout  time.Duration
	ocfMeta  map[string]metaResult
	fenceMD  map[string]metaResult
}

type metaResult struct {
	md  *ocf.MetaData
	err error
}

func newAgentChecker(ocfRoot, fenceDir string) (*agentChecker, error) {
	// Relative directories are taken from where validate runs; the agents
	// themselves get an absolute OCF_ROOT, as the LRM gives them.
	root, err := filepath.Abs(ocfRoot)
	if err != nil {
		return nil, fmt.Errorf("--ocf-root %s: %w", ocfRoot, err)
	}
	dir, err := filepath.Abs(fenceDir)
	if err != nil {
		return nil, fmt.Errorf("--fence-agents %s: %w", fenceDir, err)
	}
	return &agentChecker{ocfRoot: root, fenceDir: dir, timeout: metaDataTimeout,
		ocfMeta: map[string]metaResult{}, fenceMD: map[string]metaResult{}}, nil
}

// check returns every problem of m's agents, sorted by line then path, and
// how many distinct agents were looked at.
func (c *agentChecker) check(file string, data []byte, m *model.Model) ([]*model.Error, int) {
	loc := locate(data)
	// Counted per file: the meta-data cache is shared by every file of
	// one validate run.
	seen := map[string]bool{}
	var out []*model.Error
	add := func(line int, path, format string, args ...any) {
		out = append(out, &model.Error{File: file, Line: max(line, 1), Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	for _, r := range m.Resources {
		at := loc.resources[r.ID]
		if at == nil {
			// The loader accepted it, so it is in the file; only a
			// locator that disagrees with the loader lands here.
			at = &entryLoc{path: "resources[?]", line: r.Line}
		}
		seen[r.Agent.String()] = true
		md, err := c.ocfMetaData(r.Agent, r.ID)
		if err != nil {
			add(at.agentLine(), at.path+".agent", "%v", err)
			continue
		}
		c.checkParams(add, at, fmt.Sprintf("resource %q", r.ID), r.Agent.String(), md, r.Params, false)
	}
	for _, d := range m.FenceDevices {
		at := loc.devices[d.ID]
		if at == nil {
			at = &entryLoc{path: "fence-devices[?]", line: 1}
		}
		seen["fence:"+d.Agent] = true
		md, err := c.fenceMetaData(d.Agent)
		if err != nil {
			add(at.agentLine(), at.path+".agent", "%v", err)
			continue
		}
		// Only unknown names: fence agents' meta-data marks both a name
		// and its deprecated alias required (ip and ipaddr), and action
		// and plug, which basalt sets itself, so "required" cannot be
		// read as "must be in params".
		c.checkParams(add, at, fmt.Sprintf("fence device %q", d.ID), d.Agent, md, d.Params, true)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Path < out[j].Path
	})
	return out, len(seen)
}

// checkParams reports each parameter the agent does not declare, with the
// closest declared name when one is near, and (for a resource agent, not a
// fence agent) each parameter the agent requires that params lacks. ocf's CheckParams knows
// the same rules but returns one joined error with no place in the file
// and no suggestion; here each finding is on its own line.
func (c *agentChecker) checkParams(add func(int, string, string, ...any), at *entryLoc, who, agent string,
	md *ocf.MetaData, params map[string]string, fence bool) {
	known := make([]string, 0, len(md.Parameters))
	for _, p := range md.Parameters {
		if fence && fenceargs.Reserved(p.Name) {
			// action, plug and their aliases are basalt's to set; naming
			// them as candidates would suggest what the loader refuses.
			continue
		}
		known = append(known, p.Name)
	}
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := md.Parameter(n); ok {
			continue
		}
		hint := ""
		if s := suggest(n, known); s != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", s)
		}
		list := "it declares none"
		if len(known) > 0 {
			list = "known: " + strings.Join(known, ", ")
		}
		add(at.paramLine(n), at.path+".params."+n, "%s: %s has no parameter %q%s; %s", who, agent, n, hint, list)
	}
	if fence {
		return
	}
	for _, p := range md.Parameters {
		if _, ok := params[p.Name]; p.Required && !ok {
			what := ""
			if p.ShortDesc != "" {
				what = " (" + p.ShortDesc + ")"
			}
			add(at.paramsLine(), at.path+".params", "%s: parameter %q%s is required by %s", who, p.Name, what, agent)
		}
	}
}

// ocfMetaData finds an OCF agent under the root the way the agent daemon
// does (root/resource.d/provider/type, no link leading out of the root,
// executable) and runs its meta-data action.
func (c *agentChecker) ocfMetaData(a ocf.Agent, instance string) (*ocf.MetaData, error) {
	if r, ok := c.ocfMeta[a.String()]; ok {
		return r.md, r.err
	}
	md, err := func() (*ocf.MetaData, error) {
		path, err := a.Path(c.ocfRoot)
		if err != nil {
			return nil, err
		}
		if err := executableUnder(c.ocfRoot, path); err != nil {
			hint := " (--ocf-root sets the OCF root)"
			if errors.Is(err, fs.ErrNotExist) {
				if s := suggestOCF(c.ocfRoot, a); s != "" {
					hint = fmt.Sprintf(" (did you mean %s?)", s)
				}
			}
			return nil, fmt.Errorf("%s is not installed: %w%s", a, err, hint)
		}
		env, err := ocf.Env(ocf.EnvSpec{Root: c.ocfRoot, Agent: a, Instance: instance, Extra: []string{agentPath}})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a, err)
		}
		return c.runMetaData(a.String(), path, []string{string(ocf.MetaDataAction)}, env, "")
	}()
	c.ocfMeta[a.String()] = metaResult{md, err}
	return md, err
}

// fenceMetaData finds a fence agent in the fence agent directory, as the
// agent daemon runs it (dir/name), and asks it for its metadata.
func (c *agentChecker) fenceMetaData(name string) (*ocf.MetaData, error) {
	if r, ok := c.fenceMD[name]; ok {
		return r.md, r.err
	}
	md, err := func() (*ocf.MetaData, error) {
		path := filepath.Join(c.fenceDir, name)
		if err := executable(path); err != nil {
			hint := " (--fence-agents sets the directory)"
			if errors.Is(err, fs.ErrNotExist) {
				if s := suggest(name, installedFenceAgents(c.fenceDir)); s != "" {
					hint = fmt.Sprintf(" (did you mean %s?)", s)
				}
			}
			return nil, fmt.Errorf("fence agent %s is not installed: %w%s", name, err, hint)
		}
		// On stdin, as basalt-agent gives a fence agent every request: the
		// one argument form every fence agent reads (the test agent takes
		// no "-o").
		return c.runMetaData("fence agent "+name, path, nil, []string{agentPath}, "action=metadata\n")
	}()
	c.fenceMD[name] = metaResult{md, err}
	return md, err
}

// runMetaData runs an agent directly (never through a shell: its path and
// arguments are data), with env only, stdin and a timeout, and parses what
// it prints.
func (c *agentChecker) runMetaData(what, path string, args, env []string, stdin string) (*ocf.MetaData, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = env
	cmd.Dir = "/"
	cmd.Stdin = strings.NewReader(stdin)
	// Its own process group, killed whole on timeout: a shell agent's
	// children would otherwise hold its output open after it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var stdout, stderr capped
	stdout.limit, stderr.limit = maxMetaDataOutput, 4096
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s: meta-data did not answer within %s", what, c.timeout)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		if msg != "" {
			msg = ": " + msg
		}
		return nil, fmt.Errorf("%s: meta-data failed: %w%s", what, err, msg)
	}
	md, err := ocf.ParseMetaData(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if md.ShortDesc == "" {
		// Fence agents say what they are in an attribute of the root
		// element (<resource-agent shortdesc="...">), which the OCF
		// parser, reading the element OCF defines, does not look at.
		md.ShortDesc = rootShortDesc(stdout.Bytes())
	}
	return md, nil
}

// rootShortDesc returns the shortdesc attribute of the document's root
// element, "" if it has none or the document does not parse.
func rootShortDesc(data []byte) string {
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if a.Name.Local == "shortdesc" {
					return strings.TrimSpace(a.Value)
				}
			}
			return ""
		}
	}
}

// capped keeps the first limit bytes written and drops the rest, so that
// the agent is never blocked on a full pipe.
type capped struct {
	bytes.Buffer
	limit int
}

func (w *capped) Write(p []byte) (int, error) {
	if room := w.limit - w.Len(); room > 0 {
		w.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// executableUnder is what the agent daemon requires of an OCF agent
// (live/daemon.ResolveUnder, which this command may not link): it exists,
// its symbolic links do not lead out of root, and it is an executable
// regular file.
func executableUnder(root, path string) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return notFound(path, err)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return notFound(root, err)
	}
	if rel, err := filepath.Rel(realRoot, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%s leads to %s, outside the OCF root %s", path, real, realRoot)
	}
	return executable(real)
}

// executable checks that path is a regular file this user may execute.
func executable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return notFound(path, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	// access(2), not the mode bits: it answers for this user, who is (on a
	// cluster host) who runs the agents.
	if err := syscall.Access(path, 0x1); err != nil {
		return fmt.Errorf("%s is not executable: %w", path, err)
	}
	return nil
}

// notFound words a failed stat: "PATH does not exist" for the common case
// (still matching fs.ErrNotExist), the cause otherwise.
func notFound(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return missingError(path)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// missingError is a path that does not exist, said once: a wrapped
// *PathError would read "PATH does not exist: stat PATH: no such file".
type missingError string

func (e missingError) Error() string { return string(e) + " does not exist" }

func (e missingError) Unwrap() error { return fs.ErrNotExist }

// listDir names the entries of dir that start with prefix, for
// suggestions; an unreadable directory suggests nothing.
func listDir(dir, prefix string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// suggestOCF returns the installed agent nearest to a: first among its
// provider's agents (a typo in the type), then among every provider's (a
// typo in the provider, or both), "" when none is near.
func suggestOCF(root string, a ocf.Agent) string {
	if s := suggest(a.Type, listDir(filepath.Join(root, "resource.d", a.Provider), "")); s != "" {
		return ocf.Agent{Provider: a.Provider, Type: s}.String()
	}
	return suggest(a.String(), installedOCFAgents(root))
}

// installedOCFAgents names, as ocf:PROVIDER:TYPE and sorted, every agent
// under root that the agent daemon would run: root/resource.d/PROVIDER/TYPE,
// a valid name, an executable regular file whose links stay under root.
// Unreadable directories list nothing: this is for listings and
// suggestions, and a missing agent is reported where it is named.
func installedOCFAgents(root string) []string {
	var out []string
	base := filepath.Join(root, "resource.d")
	for _, p := range listDir(base, "") {
		for _, t := range listDir(filepath.Join(base, p), "") {
			a := ocf.Agent{Provider: p, Type: t}
			path, err := a.Path(root)
			if err != nil || executableUnder(root, path) != nil {
				// Not a name the loader accepts (a README, a dotfile), or
				// not something the daemon would run.
				continue
			}
			out = append(out, a.String())
		}
	}
	sort.Strings(out)
	return out
}

// installedFenceAgents names, sorted, the fence_* executables in dir, as
// the agent daemon finds them (dir/NAME).
func installedFenceAgents(dir string) []string {
	var out []string
	for _, n := range listDir(dir, "fence_") {
		if executable(filepath.Join(dir, n)) == nil {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// suggest returns the candidate closest to name by edit distance, when it
// is close enough to be a typo: one edit for names of up to four letters,
// two beyond. Case is ignored. Ties go to the first candidate in sorted
// order, so that the answer is stable.
func suggest(name string, candidates []string) string {
	limit := 1
	if len([]rune(name)) > 4 {
		limit = 2
	}
	sorted := slices.Sorted(slices.Values(candidates))
	best, bestD := "", limit+1
	for _, c := range sorted {
		if c == name {
			continue
		}
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the number of single-rune insertions, deletions,
// substitutions and swaps of neighbours that turn a into b (the optimal
// string alignment distance): a swap counts as one edit because "fkae" for
// "fake" is one slip of the fingers, not two.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// d[i][j] is the distance between ra[:i] and rb[:j].
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// entryLoc is where one resource or fence device is in the file: its path
// as the loader names it, and the lines of its parts.
type entryLoc struct {
	path        string
	line        int
	agent       int
	params      int
	paramByName map[string]int
}

func (e *entryLoc) agentLine() int { return first(e.agent, e.line) }

func (e *entryLoc) paramsLine() int { return first(e.params, e.line) }

func (e *entryLoc) paramLine(name string) int {
	return first(e.paramByName[name], e.params, e.line)
}

// first returns the first positive line.
func first(lines ...int) int {
	for _, l := range lines {
		if l > 0 {
			return l
		}
	}
	return 1
}

// fileLocs maps resource and fence device ids to where they are.
type fileLocs struct {
	resources map[string]*entryLoc
	devices   map[string]*entryLoc
}

// locate finds resources and fence devices in the file by id. The model
// keeps a resource's line but not its keys' lines, nor any line for a
// fence device; the file has loaded already, so its shape is known to be
// right, and anything unexpected is skipped (the caller falls back to the
// entry's line, or line 1).
func locate(data []byte) fileLocs {
	out := fileLocs{resources: map[string]*entryLoc{}, devices: map[string]*entryLoc{}}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return out
	}
	top := doc.Content[0]
	for _, sec := range []struct {
		key  string
		dest map[string]*entryLoc
	}{{"resources", out.resources}, {"fence-devices", out.devices}} {
		list := mapValue(top, sec.key)
		if list == nil || list.Kind != yaml.SequenceNode {
			continue
		}
		for i, item := range list.Content {
			item = deref(item)
			id := mapValue(item, "id")
			if id == nil || id.Kind != yaml.ScalarNode {
				continue
			}
			e := &entryLoc{path: fmt.Sprintf("%s[%d]", sec.key, i), line: item.Line, paramByName: map[string]int{}}
			if a := mapValue(item, "agent"); a != nil {
				e.agent = a.Line
			}
			if p := mapKey(item, "params"); p != nil {
				e.params = p.Line
				if pm := mapValue(item, "params"); pm != nil && pm.Kind == yaml.MappingNode {
					for j := 0; j+1 < len(pm.Content); j += 2 {
						e.paramByName[pm.Content[j].Value] = pm.Content[j].Line
					}
				}
			}
			if _, dup := sec.dest[id.Value]; !dup {
				sec.dest[id.Value] = e
			}
		}
	}
	return out
}

// deref follows an alias to its anchored node: the loader accepts
// aliases, so a resource's params may be another's.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

// mapKey returns the key node of key in mapping n, or nil.
func mapKey(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}

// mapValue returns the value node of key in mapping n (through aliases),
// or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return deref(n.Content[i+1])
		}
	}
	return nil
}
