package attrtools

import (
	"fmt"

	"github.com/basalt-ha/basalt/core/proto"
)

// Tools are the names basalt-agent answers to, as the Pacemaker tools.
var Tools = []string{"crm_attribute", "crm_master", "attrd_updater", "crm_node"}

// Output is how an invocation prints its answer.
type Output int

// Outputs.
const (
	// PrintNothing: a change; only errors are printed.
	PrintNothing Output = iota
	// PrintCrmAttribute: "scope=status  name=N value=V", or the value alone.
	PrintCrmAttribute
	// PrintAttrd: name="N" host="H" value="V".
	PrintAttrd
	// PrintNodeName: the host's name.
	PrintNodeName
	// PrintNodeList: "ID NAME member|lost" per host (crm_node -l).
	PrintNodeList
	// PrintPartition: the online hosts on one line (crm_node -p).
	PrintPartition
	// PrintHelp: the tool's usage.
	PrintHelp
)

// Invocation is a parsed command line: the request for the daemon and how
// to print the answer.
type Invocation struct {
	Tool   string
	Req    Request
	Output Output
	// Quiet prints a query's value alone (-q).
	Quiet bool
	// Default is crm_attribute -d's value, printed when none is set.
	Default    string
	HasDefault bool
}

// Parse reads a tool's command line as the Pacemaker tool reads it; env
// gives the environment (OCF_RESOURCE_INSTANCE for promotion scores).
func Parse(tool string, args []string, env func(string) string) (Invocation, error) {
	switch tool {
	case "crm_attribute":
		return parseCrmAttribute(args, env)
	case "crm_master":
		return parseCrmMaster(args, env)
	case "attrd_updater":
		return parseAttrdUpdater(args)
	case "crm_node":
		return parseCrmNode(args)
	}
	return Invocation{}, usageError{"basalt-agent", fmt.Sprintf("%q is not one of the tools %v", tool, Tools)}
}

// by names the tool and the resource it runs for, for the event log.
func by(tool string, env func(string) string) string {
	if r := env("OCF_RESOURCE_INSTANCE"); r != "" {
		return tool + " (" + r + ")"
	}
	return tool
}

var crmAttributeOpts = []option{
	{short: '?', long: []string{"help"}, key: "help"},
	{short: '$', long: []string{"version"}, key: "help"},
	{short: 'V', long: []string{"verbose"}, key: "verbose"},
	{short: 'q', long: []string{"quiet"}, key: "quiet"},
	{short: 'Q', key: "quiet"},
	{short: 'n', long: []string{"name", "attr-name"}, arg: reqArg, key: "name"},
	{short: 'G', long: []string{"query", "get-value"}, key: "query"},
	{short: 'v', long: []string{"update", "attr-value"}, arg: reqArg, key: "update"},
	{short: 'D', long: []string{"delete", "delete-attr"}, key: "delete"},
	{short: 'N', long: []string{"node", "node-uname"}, arg: reqArg, key: "node"},
	{short: 'U', key: "node", arg: reqArg},
	{short: 'l', long: []string{"lifetime"}, arg: reqArg, key: "lifetime"},
	{short: 't', long: []string{"type"}, arg: reqArg, key: "type"},
	{short: 'p', long: []string{"promotion"}, arg: optArg, key: "promotion"},
	{short: 'd', long: []string{"default"}, arg: reqArg, key: "default"},
	{short: 'z', long: []string{"utilization"}, unsupported: true},
	{short: 's', long: []string{"set-name"}, arg: reqArg, unsupported: true},
	{short: 'i', long: []string{"id", "attr-id"}, arg: reqArg, unsupported: true},
	{short: 'P', long: []string{"pattern"}, arg: reqArg, unsupported: true},
	{short: 'u', long: []string{"node-uuid"}, arg: reqArg, unsupported: true},
	{short: '!', long: []string{"inhibit-policy-engine"}, unsupported: true},
	{short: 'W', long: []string{"output-as", "output-to"}, arg: reqArg, unsupported: true},
}

