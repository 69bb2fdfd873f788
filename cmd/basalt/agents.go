package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
	"github.com/basalt-ha/basalt/core/ocf"
)

var agentsCmds = subcmd.Set{Tool: "basalt agents", Noun: "action",
	Footer: "Both look where basalt-agent runs agents: --ocf-root DIR (default $OCF_ROOT, else " + fallbackOCFRoot + ")\nand --fence-agents DIR (default " + defaultFenceDir + ").\n",
	Commands: map[string]subcmd.Command{
		"list":     {Args: "[-o text|json|yaml]", Summary: "the OCF resource agents and fence agents installed here", Run: agentsList},
		"describe": {Args: "AGENT [AGENT ...]", Summary: "an agent's meta-data: what it does, its parameters and actions", Run: agentsDescribe},
	}}

// agentDirFlags are the flags naming where agents are, as validate's.
type agentDirFlags struct {
	ocfRoot, fenceDir *string
}

func registerAgentDirs(fs *subcmd.Flags) agentDirFlags {
	// Empty stands for basalt-agent's default, which depends on $OCF_ROOT;
	// the help says so rather than show this environment's value.
	return agentDirFlags{
		ocfRoot:  fs.String("ocf-root", "", "the OCF root `DIR` (resource.d/PROVIDER/TYPE), as basalt-agent's (default $OCF_ROOT, else "+fallbackOCFRoot+")"),
		fenceDir: fs.String("fence-agents", defaultFenceDir, "the `DIR`ectory of fence agents, as basalt-agent's"),
	}
}

// checker returns the agent checker of the flags' directories (false: a
// mistake, reported).
func (a agentDirFlags) checker(fs *subcmd.Flags, stderr io.Writer) (*agentChecker, bool) {
	for _, name := range []string{"ocf-root", "fence-agents"} {
		if fs.Changed(name) && fs.Lookup(name).Value.String() == "" {
			fs.Mistake(stderr, "--%s needs a directory", name)
			return nil, false
		}
	}
	root := *a.ocfRoot
	if root == "" {
		root = defaultOCFRoot()
	}
	c, err := newAgentChecker(root, *a.fenceDir)
	if err != nil {
		fs.Mistake(stderr, "%v", err)
		return nil, false
	}
	return c, true
}

// agentList is `basalt agents list -o json`.
type agentList struct {
	OCFRoot  string   `json:"ocf_root"`
	FenceDir string   `json:"fence_agents_dir"`
	OCF      []string `json:"resource_agents"`
	Fence    []string `json:"fence_agents"`
}

func agentsList(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt agents list", "[--ocf-root DIR] [--fence-agents DIR] [-o text|json|yaml]",
		"The OCF resource agents (as ocf:PROVIDER:TYPE) and fence agents (fence_*) installed here,\nsorted: the executables basalt-agent would run.")
	dirs := registerAgentDirs(fs)
	output := outputFlag(fs)
	if rc, ok := parseRead(fs, args, stdout, stderr, output); !ok {
		return rc
	}
	c, ok := dirs.checker(fs, stderr)
	if !ok {
		return exitUsage
	}
	l := agentList{OCFRoot: c.ocfRoot, FenceDir: c.fenceDir, OCF: installedOCFAgents(c.ocfRoot), Fence: installedFenceAgents(c.fenceDir)}
	// Empty lists, not null, so that a script can iterate without a check.
	if l.OCF == nil {
		l.OCF = []string{}
	}
	if l.Fence == nil {
		l.Fence = []string{}
	}
	err := render(stdout, *output, l, func(w io.Writer) {
		fmt.Fprintf(w, "Resource agents (OCF root %s):\n", l.OCFRoot)
		printNames(w, l.OCF)
		fmt.Fprintf(w, "\nFence agents (in %s):\n", l.FenceDir)
		printNames(w, l.Fence)
	})
	if err != nil {
		fmt.Fprintf(stderr, "basalt agents list: %v\n", err)
		return exitFailed
	}
	return exitOK
}

func printNames(w io.Writer, names []string) {
	if len(names) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %s\n", n)
	}
}

