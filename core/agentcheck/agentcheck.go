// Package agentcheck judges a configuration against the meta-data of the
// agents it names: parameters an agent does not declare, required ones
// left out, unique ones given the same value twice, and agents that are
// not there. It decides only; finding the agents and running their
// meta-data action is the caller's (cmd/basalt), so the same judgement
// serves every command that checks a configuration.
package agentcheck

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/basalt-ha/basalt/core/fenceargs"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
)

// Kind says what is wrong.
type Kind string

// The kinds of problem.
const (
	// AgentMissing: the agent is not installed where it was looked for. A
	// warning unless Options.Strict: the machine validating is often not a
	// cluster host.
	AgentMissing Kind = "agent-missing"
	// AgentBroken: the agent is there but cannot say what it takes (not
	// executable, meta-data failed or is not meta-data). Always an error:
	// the agent daemon would fail the same way.
	AgentBroken Kind = "agent-broken"
	// UnknownParam: a parameter (a fence device's option) the agent does
	// not declare.
	UnknownParam Kind = "unknown-parameter"
	// RequiredMissing: a parameter the resource agent requires is absent.
	RequiredMissing Kind = "required-parameter-missing"
	// UniqueReused: a parameter the agent declares unique has the value
	// another resource of the same agent has.
	UniqueReused Kind = "unique-parameter-reused"
)

// Meta is what the caller found of one agent: its meta-data, or why there
// is none.
type Meta struct {
	MetaData *ocf.MetaData
	// Missing says the agent is not installed (as opposed to broken).
	Missing bool
	// Err says why MetaData is nil, naming the agent and where it was
	// looked for; its text is the problem's message.
	Err error
}

// Agents is the meta-data of every agent a configuration names.
type Agents struct {
	// OCF is keyed by ocf.Agent.String() (ocf:PROVIDER:TYPE).
	OCF map[string]Meta
	// Fence is keyed by the fence agent's name (fence_ipmilan).
	Fence map[string]Meta
}

// Options tune the judgement.
type Options struct {
	// Strict makes a missing agent an error.
	Strict bool
}

// Problem is one finding about one resource or fence device.
type Problem struct {
	Kind    Kind
	Warning bool
	// Fence says ID is a fence device's; else a resource's.
	Fence bool
	ID    string
	// Param is the parameter the problem is about, "" when it is about
	// the agent or the params as a whole (a required one missing).
	Param string
	Msg   string
}

// Check returns every problem of m's resources and fence devices against
// their agents' meta-data, resources first, each in the configuration's
// order and by parameter name within one. An agent absent from agents is
// taken as not looked at and judged on nothing.
func Check(m *model.Model, agents Agents, opts Options) []Problem {
	var out []Problem
	for _, r := range m.Resources {
		meta, ok := agents.OCF[r.Agent.String()]
		if !ok {
			continue
		}
		who := fmt.Sprintf("resource %q", r.ID)
		if meta.MetaData == nil {
			out = append(out, agentProblem(false, r.ID, meta, opts))
			continue
		}
		out = append(out, unknownParams(false, r.ID, who, r.Agent.String(), meta.MetaData, r.Params)...)
		out = append(out, requiredParams(r.ID, who, r.Agent.String(), meta.MetaData, r.Params)...)
	}
	out = append(out, uniqueReused(m, agents)...)
	for _, d := range m.FenceDevices {
		meta, ok := agents.Fence[d.Agent]
		if !ok {
			continue
		}
		if meta.MetaData == nil {
			out = append(out, agentProblem(true, d.ID, meta, opts))
			continue
		}
		// Only unknown names: fence agents' meta-data marks both a name
		// and its deprecated alias required (ip and ipaddr), and action
		// and plug, which basalt sets itself, so "required" cannot be
		// read as "must be in params".
		out = append(out, unknownParams(true, d.ID, fmt.Sprintf("fence device %q", d.ID), d.Agent, meta.MetaData, d.Params)...)
	}
	return out
}

func agentProblem(fence bool, id string, meta Meta, opts Options) Problem {
	msg := "no meta-data"
	if meta.Err != nil {
		msg = meta.Err.Error()
	}
	if meta.Missing {
		if !opts.Strict {
			msg += "; its parameters are not checked"
		}
		return Problem{Kind: AgentMissing, Warning: !opts.Strict, Fence: fence, ID: id, Msg: msg}
	}
	return Problem{Kind: AgentBroken, Fence: fence, ID: id, Msg: msg}
}