// parseCrmAttribute: crm_attribute. The command is the last of -G, -v and
// -D (a query when none); a node attribute's lifetime is -l's or -t's
// (nodes: forever, status: reboot), "forever" when only -N names a node,
// "reboot" for --promotion; with neither -N nor -l it would be a cluster
// option, which basalt does not keep.
func parseCrmAttribute(args []string, env func(string) string) (Invocation, error) {
	const tool = "crm_attribute"
	gs, err := getopt(tool, crmAttributeOpts, args)
	if err != nil {
		return Invocation{}, err
	}
	inv := Invocation{Tool: tool, Output: PrintCrmAttribute, Req: Request{Op: OpQuery, By: by(tool, env)}}
	var lifetime, promotion string
	var promoted, nodeGiven bool
	for _, g := range gs {
		if inv.sharedOption(g) {
			continue
		}
		switch g.key {
		case "help":
			return Invocation{Tool: tool, Output: PrintHelp}, nil
		case "name":
			inv.Req.Name = g.value
		case "node":
			inv.Req.Host, nodeGiven = g.value, true
		case "lifetime", "type":
			if lifetime, err = lifetimeOf(tool, g); err != nil {
				return Invocation{}, err
			}
		case "promotion":
			promoted, promotion = true, g.value
		case "default":
			inv.Default, inv.HasDefault = g.value, true
		}
	}
	if promoted {
		if promotion == "" {
			promotion = env("OCF_RESOURCE_INSTANCE")
		}
		if promotion == "" {
			return Invocation{}, usageError{tool, "--promotion needs a resource, or OCF_RESOURCE_INSTANCE in the environment"}
		}
		inv.Req.Name = proto.PromotionAttr(promotion)
		if lifetime == "" {
			lifetime = string(proto.AttrReboot)
		}
	}
	switch {
	case lifetime == "" && nodeGiven:
		lifetime = string(proto.AttrForever)
	case lifetime == "":
		return Invocation{}, unsupportedError{tool, "a cluster option (no --node, --lifetime or --promotion)"}
	}
	inv.Req.Lifetime = lifetime
	if inv.Req.Name == "" {
		return Invocation{}, usageError{tool, "an attribute name is required (--name)"}
	}
	return inv, nil
}

// sharedOption applies an option crm_attribute and crm_master read alike
// (crm_master is a wrapper of crm_attribute in Pacemaker): quiet, and the
// command, the last of query, update and delete winning. False when g is
// none of them.
func (inv *Invocation) sharedOption(g given) bool {
	switch g.key {
	case "quiet":
		inv.Quiet = true
	case "query":
		inv.Req.Op, inv.Output = OpQuery, PrintCrmAttribute
	case "update":
		inv.Req.Op, inv.Req.Value, inv.Output = OpSet, g.value, PrintNothing
	case "delete":
		inv.Req.Op, inv.Output = OpDelete, PrintNothing
	default:
		return false
	}
	return true
}

// lifetimeOf maps -l and -t to a lifetime: reboot/status and
// forever/nodes; the other sections are not node attributes.
func lifetimeOf(tool string, g given) (string, error) {
	switch g.value {
	case "reboot", "status":
		return string(proto.AttrReboot), nil
	case "forever", "nodes":
		return string(proto.AttrForever), nil
	}
	if g.key == "type" {
		return "", unsupportedError{tool, fmt.Sprintf("%s %s", g.typed, g.value)}
	}
	return "", usageError{tool, fmt.Sprintf("%s %q: want reboot or forever", g.typed, g.value)}
}

var crmMasterOpts = []option{
	{short: '?', long: []string{"help"}, key: "help"},
	{long: []string{"version"}, key: "help"},
	{short: 'V', long: []string{"verbose"}, key: "verbose"},
	{short: 'q', long: []string{"quiet"}, key: "quiet"},
	{short: 'Q', key: "quiet"},
	{short: 'G', long: []string{"query", "get-value"}, key: "query"},
	{short: 'v', long: []string{"update", "attr-value"}, arg: reqArg, key: "update"},
	{short: 'D', long: []string{"delete", "delete-attr"}, key: "delete"},
	{short: 'N', long: []string{"node"}, arg: reqArg, key: "node"},
	{short: 'U', long: []string{"uname"}, arg: reqArg, key: "node"},
	{short: 'l', long: []string{"lifetime"}, arg: reqArg, key: "lifetime"},
	{short: 'r', long: []string{"resource"}, arg: reqArg, key: "resource"},
	{short: 'i', long: []string{"attr-id", "id"}, arg: reqArg, unsupported: true},
}

// parseCrmMaster: crm_master, Pacemaker's wrapper of crm_attribute for a
// resource's promotion score: crm_attribute -N <this host> -n
// master-<resource> with its options, the resource -r's or
// OCF_RESOURCE_INSTANCE's. Since it passes -N, its lifetime is "forever"
// unless -l says otherwise (agents pass -l reboot).
func parseCrmMaster(args []string, env func(string) string) (Invocation, error) {
	const tool = "crm_master"
	gs, err := getopt(tool, crmMasterOpts, args)
	if err != nil {
		return Invocation{}, err
	}
	rsc := env("OCF_RESOURCE_INSTANCE")
	inv := Invocation{Tool: tool, Output: PrintCrmAttribute,
		Req: Request{Op: OpQuery, Lifetime: string(proto.AttrForever), By: by(tool, env)}}
	for _, g := range gs {
		if inv.sharedOption(g) {
			continue
		}
		switch g.key {
		case "help":
			return Invocation{Tool: tool, Output: PrintHelp}, nil
		case "node":
			inv.Req.Host = g.value
		case "lifetime":
			if inv.Req.Lifetime, err = lifetimeOf(tool, g); err != nil {
				return Invocation{}, err
			}
		case "resource":
			rsc = g.value
		}
	}
	if rsc == "" {
		return Invocation{}, usageError{tool, "This program should normally only be invoked from inside an OCF resource agent: " +
			"to set a promotion score from the command line, name the resource with -r"}
	}
	inv.Req.Name = proto.PromotionAttr(rsc)
	return inv, nil
}

