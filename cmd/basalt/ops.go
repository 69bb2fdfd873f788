package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
	"github.com/basalt-ha/basalt/core/agentcheck"
	"github.com/basalt-ha/basalt/live/api"
)

// interrupted is the context the live commands (status --watch, events
// --follow) run under: done on SIGINT or SIGTERM, which end them cleanly
// (exit 0). Tests replace it with one they cancel.
var interrupted = func() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// maxPollInterval bounds the live commands' intervals: a follower polling
// once an hour would look hung.
const maxPollInterval = time.Minute

// checkInterval reports an interval flag outside (0, maxPollInterval].
func checkInterval(fs *subcmd.Flags, stderr io.Writer, d time.Duration) bool {
	if d <= 0 || d > maxPollInterval {
		fs.Mistake(stderr, "--interval %s: want a duration above 0 and at most %s", d, maxPollInterval)
		return false
	}
	return true
}

// sleep waits d, or until ctx is done (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// isTerminal reports whether w is a terminal (a character device), where
// status --watch clears the screen between renders rather than separate
// them with a line. A variable, so that a test can take a buffer for one.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// clearScreen moves the cursor home and clears the screen (ANSI).
const clearScreen = "\033[H\033[2J"

// watchStatus is status --watch: the status rendered every interval until
// a signal (exit 0) or until the manager cannot be reached (exit 3).
func watchStatus(sock *socket, format string, interval time.Duration, stdout, stderr io.Writer) int {
	ctx, stop := interrupted()
	defer stop()
	tty := isTerminal(stdout)
	c := sock.client()
	for {
		v, err := c.Status()
		if err != nil {
			if ctx.Err() != nil {
				// A signal during the request: the operator stopped it.
				return exitOK
			}
			return sock.failed(stderr, err)
		}
		if tty {
			fmt.Fprint(stdout, clearScreen)
		}
		switch format {
		case "text":
			// Each render says when it was taken: on a terminal as a
			// title, in a file or a pipe as the line separating it from
			// the last.
			fmt.Fprintf(stdout, "=== %s (every %s) ===\n", time.Now().UTC().Format(time.RFC3339), interval)
		case "yaml":
			// A stream of documents; JSON needs no separator (a stream of
			// values, each one status, which a decoder reads in turn).
			fmt.Fprintln(stdout, "---")
		}
		if err := render(stdout, format, v, func(w io.Writer) { printStatus(w, v) }); err != nil {
			fmt.Fprintf(stderr, "basalt status: %v\n", err)
			return exitFailed
		}
		if !sleep(ctx, interval) {
			return exitOK
		}
	}
}

var fenceCmds = subcmd.Set{Tool: "basalt fence", Noun: "action", Commands: map[string]subcmd.Command{
	"history": {Args: "[-o text|json|yaml]", Summary: "the finished fence requests: target, who asked, when, the outcome", Run: fenceHistoryCmd},
	"devices": {Args: "[-o text|json|yaml]", Summary: "the fence devices: agent, the hosts each fences, its last monitor from each host", Run: fenceDevicesCmd},
}}

func fenceHistoryCmd(args []string, stdout, stderr io.Writer) int {
	return readListCmd(args, stdout, stderr, "basalt fence history",
		"The fencing history, oldest first: each finished fence request's target, action, who asked,\n"+
			"when it was requested and completed, whether it succeeded (or why it failed), the devices\n"+
			"that fenced and the hosts that ran them.",
		(*api.Client).FenceHistory, printFenceHistory)
}

func fenceDevicesCmd(args []string, stdout, stderr io.Writer) int {
	return readListCmd(args, stdout, stderr, "basalt fence devices",
		"The configured fence devices: each one's agent, the hosts it can fence (with their plugs), and\n"+
			"its last monitor from each host that ran one (every host checks every device when it joins):\n"+
			"whether the device answered, its rc, or why no answer came.",
		(*api.Client).FenceDevices, printFenceDevices)
}

// readListCmd is a read command that fetches one list from the manager and
// renders it as text, JSON or YAML (an empty list is [] in JSON, not null).
func readListCmd[T any](args []string, stdout, stderr io.Writer, name, help string,
	fetch func(*api.Client) ([]T, error), print func(io.Writer, []T)) int {
	fs := subcmd.NewFlags(name, "[-o text|json|yaml] [--socket PATH]", help)
	sock := socketFlag(fs)
	output := outputFlag(fs)
	if rc, ok := parseRead(fs, args, stdout, stderr, output); !ok {
		return rc
	}
	list, err := fetch(sock.client())
	if err != nil {
		return sock.failed(stderr, err)
	}
	if list == nil {
		list = []T{}
	}
	if err := render(stdout, *output, list, func(w io.Writer) { print(w, list) }); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitFailed
	}
	return exitOK
}

