package check

import (
	"fmt"
	"html"
	"io"
	"sort"
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

// Mark is a fault or event drawn on the timeline.
type Mark struct {
	At    time.Time
	Label string
}

// Change is a resource becoming active or inactive on a host.
type Change struct {
	At       time.Time
	Host     string
	Resource string
	Active   bool
	Cause    string
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

// WriteTimeline draws each resource's ownership per host over the run as
// an HTML page with an SVG picture: one row per resource, one lane per host,
// a bar while the resource is active there, red where it is active on two
// hosts at once, and the faults as vertical marks. It is what an operator
// reads to understand a failing seed.
func WriteTimeline(w io.Writer, title string, hosts, resources []string, ivs []Interval, marks []Mark, start, end time.Time) error {
	const (
		left   = 160
		width  = 1200
		lane   = 10
		gap    = 8
		header = 40
	)
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
	rowH := len(hosts)*lane + gap
	height := header + len(resources)*rowH + 40
	hostIdx := map[string]int{}
	for i, h := range hosts {
		hostIdx[h] = i
	}
	rscIdx := map[string]int{}
	for i, r := range resources {
		rscIdx[r] = i
	}
	colors := []string{"#4e79a7", "#59a14f", "#9c755f", "#edc948", "#b07aa1", "#76b7b2", "#ff9da7", "#bab0ac"}
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>\n", html.EscapeString(title))
	p("<style>body{font-family:sans-serif;margin:16px} text{font-size:11px} .m{stroke:#d62728;stroke-dasharray:3,3}</style></head><body>\n")
	p("<h2>%s</h2>\n<p>Each row is a resource, each thin lane in it a host; a bar means the resource was active there. Red stretches are active on another host at the same time. Dashed lines are faults (hover for details).</p>\n", html.EscapeString(title))
	p("<svg width=\"%d\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">\n", left+width+20, height)
	for i := 0; i <= 10; i++ {
		t := start.Add(span * time.Duration(i) / 10)
		p("<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%d\">%s</text>\n",
			x(t), header-10, x(t), height-30, x(t)-10, header-14, t.Sub(start).Truncate(time.Second))
	}
	for i, r := range resources {
		y := header + i*rowH
		p("<text x=\"4\" y=\"%d\">%s</text>\n", y+rowH/2, html.EscapeString(r))
		for j, h := range hosts {
			p("<text x=\"110\" y=\"%d\" fill=\"#888\">%s</text>\n", y+j*lane+lane-2, html.EscapeString(h))
		}
		p("<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#eee\"/>\n", y+rowH-gap/2, left+width, y+rowH-gap/2)
	}
	for _, iv := range ivs {
		ri, ok := rscIdx[iv.Resource]
		hi, ok2 := hostIdx[iv.Host]
		if !ok || !ok2 {
			continue
		}
		color := colors[hi%len(colors)]
		y := header + ri*rowH + hi*lane
		p("<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s on %s: %s → %s %s</title></rect>\n",
			x(iv.Start), y+1, maxf(1, x(iv.End)-x(iv.Start)), lane-2, color, html.EscapeString(iv.Resource), html.EscapeString(iv.Host),
			iv.Start.Sub(start), endLabel(iv, start), html.EscapeString(iv.EndCause))
		// Where another host has it at the same time, paint that stretch
		// red: the picture of a split brain.
		for _, o := range ivs {
			if o.Resource != iv.Resource || o.Host == iv.Host || !overlaps(iv, o, end) {
				continue
			}
			from, to := later(iv.Start, o.Start), earlier(orEnd(iv.End, end), orEnd(o.End, end))
			p("<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#d62728\"><title>%s also active on %s</title></rect>\n",
				x(from), y+1, maxf(1, x(to)-x(from)), lane-2, html.EscapeString(iv.Resource), html.EscapeString(o.Host))
		}
	}
	sort.Slice(marks, func(i, j int) bool { return marks[i].At.Before(marks[j].At) })
	for _, m := range marks {
		p("<line class=\"m\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"><title>%s %s</title></line>\n",
			x(m.At), header-6, x(m.At), height-30, m.At.Sub(start), html.EscapeString(m.Label))
	}
	p("</svg>\n<h3>Faults</h3><ul>\n")
	for _, m := range marks {
		p("<li>%s %s</li>\n", m.At.Sub(start), html.EscapeString(m.Label))
	}
	p("</ul></body></html>\n")
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