// unknownParams reports each parameter md does not declare, with the
// closest declared name when one is near, and every declared name.
func unknownParams(fence bool, id, who, agent string, md *ocf.MetaData, params map[string]string) []Problem {
	known := make([]string, 0, len(md.Parameters))
	for _, p := range md.Parameters {
		if fence && fenceargs.Reserved(p.Name) {
			// action, plug and their aliases are basalt's to set; naming
			// them as candidates would suggest what the loader refuses.
			continue
		}
		known = append(known, p.Name)
	}
	var out []Problem
	for _, n := range slices.Sorted(maps.Keys(params)) {
		if _, ok := md.Parameter(n); ok {
			continue
		}
		hint := ""
		if s := Suggest(n, known); s != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", s)
		}
		list := "it declares none"
		if len(known) > 0 {
			list = "known: " + strings.Join(known, ", ")
		}
		out = append(out, Problem{Kind: UnknownParam, Fence: fence, ID: id, Param: n,
			Msg: fmt.Sprintf("%s: %s has no parameter %q%s; %s", who, agent, n, hint, list)})
	}
	return out
}

// requiredParams reports each parameter md requires that params lacks.
func requiredParams(id, who, agent string, md *ocf.MetaData, params map[string]string) []Problem {
	var out []Problem
	for _, p := range md.Parameters {
		if _, ok := params[p.Name]; ok || !p.Required {
			continue
		}
		what := ""
		if p.ShortDesc != "" {
			what = " (" + p.ShortDesc + ")"
		}
		out = append(out, Problem{Kind: RequiredMissing, ID: id,
			Msg: fmt.Sprintf("%s: parameter %q%s is required by %s", who, p.Name, what, agent)})
	}
	return out
}

// uniqueReused reports each resource whose unique parameter (or
// unique-group, taken together) has the values an earlier resource of the
// same agent has. Only values set in the file are compared: an unset one
// takes the agent's default, which agents make per instance where it must
// differ (Dummy's state file is named after the instance).
func uniqueReused(m *model.Model, agents Agents) []Problem {
	type seenKey struct{ agent, set, values string }
	first := map[seenKey]string{}
	var out []Problem
	for _, r := range m.Resources {
		md := agents.OCF[r.Agent.String()].MetaData
		if md == nil {
			continue
		}
		for _, set := range uniqueSets(md) {
			values := make([]string, len(set))
			complete := true
			for i, n := range set {
				v, ok := r.Params[n]
				complete = complete && ok
				values[i] = fmt.Sprintf("%q", v)
			}
			if !complete {
				continue
			}
			k := seenKey{r.Agent.String(), strings.Join(set, "\x00"), strings.Join(values, "\x00")}
			prev, dup := first[k]
			if !dup {
				first[k] = r.ID
				continue
			}
			out = append(out, Problem{Kind: UniqueReused, ID: r.ID, Param: set[0],
				Msg: uniqueMessage(r.ID, prev, r.Agent.String(), set, values)})
		}
	}
	return out
}

func uniqueMessage(id, prev, agent string, set, values []string) string {
	if len(set) == 1 {
		return fmt.Sprintf("resource %q: %s declares parameter %q unique, and resource %q has it %s too",
			id, agent, set[0], prev, values[0])
	}
	quoted := make([]string, len(set))
	for i, n := range set {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return fmt.Sprintf("resource %q: %s declares parameters %s unique together, and resource %q has them %s too",
		id, agent, strings.Join(quoted, ", "), prev, strings.Join(values, ", "))
}

// uniqueSets returns the sets of parameter names that must be unique
// together: one per unique parameter outside a group, one per
// unique-group, each sorted, in the order of their first parameter.
func uniqueSets(md *ocf.MetaData) [][]string {
	var out [][]string
	group := map[string]int{}
	for _, p := range md.Parameters {
		switch {
		case p.UniqueGroup != "":
			i, ok := group[p.UniqueGroup]
			if !ok {
				i = len(out)
				group[p.UniqueGroup] = i
				out = append(out, nil)
			}
			out[i] = append(out[i], p.Name)
		case p.Unique:
			out = append(out, []string{p.Name})
		}
	}
	for _, s := range out {
		sort.Strings(s)
	}
	return out
}

// Suggest returns the candidate closest to name by edit distance, when it
// is close enough to be a typo: one edit for names of up to four letters,
// two beyond. Case is ignored. Ties go to the first candidate in sorted
// order, so that the answer is stable.
func Suggest(name string, candidates []string) string {
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
		if d := EditDistance(strings.ToLower(name), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// EditDistance is the number of single-rune insertions, deletions,
// substitutions and swaps of neighbours that turn a into b (the optimal
// string alignment distance): a swap counts as one edit because "fkae" for
// "fake" is one slip of the fingers, not two.
func EditDistance(a, b string) int {
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
