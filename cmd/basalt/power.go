package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
	"github.com/basalt-ha/basalt/live/api"
)

// The operator's power commands (HALO's power status|on|off HOST): the
// manager runs the host's fence devices through a peer that can reach
// them.
var powerCmds = subcmd.Set{Tool: "basalt power", Noun: "action",
	Footer: "on and off take --wait (follow the report to CLOSED; exit 1 if it FAILED) and --timeout D;\n" +
		"every action takes --socket PATH. status exits 1 when a device's answer is UNKNOWN.\n",
	Commands: map[string]subcmd.Command{
		"status": {Args: "HOST [-o text|json|yaml]", Summary: "ask the host's fence devices for its power state: ON, OFF or UNKNOWN per device", Run: powerStatusCmd},
		"on": requestCmd("basalt power on", "HOST", "power the host on through its fence devices; it joins the cluster when its agent says hello",
			[]string{"HOST"}, target(api.CmdPowerOn)),
		"off": requestCmd("basalt power off", "HOST", "power the host off: a fence by the operator, its resources recovered elsewhere",
			[]string{"HOST"}, target(api.CmdPowerOff)),
	}}

// powerStatusCmd is basalt power status HOST: read-only, it changes
// nothing in the cluster; exit 1 when any device's answer is UNKNOWN.
func powerStatusCmd(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt power status", "HOST [-o text|json|yaml] [--socket PATH]",
		"Ask each of the host's fence devices, now, for the host's power state, through a peer that can\n"+
			"reach the device (never the host itself): ON (the agent's rc 0), OFF (rc 2) or UNKNOWN (any\n"+
			"other rc, a timeout, or no peer to run it), with the agent's output. Read-only: it changes\n"+
			"nothing. Exit 0 when every device answered ON or OFF, 1 when any is UNKNOWN.")
	sock := socketFlag(fs)
	output := outputFlag(fs)
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	if !fs.Exact(stderr, "HOST") || !checkOutput(fs, stderr, *output) {
		return exitUsage
	}
	v, err := sock.client().PowerStatus(fs.Arg(0))
	if err != nil {
		return sock.failed(stderr, err)
	}
	if err := render(stdout, *output, v, func(w io.Writer) { printPowerStatus(w, v) }); err != nil {
		fmt.Fprintf(stderr, "basalt power status: %v\n", err)
		return exitFailed
	}
	for _, d := range v.Devices {
		if d.State != "ON" && d.State != "OFF" {
			return exitFailed
		}
	}
	return exitOK
}

// printPowerStatus is one line per device: its state, who ran it, the rc
// and the agent's first line, or why no answer came.
func printPowerStatus(w io.Writer, v api.PowerStatusView) {
	fmt.Fprintf(w, "Power of %s, asked at %s:\n", v.Host, v.Asked.UTC().Format(time.RFC3339))
	for _, d := range v.Devices {
		var how []string
		if d.Executor != "" {
			how = append(how, "via "+d.Executor)
		}
		switch {
		case d.Lost != "":
			how = append(how, d.Lost)
		case d.Timeout:
			how = append(how, "timed out")
		default:
			how = append(how, fmt.Sprintf("rc %d", d.RC))
		}
		line := strings.Join(how, ", ")
		if d.Output != "" {
			line += ": " + d.Output
		}
		fmt.Fprintf(w, "  %-12s %-8s %s\n", d.Device, d.State, line)
	}
}

// confirmDownWarning is what basalt host confirm-down prints, with --yes
// or without: what it risks, and what to check first.
const confirmDownWarning = `WARNING: basalt host confirm-down %[1]s tells the manager that %[1]s's power is off, as a
fence would have: its resources are taken as stopped and started elsewhere. If %[1]s is in
fact running, they may run on two hosts at once (a pool imported twice, a file system
mounted twice: data loss). Use it only after checking by hand that %[1]s's power is off
(its power supply, its BMC, the data centre's staff), when no fence device can do it.
`

// confirmDown is basalt host confirm-down HOST --yes (Pacemaker's
// stonith_admin --confirm): without --yes it prints the warning and sends
// nothing (exit 2: it is a command line that asks for a confirmation).
func confirmDown(fs *subcmd.Flags) func([]string, io.Writer) (api.Request, bool) {
	yes := fs.Bool("yes", false, "confirm that the host's power is checked off by hand (without it, nothing is sent)")
	return func(rest []string, stderr io.Writer) (api.Request, bool) {
		fmt.Fprintf(stderr, confirmDownWarning, rest[0])
		if !*yes {
			fs.Mistake(stderr, "not confirmed: nothing was sent; once %s's power is checked off by hand, add --yes", rest[0])
			return api.Request{}, false
		}
		return api.Request{Command: string(api.CmdConfirmDown), Target: rest[0]}, true
	}
}
