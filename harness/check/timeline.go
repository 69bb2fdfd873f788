package check

import (
	"fmt"
	"html"
	"io"
	"sort"
	"strings"
	"time"
)

// Interval is a resource active on a host from Start to End (zero End:
// still active at the end of the run).
type Interval struct {
	Resource string
	Host     string
	Start    time.Time
	End      time.Time
	EndCause string
}

// Mark is a moment drawn on the timeline: a fault, a fence, an admin
// request, the heal, a violation.
type Mark struct {
	At    time.Time
	Label string
	// Kind is one of the Mark kinds below; empty, it is read from the
	// label (see markKind), as the process harness's marks are.
	Kind string
	// Host, when set, is the host the mark concerns: its glyph sits on
	// that host's lane.
	Host string
}

// The kinds of Mark, each drawn its own way.
const (
	MarkFault     = "fault"     // a fault of the plan begins (dashed red line)
	MarkFence     = "fence"     // a fence requested, carried out, confirmed or failed
	MarkAdmin     = "admin"     // an administrator's request and its answer
	MarkHost      = "host"      // something of a host alone (a boot)
	MarkHeal      = "heal"      // the faults are lifted
	MarkViolation = "violation" // a checker's verdict
)

// Change is a resource becoming active or inactive on a host.
type Change struct {
	At       time.Time
	Host     string
	Resource string
	Active   bool
	Cause    string
}

// The states a host lane shows: the host's own (power, agent) and the
// manager's belief of it (lost, fencing), whichever changed last.
const (
	HostUp        = "up"
	HostAgentDown = "agent down" // the host runs, its agent does not
	HostPaused    = "paused"     // frozen (SIGSTOP): it answers nothing
	HostDown      = "down"       // crashed: no power, not fenced
	HostLost      = "lost"       // the manager declared it lost: unclean
	HostFencing   = "fencing"    // a fence of it requested, not confirmed
	HostFenced    = "fenced"     // powered off by a fence
	HostOff       = "off"        // powered off otherwise
	HostRebooted  = "up again"   // booted after being off or down
)

// The states of the manager lane.
const (
	ManagerActing = "acting"    // a manager (the leader, with replicas) acts at Epoch
	ManagerFrozen = "frozen"    // the acting one is stopped (SIGSTOP)
	ManagerDown   = "down"      // no manager process
	ManagerNone   = "no leader" // replicas, none of them leads
)

// HostEvent is a host entering a state at a moment.
type HostEvent struct {
	At     time.Time
	Host   string
	State  string
	Detail string
}

// HostSpan is a host in one state from From to To (zero To: until the
// end of the run).
type HostSpan struct {
	Host     string
	State    string
	From, To time.Time
	Detail   string
}

// ManagerEvent is the manager (or, with replicas, the leadership)
// entering a state at a moment.
type ManagerEvent struct {
	At time.Time
	// Replica is the leading replica's name; empty without replicas.
	Replica string
	Epoch   uint64
	State   string
	Detail  string
}

// ManagerSpan is the manager in one state from From to To (zero To: until
// the end of the run).
type ManagerSpan struct {
	Replica  string
	Epoch    uint64
	State    string
	From, To time.Time
	Detail   string
}

// Intervals turns a stream of activity changes into intervals.
func Intervals(changes []Change) []Interval {
	open := map[string]int{}
	var out []Interval
	for _, c := range changes {
		k := c.Resource + "\x00" + c.Host
		if c.Active {
			if _, ok := open[k]; !ok {
				open[k] = len(out)
				out = append(out, Interval{Resource: c.Resource, Host: c.Host, Start: c.At})
			}
			continue
		}
		if i, ok := open[k]; ok {
			out[i].End, out[i].EndCause = c.At, c.Cause
			delete(open, k)
		}
	}
	return out
}

