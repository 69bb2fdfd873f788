package main

import (
	"fmt"
	"io"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
	"github.com/basalt-ha/basalt/live/api"
)

// hostAttr is basalt host attr: the operator's crm_attribute --node. With
// HOST alone it lists the host's attributes; with NAME it shows that one
// (exit 1 when it is not set); with VALUE it sets it, with --delete it
// deletes it. --lifetime is forever unless said (crm_attribute --node's
// default); reboot values end when the host reboots, is fenced or lost.
func hostAttr(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt host attr", "HOST [NAME [VALUE]] [--delete] [--lifetime reboot|forever] [-o text|json|yaml] [--socket PATH]",
		"List the host's node attributes, show one (NAME), set one (NAME VALUE) or delete one\n"+
			"(NAME --delete). The resource agents set theirs with crm_attribute, crm_master and\n"+
			"attrd_updater; promotion scores are named master-<resource>.")
	del := fs.Bool("delete", false, "delete NAME")
	lifetime := fs.String("lifetime", "", "reboot (until the host reboots, is fenced or lost) or forever; default: forever to set or delete, either to show")
	output := outputFlag(fs)
	sock := socketFlag(fs)
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	rest := fs.Args()
	switch {
	case len(rest) == 0:
		return fs.Mistake(stderr, "missing HOST")
	case len(rest) > 3:
		return fs.Mistake(stderr, "unexpected argument %q after HOST NAME VALUE", rest[3])
	case *del && len(rest) != 2:
		return fs.Mistake(stderr, "--delete takes HOST NAME")
	case *lifetime != "" && !fs.OneOf(stderr, "--lifetime", *lifetime, "reboot", "forever"):
		return exitUsage
	case !checkOutput(fs, stderr, *output):
		return exitUsage
	}
	c := sock.client()
	var attrs []api.AttrView
	var err error
	if len(rest) == 3 || *del {
		req := api.AttrRequest{Host: rest[0], Name: rest[1], Delete: *del, Lifetime: *lifetime}
		if len(rest) == 3 {
			req.Value = rest[2]
		}
		attrs, err = c.SetAttribute(req)
	} else {
		attrs, err = c.Attributes(rest[0])
	}
	if err != nil {
		return sock.failed(stderr, err)
	}
	if len(rest) >= 2 {
		attrs = pick(attrs, rest[1], *lifetime)
	}
	if attrs == nil {
		attrs = []api.AttrView{}
	}
	rc := exitOK
	err = render(stdout, *output, attrs, func(w io.Writer) { rc = printAttrs(w, stderr, rest, *del, *lifetime, attrs) })
	if err != nil {
		fmt.Fprintf(stderr, "basalt host attr: %v\n", err)
		return exitFailed
	}
	if len(rest) == 2 && !*del && len(attrs) == 0 {
		return exitFailed // not set: as crm_attribute --query, a failure (its message with text output)
	}
	return rc
}

// pick keeps the values of name (of lifetime, unless "").
func pick(attrs []api.AttrView, name, lifetime string) []api.AttrView {
	var out []api.AttrView
	for _, a := range attrs {
		if a.Name == name && (lifetime == "" || a.Lifetime == lifetime) {
			out = append(out, a)
		}
	}
	return out
}

// printAttrs prints attributes one per line, as "NAME=VALUE (lifetime)";
// after a delete, what was deleted first. A value asked for and not set is
// exit 1 with a message.
func printAttrs(stdout, stderr io.Writer, rest []string, deleted bool, lifetime string, attrs []api.AttrView) int {
	if deleted {
		fmt.Fprintf(stdout, "deleted %s (%s) on %s\n", rest[1], orForever(lifetime), rest[0])
	}
	for _, a := range attrs {
		fmt.Fprintf(stdout, "%s=%s (%s)\n", a.Name, a.Value, a.Lifetime)
	}
	switch {
	case len(rest) == 1 && len(attrs) == 0:
		fmt.Fprintf(stdout, "%s has no node attributes\n", rest[0])
	case len(rest) == 2 && !deleted && len(attrs) == 0:
		fmt.Fprintf(stderr, "basalt host attr: %s has no attribute %s\n", rest[0], rest[1])
		return exitFailed
	}
	return exitOK
}

// printNodeAttributes is the status's "Node Attributes" (crm_mon -A): each
// host with attributes, and them, transient ones marked.
func printNodeAttributes(w io.Writer, hosts []api.HostView) {
	title := false
	for _, h := range hosts {
		if len(h.Attributes) == 0 {
			continue
		}
		if !title {
			fmt.Fprintln(w, "\nNode Attributes:")
			title = true
		}
		fmt.Fprintf(w, "  * Node: %s:\n", h.Name)
		for _, a := range h.Attributes {
			mark := ""
			if a.Lifetime == "reboot" {
				mark = " (until reboot)"
			}
			fmt.Fprintf(w, "    * %-30s : %s%s\n", a.Name, a.Value, mark)
		}
	}
}

// orForever is a change's lifetime: forever unless given.
func orForever(lifetime string) string {
	if lifetime == "" {
		return "forever"
	}
	return lifetime
}
