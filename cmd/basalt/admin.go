package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
	"github.com/basalt-ha/basalt/live/api"
)

const defaultSocket = "/run/basalt/manager.sock"

// socket is the --socket flag, remembering where its value came from so
// that an unreachable manager's message can say.
type socket struct {
	fs   *subcmd.Flags
	path *string
	env  bool
}

func socketFlag(fs *subcmd.Flags) *socket {
	def := defaultSocket
	s := os.Getenv("BASALT_SOCKET")
	if s != "" {
		def = s
	}
	return &socket{fs: fs, env: s != "", path: fs.String("socket", def, "manager admin socket (or $BASALT_SOCKET); with several managers, their sockets comma-separated: the leader's is used")}
}

// client talks to the manager at --socket; with several sockets, comma
// separated (one per manager replica), to the one that leads.
func (s *socket) client() *api.Client {
	var paths []string
	for _, p := range strings.Split(*s.path, ",") {
		if p = strings.TrimSpace(p); p != "" {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		paths = []string{*s.path}
	}
	return api.LeaderClient(paths)
}

// failed reports an error of a request to the manager and returns the exit
// code: exitUnreachable, with how to name another socket, when the request
// got no answer; exitFailed when the manager refused it.
func (s *socket) failed(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", s.fs.Cmd, err)
	var ue *api.UnreachableError
	if !errors.As(err, &ue) {
		return exitFailed
	}
	from := "is the default socket"
	switch {
	case s.fs.Changed("socket"):
		from = "came from --socket"
	case s.env:
		from = "came from $BASALT_SOCKET"
	}
	fmt.Fprintf(stderr, "%s %s; name another with --socket PATH or BASALT_SOCKET=PATH.\n", *s.path, from)
	return exitUnreachable
}

// outputs are the formats of -o, each implemented below.
var outputs = []string{"text", "json", "yaml"}

// status prints the cluster at a glance, like crm_mon -1; exit 0 only when
// everything is as intended.
func status(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt status", "[-o text|json|yaml] [--watch [--interval D]] [--socket PATH]",
		"The cluster at a glance: hosts, groups, open reports, what needs attention, recent events.\n"+
			"Exit 0 only when all is as intended, 1 when something needs attention. --watch renders it\n"+
			"again every interval until interrupted (exit 0): on a terminal the screen is cleared\n"+
			"between two; otherwise each text render follows a line with its time (-o yaml: a document\n"+
			"each, -o json: a JSON value each).")
	sock := socketFlag(fs)
	output := outputFlag(fs)
	watch := fs.BoolP("watch", "w", false, "render the status again every --interval until interrupted (crm_mon's live mode)")
	interval := fs.Duration("interval", 2*time.Second, "with --watch, how often to render")
	if rc, ok := parseRead(fs, args, stdout, stderr, output); !ok {
		return rc
	}
	if fs.Changed("interval") && !*watch {
		return fs.Mistake(stderr, "--interval is --watch's: without it, it would be ignored")
	}
	if !checkInterval(fs, stderr, *interval) {
		return exitUsage
	}
	if *watch {
		return watchStatus(sock, *output, *interval, stdout, stderr)
	}
	var v api.StatusView
	if err := sock.client().Do("GET", "/v1/status", nil, &v); err != nil {
		return sock.failed(stderr, err)
	}
	if err := render(stdout, *output, v, func(w io.Writer) { printStatus(w, v) }); err != nil {
		fmt.Fprintf(stderr, "basalt status: %v\n", err)
		return exitFailed
	}
	if !v.Healthy {
		return exitFailed
	}
	return exitOK
}

// printStandby is the status of a standby manager: it knows only who leads.
func printStandby(w io.Writer, v api.StatusView) {
	fmt.Fprintln(w, "This manager stands by — ATTENTION: it does not act, and knows the cluster only through the leader.")
	printManagers(w, v.Managers)
	fmt.Fprintln(w, "\nNeeds attention:")
	for _, p := range v.Problems {
		fmt.Fprintf(w, "  ! %s\n", p)
	}
}