// printFenceDevices is each device with what it fences, then one line per
// host's last monitor.
func printFenceDevices(w io.Writer, ds []api.FenceDeviceView) {
	if len(ds) == 0 {
		fmt.Fprintln(w, "No fence devices configured (fencing is off).")
		return
	}
	for _, d := range ds {
		plugs := make([]string, 0, len(d.Plugs))
		for _, h := range slices.Sorted(maps.Keys(d.Plugs)) {
			plugs = append(plugs, h+" (plug "+d.Plugs[h]+")")
		}
		fmt.Fprintf(w, "%s (%s): fences %s\n", d.ID, d.Agent, strings.Join(plugs, ", "))
		if len(d.Checks) == 0 {
			fmt.Fprintln(w, "  not checked yet: no host has joined")
		}
		for _, c := range d.Checks {
			var res string
			switch {
			case c.Lost != "":
				res = "NO ANSWER: " + c.Lost
			case c.Timeout:
				res = "FAILED: timed out" // killed: its rc means nothing
			case c.OK:
				res = "OK"
			default:
				res = fmt.Sprintf("FAILED: rc %d", c.RC)
			}
			if c.Output != "" && !c.OK {
				res += ": " + c.Output
			}
			fmt.Fprintf(w, "  monitor from %-10s %s at %s\n", c.Host, res, c.At.UTC().Format(time.RFC3339))
		}
	}
}

func printFenceHistory(w io.Writer, h []api.FenceHistoryEntry) {
	if len(h) == 0 {
		fmt.Fprintln(w, "No fencing yet.")
		return
	}
	for _, e := range h {
		verdict := "OK"
		if !e.OK {
			verdict = "FAILED"
		}
		took := e.Completed.Sub(e.Requested).Round(time.Millisecond)
		fmt.Fprintf(w, "%s %s %s: %s (requested %s, completed %s, took %s)\n", e.Target, e.Action, verdict,
			strings.Join(e.Origins, ", "), e.Requested.UTC().Format(time.RFC3339), e.Completed.UTC().Format(time.RFC3339), took)
		if e.Reason != "" {
			what := "reason"
			if e.OK {
				what = "confirmed"
			}
			fmt.Fprintf(w, "  %s: %s\n", what, e.Reason)
		}
		if len(e.Devices) > 0 {
			fmt.Fprintf(w, "  devices: %s\n", strings.Join(e.Devices, ", "))
		}
		if len(e.Executors) > 0 {
			fmt.Fprintf(w, "  executors: %s\n", strings.Join(e.Executors, ", "))
		}
	}
}

// parseSince reads --since: a duration back from now ("10m") or an RFC
// 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("--since %s: want a positive duration (how long ago) or an RFC 3339 time", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q: want a duration (10m) or an RFC 3339 time (2026-01-02T15:04:05Z)", s)
	}
	return t, nil
}

