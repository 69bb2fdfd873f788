package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
)

// groups are the subcommands that are groups of actions.
var groups = map[string]subcmd.Set{"resource": resources, "host": hosts, "certs": certsCmds, "fence": fenceCmds, "agents": agentsCmds, "power": powerCmds, "config": configCmds}

// leaves lists every command that runs (not a group) as its arguments up
// to its flags: ["status"], ["resource", "move"], ...
func leaves() [][]string {
	var out [][]string
	for name := range commands.Commands {
		g, ok := groups[name]
		if !ok {
			out = append(out, []string{name})
			continue
		}
		for action := range g.Commands {
			out = append(out, []string{name, action})
		}
	}
	slices.SortFunc(out, func(a, b []string) int { return strings.Compare(strings.Join(a, " "), strings.Join(b, " ")) })
	return out
}

// hint is the line that follows every command-line mistake.
func hint(cmd string) string { return "Run '" + cmd + " --help' for usage.\n" }

// TestUnknownFlagsSayWhich: before, an unknown flag on any subcommand
// exited 2 with nothing on stderr.
func TestUnknownFlagsSayWhich(t *testing.T) {
	require.Len(t, leaves(), 34, "every command is covered")
	for _, l := range leaves() {
		cmd := "basalt " + strings.Join(l, " ")
		for _, flag := range []string{"--frobnicate", "-Z"} {
			rc, out, errOut := runCLI(append(slices.Clone(l), flag)...)
			require.Equal(t, 2, rc, cmd)
			require.Empty(t, out, cmd)
			want := "unknown flag: --frobnicate"
			if flag == "-Z" {
				want = "unknown shorthand flag: 'Z' in -Z"
			}
			require.Equal(t, cmd+": "+want+"\n"+hint(cmd), errOut)
		}
	}
	// A flag where a subcommand or an action belongs.
	for _, tc := range []struct {
		args      []string
		cmd, flag string
		noun      string
	}{
		{[]string{"--frobnicate"}, "basalt", "--frobnicate", "subcommand"},
		{[]string{"resource", "--frobnicate"}, "basalt resource", "--frobnicate", "action"},
		{[]string{"host", "-x", "standby"}, "basalt host", "-x", "action"},
	} {
		rc, out, errOut := runCLI(tc.args...)
		require.Equal(t, 2, rc, "%v", tc.args)
		require.Empty(t, out)
		require.Equal(t, tc.cmd+": unknown flag: "+tc.flag+" (flags come after the "+tc.noun+")\n"+hint(tc.cmd), errOut)
	}
}

