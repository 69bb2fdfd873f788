// Command basalt is the administrator's command-line tool: it validates
// configurations, creates certificates, and talks to the manager over its
// admin socket (status, resource and host commands, events, reports, the
// fencing history); it also lists and describes the agents installed here.
package main

import (
	"io"
	"os"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
)

// The exit codes, the same for every subcommand; usage lists them and
// README's table repeats them.
const (
	exitOK          = 0
	exitFailed      = 1 // see exitCodes
	exitUsage       = subcmd.ExitUsage
	exitUnreachable = 3
)

const exitCodes = `Exit codes:
  0  done; for status: everything is as intended
  1  status: something needs attention; power status: a device's answer is
     UNKNOWN; a request refused by the manager, or
     its report FAILED, or still OPEN after --timeout; validate: a file is
     invalid; certs init, certs add: nothing written; simulate: the judges found a
     safety violation, or a file cannot be read
  2  a command-line mistake (unknown subcommand or flag, missing or extra
     argument, bad value); the message says which; host confirm-down
     without --yes (nothing is sent)
  3  the manager was not reachable on its socket
`

var commands = subcmd.Set{Tool: "basalt", Footer: "Every subcommand that talks to the manager takes --socket PATH (default $BASALT_SOCKET,\nelse " + defaultSocket + ").\n\n" + exitCodes,
	Commands: map[string]subcmd.Command{
		"validate":    {Args: "--config FILE [--config FILE ...] [--strict|--no-agents]", Summary: "check configuration files (and the agents they name) and summarise them", Run: validate},
		"status":      {Args: "[-o text|json|yaml] [--watch]", Summary: "the cluster at a glance (--watch: live); exit 0 only when all is as intended", Run: status},
		"resource":    {Args: "ACTION GROUP", Summary: "start, stop, move, ban, clear, cleanup, manage, unmanage a group, why it is where it is; list, show", Run: resources.Dispatch},
		"host":        {Args: "ACTION HOST", Summary: "standby, unstandby or fence a host, or confirm it down", Run: hosts.Dispatch},
		"power":       {Args: "status|on|off HOST", Summary: "a host's power through its fence devices: its state, on, off (a fence)", Run: powerCmds.Dispatch},
		"maintenance": {Args: "on|off", Summary: "stop or resume acting on resources cluster-wide", Run: maintenanceCmd},
		"events":      {Args: "[-n N] [--since D|TIME] [--follow]", Summary: "the manager's recent events (--follow: as they come)", Run: eventsCmd},
		"report":      {Args: "ID [--wait]|list", Summary: "show a request's report (--wait to follow it to CLOSED); list: every report", Run: reportCmd},
		"fence":       {Args: "history|devices", Summary: "the fencing history; the fence devices and their last monitors", Run: fenceCmds.Dispatch},
		"simulate":    {Args: "(--state FILE | --live) [--host-down H]... [--resource-fails R@H]...", Summary: "what if: the manager's decisions and the outcome, simulated from a saved or live state", Run: simulateCmd},
		"agents":      {Args: "list|describe AGENT", Summary: "the resource and fence agents installed here, and their meta-data", Run: agentsCmds.Dispatch},
		"certs":       {Args: "init|add --dir DIR --hosts H1,H2,...", Summary: "a CA and certificates for a cluster; add: certificates for new hosts", Run: certsCmds.Dispatch},
		"config":      {Args: "apply FILE [--dry-run]|show", Summary: "change the running configuration (with a preview first), or print it", Run: configCmds.Dispatch},
	}}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int { return commands.Dispatch(args, stdout, stderr) }
