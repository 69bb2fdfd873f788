// Command basalt is the administrator's command-line tool: it validates
// configurations, creates certificates, and talks to the manager over its
// admin socket (status, resource and host commands, events, reports).
package main

import (
	"io"
	"os"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
)

var commands = subcmd.Set{Tool: "basalt", Commands: map[string]subcmd.Command{
	"validate":    {Summary: "check configuration files and summarise them", Run: validate},
	"status":      {Summary: "the cluster at a glance; exit 0 only when all is as intended", Run: status},
	"resource":    {Summary: "start|stop|move|ban|clear|cleanup|manage|unmanage|why GROUP", Run: resourceCmd},
	"host":        {Summary: "standby|unstandby|fence HOST", Run: hostCmd},
	"maintenance": {Summary: "on|off: stop or resume acting on resources cluster-wide", Run: maintenanceCmd},
	"events":      {Summary: "the manager's recent events", Run: eventsCmd},
	"report":      {Summary: "show a request's report (--wait to follow it to CLOSED)", Run: reportCmd},
	"certs":       {Summary: "init --dir D --hosts a,b,c: a CA and certificates for a cluster", Run: certsCmd},
}}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int { return commands.Dispatch(args, stdout, stderr) }