// TestMistakesSayWhatIsWrong: missing and extra arguments, unknown
// subcommands and bad values are each a message naming the mistake, then
// the hint; never silence, never a panic.
func TestMistakesSayWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		args []string
		cmd  string
		want string
	}{
		{nil, "basalt", "missing subcommand: one of agents, certs, config, events, fence, host, maintenance, power, report, resource, simulate, status, validate"},
		{[]string{"frobnicate"}, "basalt", `unknown subcommand "frobnicate": one of agents, certs, config, events`},
		{[]string{"resource"}, "basalt resource", "missing action: one of ban, cleanup, clear, list, manage, move, restart, show, start, stop, unmanage, why"},
		{[]string{"fence"}, "basalt fence", "missing action: one of devices, history"},
		{[]string{"agents"}, "basalt agents", "missing action: one of describe, list"},
		{[]string{"fence", "history", "h1"}, "basalt fence history", `unexpected argument "h1"`},
		{[]string{"agents", "list", "x"}, "basalt agents list", `unexpected argument "x"`},
		{[]string{"agents", "list", "--ocf-root="}, "basalt agents list", "--ocf-root needs a directory"},
		{[]string{"agents", "describe", "-o", "xml", "fence_x"}, "basalt agents describe", `-o/--output "xml": want one of`},
		{[]string{"resource", "list", "g"}, "basalt resource list", `unexpected argument "g"`},
		{[]string{"resource", "show"}, "basalt resource show", "missing GROUP|RESOURCE"},
		{[]string{"resource", "show", "a", "b"}, "basalt resource show", `unexpected argument "b" after GROUP|RESOURCE`},
		{[]string{"events", "--since", "yesterday"}, "basalt events", `--since "yesterday": want a duration (10m) or an RFC 3339 time`},
		{[]string{"events", "--since", "-5m"}, "basalt events", `--since -5m: want a positive duration`},
		{[]string{"events", "--interval", "1s"}, "basalt events", "--interval is --follow's"},
		{[]string{"events", "--follow", "--interval", "2h"}, "basalt events", "--interval 2h0m0s: want a duration above 0 and at most 1m0s"},
		{[]string{"events", "-o", "yml"}, "basalt events", `-o/--output "yml": want one of`},
		{[]string{"status", "--watch", "--interval", "-1s"}, "basalt status", "--interval -1s: want a duration above 0"},
		{[]string{"report", "r1-1", "-o", "txt"}, "basalt report", `-o/--output "txt": want one of`},
		{[]string{"resource", "reboot", "g"}, "basalt resource", `unknown action "reboot": one of ban, cleanup`},
		{[]string{"host"}, "basalt host", "missing action: one of attr, confirm-down, fence, standby, unstandby"},
		{[]string{"host", "attr"}, "basalt host attr", "missing HOST"},
		{[]string{"host", "attr", "h1", "a", "b", "c"}, "basalt host attr", `unexpected argument "c" after HOST NAME VALUE`},
		{[]string{"power"}, "basalt power", "missing action: one of off, on, status"},
		{[]string{"power", "status"}, "basalt power status", "missing HOST"},
		{[]string{"power", "status", "oss1", "oss2"}, "basalt power status", `unexpected argument "oss2" after HOST`},
		{[]string{"power", "status", "oss1", "-o", "xml"}, "basalt power status", `-o/--output "xml": want one of`},
		{[]string{"power", "on"}, "basalt power on", "missing HOST"},
		{[]string{"power", "off", "oss1", "--wait", "--timeout", "0s"}, "basalt power off", "--timeout 0s: want a positive duration"},
		{[]string{"power", "reboot", "oss1"}, "basalt power", `unknown action "reboot": one of off, on, status`},
		{[]string{"host", "confirm-down"}, "basalt host confirm-down", "missing HOST"},
		{[]string{"certs"}, "basalt certs", "missing action: one of add, init"},
		{[]string{"resource", "move", "g"}, "basalt resource move", "missing --host HOST"},
		{[]string{"resource", "move", "--host", "h1"}, "basalt resource move", "missing GROUP"},
		{[]string{"resource", "move", "g", "h1"}, "basalt resource move", `unexpected argument "h1" after GROUP`},
		{[]string{"resource", "ban", "g", "--host", "h1", "--lifetime", "-1m"}, "basalt resource ban", "--lifetime -1m0s: want a positive duration"},
		{[]string{"resource", "stop", "g", "--host", "h1"}, "basalt resource stop", "unknown flag: --host"},
		{[]string{"resource", "start", "g", "--wait", "--timeout", "0s"}, "basalt resource start", "--timeout 0s: want a positive duration"},
		{[]string{"resource", "start", "g", "--timeout", "soon"}, "basalt resource start", `invalid argument "soon" for "--timeout" flag`},
		{[]string{"resource", "cleanup"}, "basalt resource cleanup", "missing GROUP|RESOURCE (or --all: every resource)"},
		{[]string{"resource", "cleanup", "web", "--all"}, "basalt resource cleanup", "web --all: name a group or resource or --all, not both"},
		{[]string{"resource", "start"}, "basalt resource start", "missing GROUP (or --all: every group)"},
		{[]string{"resource", "clear", "a", "b"}, "basalt resource clear", `unexpected argument "b" after GROUP`},
		{[]string{"resource", "why"}, "basalt resource why", "missing GROUP"},
		{[]string{"resource", "why", "a", "b"}, "basalt resource why", `unexpected argument "b" after GROUP`},
		{[]string{"host", "fence"}, "basalt host fence", "missing HOST"},
		{[]string{"host", "standby", "h1", "h2"}, "basalt host standby", `unexpected argument "h2" after HOST`},
		{[]string{"host", "standby"}, "basalt host standby", "missing HOST (or --all: every host)"},
		{[]string{"host", "unstandby", "h1", "--all"}, "basalt host unstandby", "h1 --all: name a host or --all, not both"},
		{[]string{"maintenance"}, "basalt maintenance", "missing on|off"},
		{[]string{"maintenance", "maybe"}, "basalt maintenance", `"maybe": want on or off`},
		{[]string{"events", "-n", "0"}, "basalt events", "-n/--number 0: want at least 1"},
		{[]string{"events", "50"}, "basalt events", `unexpected argument "50": this command takes none (only flags)`},
		{[]string{"status", "h1"}, "basalt status", `unexpected argument "h1"`},
		{[]string{"status", "--socket"}, "basalt status", "flag needs an argument: --socket"},
		{[]string{"report"}, "basalt report", "missing ID"},
		{[]string{"certs", "init", "--hosts", "a,b"}, "basalt certs init", "missing --dir DIR"},
		{[]string{"certs", "init", "--dir", "d"}, "basalt certs init", "missing --hosts H1,H2,..."},
		{[]string{"certs", "init", "extra", "--dir", "d", "--hosts", "a"}, "basalt certs init", `unexpected argument "extra"`},
		{[]string{"certs", "add", "--hosts", "h4"}, "basalt certs add", "missing --dir DIR"},
		{[]string{"certs", "add", "--dir", "d"}, "basalt certs add", "missing --hosts H4,..."},
		{[]string{"certs", "add", "h4", "--dir", "d"}, "basalt certs add", `unexpected argument "h4"`},
		{[]string{"certs", "add", "--dir", "d", "--hosts", "h4", "--validity", "-1h"}, "basalt certs add", "--validity -1h0m0s: want a positive duration"},
		{[]string{"validate"}, "basalt validate", "--config FILE is required"},
		{[]string{"config"}, "basalt config", "missing action: one of apply, show"},
		{[]string{"config", "push", "f.yaml"}, "basalt config", `unknown action "push": one of apply, show`},
		{[]string{"config", "apply"}, "basalt config apply", "missing FILE"},
		{[]string{"config", "apply", "a.yaml", "b.yaml"}, "basalt config apply", `unexpected argument "b.yaml" after FILE`},
		{[]string{"config", "apply", "a.yaml", "--dry-run", "--wait"}, "basalt config apply", "--dry-run applies nothing: there is no report to --wait for"},
		{[]string{"config", "apply", "a.yaml", "--timeout", "1m"}, "basalt config apply", "--timeout is --wait's"},
		{[]string{"config", "apply", "a.yaml", "--wait", "--timeout", "0s"}, "basalt config apply", "--timeout 0s: want a positive duration"},
		{[]string{"config", "show", "v3"}, "basalt config show", `unexpected argument "v3": this command takes none (only flags)`},
	} {
		rc, out, errOut := runCLI(tc.args...)
		require.Equal(t, 2, rc, "%v: %s", tc.args, errOut)
		require.Empty(t, out, "%v", tc.args)
		require.True(t, strings.HasPrefix(errOut, tc.cmd+": "+tc.want), "%v: %s", tc.args, errOut)
		require.True(t, strings.HasSuffix(errOut, "\n"+hint(tc.cmd)), "%v: %s", tc.args, errOut)
		require.Equal(t, 2, strings.Count(errOut, "\n"), "a message and a hint: %s", errOut)
	}
}

