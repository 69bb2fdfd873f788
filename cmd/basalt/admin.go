package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/live/certs"
)

const defaultSocket = "/run/basalt/manager.sock"

func socketFlag(fs *pflag.FlagSet) *string {
	def := defaultSocket
	if s := os.Getenv("BASALT_SOCKET"); s != "" {
		def = s
	}
	return fs.String("socket", def, "manager admin socket (or $BASALT_SOCKET)")
}

func parse(fs *pflag.FlagSet, args []string) (bool, int) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return false, 0
		}
		return false, 2
	}
	return true, 0
}

// status prints the cluster at a glance, like crm_mon -1; exit 0 only when
// everything is as intended.
func status(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("status", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	sock := socketFlag(fs)
	output := fs.StringP("output", "o", "text", "text or json")
	if ok, rc := parse(fs, args); !ok {
		return rc
	}
	var v api.StatusView
	if err := api.NewClient(*sock).Do("GET", "/v1/status", nil, &v); err != nil {
		fmt.Fprintf(stderr, "basalt status: %v\n", err)
		return 3
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
	} else {
		printStatus(stdout, v)
	}
	if !v.Healthy {
		return 1
	}
	return 0
}

func printStatus(w io.Writer, v api.StatusView) {
	health := "OK"
	if !v.Healthy {
		health = "ATTENTION"
	}
	fmt.Fprintf(w, "Cluster %s — %s (manager epoch %d)", v.Cluster, health, v.Epoch)
	if v.Maintenance {
		fmt.Fprint(w, " [MAINTENANCE MODE: no resource is acted on]")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "\nHosts:")
	for _, h := range v.Hosts {
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
		m := ""
		if len(marks) > 0 {
			m = " [" + strings.Join(marks, ", ") + "]"
		}
		fmt.Fprintf(w, "  %-12s %s%s\n", h.Name, h.State, m)
	}
	fmt.Fprintln(w, "\nGroups:")
	for _, g := range v.Groups {
		marks := []string{}
		if !g.Managed {
			marks = append(marks, "unmanaged")
		}
		if g.FailedOver {
			marks = append(marks, "failed over from "+g.Preferred)
		}
		if g.Target == "stopped" {
			marks = append(marks, "target: stopped")
		}
		m := ""
		if len(marks) > 0 {
			m = " [" + strings.Join(marks, ", ") + "]"
		}
		on := "nowhere"
		if len(g.Placed) > 0 {
			on = strings.Join(g.Placed, ",")
		}
		fmt.Fprintf(w, "  %s (%s) on %s%s\n", g.ID, g.Name, on, m)
		if g.Note != "" {
			fmt.Fprintf(w, "    note: %s\n", g.Note)
		}
		for _, r := range g.Resources {
			state := "stopped"
			if len(r.RunningOn) > 0 {
				state = "running on " + strings.Join(r.RunningOn, ",")
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
	}
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

// request sends an admin request, prints the report ID, and with --wait
// follows the report to CLOSED.
func request(name string, build func(fs *pflag.FlagSet) func(args []string) (api.Request, error)) func([]string, io.Writer, io.Writer) int {
	return func(args []string, stdout, stderr io.Writer) int {
		fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
		fs.SetOutput(stderr)
		sock := socketFlag(fs)
		wait := fs.Bool("wait", false, "follow the report until it is CLOSED; exit non-zero if anything failed")
		timeout := fs.Duration("timeout", 10*time.Minute, "with --wait, give up after this long")
		mk := build(fs)
		if ok, rc := parse(fs, args); !ok {
			return rc
		}
		req, err := mk(fs.Args())
		if err != nil {
			fmt.Fprintf(stderr, "basalt %s: %v\n", name, err)
			return 2
		}
		var out map[string]string
		c := api.NewClient(*sock)
		if err := c.Do("POST", "/v1/requests", req, &out); err != nil {
			fmt.Fprintf(stderr, "basalt %s: %v\n", name, err)
			return 1
		}
		fmt.Fprintf(stdout, "report %s\n", out["report"])
		if !*wait {
			return 0
		}
		return follow(c, out["report"], *timeout, stdout, stderr)
	}
}

func follow(c *api.Client, id string, timeout time.Duration, stdout, stderr io.Writer) int {
	deadline := time.Now().Add(timeout)
	for {
		var rep api.ReportView
		step := min(5*time.Second, time.Until(deadline))
		if err := c.Do("GET", "/v1/reports/"+url.PathEscape(id)+"?wait="+step.String(), nil, &rep); err != nil {
			fmt.Fprintf(stderr, "basalt report: %v\n", err)
			return 1
		}
		if rep.State == api.ReportClosed {
			printReport(stdout, rep)
			if rep.Failed {
				return 1
			}
			return 0
		}
		fmt.Fprintf(stdout, "  %s: %s, still OPEN after %s\n", rep.ID, rep.Request, time.Since(rep.Created).Truncate(time.Second))
		if !time.Now().Before(deadline) {
			fmt.Fprintf(stderr, "basalt report: %s still OPEN after %s\n", id, timeout)
			return 1
		}
	}
}

func printReport(w io.Writer, rep api.ReportView) {
	verdict := "done"
	if rep.Failed {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "report %s: %s — %s %s\n", rep.ID, rep.Request, rep.State, verdict)
	keys := make([]string, 0, len(rep.Results))
	for k := range rep.Results {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-16s %s\n", k, rep.Results[k])
	}
}

func resourceCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "basalt resource: want start|stop|move|ban|clear|cleanup|manage|unmanage|why ID")
		return 2
	}
	verb := args[0]
	if verb == "why" {
		return why(args[1:], stdout, stderr)
	}
	commands := map[string]api.Command{"start": api.CmdStart, "stop": api.CmdStop, "move": api.CmdMove,
		"ban": api.CmdBan, "clear": api.CmdClear, "cleanup": api.CmdCleanup, "manage": api.CmdManage,
		"unmanage": api.CmdUnmanage}
	cmd, ok := commands[verb]
	if !ok {
		fmt.Fprintf(stderr, "basalt resource: unknown action %q (start, stop, move, ban, clear, cleanup, manage, unmanage, why)\n", verb)
		return 2
	}
	return request("resource "+verb, func(fs *pflag.FlagSet) func([]string) (api.Request, error) {
		host := fs.String("host", "", "target host (move, ban)")
		lifetime := fs.Duration("lifetime", 0, "how long a move or ban lasts (default: until cleared)")
		return func(rest []string) (api.Request, error) {
			if len(rest) != 1 {
				return api.Request{}, fmt.Errorf("want exactly one group (or, for cleanup, resource) ID")
			}
			if (cmd == api.CmdMove || cmd == api.CmdBan) && *host == "" {
				return api.Request{}, fmt.Errorf("%s needs --host", verb)
			}
			req := api.Request{Command: string(cmd), Target: rest[0], Host: *host}
			if *lifetime > 0 {
				req.Lifetime = lifetime.String()
			}
			return req, nil
		}
	})(args[1:], stdout, stderr)
}

func hostCmd(args []string, stdout, stderr io.Writer) int {
	commands := map[string]api.Command{"standby": api.CmdStandby, "unstandby": api.CmdUnstandby, "fence": api.CmdFence}
	if len(args) == 0 || commands[args[0]] == "" {
		fmt.Fprintln(stderr, "basalt host: want standby|unstandby|fence HOST")
		return 2
	}
	cmd := commands[args[0]]
	return request("host "+args[0], func(fs *pflag.FlagSet) func([]string) (api.Request, error) {
		return func(rest []string) (api.Request, error) {
			if len(rest) != 1 {
				return api.Request{}, fmt.Errorf("want exactly one host")
			}
			return api.Request{Command: string(cmd), Target: rest[0]}, nil
		}
	})(args[1:], stdout, stderr)
}

func maintenanceCmd(args []string, stdout, stderr io.Writer) int {
	return request("maintenance", func(fs *pflag.FlagSet) func([]string) (api.Request, error) {
		return func(rest []string) (api.Request, error) {
			if len(rest) != 1 || (rest[0] != "on" && rest[0] != "off") {
				return api.Request{}, fmt.Errorf("want on or off")
			}
			return api.Request{Command: string(api.CmdMaintenance), Flag: rest[0] == "on"}, nil
		}
	})(args, stdout, stderr)
}

func why(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("why", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	sock := socketFlag(fs)
	if ok, rc := parse(fs, args); !ok {
		return rc
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "basalt resource why: want exactly one group ID")
		return 2
	}
	var out map[string]string
	if err := api.NewClient(*sock).Do("GET", "/v1/why/"+url.PathEscape(fs.Arg(0)), nil, &out); err != nil {
		fmt.Fprintf(stderr, "basalt resource why: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, out["why"])
	return 0
}

func eventsCmd(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("events", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	sock := socketFlag(fs)
	n := fs.IntP("number", "n", 50, "how many recent events")
	if ok, rc := parse(fs, args); !ok {
		return rc
	}
	var evs []api.Event
	if err := api.NewClient(*sock).Do("GET", fmt.Sprintf("/v1/events?n=%d", *n), nil, &evs); err != nil {
		fmt.Fprintf(stderr, "basalt events: %v\n", err)
		return 1
	}
	for _, e := range evs {
		fmt.Fprintln(stdout, e)
	}
	return 0
}

func reportCmd(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("report", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	sock := socketFlag(fs)
	wait := fs.Bool("wait", false, "follow the report until it is CLOSED")
	timeout := fs.Duration("timeout", 10*time.Minute, "with --wait, give up after this long")
	if ok, rc := parse(fs, args); !ok {
		return rc
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "basalt report: want exactly one report ID")
		return 2
	}
	c := api.NewClient(*sock)
	if *wait {
		return follow(c, fs.Arg(0), *timeout, stdout, stderr)
	}
	var rep api.ReportView
	if err := c.Do("GET", "/v1/reports/"+url.PathEscape(fs.Arg(0)), nil, &rep); err != nil {
		fmt.Fprintf(stderr, "basalt report: %v\n", err)
		return 1
	}
	printReport(stdout, rep)
	return 0
}

func certsCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "init" {
		fmt.Fprintln(stderr, "basalt certs: want init --dir D --hosts a,b,c")
		return 2
	}
	fs := pflag.NewFlagSet("certs init", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory to create the CA and certificates in (required)")
	hosts := fs.StringSlice("hosts", nil, "host names, comma-separated (required)")
	validity := fs.Duration("validity", 365*24*time.Hour, "certificate lifetime")
	force := fs.Bool("force", false, "replace certificates and keys already in --dir (locks out every peer using the old CA)")
	if ok, rc := parse(fs, args[1:]); !ok {
		return rc
	}
	if *dir == "" || len(*hosts) == 0 {
		fmt.Fprintln(stderr, "basalt certs init: --dir and --hosts are required")
		return 2
	}
	if err := certs.InitCerts(*dir, *hosts, *validity, *force); err != nil {
		fmt.Fprintf(stderr, "basalt certs init: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "CA and certificates for the manager and %s written to %s\n", strings.Join(*hosts, ", "), *dir)
	return 0
}