// agentDescription is one agent's meta-data as `basalt agents describe`
// shows it.
type agentDescription struct {
	Agent     string `json:"agent"`
	Path      string `json:"path"`
	Version   string `json:"version,omitempty"`
	ShortDesc string `json:"shortdesc,omitempty"`
	LongDesc  string `json:"longdesc,omitempty"`
	// Reload is the action a changed resource of this agent is reloaded
	// with instead of restarted, when only parameters that reload
	// changed ("" when it never is).
	Reload     string       `json:"reload,omitempty"`
	Parameters []paramDesc  `json:"parameters"`
	Actions    []actionDesc `json:"actions"`
}

type paramDesc struct {
	Name     string `json:"name"`
	Required bool   `json:"required"`
	Unique   bool   `json:"unique"`
	// Reloads: a change of it alone reloads the resource (Pacemaker's
	// rules, ocf.ReloadabilityOf).
	Reloads   bool   `json:"reloads"`
	Type      string `json:"type,omitempty"`
	Default   string `json:"default,omitempty"`
	ShortDesc string `json:"shortdesc,omitempty"`
}

// actionDesc's durations are strings ("20s"), as a configuration writes
// them; "" is none advertised.
type actionDesc struct {
	Name     string `json:"name"`
	Timeout  string `json:"timeout,omitempty"`
	Interval string `json:"interval,omitempty"`
	Depth    int    `json:"depth"`
	Role     string `json:"role,omitempty"`
}

// namedAgent is an agent named on the command line: OCF (ocf set) or fence.
type namedAgent struct {
	name string
	ocf  *ocf.Agent
}

// agentNames parses the AGENT arguments of agents describe.
func agentNames(args []string) ([]namedAgent, error) {
	var out []namedAgent
	for _, n := range args {
		switch {
		case strings.HasPrefix(n, "ocf:"):
			a, err := ocf.ParseAgent(n)
			if err != nil {
				return nil, err
			}
			out = append(out, namedAgent{n, &a})
		case strings.HasPrefix(n, "fence_") && !strings.ContainsAny(n, "/\x00") && n != "fence_":
			out = append(out, namedAgent{name: n})
		default:
			return nil, fmt.Errorf("agent %q: want ocf:PROVIDER:TYPE or fence_NAME", n)
		}
	}
	return out, nil
}

func agentsDescribe(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt agents describe", "AGENT [AGENT ...] [--ocf-root DIR] [--fence-agents DIR] [-o text|json|yaml]",
		"An agent's meta-data: what it does, its parameters (name, required, unique, whether a change\n"+
			"of it alone reloads the resource instead of restarting it, default, what it\n"+
			"is) and actions (timeout, interval, depth). AGENT is ocf:PROVIDER:TYPE or fence_NAME. Exit 1\n"+
			"when an agent is not installed or its meta-data cannot be read.")
	dirs := registerAgentDirs(fs)
	output := outputFlag(fs)
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	if fs.NArg() == 0 {
		return fs.Mistake(stderr, "missing AGENT")
	}
	if !checkOutput(fs, stderr, *output) {
		return exitUsage
	}
	// Every name is checked before any agent runs: a typo in the third
	// must not come after two agents' output.
	todo, err := agentNames(fs.Args())
	if err != nil {
		return fs.Mistake(stderr, "%v", err)
	}
	c, ok := dirs.checker(fs, stderr)
	if !ok {
		return exitUsage
	}
	var out []agentDescription
	rc := exitOK
	for _, t := range todo {
		var md *ocf.MetaData
		var path string
		if t.ocf != nil {
			// The instance an agent's meta-data sees: there is none, so
			// its own name (OCF_RESOURCE_INSTANCE must be set).
			md, err = c.ocfMetaData(*t.ocf, t.ocf.Type)
			path, _ = t.ocf.Path(c.ocfRoot)
		} else {
			md, err = c.fenceMetaData(t.name)
			path = filepath.Join(c.fenceDir, t.name)
		}
		if err != nil {
			fmt.Fprintf(stderr, "basalt agents describe: %v\n", err)
			rc = exitFailed
			continue
		}
		out = append(out, describe(t.name, path, md))
	}
	var v any = out
	if len(todo) == 1 {
		// One agent is an object, not a list of one: what a script asking
		// for one agent reads.
		if len(out) == 0 {
			return rc
		}
		v = out[0]
	}
	err = render(stdout, *output, v, func(w io.Writer) {
		for i, d := range out {
			if i > 0 {
				fmt.Fprintln(w)
			}
			printDescription(w, d)
		}
	})
	if err != nil {
		fmt.Fprintf(stderr, "basalt agents describe: %v\n", err)
		return exitFailed
	}
	return rc
}