// TestOutputFormats: before, -o accepted anything and printed text for
// every value but json.
func TestOutputFormats(t *testing.T) {
	for _, bad := range []string{"yml", "xml", "JSON", ""} {
		rc, out, errOut := runCLI("status", "-o", bad)
		require.Equal(t, 2, rc, bad)
		require.Empty(t, out)
		require.Equal(t, `basalt status: -o/--output "`+bad+`": want one of text, json, yaml`+"\n"+hint("basalt status"), errOut)
	}
	rc, out, _ := runCLI("status", "--help")
	require.Equal(t, 0, rc)
	require.Contains(t, out, "output format: text, json, yaml")
}

// TestHelpOnEveryCommand: before, --help on a group (resource, host, certs)
// was an error. On every command and group, -h and --help print the usage
// to stdout and exit 0; a group lists its actions, one line each.
func TestHelpOnEveryCommand(t *testing.T) {
	for _, l := range leaves() {
		cmd := "basalt " + strings.Join(l, " ")
		for _, h := range []string{"--help", "-h"} {
			rc, out, errOut := runCLI(append(slices.Clone(l), h)...)
			require.Equal(t, 0, rc, cmd)
			require.Empty(t, errOut, cmd)
			require.True(t, strings.HasPrefix(out, "usage: "+cmd), "%s: %s", cmd, out)
			require.Contains(t, out, "\nflags:\n", cmd)
		}
	}
	for name, g := range groups {
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {name, "help"}, {"help", name}} {
			rc, out, errOut := runCLI(args...)
			require.Equal(t, 0, rc, "%v", args)
			require.Empty(t, errOut)
			lines := strings.Split(out, "\n")
			require.Equal(t, "usage: basalt "+name+" <action> [arguments] [flags]", lines[0])
			for action, c := range g.Commands {
				n := 0
				for _, line := range lines {
					if strings.HasPrefix(line, "  "+action+" "+c.Args+"  ") && strings.HasSuffix(line, c.Summary) {
						n++
					}
				}
				require.Equal(t, 1, n, "%v: one line for %s:\n%s", args, action, out)
			}
		}
	}
	rc, out, errOut := runCLI("--help")
	require.Equal(t, 0, rc)
	require.Empty(t, errOut)
	require.Contains(t, out, "\n  resource ACTION GROUP  ")
	require.Contains(t, out, "\n  report ID [--wait]|list  ")
}