var attrdUpdaterOpts = []option{
	{short: '?', long: []string{"help"}, key: "help"},
	{short: '$', long: []string{"version"}, key: "help"},
	{short: 'V', long: []string{"verbose"}, key: "verbose"},
	{short: 'q', long: []string{"quiet"}, key: "verbose"},
	{short: 'n', long: []string{"name"}, arg: reqArg, key: "name"},
	{short: 'U', long: []string{"update"}, arg: reqArg, key: "update"},
	{short: 'v', arg: reqArg, key: "update"},
	{short: 'B', long: []string{"update-both"}, arg: reqArg, key: "update"},
	{short: 'Y', long: []string{"update-delay"}, key: "delay-only"},
	{short: 'Q', long: []string{"query"}, key: "query"},
	{short: 'D', long: []string{"delete"}, key: "delete"},
	{short: 'd', long: []string{"delay"}, arg: reqArg, key: "ignored"},
	{short: 'N', long: []string{"node"}, arg: reqArg, key: "node"},
	{short: 'l', long: []string{"lifetime"}, arg: reqArg, key: "ignored"},
	{short: 'S', long: []string{"section"}, arg: reqArg, key: "ignored"},
	{short: 'p', long: []string{"private"}, key: "ignored"},
	{short: 'R', long: []string{"refresh"}, unsupported: true},
	{short: 'A', long: []string{"all"}, unsupported: true},
	{short: 's', long: []string{"set"}, arg: reqArg, unsupported: true},
	{short: 'z', long: []string{"utilization"}, unsupported: true},
}

// parseAttrdUpdater: attrd_updater, whose values are all transient (attrd
// keeps nothing else: its -l is silently ignored, as Pacemaker ignores
// it). -d's dampening is ignored too: basalt applies a change at once.
// -p's private values are kept as any other. -Y alone changes nothing.
func parseAttrdUpdater(args []string) (Invocation, error) {
	const tool = "attrd_updater"
	gs, err := getopt(tool, attrdUpdaterOpts, args)
	if err != nil {
		return Invocation{}, err
	}
	inv := Invocation{Tool: tool, Output: PrintAttrd, Req: Request{Op: OpQuery, Lifetime: string(proto.AttrReboot), By: tool}}
	for _, g := range gs {
		switch g.key {
		case "help":
			return Invocation{Tool: tool, Output: PrintHelp}, nil
		case "name":
			inv.Req.Name = g.value
		case "update":
			inv.Req.Op, inv.Req.Value, inv.Output = OpSet, g.value, PrintNothing
		case "delay-only":
			inv.Req.Op, inv.Output = "", PrintNothing
		case "query":
			inv.Req.Op, inv.Output = OpQuery, PrintAttrd
		case "delete":
			inv.Req.Op, inv.Output = OpDelete, PrintNothing
		case "node":
			inv.Req.Host = g.value
		}
	}
	if inv.Req.Name == "" {
		return Invocation{}, usageError{tool, "an attribute name is required (--name)"}
	}
	return inv, nil
}

var crmNodeOpts = []option{
	{short: '?', long: []string{"help"}, key: "help"},
	{short: '$', long: []string{"version"}, key: "help"},
	{short: 'V', long: []string{"verbose"}, key: "verbose"},
	{short: 'n', long: []string{"name"}, key: "name"},
	{short: 'l', long: []string{"list"}, key: "list"},
	{short: 'p', long: []string{"partition"}, key: "partition"},
	{short: 'i', long: []string{"cluster-id"}, unsupported: true},
	{short: 'q', long: []string{"quorum"}, unsupported: true},
	{short: 'N', long: []string{"name-for-id"}, arg: reqArg, unsupported: true},
	{short: 'R', long: []string{"remove"}, arg: reqArg, unsupported: true},
	{short: 'e', long: []string{"epoch"}, unsupported: true},
	{short: 'f', long: []string{"force"}, unsupported: true},
}

// parseCrmNode: crm_node -n (this host's name), -l (every host, with its
// state) and -p (the online hosts); the last of them counts.
func parseCrmNode(args []string) (Invocation, error) {
	const tool = "crm_node"
	gs, err := getopt(tool, crmNodeOpts, args)
	if err != nil {
		return Invocation{}, err
	}
	inv := Invocation{Tool: tool, Output: PrintHelp}
	for _, g := range gs {
		switch g.key {
		case "help":
			return Invocation{Tool: tool, Output: PrintHelp}, nil
		case "name":
			inv.Req, inv.Output = Request{Op: OpName}, PrintNodeName
		case "list":
			inv.Req, inv.Output = Request{Op: OpMembers}, PrintNodeList
		case "partition":
			inv.Req, inv.Output = Request{Op: OpMembers}, PrintPartition
		}
	}
	if inv.Output == PrintHelp {
		return Invocation{}, usageError{tool, "a command is required: -n, -l or -p"}
	}
	return inv, nil
}
