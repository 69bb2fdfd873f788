package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
	"github.com/basalt-ha/basalt/core/model"
)

// validate loads each configuration, checks it against the agents
// installed on this machine, and prints its summary and warnings, or every
// error with its line. Exit 1 when any file is invalid, 2 on a usage error.
func validate(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt validate", "--config FILE [--config FILE ...] [--ocf-root DIR] [--fence-agents DIR] [--strict|--no-agents]",
		"Check configuration files: each valid one's summary and warnings, or every error with its line.\n"+
			"Each resource's and fence device's parameters must be ones its agent's meta-data declares;\n"+
			"a resource must have those its agent requires, and no value of a parameter the agent declares\n"+
			"unique that another resource of the agent has. An agent not installed here is a warning\n"+
			"(its parameters are not checked), an error with --strict. Exit 1 when any file is invalid.")
	configs := fs.StringArrayP("config", "c", nil, "configuration file (repeatable; files may also follow as arguments)")
	// Empty stands for basalt-agent's default, which depends on $OCF_ROOT;
	// the help says so rather than show this environment's value.
	ocfRoot := fs.String("ocf-root", "", "the OCF root `DIR` (resource.d/PROVIDER/TYPE), as basalt-agent's (default $OCF_ROOT, else "+fallbackOCFRoot+")")
	fenceDir := fs.String("fence-agents", defaultFenceDir, "the `DIR`ectory of fence agents, as basalt-agent's")
	noAgents := fs.Bool("no-agents", false, "do not check agents (for a machine that is not a cluster host)")
	strict := fs.Bool("strict", false, "an agent not installed here is an error, not a warning (on a cluster host)")
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	files := append(*configs, fs.Args()...)
	if len(files) == 0 {
		return fs.Mistake(stderr, "--config FILE is required")
	}
	if *noAgents && (fs.Changed("ocf-root") || fs.Changed("fence-agents") || *strict) {
		return fs.Mistake(stderr, "--no-agents checks no agents: --ocf-root, --fence-agents and --strict would be ignored")
	}
	for _, name := range []string{"ocf-root", "fence-agents"} {
		if fs.Changed(name) && fs.Lookup(name).Value.String() == "" {
			return fs.Mistake(stderr, "--%s needs a directory", name)
		}
	}
	var agents *agentChecker
	if !*noAgents {
		root := *ocfRoot
		if root == "" {
			root = defaultOCFRoot()
		}
		var err error
		if agents, err = newAgentChecker(root, *fenceDir); err != nil {
			return fs.Mistake(stderr, "%v", err)
		}
	}
	rc := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			// The *PathError already names the file; keep only its cause so
			// the line reads "FILE: cannot read: no such file or directory".
			cause := err
			var pe *os.PathError
			if errors.As(err, &pe) {
				cause = pe.Err
			}
			fmt.Fprintf(stdout, "%s: cannot read: %v\n", f, cause)
			rc = 1
			continue
		}
		m, err := model.Load(f, data)
		if err != nil {
			fmt.Fprintln(stdout, err)
			rc = 1
			continue
		}
		agentLine := "agents: not checked (--no-agents)\n"
		warnings := m.Warnings
		if agents != nil {
			rep := agents.check(f, data, m, *strict)
			if len(rep.errors) > 0 {
				// With the agents' warnings among them, in line order: a
				// missing agent is as likely a typo as the errors are.
				for _, line := range rep.lines() {
					fmt.Fprintln(stdout, line)
				}
				rc = 1
				continue
			}
			missing := ""
			if rep.missing > 0 {
				missing = fmt.Sprintf(", %d not installed here", rep.missing)
			}
			agentLine = fmt.Sprintf("agents: %d checked%s (OCF root %s, fence agents in %s)\n", rep.checked, missing, agents.ocfRoot, agents.fenceDir)
			warnings = append(slices.Clone(warnings), rep.warnings...)
		}
		fmt.Fprintf(stdout, "%s: valid\n%s%s", f, m.Summary(), agentLine)
		// After the summary, so that they are the last thing read; they
		// do not change the exit status, which says only "valid".
		for _, w := range warnings {
			fmt.Fprintln(stdout, w.Warning())
		}
	}
	return rc
}