// TestUsageLinesNameArguments: before, usage lines named flags only.
func TestUsageLinesNameArguments(t *testing.T) {
	for args, want := range map[string]string{
		"resource move":     "basalt resource move GROUP --host HOST [--lifetime D] [--wait [--timeout D]] [--socket PATH]",
		"resource ban":      "basalt resource ban GROUP --host HOST [--lifetime D] [--wait [--timeout D]] [--socket PATH]",
		"resource start":    "basalt resource start GROUP|--all [--wait [--timeout D]] [--socket PATH]",
		"resource cleanup":  "basalt resource cleanup GROUP|RESOURCE|--all [--wait [--timeout D]] [--socket PATH]",
		"resource why":      "basalt resource why GROUP [-o text|json|yaml] [--socket PATH]",
		"host fence":        "basalt host fence HOST [--wait [--timeout D]] [--socket PATH]",
		"host confirm-down": "basalt host confirm-down HOST --yes [--wait [--timeout D]] [--socket PATH]",
		"power status":      "basalt power status HOST [-o text|json|yaml] [--socket PATH]",
		"power on":          "basalt power on HOST [--wait [--timeout D]] [--socket PATH]",
		"power off":         "basalt power off HOST [--wait [--timeout D]] [--socket PATH]",
		"maintenance":       "basalt maintenance on|off [--wait [--timeout D]] [--socket PATH]",
		"report":            "basalt report ID [--wait [--timeout D]] [-o text|json|yaml] [--socket PATH]",
		"events":            "basalt events [-n N] [--since D|TIME] [--follow [--interval D]] [-o text|json|yaml] [--socket PATH]",
		"status":            "basalt status [-o text|json|yaml] [--watch [--interval D]] [--socket PATH]",
		"resource list":     "basalt resource list [-o text|json|yaml] [--socket PATH]",
		"resource show":     "basalt resource show GROUP|RESOURCE [-o text|json|yaml] [--socket PATH]",
		"fence history":     "basalt fence history [-o text|json|yaml] [--socket PATH]",
		"report list":       "basalt report list [--open] [-o text|json|yaml] [--socket PATH]",
		"fence devices":     "basalt fence devices [-o text|json|yaml] [--socket PATH]",
		"agents list":       "basalt agents list [--ocf-root DIR] [--fence-agents DIR] [-o text|json|yaml]",
		"agents describe":   "basalt agents describe AGENT [AGENT ...] [--ocf-root DIR] [--fence-agents DIR] [-o text|json|yaml]",
		"certs init":        "basalt certs init --dir DIR --hosts H1,H2,... [--validity D] [--force]",
		"certs add":         "basalt certs add --dir DIR --hosts H4,... [--validity D] [--force]",
		"config apply":      "basalt config apply FILE [--dry-run] [--wait [--timeout D]] [--socket PATH]",
		"config show":       "basalt config show [--socket PATH]",
		"validate":          "basalt validate --config FILE [--config FILE ...] [--ocf-root DIR] [--fence-agents DIR] [--strict|--no-agents]",
	} {
		rc, out, _ := runCLI(append(strings.Fields(args), "--help")...)
		require.Equal(t, 0, rc, args)
		require.Equal(t, "usage: "+want, strings.SplitN(out, "\n", 2)[0])
	}
}