// HostSpans turns each host's events into the spans of its lane: every
// host is up from start until its first event. A state that lasts no time
// (lost, then fencing at the same instant) leaves no span; its detail
// goes on into the next one's, so that the hover still tells it. An event
// that repeats the current state extends it.
func HostSpans(hosts []string, start time.Time, evs []HostEvent) []HostSpan {
	evs = append([]HostEvent(nil), evs...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
	var out []HostSpan
	for _, h := range hosts {
		cur, implicit := HostSpan{Host: h, State: HostUp, From: start}, true
		for _, e := range evs {
			if e.Host != h || e.State == cur.State {
				continue
			}
			at, detail := later(e.At, start), e.Detail
			if at.After(cur.From) {
				cur.To = at
				out = append(out, cur)
			} else if !implicit {
				// cur lasted no time: its words go on into the next span.
				detail = joinDetail(describe(cur.State, cur.Detail), e.Detail)
			}
			cur, implicit = HostSpan{Host: h, State: e.State, From: at, Detail: detail}, false
		}
		out = append(out, cur)
	}
	return out
}

// ManagerSpans turns the manager's events into the spans of its lane: down
// from start until the first event; a state that lasts no time leaves no
// span.
func ManagerSpans(start time.Time, evs []ManagerEvent) []ManagerSpan {
	evs = append([]ManagerEvent(nil), evs...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
	var out []ManagerSpan
	cur := ManagerSpan{State: ManagerDown, From: start}
	for _, e := range evs {
		if e.State == cur.State && e.Replica == cur.Replica && e.Epoch == cur.Epoch {
			continue
		}
		if e.At.After(cur.From) {
			cur.To = e.At
			out = append(out, cur)
		}
		cur = ManagerSpan{Replica: e.Replica, Epoch: e.Epoch, State: e.State, From: later(e.At, start), Detail: e.Detail}
	}
	return append(out, cur)
}

// describe is a state with its detail: "lost (silent for 5s)".
func describe(state, detail string) string {
	if detail == "" {
		return state
	}
	return state + " (" + detail + ")"
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// Timeline is everything the HTML timeline draws.
type Timeline struct {
	Title     string
	Hosts     []string
	Resources []string
	Intervals []Interval
	// HostSpans are the host lanes (HostSpans builds them); none, the
	// lanes are left out.
	HostSpans []HostSpan
	// Managers is the manager lane (ManagerSpans builds it); none, the
	// lane is left out.
	Managers []ManagerSpan
	Marks    []Mark
	// Start and End bound the picture.
	Start, End time.Time
}

// WriteTimeline draws each resource's ownership per host over the run, with
// the marks: what the process harness writes. Its marks name fences
// ("fenced H") and boots ("boot H"); each host's lane is drawn from them
// (up, fenced, up again) and from hostEvents, the managers' view of the
// hosts (lost, fencing: ManagerLogLane reads them from the managers'
// logs), whichever changed last, the rest of a host's life being unknown
// to it. managers, when any, draw the manager lane (with replicas, who
// leads at which epoch, as etcd's election had it).
func WriteTimeline(w io.Writer, title string, hosts, resources []string, ivs []Interval, marks []Mark, hostEvents []HostEvent,
	managers []ManagerEvent, start, end time.Time) error {
	evs := append([]HostEvent(nil), hostEvents...)
	for _, m := range marks {
		switch {
		case strings.HasPrefix(m.Label, "fenced "):
			evs = append(evs, HostEvent{At: m.At, Host: strings.TrimPrefix(m.Label, "fenced "), State: HostFenced, Detail: m.Label})
		case strings.HasPrefix(m.Label, "boot "):
			evs = append(evs, HostEvent{At: m.At, Host: strings.TrimPrefix(m.Label, "boot "), State: HostRebooted, Detail: "booted"})
		}
	}
	var lane []ManagerSpan
	if len(managers) > 0 {
		lane = ManagerSpans(start, managers)
	}
	return Timeline{Title: title, Hosts: hosts, Resources: resources, Intervals: ivs, HostSpans: HostSpans(hosts, start, evs),
		Managers: lane, Marks: marks, Start: start, End: end}.Write(w)
}

// ManagerLog is one record of a manager's log, as the process harness
// reads them: the time it was written, its message and its attributes.
type ManagerLog struct {
	At time.Time
	// Source names the manager whose log it is ("manager", "manager-2",
	// a replica): a deposed manager's view is not the acting one's.
	Source string
	Msg    string
	Attrs  map[string]string
}

// The manager's log messages ManagerLogLane reads: core/manager's and
// core/fencer's, whose attributes name the host (host=, target=).
const (
	logHostLost         = "host lost"
	logFencingRequested = "fencing requested"
	logFencingFailed    = "fencing failed"
)

// ManagerLogLane reads the managers' view of the hosts from their logs:
// a host declared lost (unclean), a fence of it requested (fencing, and a
// fence mark on its lane), a fence that failed (a mark; the host stays
// fencing, as the manager retries). A confirmed fence is not read: the
// process harness sees the fence itself, in the fence agent's log, and
// the lane shows what happened rather than what the manager was told.
// Records of other messages are ignored.
func ManagerLogLane(logs []ManagerLog) ([]HostEvent, []Mark) {
	var evs []HostEvent
	var marks []Mark
	for _, l := range logs {
		from := ""
		if l.Source != "" {
			from = " (" + l.Source + ")"
		}
		switch l.Msg {
		case logHostLost:
			evs = append(evs, HostEvent{At: l.At, Host: l.Attrs["host"], State: HostLost,
				Detail: "declared lost" + from + ": " + l.Attrs["why"]})
		case logFencingRequested:
			h := l.Attrs["target"]
			evs = append(evs, HostEvent{At: l.At, Host: h, State: HostFencing,
				Detail: fmt.Sprintf("fence requested by %s, action %s%s", l.Attrs["origin"], l.Attrs["action"], from)})
			marks = append(marks, Mark{At: l.At, Kind: MarkFence, Host: h,
				Label: fmt.Sprintf("fencing of %s requested by %s (action %s)%s", h, l.Attrs["origin"], l.Attrs["action"], from)})
		case logFencingFailed:
			h := l.Attrs["target"]
			marks = append(marks, Mark{At: l.At, Kind: MarkFence, Host: h,
				Label: fmt.Sprintf("fencing of %s FAILED%s: %s", h, from, l.Attrs["reason"])})
		}
	}
	return evs, marks
}

// markKind is a mark's kind, read from its label when it has none: the
// process harness labels its marks with words only.
func markKind(m Mark) string {
	switch {
	case m.Kind != "":
		return m.Kind
	case strings.HasPrefix(m.Label, "VIOLATION"):
		return MarkViolation
	case m.Label == "heal":
		return MarkHeal
	case strings.HasPrefix(m.Label, "fenced "):
		return MarkFence
	case strings.HasPrefix(m.Label, "boot "):
		return MarkHost
	case strings.HasPrefix(m.Label, "admin-"):
		return MarkAdmin
	}
	return MarkFault
}

// markHost is the host a mark concerns, if it says.
func markHost(m Mark) string {
	if m.Host != "" {
		return m.Host
	}
	for _, p := range []string{"fenced ", "boot "} {
		if strings.HasPrefix(m.Label, p) {
			return strings.TrimPrefix(m.Label, p)
		}
	}
	return ""
}

// Colours of the host states, the replicas and the hosts' bars.
var (
	hostColors = map[string]string{
		HostUp: "#59a14f", HostRebooted: "#8cd17d", HostAgentDown: "#f28e2b", HostPaused: "#edc948",
		HostDown: "#7f7f7f", HostOff: "#bab0ac", HostLost: "#d62728", HostFencing: "#ff9da7", HostFenced: "#333333",
	}
	hostOrder     = []string{HostUp, HostAgentDown, HostPaused, HostDown, HostLost, HostFencing, HostFenced, HostOff, HostRebooted}
	replicaColors = []string{"#4e79a7", "#b07aa1", "#76b7b2", "#9c755f", "#edc948"}
	barColors     = []string{"#4e79a7", "#59a14f", "#9c755f", "#edc948", "#b07aa1", "#76b7b2", "#ff9da7", "#bab0ac"}
	markColors    = map[string]string{MarkFault: "#d62728", MarkFence: "#111111", MarkAdmin: "#1f77b4", MarkHost: "#59a14f",
		MarkHeal: "#2ca02c", MarkViolation: "#d62728"}
)

// svgWriter writes the page, keeping the first write error.
type svgWriter struct {
	w   io.Writer
	err error
}

func (s *svgWriter) p(format string, a ...any) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, format, a...)
	}
}

