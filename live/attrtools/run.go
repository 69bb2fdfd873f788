package attrtools

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Exit codes, Pacemaker's (crm_exit_t) where one fits.
const (
	ExitOK          = 0
	ExitError       = 1   // CRM_EX_ERROR
	ExitUnsupported = 3   // CRM_EX_UNIMPLEMENT_FEATURE
	ExitUsage       = 64  // CRM_EX_USAGE
	ExitDisconnect  = 102 // CRM_EX_DISCONNECT: the daemon is not reachable
	ExitNoSuch      = 105 // CRM_EX_NOSUCH: no such attribute
)

// askTimeout bounds a tool's wait for the daemon, which answers a change
// within its own bound (live/daemon's attrsock.go) even when the manager
// does not.
const askTimeout = 30 * time.Second

// Asker sends a request to the agent daemon (Ask, in production).
type Asker func(Request) (Answer, error)

// Main runs tool with args: parse, ask the daemon at the socket env names,
// print as the Pacemaker tool prints. It returns the exit code.
func Main(tool string, args []string, env func(string) string, stdout, stderr io.Writer) int {
	socket := env(SocketEnv)
	ask := func(r Request) (Answer, error) {
		if socket == "" {
			return Answer{}, fmt.Errorf("%s is not set: the tools answer for basalt-agent, for the resource agents it runs", SocketEnv)
		}
		return Ask(socket, r, askTimeout)
	}
	return Run(tool, args, env, ask, stdout, stderr)
}

// Run is Main with the daemon behind ask.
func Run(tool string, args []string, env func(string) string, ask Asker, stdout, stderr io.Writer) int {
	inv, err := Parse(tool, args, env)
	var unsup unsupportedError
	var usage usageError
	switch {
	case errors.As(err, &unsup):
		fmt.Fprintln(stderr, unsup.Error())
		return ExitUnsupported
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, usage.Error())
		return ExitUsage
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", tool, err)
		return ExitUsage
	}
	if inv.Output == PrintHelp {
		fmt.Fprintf(stdout, "%s: basalt-agent's front end of Pacemaker's %s (see basalt's README, \"Node attributes\")\n", tool, tool)
		return ExitOK
	}
	if inv.Req.Op == "" {
		return ExitOK // attrd_updater -Y: dampening only, which basalt does not do
	}
	ans, err := ask(inv.Req)
	if err != nil {
		fmt.Fprintf(stderr, "%s: could not connect to basalt-agent: %v\n", tool, err)
		return ExitDisconnect
	}
	if ans.Error != "" {
		fmt.Fprintf(stderr, "%s: Error performing operation: %s\n", tool, ans.Error)
		return ExitError
	}
	return printAnswer(inv, ans, stdout, stderr)
}

// printAnswer prints a successful answer as the tool does.
func printAnswer(inv Invocation, ans Answer, stdout, stderr io.Writer) int {
	switch inv.Output {
	case PrintNothing:
		if ans.Queued {
			fmt.Fprintf(stderr, "%s: no manager is connected now; the change is queued and sent when one is\n", inv.Tool)
		}
		return ExitOK
	case PrintCrmAttribute:
		return printCrmAttribute(inv, ans, stdout, stderr)
	case PrintAttrd:
		if !ans.Found {
			fmt.Fprintf(stderr, "Could not query value of %s: attribute does not exist\n", inv.Req.Name)
			return ExitNoSuch
		}
		fmt.Fprintf(stdout, "name=%q host=%q value=%q\n", inv.Req.Name, ans.Host, ans.Value)
	case PrintNodeName:
		fmt.Fprintln(stdout, ans.Host)
	case PrintNodeList:
		for i, m := range ans.Members {
			state := "lost"
			if m.Online {
				state = "member"
			}
			fmt.Fprintf(stdout, "%d %s %s\n", i+1, m.Name, state)
		}
	case PrintPartition:
		var online []string
		for _, m := range ans.Members {
			if m.Online {
				online = append(online, m.Name)
			}
		}
		fmt.Fprintln(stdout, strings.Join(online, " "))
	}
	return ExitOK
}

// printCrmAttribute prints a query's answer as crm_attribute does:
// "scope=status  name=N value=V" (two spaces: no id), the value alone with
// -q; an attribute not set is "value=(null)" and exit 105, or -d's value.
func printCrmAttribute(inv Invocation, ans Answer, stdout, stderr io.Writer) int {
	scope := "status"
	if inv.Req.Lifetime == "forever" {
		scope = "nodes"
	}
	value, found := ans.Value, ans.Found
	if !found && inv.HasDefault {
		value, found = inv.Default, true
	}
	switch {
	case inv.Quiet && found:
		fmt.Fprintln(stdout, value)
	case !inv.Quiet && found:
		fmt.Fprintf(stdout, "scope=%s  name=%s value=%s\n", scope, inv.Req.Name, value)
	case !inv.Quiet:
		fmt.Fprintf(stdout, "scope=%s  name=%s value=(null)\n", scope, inv.Req.Name)
	}
	if !found {
		fmt.Fprintf(stderr, "%s: Error performing operation: No such device or address\n", inv.Tool)
		return ExitNoSuch
	}
	return ExitOK
}