// TestExitCodesDocumented: basalt --help and README's table of the basalt
// CLI list the same exit codes, the ones the commands return.
func TestExitCodesDocumented(t *testing.T) {
	rc, out, _ := runCLI("--help")
	require.Equal(t, 0, rc)
	require.Contains(t, out, "\nExit codes:\n")
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	for _, code := range []int{exitOK, exitFailed, exitUsage, exitUnreachable} {
		c := string(rune('0' + code))
		require.Regexp(t, "\n  "+c+"  [a-z]", out, "code %d in --help", code)
		require.Regexp(t, "\n\\| "+c+" \\| \\S", string(readme), "code %d in README's table", code)
	}
	require.NotRegexp(t, "\n  [4-9]  ", out, "no other code")
}

// TestUnreachableManager: before, the message was `manager not reachable:
// Get "http://basalt/v1/status": dial unix ...`, exit 3 for status and 1
// for every other command. It names the socket tried and where it came
// from, says the manager may not be running, and how to name another;
// every command that talks to the manager exits 3.
func TestUnreachableManager(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "manager.sock")
	for _, tc := range []struct {
		cmd  string
		args []string
	}{
		{"basalt status", nil}, {"basalt status", []string{"-o", "json"}},
		{"basalt resource move", []string{"g", "--host", "h1"}}, {"basalt resource why", []string{"g"}},
		{"basalt resource cleanup", []string{"r", "--wait"}}, {"basalt host standby", []string{"h1"}},
		{"basalt maintenance", []string{"on"}}, {"basalt events", nil},
		{"basalt report", []string{"r1-1"}}, {"basalt report", []string{"r1-1", "--wait"}},
		{"basalt report", []string{"r1-1", "-o", "json"}}, {"basalt events", []string{"--since", "10m"}},
		{"basalt events", []string{"--follow"}}, {"basalt status", []string{"--watch"}},
		{"basalt fence history", nil}, {"basalt resource list", nil}, {"basalt resource show", []string{"fs1"}},
		{"basalt power status", []string{"oss1"}}, {"basalt power off", []string{"oss1"}}, {"basalt power on", []string{"oss1", "--wait"}},
		{"basalt config show", nil}, {"basalt config apply", []string{filepath.Join("..", "..", "testdata", "configs", "failover-pair.yaml")}},
		{"basalt config apply", []string{filepath.Join("..", "..", "testdata", "configs", "failover-pair.yaml"), "--dry-run"}},
		{"basalt simulate", []string{"--live"}},
	} {
		args := append(strings.Fields(strings.TrimPrefix(tc.cmd, "basalt ")), tc.args...)
		rc, out, errOut := runCLI(append(args, "--socket", sock)...)
		require.Equal(t, 3, rc, "%v: %s", args, errOut)
		require.Empty(t, out)
		require.Equal(t, tc.cmd+": manager not reachable at "+sock+": no socket there: the manager is not running, or listens on another socket (no such file or directory)\n"+
			sock+" came from --socket; name another with --socket PATH or BASALT_SOCKET=PATH.\n", errOut)
	}
	t.Setenv("BASALT_SOCKET", sock)
	rc, _, errOut := runCLI("status")
	require.Equal(t, 3, rc)
	require.Contains(t, errOut, sock+" came from $BASALT_SOCKET; name another")
	t.Setenv("BASALT_SOCKET", "")
	rc, _, errOut = runCLI("events")
	require.Equal(t, 3, rc)
	require.Contains(t, errOut, "manager not reachable at /run/basalt/manager.sock: ")
	require.Contains(t, errOut, "/run/basalt/manager.sock is the default socket; name another")
}