func eventsCmd(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt events", "[-n N] [--since D|TIME] [--follow [--interval D]] [-o text|json|yaml] [--socket PATH]",
		"The manager's recent events, oldest first. --since keeps those from a time on; --follow goes\n"+
			"on printing new events as they come until interrupted (exit 0), or until the manager cannot\n"+
			"be reached (exit 3). With --follow, -o json prints one JSON object a line and -o yaml one\n"+
			"document an event.")
	sock := socketFlag(fs)
	n := fs.IntP("number", "n", 50, "how many recent events (with --since: all since, unless given)")
	since := fs.String("since", "", "only events from this long ago (10m) or this RFC 3339 time on")
	followFlag := fs.BoolP("follow", "f", false, "keep printing new events until interrupted")
	interval := fs.Duration("interval", time.Second, "with --follow, how often to ask the manager")
	output := outputFlag(fs)
	if rc, ok := parseRead(fs, args, stdout, stderr, output); !ok {
		return rc
	}
	if *n < 1 {
		return fs.Mistake(stderr, "-n/--number %d: want at least 1", *n)
	}
	if fs.Changed("interval") && !*followFlag {
		return fs.Mistake(stderr, "--interval is --follow's: without it, it would be ignored")
	}
	if !checkInterval(fs, stderr, *interval) {
		return exitUsage
	}
	var from time.Time
	if *since != "" {
		var err error
		if from, err = parseSince(*since, time.Now()); err != nil {
			return fs.Mistake(stderr, "%v", err)
		}
	}
	// With --since, the filter is the time: every event the manager keeps
	// is asked for, and -n limits only when given.
	limit := *n
	if *since != "" && !fs.Changed("number") {
		limit = 0
	}
	c := sock.client()
	kept, last, err := recentEvents(c, *since != "", from, limit)
	if err != nil {
		return sock.failed(stderr, err)
	}
	if !*followFlag {
		if kept == nil {
			kept = []api.Event{}
		}
		err := render(stdout, *output, kept, func(w io.Writer) {
			for _, e := range kept {
				fmt.Fprintln(w, e)
			}
		})
		if err != nil {
			fmt.Fprintf(stderr, "basalt events: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	return followEvents(c, sock, stdout, stderr, *output, *interval, kept, last)
}

// recentEvents asks for the events the command starts with: the last
// limit (0: all), from from on when since is set. last is the sequence
// number of the newest event the manager has, printed or filtered out
// alike, so that a follower goes on after it: an event older than --since
// never comes back.
func recentEvents(c *api.Client, since bool, from time.Time, limit int) (kept []api.Event, last uint64, err error) {
	ask := limit
	if since {
		ask = 0
	}
	evs, err := c.Events(0, ask)
	if err != nil {
		return nil, 0, err
	}
	if len(evs) > 0 {
		last = evs[len(evs)-1].Seq
	}
	for _, e := range evs {
		if !e.Time.Before(from) {
			kept = append(kept, e)
		}
	}
	if limit > 0 && len(kept) > limit {
		kept = kept[len(kept)-limit:]
	}
	return kept, last, nil
}

// followEvents prints kept, then every event after last as it comes,
// until interrupted (exit 0) or the manager cannot be reached (exit 3).
func followEvents(c *api.Client, sock *socket, stdout, stderr io.Writer, output string, interval time.Duration, kept []api.Event, last uint64) int {
	ctx, stop := interrupted()
	defer stop()
	for {
		for _, e := range kept {
			if err := printStreamed(stdout, output, e); err != nil {
				fmt.Fprintf(stderr, "basalt events: %v\n", err)
				return exitFailed
			}
		}
		if !sleep(ctx, interval) {
			return exitOK
		}
		// after=last: every event since, however many came between two
		// polls, so that none is missed.
		var err error
		kept, err = c.Events(last, 0)
		if err == nil && len(kept) == 0 && last > 0 {
			// Nothing new, or a manager started afresh between two polls
			// on a new event log (basalt-manager epoch --new-log), whose
			// numbers begin again: its latest says which.
			var latest []api.Event
			if latest, err = c.Events(0, 1); err == nil && len(latest) > 0 && latest[0].Seq < last {
				kept, err = c.Events(0, 0)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return exitOK
			}
			return sock.failed(stderr, err)
		}
		if len(kept) > 0 {
			last = kept[len(kept)-1].Seq
		}
	}
}

// printStreamed writes one followed event: a line of text, a line of JSON
// (JSON Lines), or a YAML document.
func printStreamed(w io.Writer, format string, e api.Event) error {
	switch format {
	case "json":
		data, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("json output: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	case "yaml":
		fmt.Fprintln(w, "---")
		return writeYAML(w, e)
	default:
		_, err := fmt.Fprintln(w, e)
		return err
	}
}

func reportCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "list" {
		// No report is called list: its IDs are rEPOCH-N.
		return reportList(args[1:], stdout, stderr)
	}
	fs := subcmd.NewFlags("basalt report", "ID [--wait [--timeout D]] [-o text|json|yaml] [--socket PATH]",
		"A request's report; with --wait, followed until it is CLOSED (with -o json or yaml, only the\nclosed report is printed).\n"+
			"'basalt report list' lists every report the manager remembers.")
	sock := socketFlag(fs)
	w := registerWait(fs)
	output := outputFlag(fs)
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	if !fs.Exact(stderr, "ID") || !w.check(fs, stderr) || !checkOutput(fs, stderr, *output) {
		return exitUsage
	}
	c := sock.client()
	if *w.wait {
		return followAs(sock, c, fs.Arg(0), *w.timeout, *output, stdout, stderr)
	}
	var rep api.ReportView
	if err := c.Do("GET", "/v1/reports/"+url.PathEscape(fs.Arg(0)), nil, &rep); err != nil {
		return sock.failed(stderr, err)
	}
	if err := render(stdout, *output, rep, func(w io.Writer) { printReport(w, rep) }); err != nil {
		fmt.Fprintf(stderr, "basalt report: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// reportList is basalt report list: every report the manager remembers,
// oldest first, one line each (crm_resource has no such list; gCube's
// resource manager lists its reports).
func reportList(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt report list", "[--open] [-o text|json|yaml] [--socket PATH]",
		"Every report the manager remembers (its last 1,024), oldest first: ID, kind of request, state\n"+
			"(OPEN, CLOSED done or CLOSED FAILED), when it was opened, and the request. 'basalt report ID'\n"+
			"shows one.")
	sock := socketFlag(fs)
	open := fs.Bool("open", false, "only the reports still OPEN")
	output := outputFlag(fs)
	if rc, ok := parseRead(fs, args, stdout, stderr, output); !ok {
		return rc
	}
	reps, err := sock.client().Reports()
	if err != nil {
		return sock.failed(stderr, err)
	}
	list := []api.ReportView{}
	for _, r := range reps {
		if !*open || r.State != api.ReportClosed {
			list = append(list, r)
		}
	}
	if err := render(stdout, *output, list, func(w io.Writer) { printReportList(w, list) }); err != nil {
		fmt.Fprintf(stderr, "basalt report list: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// printReportList is one line a report: ID, state with its verdict, when
// it was opened (and closed), the request.
func printReportList(w io.Writer, reps []api.ReportView) {
	if len(reps) == 0 {
		fmt.Fprintln(w, "No reports.")
		return
	}
	const row = "%-8s %-12s %-13s %-20s  %s\n"
	fmt.Fprintf(w, row, "ID", "KIND", "STATE", "OPENED", "REQUEST")
	for _, r := range reps {
		state := "OPEN"
		if r.State == api.ReportClosed {
			state = "CLOSED done"
			if r.Failed {
				state = "CLOSED FAILED"
			}
		}
		fmt.Fprintf(w, row, r.ID, r.Kind, state, r.Created.UTC().Format(time.RFC3339), r.Request)
	}
}

func resourceList(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt resource list", "[-o text|json|yaml] [--socket PATH]",
		"Every group and its resources as a tree: where each runs and its state on each host.")
	sock := socketFlag(fs)
	output := outputFlag(fs)
	if rc, ok := parseRead(fs, args, stdout, stderr, output); !ok {
		return rc
	}
	v, err := sock.client().Status()
	if err != nil {
		return sock.failed(stderr, err)
	}
	groups := v.Groups
	if groups == nil {
		groups = []api.GroupView{}
	}
	err = render(stdout, *output, groups, func(w io.Writer) {
		for _, g := range groups {
			printGroupLine(w, g)
			for _, r := range g.Resources {
				fmt.Fprintf(w, "  %s* %s (%s) %s: %s\n", strings.Repeat("  ", r.Depth), r.ID, r.Name, r.Agent, resourceState(r))
			}
		}
	})
	if err != nil {
		fmt.Fprintf(stderr, "basalt resource list: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// printGroupLine is a group's heading: where it is placed and its marks.
func printGroupLine(w io.Writer, g api.GroupView) {
	on := "nowhere"
	if len(g.Placed) > 0 {
		on = "on " + strings.Join(g.Placed, ",")
	}
	var marks []string
	if !g.Managed {
		marks = append(marks, "unmanaged")
	}
	if g.Target != "" && g.Target != "started" {
		marks = append(marks, "target: "+g.Target)
	}
	if g.FailedOver {
		marks = append(marks, "failed over from "+g.Preferred)
	}
	m := ""
	if len(marks) > 0 {
		m = " [" + strings.Join(marks, ", ") + "]"
	}
	fmt.Fprintf(w, "Group %s (%s): placed %s%s\n", g.ID, g.Name, on, m)
}

// resourceState says where a resource runs, then what needs attention:
// "Started oss1", "Stopped (failed on oss2; BLOCKED)".
func resourceState(r api.ResourceView) string {
	s := "Stopped"
	if len(r.RunningOn) > 0 {
		s = "Started " + strings.Join(r.RunningOn, ",")
	}
	if len(r.Roles) > 0 {
		// crm_mon's way: the roles of a promotable clone's instances.
		var promoted, unpromoted []string
		for _, h := range sortedKeys(r.Roles) {
			if r.Roles[h] == "Promoted" {
				promoted = append(promoted, h)
			} else {
				unpromoted = append(unpromoted, h)
			}
		}
		s += fmt.Sprintf("; Promoted: [ %s ] Unpromoted: [ %s ]", strings.Join(promoted, " "), strings.Join(unpromoted, " "))
	}
	var extra []string
	for _, h := range sortedKeys(r.States) {
		switch st := r.States[h]; st {
		case "running", "stopped", "":
		default:
			extra = append(extra, st+" on "+h)
		}
	}
	if r.Blocked {
		extra = append(extra, "BLOCKED")
	}
	if r.Fatal != "" {
		extra = append(extra, "FATAL")
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, "; ") + ")"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// resourceDetail is `basalt resource show RESOURCE -o json`: the resource
// with its group's id.
type resourceDetail struct {
	Group string `json:"group"`
	api.ResourceView
}

func resourceShow(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt resource show", "GROUP|RESOURCE [-o text|json|yaml] [--socket PATH]",
		"One group (its placement, note and every resource) or one resource (its agent, parameters,\nstate on each host, fail counts, whether it is blocked or fatally failed). Exit 1 when there\nis no such group or resource.")
	sock := socketFlag(fs)
	output := outputFlag(fs)
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	if !fs.Exact(stderr, "GROUP|RESOURCE") || !checkOutput(fs, stderr, *output) {
		return exitUsage
	}
	v, err := sock.client().Status()
	if err != nil {
		return sock.failed(stderr, err)
	}
	id := fs.Arg(0)
	var out any
	var text func(io.Writer)
	var ids []string
	for _, g := range v.Groups {
		ids = append(ids, g.ID)
		if g.ID == id {
			out, text = g, func(w io.Writer) { printGroupDetail(w, g) }
		}
		for _, r := range g.Resources {
			if r.ID == id {
				d := resourceDetail{Group: g.ID, ResourceView: r}
				out, text = d, func(w io.Writer) { printResourceDetail(w, d, "") }
			}
		}
	}
	if out == nil {
		// As the manager words it for requests: the groups to choose from,
		// and the nearest if it is a typo of one.
		hint := ""
		var all []string
		for _, g := range v.Groups {
			all = append(all, g.ID)
			for _, r := range g.Resources {
				all = append(all, r.ID)
			}
		}
		if s := agentcheck.Suggest(id, all); s != "" {
			hint = fmt.Sprintf("; did you mean %s?", s)
		}
		fmt.Fprintf(stderr, "basalt resource show: no resource or group %q (groups: %s)%s\n", id, strings.Join(ids, ", "), hint)
		return exitFailed
	}
	if err := render(stdout, *output, out, text); err != nil {
		fmt.Fprintf(stderr, "basalt resource show: %v\n", err)
		return exitFailed
	}
	return exitOK
}

func printGroupDetail(w io.Writer, g api.GroupView) {
	printGroupLine(w, g)
	fmt.Fprintf(w, "  target role: %s\n  managed:     %s\n", dash(g.Target), yesNo(g.Managed))
	if g.Preferred != "" {
		fmt.Fprintf(w, "  preferred:   %s\n", g.Preferred)
	}
	if g.Note != "" {
		fmt.Fprintf(w, "  note:        %s\n", g.Note)
	}
	for _, r := range g.Resources {
		fmt.Fprintln(w)
		printResourceDetail(w, resourceDetail{Group: g.ID, ResourceView: r}, "  ")
	}
}

func printResourceDetail(w io.Writer, d resourceDetail, indent string) {
	fmt.Fprintf(w, "%sResource %s (%s), group %s\n", indent, d.ID, d.Name, d.Group)
	fmt.Fprintf(w, "%s  agent:  %s\n", indent, dash(d.Agent))
	fmt.Fprintf(w, "%s  state:  %s\n", indent, resourceState(d.ResourceView))
	if d.Blocked {
		fmt.Fprintf(w, "%s  BLOCKED: nothing is done with it until basalt resource cleanup %s\n", indent, d.ID)
	}
	if d.Fatal != "" {
		fmt.Fprintf(w, "%s  FATAL: %s\n", indent, d.Fatal)
	}
	if len(d.Params) > 0 {
		fmt.Fprintf(w, "%s  params:\n", indent)
		for _, k := range sortedKeys(d.Params) {
			fmt.Fprintf(w, "%s    %s=%s\n", indent, k, d.Params[k])
		}
	}
	hosts := sortedKeys(d.States)
	for h := range d.FailCount {
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	sort.Strings(hosts)
	if len(hosts) == 0 {
		fmt.Fprintf(w, "%s  hosts:  none has reported it yet\n", indent)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s  HOST\tSTATE\tFAIL COUNT\n", indent)
	for _, h := range hosts {
		fmt.Fprintf(tw, "%s  %s\t%s\t%d\n", indent, h, dash(d.States[h]), d.FailCount[h])
	}
	_ = tw.Flush()
}
