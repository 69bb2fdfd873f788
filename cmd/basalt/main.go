// Command basalt is the administrator's command-line tool: it validates
// configurations, creates certificates, and talks to the manager over its
// admin socket (status, resource and host commands, events, reports).
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

type subcommand struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var subcommands = map[string]subcommand{
	"validate":    {"check configuration files and summarise them", validate},
	"status":      {"the cluster at a glance; exit 0 only when all is as intended", status},
	"resource":    {"start|stop|move|ban|clear|cleanup|manage|unmanage|why GROUP", resourceCmd},
	"host":        {"standby|unstandby|fence HOST", hostCmd},
	"maintenance": {"on|off: stop or resume acting on resources cluster-wide", maintenanceCmd},
	"events":      {"the manager's recent events", eventsCmd},
	"report":      {"show a request's report (--wait to follow it to CLOSED)", reportCmd},
	"certs":       {"init --dir D --hosts a,b,c: a CA and certificates for a cluster", certsCmd},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	sc, ok := subcommands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "basalt: unknown subcommand %q (try basalt help)\n", args[0])
		return 2
	}
	return sc.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: basalt <subcommand> [flags]")
	fmt.Fprintln(w, "\nsubcommands:")
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, subcommands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'basalt <subcommand> --help' for its flags.")
}