func describe(name, path string, md *ocf.MetaData) agentDescription {
	d := agentDescription{Agent: name, Path: path, Version: md.Version, ShortDesc: strings.TrimSpace(md.ShortDesc),
		LongDesc: strings.TrimSpace(md.LongDesc), Parameters: []paramDesc{}, Actions: []actionDesc{}}
	var rl ocf.Reloadability
	if strings.HasPrefix(name, "ocf:") { // fence agents are never reloaded
		rl = ocf.ReloadabilityOf(md, ocf.Agent{}, nil)
	}
	d.Reload = string(rl.Action)
	for _, p := range md.Parameters {
		d.Parameters = append(d.Parameters, paramDesc{Name: p.Name, Required: p.Required, Unique: p.Unique, Type: p.Type,
			Reloads: rl.CanReload() && !slices.Contains(rl.ForceRestart, p.Name), Default: p.Default, ShortDesc: oneLine(p.ShortDesc)})
	}
	for _, a := range md.Actions {
		ad := actionDesc{Name: a.Name, Depth: a.Depth, Role: a.Role}
		if a.Timeout > 0 {
			ad.Timeout = a.Timeout.String()
		}
		if a.Interval > 0 {
			ad.Interval = a.Interval.String()
		}
		d.Actions = append(d.Actions, ad)
	}
	return d
}

// oneLine folds a description's white space, so that it fits a table row.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func printDescription(w io.Writer, d agentDescription) {
	fmt.Fprintf(w, "%s", d.Agent)
	if d.ShortDesc != "" {
		fmt.Fprintf(w, " — %s", oneLine(d.ShortDesc))
	}
	fmt.Fprintf(w, "\n  %s", d.Path)
	if d.Version != "" {
		fmt.Fprintf(w, " (version %s)", d.Version)
	}
	fmt.Fprintln(w)
	switch {
	case !strings.HasPrefix(d.Agent, "ocf:"):
	case d.Reload != "":
		fmt.Fprintf(w, "  a change of RELOADS parameters only reloads it (%s) instead of restarting it\n", d.Reload)
	default:
		fmt.Fprintln(w, "  never reloaded: a changed definition restarts it")
	}
	fmt.Fprintln(w, "\nParameters:")
	if len(d.Parameters) == 0 {
		fmt.Fprintln(w, "  (none)")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		ocfAgent := strings.HasPrefix(d.Agent, "ocf:") // fence agents never reload
		if ocfAgent {
			fmt.Fprintln(tw, "  NAME\tREQUIRED\tUNIQUE\tRELOADS\tDEFAULT\tDESCRIPTION")
		} else {
			fmt.Fprintln(tw, "  NAME\tREQUIRED\tUNIQUE\tDEFAULT\tDESCRIPTION")
		}
		for _, p := range d.Parameters {
			reloads := ""
			if ocfAgent {
				reloads = yesNo(p.Reloads) + "\t"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s%s\t%s\n", p.Name, yesNo(p.Required), yesNo(p.Unique), reloads, dash(p.Default), p.ShortDesc)
		}
		_ = tw.Flush()
	}
	fmt.Fprintln(w, "\nActions:")
	if len(d.Actions) == 0 {
		fmt.Fprintln(w, "  (none)")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tTIMEOUT\tINTERVAL\tDEPTH")
	for _, a := range d.Actions {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\n", a.Name, dash(a.Timeout), dash(a.Interval), a.Depth)
	}
	_ = tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