// Write draws the timeline as an HTML page with an SVG picture: a lane per
// host with its state over time, the manager's lane (its epoch; with
// replicas, which one leads), then one row per resource with a thin lane
// per host, a bar while the resource is active there, red where it is
// active on two hosts at once. Marks are vertical lines across it, fences
// and admin requests with a glyph of their own; every span, bar and mark
// has a hover (an SVG title) with its details. It is what an operator
// reads to understand a failing seed.
func (tl Timeline) Write(w io.Writer) error {
	const (
		left   = 160
		width  = 1200
		lane   = 10
		gap    = 8
		header = 40
		sLane  = 14 // a host's or the manager's lane
	)
	start, end := tl.Start, tl.End
	span := end.Sub(start)
	if span <= 0 {
		span = time.Second
	}
	x := func(t time.Time) float64 {
		if t.IsZero() {
			t = end
		}
		return left + float64(width)*float64(t.Sub(start))/float64(span)
	}
	rel := func(t time.Time) string {
		if t.IsZero() {
			return "end"
		}
		return t.Sub(start).String()
	}
	esc := html.EscapeString
	hostIdx := map[string]int{}
	for i, h := range tl.Hosts {
		hostIdx[h] = i
	}
	rscIdx := map[string]int{}
	for i, r := range tl.Resources {
		rscIdx[r] = i
	}
	// Vertical layout: host lanes, the manager lane, then the resources.
	y := header
	hostY := map[string]int{}
	if len(tl.HostSpans) > 0 {
		y += 14 // the section's caption
		for _, h := range tl.Hosts {
			hostY[h] = y
			y += sLane + 2
		}
		y += gap
	}
	managerY := -1
	if len(tl.Managers) > 0 {
		y += 14
		managerY = y
		y += sLane + gap
	}
	rscTop := y + 14
	rowH := len(tl.Hosts)*lane + gap
	height := rscTop + len(tl.Resources)*rowH + 40

	out := &svgWriter{w: w}
	p := out.p
	p("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>\n", esc(tl.Title))
	p("<style>body{font-family:sans-serif;margin:16px} text{font-size:11px} .caption{font-weight:bold}" +
		" .marker-fault line{stroke-dasharray:3,3} .legend span{display:inline-block;width:12px;height:10px;margin:0 4px 0 12px}" +
		" table{border-collapse:collapse} td{padding:1px 8px;font-size:12px}</style></head><body>\n")
	p("<h2>%s</h2>\n", esc(tl.Title))
	p("<p>The first lanes are the hosts, each in its state over time; then the manager, with its epoch (with replicas, the one that leads)." +
		" Below, each row is a resource, each thin lane in it a host; a bar means the resource was active there. Red stretches are active on" +
		" another host at the same time. Dashed red lines are faults, black triangles fences, blue circles admin requests (hover over anything for details).</p>\n")
	if len(tl.HostSpans) > 0 {
		p("<p class=\"legend\">")
		for _, st := range hostOrder {
			p("<span style=\"background:%s\"></span>%s", hostColors[st], esc(st))
		}
		p("</p>\n")
	}
	p("<svg width=\"%d\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">\n", left+width+20, height)
	for i := 0; i <= 10; i++ {
		t := start.Add(span * time.Duration(i) / 10)
		p("<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%d\">%s</text>\n",
			x(t), header-10, x(t), height-30, x(t)-10, header-14, t.Sub(start).Truncate(time.Second))
	}

	// Host lanes.
	if len(tl.HostSpans) > 0 {
		p("<text class=\"caption\" x=\"4\" y=\"%d\">hosts</text>\n", hostY[tl.Hosts[0]]-4)
		for _, h := range tl.Hosts {
			hy := hostY[h]
			p("<g class=\"lane host-lane\" data-host=\"%s\"><text x=\"110\" y=\"%d\">%s</text>\n", esc(h), hy+sLane-3, esc(h))
			for _, s := range tl.HostSpans {
				if s.Host != h {
					continue
				}
				color := hostColors[s.State]
				if color == "" {
					color = "#cccccc"
				}
				detail := ""
				if s.Detail != "" {
					detail = ": " + s.Detail
				}
				p("<rect class=\"span host-%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s %s from %s to %s%s</title></rect>\n",
					strings.ReplaceAll(s.State, " ", "-"), x(s.From), hy, maxf(1, x(s.To)-x(s.From)), sLane, color,
					esc(h), esc(s.State), rel(s.From), rel(s.To), esc(detail))
			}
			p("</g>\n")
		}
	}

	// The manager lane.
	if managerY >= 0 {
		p("<text class=\"caption\" x=\"4\" y=\"%d\">manager</text>\n", managerY-4)
		p("<g class=\"lane manager-lane\"><text x=\"110\" y=\"%d\">epoch</text>\n", managerY+sLane-3)
		replicas := map[string]int{}
		for _, s := range tl.Managers {
			if _, ok := replicas[s.Replica]; !ok && s.Replica != "" {
				replicas[s.Replica] = len(replicas)
			}
		}
		for _, s := range tl.Managers {
			color, label := "#dddddd", s.State
			switch s.State {
			case ManagerActing:
				color, label = replicaColors[0], fmt.Sprintf("epoch %d", s.Epoch)
				if s.Replica != "" {
					color = replicaColors[replicas[s.Replica]%len(replicaColors)]
					label = fmt.Sprintf("%s leads, epoch %d", s.Replica, s.Epoch)
				}
			case ManagerFrozen:
				color, label = "#edc948", fmt.Sprintf("epoch %d frozen", s.Epoch)
				if s.Replica != "" {
					label = fmt.Sprintf("%s (epoch %d) frozen", s.Replica, s.Epoch)
				}
			}
			detail := ""
			if s.Detail != "" {
				detail = ": " + s.Detail
			}
			x0, w0 := x(s.From), maxf(1, x(s.To)-x(s.From))
			p("<rect class=\"span manager-%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>manager %s from %s to %s%s</title></rect>\n",
				strings.ReplaceAll(s.State, " ", "-"), x0, managerY, w0, sLane, color, esc(label), rel(s.From), rel(s.To), esc(detail))
			if w0 > float64(6*len(label)) {
				p("<text x=\"%.1f\" y=\"%d\" fill=\"#fff\" pointer-events=\"none\">%s</text>\n", x0+3, managerY+sLane-3, esc(label))
			}
		}
		p("</g>\n")
	}

	// Resources.
	if len(tl.Resources) > 0 {
		p("<text class=\"caption\" x=\"4\" y=\"%d\">resources</text>\n", rscTop-4)
	}
	for i, r := range tl.Resources {
		ry := rscTop + i*rowH
		p("<text x=\"4\" y=\"%d\">%s</text>\n", ry+rowH/2, esc(r))
		for j, h := range tl.Hosts {
			p("<text x=\"110\" y=\"%d\" fill=\"#888\">%s</text>\n", ry+j*lane+lane-2, esc(h))
		}
		p("<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#eee\"/>\n", ry+rowH-gap/2, left+width, ry+rowH-gap/2)
	}
	for _, iv := range tl.Intervals {
		ri, ok := rscIdx[iv.Resource]
		hi, ok2 := hostIdx[iv.Host]
		if !ok || !ok2 {
			continue
		}
		color := barColors[hi%len(barColors)]
		by := rscTop + ri*rowH + hi*lane
		p("<rect class=\"bar\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s on %s: %s → %s %s</title></rect>\n",
			x(iv.Start), by+1, maxf(1, x(iv.End)-x(iv.Start)), lane-2, color, esc(iv.Resource), esc(iv.Host),
			iv.Start.Sub(start), endLabel(iv, start), esc(iv.EndCause))
		// Where another host has it at the same time, paint that stretch
		// red: the picture of a split brain.
		for _, o := range tl.Intervals {
			if o.Resource != iv.Resource || o.Host == iv.Host || !overlaps(iv, o, end) {
				continue
			}
			from, to := later(iv.Start, o.Start), earlier(orEnd(iv.End, end), orEnd(o.End, end))
			p("<rect class=\"overlap\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#d62728\"><title>%s also active on %s</title></rect>\n",
				x(from), by+1, maxf(1, x(to)-x(from)), lane-2, esc(iv.Resource), esc(o.Host))
		}
	}

	// Marks: a line across the picture, and for fences and admin requests
	// a glyph on the lane they concern.
	marks := append([]Mark(nil), tl.Marks...)
	sort.SliceStable(marks, func(i, j int) bool { return marks[i].At.Before(marks[j].At) })
	for _, m := range marks {
		kind, mx := markKind(m), x(m.At)
		color := markColors[kind]
		if color == "" {
			color = markColors[MarkFault]
		}
		host := markHost(m)
		p("<g class=\"marker marker-%s\"", kind)
		if host != "" {
			p(" data-host=\"%s\"", esc(host))
		}
		p("><title>%s %s</title>", m.At.Sub(start), esc(m.Label))
		stroke := "1"
		if kind == MarkViolation {
			stroke = "2"
		}
		switch kind {
		case MarkFence, MarkHost:
			p("<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-opacity=\"0.35\"/>", mx, header-6, mx, height-30, color)
			if hy, ok := hostY[host]; ok {
				p("<path d=\"M%.1f %d l-5 -7 h10 z\" fill=\"%s\"/>", mx, hy+sLane, color)
			}
		case MarkAdmin:
			p("<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-opacity=\"0.35\"/>", mx, header-6, mx, height-30, color)
			cy := header - 4
			if managerY >= 0 {
				cy = managerY + sLane/2
			}
			p("<circle cx=\"%.1f\" cy=\"%d\" r=\"4\" fill=\"%s\" stroke=\"#111\"/>", mx, cy, color)
		default:
			p("<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"%s\"/>", mx, header-6, mx, height-30, color, stroke)
		}
		p("</g>\n")
	}
	p("</svg>\n")

	// The same marks as lists, by kind, for reading and searching.
	for _, sec := range []struct{ kind, caption string }{
		{MarkFault, "Faults"}, {MarkFence, "Fences"}, {MarkAdmin, "Admin requests"}, {MarkViolation, "Violations"},
	} {
		var rows []Mark
		for _, m := range marks {
			if k := markKind(m); k == sec.kind || sec.kind == MarkFault && (k == MarkHeal || k == MarkHost) {
				rows = append(rows, m)
			}
		}
		if len(rows) == 0 {
			continue
		}
		p("<h3>%s</h3><table class=\"marks-%s\">\n", sec.caption, sec.kind)
		for _, m := range rows {
			p("<tr><td>%s</td><td>%s</td></tr>\n", m.At.Sub(start), esc(m.Label))
		}
		p("</table>\n")
	}
	p("</body></html>\n")
	if out.err != nil {
		return fmt.Errorf("timeline %q: %w", tl.Title, out.err)
	}
	return nil
}

func overlaps(a, b Interval, end time.Time) bool {
	ae, be := a.End, b.End
	if ae.IsZero() {
		ae = end
	}
	if be.IsZero() {
		be = end
	}
	return a.Start.Before(be) && b.Start.Before(ae)
}

func endLabel(iv Interval, start time.Time) string {
	if iv.End.IsZero() {
		return "end"
	}
	return iv.End.Sub(start).String()
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

func orEnd(t, end time.Time) time.Time {
	if t.IsZero() {
		return end
	}
	return t
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