// manager starts a manager daemon on the failover pair (its agents, on
// loopback ports nothing listens on, stay unreachable) and its admin
// socket, as live/admin's tests do.
func manager(t *testing.T) string {
	sock, _ := managerServer(t)
	return sock
}

// TestAgainstAManager: the manager's refusals reach the operator as one
// line (exit 1), a wrong group name listing the groups or naming the
// group of the resource it is; -o yaml is the JSON's document.
func TestAgainstAManager(t *testing.T) {
	sock := manager(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"resource", "move", "nosuch", "--host", "oss2"}, `basalt resource move: move nosuch oss2: no group "nosuch" (groups: fs1)`},
		{[]string{"resource", "stop", "pool1"}, `basalt resource stop: stop pool1: "pool1" is a resource of group fs1; name the group`},
		{[]string{"resource", "ban", "fs1", "--host", "oss9"}, `basalt resource ban: ban fs1 oss9: no host "oss9" (hosts: oss1, oss2)`},
		{[]string{"resource", "cleanup", "nosuch"}, `basalt resource cleanup: cleanup nosuch: no resource or group "nosuch" (groups: fs1)`},
		{[]string{"resource", "why", "ost0"}, `basalt resource why: "ost0" is a resource of group fs1; name the group`},
		{[]string{"resource", "why", "nosuch"}, `basalt resource why: no group "nosuch" (groups: fs1)`},
		{[]string{"report", "r9-9"}, `basalt report: no report "r9-9"`},
	} {
		rc, out, errOut := runCLI(append(tc.args, "--socket", sock)...)
		require.Equal(t, 1, rc, "%v: %s%s", tc.args, out, errOut)
		require.Empty(t, out)
		require.Equal(t, tc.want+"\n", errOut)
	}

	// Every host at once is one request, and its report says so.
	rc, out, errOut := runCLI("host", "unstandby", "--all", "--socket", sock)
	require.Equal(t, 0, rc, "%s%s", out, errOut)
	id, ok := strings.CutPrefix(strings.TrimSpace(out), "report ")
	require.True(t, ok, out)
	rc, out, errOut = runCLI("report", id, "--socket", sock)
	require.Equal(t, 0, rc, "%s%s", out, errOut)
	require.Contains(t, out, "unstandby --all")
	// So is a cleanup of every resource (pcs resource cleanup).
	rc, out, errOut = runCLI("resource", "cleanup", "--all", "--socket", sock)
	require.Equal(t, 0, rc, "%s%s", out, errOut)
	id, ok = strings.CutPrefix(strings.TrimSpace(out), "report ")
	require.True(t, ok, out)
	rc, out, errOut = runCLI("report", id, "--socket", sock)
	require.Equal(t, 0, rc, "%s%s", out, errOut)
	require.Contains(t, out, "cleanup --all")

	rc, jsonOut, _ := runCLI("status", "-o", "json", "--socket", sock)
	require.Equal(t, 1, rc, "the agents are unreachable: attention")
	rc, yamlOut, errOut := runCLI("status", "-o", "yaml", "--socket", sock)
	require.Equal(t, 1, rc)
	require.Empty(t, errOut)
	require.Regexp(t, `(?m)^cluster: oss-pair$`, yamlOut)
	require.Regexp(t, `(?m)^hosts:\n  - name: oss1$`, yamlOut)
	var fromJSON, fromYAML any
	require.NoError(t, json.Unmarshal([]byte(jsonOut), &fromJSON))
	require.NoError(t, yaml.Unmarshal([]byte(yamlOut), &fromYAML))
	// Both are read back the same way: through JSON.
	again, err := json.Marshal(fromYAML)
	require.NoError(t, err)
	var fromYAMLviaJSON any
	require.NoError(t, json.Unmarshal(again, &fromYAMLviaJSON))
	// recent_events may have grown between the two calls.
	for _, v := range []any{fromJSON, fromYAMLviaJSON} {
		delete(v.(map[string]any), "recent_events")
		delete(v.(map[string]any), "problems")
	}
	require.Equal(t, fromJSON, fromYAMLviaJSON)
}
