package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
	"github.com/basalt-ha/basalt/live/api"
)

// The running configuration's commands: what runs (show) and changing it
// (apply), with a preview first (apply --dry-run), as crm_simulate and
// pcs cluster cib-push --config do for Pacemaker.
var configCmds = subcmd.Set{Tool: "basalt config", Noun: "action",
	Footer: "apply takes --dry-run (preview only), --wait (follow the report to CLOSED; exit 1 if it\n" +
		"FAILED) and --timeout D; every action takes --socket PATH.\n",
	Commands: map[string]subcmd.Command{
		"apply": {Args: "FILE [--dry-run] [--wait]", Summary: "make FILE the running configuration (--dry-run: only say what it would change and do)", Run: configApply},
		"show":  {Args: "", Summary: "print the running configuration's file, with its version", Run: configShow},
	}}

// configApply is basalt config apply FILE: the manager checks the whole
// file and refuses it whole, or records it as the next version and acts
// on it; the change and the transition are printed either way.
func configApply(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt config apply", "FILE [--dry-run] [--wait [--timeout D]] [--socket PATH]",
		"Make FILE the running configuration. The manager checks it whole (as basalt validate does, and\n"+
			"that the change is possible now: a removed host must be off) and refuses it whole, naming what\n"+
			"is wrong; or records it as the next version and acts on it: removed groups and resources are\n"+
			"stopped (orphans until they are), changed ones restarted, added ones started. The change and\n"+
			"the transition the manager plans are printed, then the report that follows the change.\n"+
			"--dry-run prints them and applies nothing. A restarted manager runs the version applied last.")
	dryRun := fs.Bool("dry-run", false, "only print what the file would change and the transition; apply nothing")
	w := registerWait(fs)
	sock := socketFlag(fs)
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	if !fs.Exact(stderr, "FILE") || !w.check(fs, stderr) {
		return exitUsage
	}
	if *dryRun && (*w.wait || fs.Changed("timeout")) {
		return fs.Mistake(stderr, "--dry-run applies nothing: there is no report to --wait for")
	}
	if fs.Changed("timeout") && !*w.wait {
		return fs.Mistake(stderr, "--timeout is --wait's: without it, it would be ignored")
	}
	path := fs.Arg(0)
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "basalt config apply: cannot read the configuration: %v\n", err)
		return exitFailed
	}
	c := sock.client()
	req := api.ConfigRequest{Text: string(data), Source: path}
	var v api.ConfigPreviewView
	if *dryRun {
		v, err = c.PreviewConfig(req)
	} else {
		v, err = c.ApplyConfig(req)
	}
	if err != nil {
		return sock.failed(stderr, err)
	}
	printConfigChange(stdout, path, v, *dryRun)
	if *dryRun || v.Empty {
		return exitOK
	}
	fmt.Fprintf(stdout, "report %s\n", v.Report)
	if !*w.wait {
		return exitOK
	}
	return follow(sock, c, v.Report, *w.timeout, stdout, stderr)
}

// printConfigChange prints what a configuration changes and the
// transition planned for it.
func printConfigChange(w io.Writer, path string, v api.ConfigPreviewView, dryRun bool) {
	if v.Empty {
		fmt.Fprintf(w, "%s changes nothing: the running configuration stays version %d.\n", path, v.Version)
		return
	}
	verb := "Applied"
	if dryRun {
		verb = "Dry run (nothing applied):"
	}
	fmt.Fprintf(w, "%s %s as configuration version %d.\n\nChanges:\n", verb, path, v.Version)
	for _, l := range v.Change {
		fmt.Fprintf(w, "  %s\n", l)
	}
	fmt.Fprintln(w, "\nTransition:")
	if len(v.Transition) == 0 {
		fmt.Fprintln(w, "  (nothing to do)")
	}
	for _, l := range v.Transition {
		fmt.Fprintf(w, "  %s\n", l)
	}
	if len(v.Warnings) > 0 {
		fmt.Fprintln(w, "\nWarnings:")
		for _, l := range v.Warnings {
			fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(l, "\n", "\n  "))
		}
	}
	fmt.Fprintln(w)
}

// configShow is basalt config show: the running configuration's file as
// the manager holds it, after a comment line with its version, so that
// the output is a valid file to edit and apply again.
func configShow(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt config show", "[--socket PATH]",
		"Print the running configuration's file, as it was given (the start-up file, version 0, or the\n"+
			"one applied last), after a comment line with its version: save it, edit it, apply it.")
	sock := socketFlag(fs)
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	if !fs.Exact(stderr) {
		return exitUsage
	}
	v, err := sock.client().Config()
	if err != nil {
		return sock.failed(stderr, err)
	}
	fmt.Fprintf(stdout, "# basalt configuration version %d\n", v.Version)
	if v.Text == "" {
		fmt.Fprintln(stdout, "# (the manager does not hold this version's text: see its --config file)")
		return exitOK
	}
	fmt.Fprint(stdout, v.Text)
	if !strings.HasSuffix(v.Text, "\n") {
		fmt.Fprintln(stdout)
	}
	return exitOK
}
