package main

import (
	"fmt"
	"io"
	"os"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/sim/shape"
)

// generateCmd writes the configuration of a generated cluster of any size
// (shape.Sized), to run it with --config: there is no other way to try a
// thousand-host cluster than to write its file.
func generateCmd(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt-sim generate", "--hosts N --resources M [--large] [--out FILE]",
		"Write the configuration of a generated cluster of the default cluster's kind: hosts h1..hN, each\n"+
			"fenced by its own PID device then a shared PDU, and groups of three resources on failover pairs\n"+
			"spread round the hosts. --large configures it as a large cluster should be: each group probed only\n"+
			"on its pair (resource-discovery: exclusive), each fence device checked from three hosts\n"+
			"(device-check-hosts: 3). Run it with basalt-sim run --config FILE.")
	hosts := fs.Int("hosts", 0, fmt.Sprintf("number of hosts, 1 to %d", shape.MaxSizedHosts))
	resources := fs.Int("resources", 0, fmt.Sprintf("number of resources, 1 to %d (groups of three)", shape.MaxSizedResources))
	large := fs.Bool("large", false, "probe each group only on its pair and check each fence device from three hosts")
	out := fs.String("out", "", "write the file here (default: standard output)")
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	if !fs.Exact(stderr) {
		return subcmd.ExitUsage
	}
	for _, f := range []string{"hosts", "resources"} {
		if !fs.Changed(f) {
			return fs.Mistake(stderr, "missing --%s", f)
		}
	}
	text, err := shape.Sized(*hosts, *resources, *large)
	if err != nil {
		return fs.Mistake(stderr, "--%v", err)
	}
	if _, err := model.Load("generated.yaml", text); err != nil {
		// A bug of the generator, never of the command line.
		fmt.Fprintf(stderr, "basalt-sim generate: the generated configuration does not load: %v\n", err)
		return 2
	}
	if *out == "" {
		_, err = stdout.Write(text)
	} else {
		err = os.WriteFile(*out, text, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "basalt-sim generate: %v\n", err)
		return 2
	}
	return 0
}