// printManagers lists the manager replicas (manager high availability).
func printManagers(w io.Writer, ms []api.ManagerView) {
	if len(ms) == 0 {
		return
	}
	fmt.Fprintln(w, "\nManagers:")
	for _, m := range ms {
		role := "standby"
		if m.Leader {
			role = fmt.Sprintf("LEADER, epoch %d", m.Epoch)
		} else if m.Epoch == 0 {
			role = "not campaigning (waiting for etcd)"
		}
		lease := ""
		if m.LeaseLeft != "" {
			lease = ", lease " + m.LeaseLeft + " left"
		}
		if !m.Leader && m.Following > 0 {
			role += fmt.Sprintf(" (warm: %d journal records replayed)", m.Following)
		}
		self := ""
		if m.Self {
			self = "  (this one)"
		}
		fmt.Fprintf(w, "  %-12s %s%s%s\n", m.Name, role, lease, self)
	}
}

// outputFlag registers -o/--output, the format of every read command.
func outputFlag(fs *subcmd.Flags) *string {
	return fs.StringP("output", "o", "text", "output format: "+strings.Join(outputs, ", "))
}

// checkOutput reports, after Parse, an -o value that is not a format.
func checkOutput(fs *subcmd.Flags, stderr io.Writer, format string) bool {
	return fs.OneOf(stderr, "-o/--output", format, outputs...)
}

// parseRead parses the flags of a read command that takes no argument:
// false with the exit code when they are wrong (the message is printed).
func parseRead(fs *subcmd.Flags, args []string, stdout, stderr io.Writer, output *string) (int, bool) {
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc, false
	}
	if !fs.Exact(stderr) || !checkOutput(fs, stderr, *output) {
		return exitUsage, false
	}
	return 0, true
}

// render writes v in the format -o names: indented JSON, its YAML (see
// writeYAML), or the command's own text.
func render(w io.Writer, format string, v any, text func(io.Writer)) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("json output: %w", err)
		}
	case "yaml":
		return writeYAML(w, v)
	default:
		text(w)
	}
	return nil
}

// writeYAML writes v as YAML with the keys, and the key order, of its JSON:
// the JSON is read as a YAML document (JSON is YAML) and written again in
// block style, so that the two formats never disagree on a name.
func writeYAML(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("yaml output: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("yaml output: %w", err)
	}
	var block func(n *yaml.Node)
	block = func(n *yaml.Node) {
		// The encoder quotes a string that would read as something else.
		n.Style = 0
		for _, c := range n.Content {
			block(c)
		}
	}
	block(&doc)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("yaml output: %w", err)
	}
	return enc.Close()
}

