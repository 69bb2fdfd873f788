package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
	"github.com/basalt-ha/basalt/live/certs"
)

var certsCmds = subcmd.Set{Tool: "basalt certs", Noun: "action", Commands: map[string]subcmd.Command{
	"init": {Args: "--dir DIR --hosts H1,H2,...", Summary: "a cluster CA, a manager certificate and one per host", Run: certsInit},
	"add":  {Args: "--dir DIR --hosts H4,...", Summary: "certificates for hosts joining the cluster, signed by its CA", Run: certsAdd},
}}

// certsArgs are the flags init and add share.
type certsArgs struct {
	dir      string
	hosts    []string
	validity time.Duration
	force    bool
}

// parseCertsArgs parses a certs action's flags; ok false ends the command
// with rc (its help, or a mistake).
func parseCertsArgs(cmd, hostsArg, summary, force string, args []string, stdout, stderr io.Writer) (a certsArgs, ok bool, rc int) {
	fs := subcmd.NewFlags(cmd, "--dir DIR --hosts "+hostsArg+" [--validity D] [--force]", summary)
	fs.StringVar(&a.dir, "dir", "", "the certificates' directory (required)")
	fs.StringSliceVar(&a.hosts, "hosts", nil, "host names, comma-separated (required)")
	fs.DurationVar(&a.validity, "validity", 365*24*time.Hour, "certificate lifetime")
	fs.BoolVar(&a.force, "force", false, force)
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return a, false, rc
	}
	if !fs.Exact(stderr) {
		return a, false, exitUsage
	}
	switch {
	case a.dir == "":
		return a, false, fs.Mistake(stderr, "missing --dir DIR")
	case len(a.hosts) == 0:
		return a, false, fs.Mistake(stderr, "missing --hosts %s", hostsArg)
	case a.validity <= 0:
		return a, false, fs.Mistake(stderr, "--validity %s: want a positive duration", a.validity)
	}
	return a, true, 0
}

func certsInit(args []string, stdout, stderr io.Writer) int {
	a, ok, rc := parseCertsArgs("basalt certs init", "H1,H2,...",
		"A cluster CA, a manager certificate and one per host, in DIR. Nothing already there is\noverwritten unless --force is given.",
		"replace certificates and keys already in --dir (locks out every peer using the old CA)", args, stdout, stderr)
	if !ok {
		return rc
	}
	if err := certs.InitCerts(a.dir, a.hosts, a.validity, a.force); err != nil {
		fmt.Fprintf(stderr, "basalt certs init: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "CA and certificates for the manager and %s written to %s\n", strings.Join(a.hosts, ", "), a.dir)
	return exitOK
}

// certsAdd issues certificates for hosts added to a running cluster (basalt
// config apply adds them to the configuration), with the CA that init made,
// so that no running peer needs anything new.
func certsAdd(args []string, stdout, stderr io.Writer) int {
	a, ok, rc := parseCertsArgs("basalt certs add", "H4,...",
		"Certificates for hosts joining the cluster, signed by the CA already in DIR (ca.pem and\nca-key.pem from basalt certs init), as init issues a host's. The CA and every other file\nstay as they are; a host's files already there are kept unless --force is given. A\ncertificate never outlives the CA: a longer --validity is cut to the CA's end.",
		"replace the named hosts' certificates and keys already in --dir (the CA stays)", args, stdout, stderr)
	if !ok {
		return rc
	}
	written, err := certs.AddCerts(a.dir, a.hosts, a.validity, a.force)
	if err != nil {
		fmt.Fprintf(stderr, "basalt certs add: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "Certificates for %s, signed by the CA in %s:\n", strings.Join(a.hosts, ", "), a.dir)
	for _, f := range written {
		fmt.Fprintf(stdout, "  %s\n", f)
	}
	fmt.Fprintln(stdout, "Copy each host's pair and ca.pem to that host's --certs directory before it joins.")
	return exitOK
}
