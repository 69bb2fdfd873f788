package whatif

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/sim/cluster"
)

// Result is what a what-if found. Times are offsets from its start (the
// injection), in simulated time.
type Result struct {
	Cluster       string `json:"cluster"`
	ConfigVersion int    `json:"config_version"`
	Seed          uint64 `json:"seed"`
	// Warnings say where the simulation could not start from the state
	// exactly.
	Warnings []string `json:"warnings,omitempty"`
	// Injected are the events injected, in words.
	Injected []string `json:"injected"`
	// Preview is --apply's change, one line each (config apply
	// --dry-run's).
	Preview []string `json:"config_change,omitempty"`
	// Faults is the seeded fault plan, one fault a line.
	Faults      []string      `json:"faults,omitempty"`
	Transitions []*Transition `json:"transitions"`
	// MoreTransitions counts those planned after the first
	// MaxTransitions, not recorded.
	MoreTransitions int         `json:"more_transitions,omitempty"`
	Events          []EventLine `json:"events"`
	// MoreEvents counts those after the first MaxEvents, not listed.
	MoreEvents int `json:"more_events,omitempty"`
	// Elapsed is how long the what-if ran.
	Elapsed time.Duration `json:"elapsed_ns"`
	Outcome Outcome       `json:"outcome"`

	// timeline is what the HTML page draws.
	timeline check.Timeline
}

// Transition is one transition the manager planned and carried out.
type Transition struct {
	At time.Duration `json:"at_ns"`
	// Steps are its fences, stops and starts, in the planner's order.
	Steps []*Step `json:"steps"`
	// Checks counts its probes and monitors, not listed.
	Checks int `json:"probes_and_monitors"`
}

// Step is one action of a transition.
type Step struct {
	ID       int    `json:"id"`
	Kind     string `json:"kind"`
	Resource string `json:"resource,omitempty"`
	Name     string `json:"name,omitempty"`
	Host     string `json:"host"`
	Reason   string `json:"reason"`
	// Devices are the fence devices that fenced the host (a fence).
	Devices []string `json:"devices,omitempty"`
	// At and End are when it was dispatched and when it ended.
	At  time.Duration `json:"at_ns"`
	End time.Duration `json:"end_ns"`
	// Result is ok, FAILED, running (still at the end), or not run.
	Result  string `json:"result"`
	started bool
	done    bool
}

// EventLine is one of the manager's events during the what-if.
type EventLine struct {
	At       time.Duration `json:"at_ns"`
	Kind     string        `json:"kind"`
	Host     string        `json:"host,omitempty"`
	Resource string        `json:"resource,omitempty"`
	Message  string        `json:"message,omitempty"`
}

// Outcome is where everything ended up.
type Outcome struct {
	Hosts  []HostOutcome  `json:"hosts"`
	Groups []GroupOutcome `json:"groups"`
	// Fenced are the hosts fenced during the what-if, in order.
	Fenced []string `json:"fenced,omitempty"`
	// Problems are resources left failed or blocked, and the like.
	Problems []string `json:"problems,omitempty"`
	// Violations are the judges' (harness/check) verdicts.
	Violations []string `json:"violations,omitempty"`
}

// HostOutcome is a host at the end.
type HostOutcome struct {
	Name    string `json:"name"`
	State   string `json:"state"`
	Standby bool   `json:"standby,omitempty"`
}

// GroupOutcome is a group at the end: the hosts its resources run on.
type GroupOutcome struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Target    string   `json:"target_role"`
	RunningOn []string `json:"running_on"`
	Orphan    bool     `json:"orphan,omitempty"`
}

// FenceTarget is the first host the what-if fenced ("" for none).
func (r *Result) FenceTarget() string {
	if len(r.Outcome.Fenced) == 0 {
		return ""
	}
	return r.Outcome.Fenced[0]
}

// GroupHosts maps each group to the hosts it runs on at the end.
func (r *Result) GroupHosts() map[string][]string {
	out := map[string][]string{}
	for _, g := range r.Outcome.Groups {
		out[g.ID] = g.RunningOn
	}
	return out
}

