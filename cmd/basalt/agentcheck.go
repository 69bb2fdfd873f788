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
	"sort"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/basalt-ha/basalt/core/agentcheck"
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

// agentReport is what check found in one file: errors (the file is
// invalid), warnings, and how many distinct agents it read the meta-data
// of and how many are not installed here.
type agentReport struct {
	errors, warnings []*model.Error
	checked, missing int
}

// check judges m against the agents installed on this machine (core's
// agentcheck decides; this finds the agents, runs them and places each
// finding on its line), sorted by line then path.
func (c *agentChecker) check(file string, data []byte, m *model.Model, strict bool) agentReport {
	agents := agentcheck.Agents{OCF: map[string]agentcheck.Meta{}, Fence: map[string]agentcheck.Meta{}}
	for _, r := range m.Resources {
		md, err := c.ocfMetaData(r.Agent, r.ID)
		agents.OCF[r.Agent.String()] = agentcheck.Meta{MetaData: md, Missing: errors.Is(err, fs.ErrNotExist), Err: err}
	}
	for _, d := range m.FenceDevices {
		md, err := c.fenceMetaData(d.Agent)
		agents.Fence[d.Agent] = agentcheck.Meta{MetaData: md, Missing: errors.Is(err, fs.ErrNotExist), Err: err}
	}
	// Counted per file: the meta-data cache is shared by every file of
	// one validate run.
	var rep agentReport
	for _, set := range []map[string]agentcheck.Meta{agents.OCF, agents.Fence} {
		for _, meta := range set {
			switch {
			case meta.MetaData != nil:
				rep.checked++
			case meta.Missing:
				rep.missing++
			}
		}
	}
	loc := locate(data)
	for _, p := range agentcheck.Check(m, agents, agentcheck.Options{Strict: strict}) {
		e := loc.place(file, m, p)
		if p.Warning {
			rep.warnings = append(rep.warnings, e)
		} else {
			rep.errors = append(rep.errors, e)
		}
	}
	for _, list := range [][]*model.Error{rep.errors, rep.warnings} {
		sort.SliceStable(list, func(i, j int) bool {
			if list[i].Line != list[j].Line {
				return list[i].Line < list[j].Line
			}
			return list[i].Path < list[j].Path
		})
	}
	return rep
}

// lines renders errors and warnings together, sorted by line then path.
func (r agentReport) lines() []string {
	type entry struct {
		e       *model.Error
		warning bool
	}
	var all []entry
	for _, e := range r.errors {
		all = append(all, entry{e, false})
	}
	for _, e := range r.warnings {
		all = append(all, entry{e, true})
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].e.Line != all[j].e.Line {
			return all[i].e.Line < all[j].e.Line
		}
		return all[i].e.Path < all[j].e.Path
	})
	out := make([]string, len(all))
	for i, x := range all {
		out[i] = x.e.Error()
		if x.warning {
			out[i] = x.e.Warning()
		}
	}
	return out
}

// place turns a finding into an error at its line: the agent's for an
// agent, the parameter's for one parameter, the params key's for a
// required one missing.
func (l fileLocs) place(file string, m *model.Model, p agentcheck.Problem) *model.Error {
	at := l.devices[p.ID]
	if !p.Fence {
		at = l.resources[p.ID]
	}
	if at == nil {
		// The loader accepted it, so it is in the file; only a locator
		// that disagrees with the loader lands here.
		at = &entryLoc{path: "fence-devices[?]", line: 1}
		if !p.Fence {
			at = &entryLoc{path: "resources[?]", line: resourceLine(m, p.ID)}
		}
	}
	e := &model.Error{File: file, Msg: p.Msg}
	switch {
	case p.Kind == agentcheck.AgentMissing || p.Kind == agentcheck.AgentBroken:
		e.Line, e.Path = at.agentLine(), at.path+".agent"
	case p.Param != "":
		e.Line, e.Path = at.paramLine(p.Param), at.path+".params."+p.Param
	default:
		e.Line, e.Path = at.paramsLine(), at.path+".params"
	}
	return e
}

// resourceLine is the loader's line of resource id, 1 if it has none.
func resourceLine(m *model.Model, id string) int {
	for _, r := range m.Resources {
		if r.ID == id {
			return max(r.Line, 1)
		}
	}
	return 1
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
				if s := agentcheck.Suggest(name, installedFenceAgents(c.fenceDir)); s != "" {
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
	if s := agentcheck.Suggest(a.Type, listDir(filepath.Join(root, "resource.d", a.Provider), "")); s != "" {
		return ocf.Agent{Provider: a.Provider, Type: s}.String()
	}
	return agentcheck.Suggest(a.String(), installedOCFAgents(root))
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