func printStatus(w io.Writer, v api.StatusView) {
	if v.Role == api.RoleStandby {
		printStandby(w, v)
		return
	}
	health := "OK"
	if !v.Healthy {
		health = "ATTENTION"
	}
	fmt.Fprintf(w, "Cluster %s — %s (manager epoch %d)", v.Cluster, health, v.Epoch)
	if v.Maintenance {
		fmt.Fprint(w, " [MAINTENANCE MODE: no resource is acted on]")
	}
	fmt.Fprintln(w)
	printManagers(w, v.Managers)
	printHosts(w, v.Hosts)
	printNodeAttributes(w, v.Hosts)
	fmt.Fprintln(w, "\nGroups:")
	for _, g := range v.Groups {
		printGroup(w, g)
	}
	printFailedActions(w, v.Groups)
	printConstraints(w, v.Constraints)
	if len(v.OpenReports) > 0 {
		fmt.Fprintln(w, "\nOpen reports:")
		for _, r := range v.OpenReports {
			fmt.Fprintf(w, "  %s %s (since %s)\n", r.ID, r.Request, r.Created.Format(time.RFC3339))
		}
	}
	if len(v.Problems) > 0 {
		fmt.Fprintln(w, "\nNeeds attention:")
		for _, p := range v.Problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
	}
	if len(v.Events) > 0 {
		fmt.Fprintln(w, "\nRecent events:")
		for _, e := range v.Events {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}

// printConstraints lists the moves and bans in force: what each does, for
// how long, and which request set it (standby and maintenance show beside
// their host and in the title).
func printConstraints(w io.Writer, cs []api.ConstraintView) {
	if len(cs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nConstraints (basalt resource clear GROUP drops a group's):")
	for _, c := range cs {
		what := "prefers " + c.Host + " (move)"
		if c.Kind == "ban" {
			what = "banned from " + c.Host + " (ban)"
		}
		until := "until cleared"
		if !c.Until.IsZero() {
			until = "until " + c.Until.UTC().Format(time.RFC3339)
		}
		by := ""
		switch {
		case c.Request != "":
			by = fmt.Sprintf(", set by %s (%s)", c.By, c.Request)
		case c.By != "":
			by = ", set by " + c.By
		}
		fmt.Fprintf(w, "  %-12s %s, %s%s\n", c.Group, what, until, by)
	}
}

// marked is " [a, b]" for marks, "" for none.
func marked(marks []string) string {
	if len(marks) == 0 {
		return ""
	}
	return " [" + strings.Join(marks, ", ") + "]"
}

func printHosts(w io.Writer, hosts []api.HostView) {
	fmt.Fprintln(w, "\nHosts:")
	for _, h := range hosts {
		marks := []string{}
		if h.Standby {
			marks = append(marks, "standby")
		}
		if h.Pending {
			marks = append(marks, "not heard from yet")
		}
		if h.Fencing != "" {
			marks = append(marks, "fencing "+h.Fencing)
		}
		fmt.Fprintf(w, "  %-12s %s%s\n", h.Name, h.State, marked(marks))
	}
}

func printGroup(w io.Writer, g api.GroupView) {
	marks := []string{}
	if !g.Managed {
		marks = append(marks, "unmanaged")
	}
	if g.FailedOver {
		marks = append(marks, "failed over from "+g.Preferred)
	}
	running := slices.ContainsFunc(g.Resources, func(r api.ResourceView) bool { return len(r.RunningOn) > 0 })
	switch {
	case g.Orphan && running:
		// crm_mon's ORPHANED: configured no more, stopped wherever it runs.
		marks = append(marks, "orphan: stopping")
	case g.Orphan:
		marks = append(marks, "orphan: stopped, to be forgotten")
	case g.Target == "stopped":
		marks = append(marks, "target: stopped")
	}
	on := "nowhere"
	if len(g.Placed) > 0 {
		on = strings.Join(g.Placed, ",")
	}
	fmt.Fprintf(w, "  %s (%s) on %s%s\n", g.ID, g.Name, on, marked(marks))
	if g.Note != "" {
		fmt.Fprintf(w, "    note: %s\n", g.Note)
	}
	for _, r := range g.Resources {
		printResource(w, r)
	}
}

func printResource(w io.Writer, r api.ResourceView) {
	state := "stopped"
	if len(r.RunningOn) > 0 {
		state = "running on " + strings.Join(r.RunningOn, ",")
	}
	if len(r.PromotedOn) > 0 {
		state += ", promoted on " + strings.Join(r.PromotedOn, ",")
	}
	var extra []string
	hosts := make([]string, 0, len(r.FailCount))
	for h := range r.FailCount {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		extra = append(extra, fmt.Sprintf("fail-count %s=%d", h, r.FailCount[h]))
	}
	for h, s := range r.States {
		if s == "failed" || s == "stop-failed" || s == "unknown" {
			extra = append(extra, fmt.Sprintf("%s on %s", s, h))
		}
	}
	if r.Blocked {
		extra = append(extra, "BLOCKED (basalt resource cleanup)")
	}
	if r.Fatal != "" {
		extra = append(extra, "FATAL: "+r.Fatal)
	}
	sort.Strings(extra)
	e := ""
	if len(extra) > 0 {
		e = " (" + strings.Join(extra, "; ") + ")"
	}
	fmt.Fprintf(w, "    %s%s %q: %s%s\n", strings.Repeat("  ", r.Depth), r.ID, r.Name, state, e)
}

// printFailedActions is crm_mon's "Failed Resource Actions": per resource
// and host, what failed last (the agent's rc and exit reason), how often,
// and when; a cleanup clears them.
func printFailedActions(w io.Writer, groups []api.GroupView) {
	first := true
	for _, g := range groups {
		for _, r := range g.Resources {
			for _, f := range r.Failures {
				if first {
					fmt.Fprintln(w, "\nFailed resource actions (basalt resource cleanup clears them):")
					first = false
				}
				what := f.What
				if what == "" {
					what = f.Op + " failed (its event is no longer among the recent ones)"
				}
				hard := ""
				if f.Hard {
					hard = ", banned from the host until a cleanup"
				}
				fmt.Fprintf(w, "  %s on %s: %s — %d failure(s), last %s%s\n", r.ID, f.Host, what, f.Count,
					f.Last.Format(time.RFC3339), hard)
			}
		}
	}
}

// waitFlags are the flags of every command that sends a request.
type waitFlags struct {
	wait    *bool
	timeout *time.Duration
}

func registerWait(fs *subcmd.Flags) waitFlags {
	return waitFlags{
		wait:    fs.Bool("wait", false, "follow the report until it is CLOSED; exit 1 if anything failed"),
		timeout: fs.Duration("timeout", 10*time.Minute, "with --wait, give up after this long (exit 1)"),
	}
}

func (w waitFlags) check(fs *subcmd.Flags, stderr io.Writer) bool {
	if *w.timeout <= 0 {
		fs.Mistake(stderr, "--timeout %s: want a positive duration", *w.timeout)
		return false
	}
	return true
}

// requestCmd is a command that sends one admin request: its positional
// arguments are named by args, flags adds its own flags and returns the
// function that makes the request of the arguments (false: a mistake,
// reported).
func requestCmd(cmd, synopsis, summary string, args []string, flags func(fs *subcmd.Flags) func(rest []string, stderr io.Writer) (api.Request, bool)) subcmd.Command {
	return subcmd.Command{Args: synopsis, Summary: summary, Run: func(argv []string, stdout, stderr io.Writer) int {
		// The summary is a phrase in the group's listing, a sentence here.
		fs := subcmd.NewFlags(cmd, synopsis+" [--wait [--timeout D]] [--socket PATH]", strings.ToUpper(summary[:1])+summary[1:]+".")
		mk := flags(fs)
		w := registerWait(fs)
		sock := socketFlag(fs)
		if ok, rc := fs.Parse(argv, stdout, stderr); !ok {
			return rc
		}
		// No names: the request's own builder checks the arguments.
		if (args != nil && !fs.Exact(stderr, args...)) || !w.check(fs, stderr) {
			return exitUsage
		}
		req, ok := mk(fs.Args(), stderr)
		if !ok {
			return exitUsage
		}
		var out map[string]string
		c := sock.client()
		if err := c.Do("POST", "/v1/requests", req, &out); err != nil {
			return sock.failed(stderr, err)
		}
		fmt.Fprintf(stdout, "report %s\n", out["report"])
		if !*w.wait {
			return exitOK
		}
		return follow(sock, c, out["report"], *w.timeout, stdout, stderr)
	}}
}

// target is a request of a command on the one positional argument.
func target(cmd api.Command) func(*subcmd.Flags) func([]string, io.Writer) (api.Request, bool) {
	return func(*subcmd.Flags) func([]string, io.Writer) (api.Request, bool) {
		return func(rest []string, _ io.Writer) (api.Request, bool) {
			return api.Request{Command: string(cmd), Target: rest[0]}, true
		}
	}
}

// oneOrAll is a request of one NOUN (a host, a group) or of every one as
// one request (--all, as pcs node standby --all and pcs resource cleanup
// with no resource), which the manager plans once instead of once each.
func oneOrAll(cmd api.Command, noun, every string) func(*subcmd.Flags) func([]string, io.Writer) (api.Request, bool) {
	return func(fs *subcmd.Flags) func([]string, io.Writer) (api.Request, bool) {
		all := fs.Bool("all", false, every+", as one request")
		return func(rest []string, stderr io.Writer) (api.Request, bool) {
			switch {
			case *all && len(rest) > 0:
				fs.Mistake(stderr, "%s --all: name a %s or --all, not both", rest[0], strings.ToLower(strings.ReplaceAll(noun, "|", " or ")))
			case *all:
				return api.Request{Command: string(cmd), All: true}, true
			case len(rest) == 0:
				fs.Mistake(stderr, "missing %s (or --all: %s)", noun, every)
			case fs.Exact(stderr, noun):
				return api.Request{Command: string(cmd), Target: rest[0]}, true
			}
			return api.Request{}, false
		}
	}
}

// toHost is a move's or a ban's request: a group, --host, a lifetime.
func toHost(cmd api.Command) func(*subcmd.Flags) func([]string, io.Writer) (api.Request, bool) {
	return func(fs *subcmd.Flags) func([]string, io.Writer) (api.Request, bool) {
		host := fs.String("host", "", "the host (required)")
		lifetime := fs.Duration("lifetime", 0, "how long it lasts (default: until basalt resource clear)")
		return func(rest []string, stderr io.Writer) (api.Request, bool) {
			if *host == "" {
				fs.Mistake(stderr, "missing --host HOST")
				return api.Request{}, false
			}
			if *lifetime < 0 {
				fs.Mistake(stderr, "--lifetime %s: want a positive duration (or none: until cleared)", *lifetime)
				return api.Request{}, false
			}
			req := api.Request{Command: string(cmd), Target: rest[0], Host: *host}
			if *lifetime > 0 {
				req.Lifetime = lifetime.String()
			}
			return req, true
		}
	}
}

func follow(sock *socket, c *api.Client, id string, timeout time.Duration, stdout, stderr io.Writer) int {
	return followAs(sock, c, id, timeout, "text", stdout, stderr)
}

// followAs follows a report to CLOSED and prints it in format; the lines
// saying it is still OPEN are text's only, so that -o json or yaml prints
// one document.
func followAs(sock *socket, c *api.Client, id string, timeout time.Duration, format string, stdout, stderr io.Writer) int {
	deadline := time.Now().Add(timeout)
	for {
		var rep api.ReportView
		step := min(5*time.Second, time.Until(deadline))
		if err := c.Do("GET", "/v1/reports/"+url.PathEscape(id)+"?wait="+step.String(), nil, &rep); err != nil {
			return sock.failed(stderr, err)
		}
		if rep.State == api.ReportClosed {
			if err := render(stdout, format, rep, func(w io.Writer) { printReport(w, rep) }); err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", sock.fs.Cmd, err)
				return exitFailed
			}
			if rep.Failed {
				return exitFailed
			}
			return exitOK
		}
		if format == "text" {
			fmt.Fprintf(stdout, "  %s: %s, still OPEN after %s\n", rep.ID, rep.Request, time.Since(rep.Created).Truncate(time.Second))
		}
		if !time.Now().Before(deadline) {
			fmt.Fprintf(stderr, "%s: %s still OPEN after %s\n", sock.fs.Cmd, id, timeout)
			return exitFailed
		}
	}
}

func printReport(w io.Writer, rep api.ReportView) {
	verdict := "done"
	if rep.Failed {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "report %s: %s — %s %s\n", rep.ID, rep.Request, rep.State, verdict)
	for _, k := range reportOrder(rep) {
		fmt.Fprintf(w, "  %-16s %s\n", k, rep.Results[k])
	}
}

// reportOrder is the order of a report's results: the manager's (start
// order), then, sorted, any key it did not list (an older manager lists
// none).
func reportOrder(rep api.ReportView) []string {
	var keys []string
	for _, k := range rep.Order {
		if _, ok := rep.Results[k]; ok && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	var rest []string
	for k := range rep.Results {
		if !slices.Contains(keys, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(keys, rest...)
}

var resources = subcmd.Set{Tool: "basalt resource", Noun: "action",
	Footer: "Every action but why, list and show takes --wait (follow the report to CLOSED; exit 1 if\nanything failed) and --timeout D; every action takes --socket PATH.\n",
	Commands: map[string]subcmd.Command{
		"start": requestCmd("basalt resource start", "GROUP|--all", "start the group (or every group: its target role: started)",
			nil, oneOrAll(api.CmdStart, "GROUP", "every group")),
		"stop": requestCmd("basalt resource stop", "GROUP", "stop the group and keep it stopped (its target role: stopped)",
			[]string{"GROUP"}, target(api.CmdStop)),
		"restart": {Args: "GROUP", Summary: "stop the group, and once it has stopped start it again", Run: restart},
		"move": requestCmd("basalt resource move", "GROUP --host HOST [--lifetime D]", "move the group to HOST, and prefer it there until cleared",
			[]string{"GROUP"}, toHost(api.CmdMove)),
		"ban": requestCmd("basalt resource ban", "GROUP --host HOST [--lifetime D]", "keep the group off HOST until cleared",
			[]string{"GROUP"}, toHost(api.CmdBan)),
		"clear": requestCmd("basalt resource clear", "GROUP|--all", "drop the group's (or every group's) moves and bans",
			nil, oneOrAll(api.CmdClear, "GROUP", "every group")),
		"cleanup": requestCmd("basalt resource cleanup", "GROUP|RESOURCE|--all", "forget the failures of a resource (or of every resource of a group, or of every resource) and probe it again",
			nil, oneOrAll(api.CmdCleanup, "GROUP|RESOURCE", "every resource")),
		"manage": requestCmd("basalt resource manage", "GROUP|--all", "act on the group (or every group) again",
			nil, oneOrAll(api.CmdManage, "GROUP", "every group")),
		"unmanage": requestCmd("basalt resource unmanage", "GROUP", "monitor the group only, acting on nothing",
			[]string{"GROUP"}, target(api.CmdUnmanage)),
		"why":  {Args: "GROUP", Summary: "why the group is placed where it is", Run: why},
		"list": {Args: "[-o text|json|yaml]", Summary: "every group and its resources: where each runs, its state", Run: resourceList},
		"show": {Args: "GROUP|RESOURCE [-o text|json|yaml]", Summary: "one group or resource: agent, parameters, state per host, fail counts", Run: resourceShow},
	}}

var hosts = subcmd.Set{Tool: "basalt host", Noun: "action",
	Footer: "Every action takes --wait (follow the report to CLOSED; exit 1 if anything failed),\n--timeout D and --socket PATH.\n",
	Commands: map[string]subcmd.Command{
		"standby": requestCmd("basalt host standby", "HOST|--all", "move everything off the host (or every host) and run nothing there",
			nil, oneOrAll(api.CmdStandby, "HOST", "every host")),
		"unstandby": requestCmd("basalt host unstandby", "HOST|--all", "let the host (or every host) run resources again",
			nil, oneOrAll(api.CmdUnstandby, "HOST", "every host")),
		"fence": requestCmd("basalt host fence", "HOST", "fence (power off) the host now",
			[]string{"HOST"}, target(api.CmdFence)),
		"confirm-down": requestCmd("basalt host confirm-down", "HOST --yes", "state that the host's power is off, checked by hand: it is taken as fenced",
			[]string{"HOST"}, confirmDown),
		"attr": {Args: "HOST [NAME [VALUE]] [--delete] [--lifetime reboot|forever]",
			Summary: "list, show, set or delete the host's node attributes (crm_attribute --node)", Run: hostAttr},
	}}

func maintenanceCmd(args []string, stdout, stderr io.Writer) int {
	return requestCmd("basalt maintenance", "on|off", "stop (on) or resume (off) acting on resources cluster-wide; monitors go on reporting",
		[]string{"on|off"}, func(fs *subcmd.Flags) func([]string, io.Writer) (api.Request, bool) {
			return func(rest []string, stderr io.Writer) (api.Request, bool) {
				if rest[0] != "on" && rest[0] != "off" {
					fs.Mistake(stderr, "%q: want on or off", rest[0])
					return api.Request{}, false
				}
				return api.Request{Command: string(api.CmdMaintenance), Flag: rest[0] == "on"}, true
			}
		}).Run(args, stdout, stderr)
}

// restart is pcs resource restart: a stop request followed to CLOSED, then
// a start. The manager decides both; the CLI only waits between them. A
// group stopped on purpose is not started by a restart.
func restart(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt resource restart", "GROUP [--wait [--timeout D]] [--socket PATH]",
		"Stop the group, wait until it has stopped, and start it again: a restart in place (the\n"+
			"planner places it as it would any start). --wait follows the start to CLOSED too;\n"+
			"--timeout bounds each wait.")
	w := registerWait(fs)
	sock := socketFlag(fs)
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	if !fs.Exact(stderr, "GROUP") || !w.check(fs, stderr) {
		return exitUsage
	}
	group := fs.Arg(0)
	c := sock.client()
	var v api.StatusView
	if err := c.Do("GET", "/v1/status", nil, &v); err != nil {
		return sock.failed(stderr, err)
	}
	for _, g := range v.Groups {
		if g.ID == group && g.Target == "stopped" {
			fmt.Fprintf(stderr, "basalt resource restart: group %s is stopped on purpose (target role stopped): basalt resource start %s starts it\n", group, group)
			return exitFailed
		}
	}
	for i, cmd := range []api.Command{api.CmdStop, api.CmdStart} {
		var out map[string]string
		if err := c.Do("POST", "/v1/requests", api.Request{Command: string(cmd), Target: group}, &out); err != nil {
			return sock.failed(stderr, err)
		}
		fmt.Fprintf(stdout, "report %s\n", out["report"])
		if i == 1 && !*w.wait {
			return exitOK
		}
		if rc := follow(sock, c, out["report"], *w.timeout, stdout, stderr); rc != exitOK {
			if i == 0 {
				fmt.Fprintf(stderr, "basalt resource restart: the stop of %s did not end well; not starting it (basalt resource start %s when it is safe)\n", group, group)
			}
			return rc
		}
	}
	return exitOK
}

func why(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt resource why", "GROUP [-o text|json|yaml] [--socket PATH]",
		"Why the group is placed where it is: each host's score broken into its parts, in words, with\n"+
			"each part's value and the total (crm_simulate -s's allocation scores), or what keeps the\n"+
			"host out of the running. The highest allowed total wins; a tie never moves a running group.")
	sock := socketFlag(fs)
	output := outputFlag(fs)
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	if !fs.Exact(stderr, "GROUP") || !checkOutput(fs, stderr, *output) {
		return exitUsage
	}
	var v api.WhyView
	if err := sock.client().Do("GET", "/v1/why/"+url.PathEscape(fs.Arg(0)), nil, &v); err != nil {
		return sock.failed(stderr, err)
	}
	if err := render(stdout, *output, v, func(w io.Writer) { printWhy(w, v) }); err != nil {
		fmt.Fprintf(stderr, "basalt resource why: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// printWhy is `basalt resource why GROUP`: the decision, then each host's
// score as a sum of parts in words (a signed value per part, -INFINITY for
// what forbids the host), and the total, as crm_simulate -s lists
// allocation scores, but with each term named.
func printWhy(w io.Writer, v api.WhyView) {
	placed := "nowhere"
	if len(v.Placed) > 0 {
		placed = "on " + strings.Join(v.Placed, ", ")
	}
	fmt.Fprintf(w, "%s runs %s", v.Group, placed)
	if v.Note != "" {
		fmt.Fprintf(w, ": %s", v.Note)
	}
	fmt.Fprintln(w)
	if len(v.Scores) == 0 {
		fmt.Fprintln(w, "no scores: the planner did not place it this time (see above)")
		return
	}
	fmt.Fprintln(w, "\nScores (the highest allowed total wins; a tie never moves a running group):")
	for _, hs := range v.Scores {
		total := "-INFINITY (not allowed)"
		if hs.Allowed {
			total = fmt.Sprintf("total %d", hs.Total)
		}
		chosen := ""
		if hs.Chosen {
			chosen = "  <- placed here"
		}
		fmt.Fprintf(w, "  %s: %s%s\n", hs.Host, total, chosen)
		for _, p := range hs.Parts {
			value := fmt.Sprintf("%+d", p.Value)
			if p.NotAllowed {
				value = "-INFINITY"
			}
			fmt.Fprintf(w, "    %12s  %s\n", value, p.What)
		}
	}
}