// groups reads each group's hosts and the resources needing attention.
func (w *world) groups(m *model.Model, st manager.Status, res *Result) {
	running := runningOn(st)
	rs := map[string]manager.ResourceStatus{}
	for _, r := range st.Resources {
		rs[r.ID] = r
	}
	for gi := range m.Groups {
		g := &m.Groups[gi]
		out := GroupOutcome{ID: g.ID, Name: g.Name, Target: string(st.TargetRoles[g.ID]), Orphan: g.Orphan}
		hosts := map[string]bool{}
		for _, id := range g.StartOrder() {
			for _, h := range running[id] {
				hosts[h] = true
			}
			r := rs[id]
			switch {
			case r.Fatal != "":
				res.Outcome.Problems = append(res.Outcome.Problems, fmt.Sprintf("%s (%s) failed for good: %s", id, w.name(id), r.Fatal))
			case r.Blocked:
				res.Outcome.Problems = append(res.Outcome.Problems, fmt.Sprintf("%s (%s) is blocked: it needs a cleanup", id, w.name(id)))
			}
			for _, h := range slices.Sorted(maps.Keys(r.States)) {
				if s := r.States[h].State; s == planner.Failed || s == planner.StopFailed {
					res.Outcome.Problems = append(res.Outcome.Problems, fmt.Sprintf("%s (%s) is %s on %s", id, w.name(id), s, h))
				}
			}
		}
		out.RunningOn = slices.Sorted(maps.Keys(hosts))
		res.Outcome.Groups = append(res.Outcome.Groups, out)
	}
	w.unfinished(res)
}

// unfinished marks the steps still running at the end.
func (w *world) unfinished(res *Result) {
	for i, t := range res.Transitions {
		for _, s := range t.Steps {
			switch {
			case s.started && !s.done:
				s.Result = "running"
			case !s.started && i < len(res.Transitions)-1:
				s.Result = "not run (planned again in the next transition)"
			}
		}
	}
}

// judge runs the judges on the run: ground-truth safety and the epoch
// rule. (Porcupine's ownership model is left out: a resource preloaded in
// the saved state has no start in the history it reads.)
func (w *world) judge(res *Result) {
	for _, v := range w.safety.Violations {
		res.Outcome.Violations = append(res.Outcome.Violations, v.String())
	}
	var acts []check.Act
	for _, a := range w.c.Acts {
		acts = append(acts, check.Act{At: a.At, Host: a.Host, Epoch: uint64(a.Epoch), What: a.What})
	}
	for _, v := range check.CheckEpochs(acts) {
		res.Outcome.Violations = append(res.Outcome.Violations, v.String())
	}
	var rscs []string
	for _, r := range w.m.Resources {
		rscs = append(rscs, r.ID)
	}
	marks := append(slices.Clone(w.marks), check.Mark{At: w.t0, Kind: check.MarkAdmin, Label: "what-if starts"})
	hosts := w.m.HostNames()
	res.timeline = check.Timeline{Title: "basalt simulate: " + strings.Join(res.Injected, "; "), Hosts: hosts, Resources: rscs,
		Intervals: check.Intervals(w.changes), HostSpans: check.HostSpans(hosts, cluster.Start, w.hostEvs),
		Marks: marks, Start: cluster.Start, End: w.c.Q.Now()}
}

// WriteHTML writes the timeline page: each resource's ownership per host
// over the settling and the what-if, with the injected events and fences.
func (r *Result) WriteHTML(w io.Writer) error { return r.timeline.Write(w) }

// off renders an offset from the what-if's start, to the millisecond.
func off(d time.Duration) string { return "+" + d.Round(time.Millisecond).String() }

// WriteText writes the result as basalt simulate prints it.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "What if: cluster %s, configuration version %d, seed %d\n", r.Cluster, r.ConfigVersion, r.Seed)
	for _, l := range r.Warnings {
		fmt.Fprintf(&b, "WARNING: %s\n", l)
	}
	fmt.Fprintf(&b, "\nInjected at +0s:\n")
	lines(&b, r.Injected, "(nothing: the cluster as it is)")
	if len(r.Preview) > 0 {
		fmt.Fprintf(&b, "\nConfiguration change:\n")
		lines(&b, r.Preview, "")
	}
	if len(r.Faults) > 0 {
		fmt.Fprintf(&b, "\nFault plan:\n")
		lines(&b, r.Faults, "")
	}
	fmt.Fprintf(&b, "\nTransitions:\n")
	if len(r.Transitions) == 0 {
		fmt.Fprintf(&b, "  none: the manager had nothing to do\n")
	}
	checksOnly := 0
	for i, t := range r.Transitions {
		if len(t.Steps) == 0 {
			checksOnly++ // a host joined, or monitors were set up again
			continue
		}
		writeTransition(&b, i+1, t)
	}
	if checksOnly > 0 {
		fmt.Fprintf(&b, "  (and %d transition(s) of probes and monitors only, not listed)\n", checksOnly)
	}
	if r.MoreTransitions > 0 {
		fmt.Fprintf(&b, "  ... and %d more transitions, not shown (at most %d are)\n", r.MoreTransitions, MaxTransitions)
	}
	fmt.Fprintf(&b, "\nEvents:\n")
	if len(r.Events) == 0 {
		fmt.Fprintf(&b, "  none\n")
	}
	for _, e := range r.Events {
		fmt.Fprintf(&b, "  %-9s %s%s%s\n", off(e.At), e.Kind, words(" host=", e.Host)+words(" resource=", e.Resource), words(": ", e.Message))
	}
	if r.MoreEvents > 0 {
		fmt.Fprintf(&b, "  ... and %d more events, not shown (at most %d are)\n", r.MoreEvents, MaxEvents)
	}
	writeOutcome(&b, r)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTransition(b *strings.Builder, n int, t *Transition) {
	fmt.Fprintf(b, "  #%d planned at %s", n, off(t.At))
	switch {
	case t.Checks == 1:
		fmt.Fprintf(b, " (and a probe or monitor, not listed)")
	case t.Checks > 1:
		fmt.Fprintf(b, " (and %d probes and monitors, not listed)", t.Checks)
	}
	fmt.Fprintln(b)
	for _, s := range t.Steps {
		what := s.Kind + " " + s.Host
		if s.Kind == string(planner.Fence) && len(s.Devices) > 0 {
			what += " via " + strings.Join(s.Devices, "+")
		}
		if s.Resource != "" {
			what = fmt.Sprintf("%s %s (%s) on %s", s.Kind, s.Resource, s.Name, s.Host)
		}
		when, result := "", s.Result
		if s.started {
			when = off(s.At)
		}
		if s.done {
			result += " at " + off(s.End)
		}
		fmt.Fprintf(b, "    %-9s %s: %s%s\n", when, what, result, words(" — ", s.Reason))
	}
}

func writeOutcome(b *strings.Builder, r *Result) {
	fmt.Fprintf(b, "\nOutcome after %s:\n", r.Elapsed.Round(time.Millisecond))
	var hs []string
	for _, h := range r.Outcome.Hosts {
		hs = append(hs, h.Name+" "+hostWords(h.State, h.Standby))
	}
	fmt.Fprintf(b, "  hosts: %s\n", strings.Join(hs, ", "))
	fmt.Fprintf(b, "  fenced: %s\n", orNone(strings.Join(r.Outcome.Fenced, ", ")))
	for _, g := range r.Outcome.Groups {
		where := "runs on " + strings.Join(g.RunningOn, ",")
		if len(g.RunningOn) == 0 {
			where = "runs nowhere"
		}
		orphan := ""
		if g.Orphan {
			orphan = " [removed from the configuration]"
		}
		fmt.Fprintf(b, "  group %s (%s)%s: %s, target %s\n", g.ID, g.Name, orphan, where, g.Target)
	}
	fmt.Fprintf(b, "  needs attention: %s\n", orNone(strings.Join(r.Outcome.Problems, "; ")))
	fmt.Fprintf(b, "  safety (judges): %s\n", orNone(strings.Join(r.Outcome.Violations, "; "), "no violation"))
}

func lines(b *strings.Builder, ls []string, empty string) {
	if len(ls) == 0 && empty != "" {
		fmt.Fprintf(b, "  %s\n", empty)
	}
	for _, l := range ls {
		fmt.Fprintf(b, "  %s\n", l)
	}
}

func words(prefix, v string) string {
	if v == "" {
		return ""
	}
	return prefix + v
}

func orNone(s string, none ...string) string {
	if s != "" {
		return s
	}
	if len(none) > 0 {
		return none[0]
	}
	return "none"
}
