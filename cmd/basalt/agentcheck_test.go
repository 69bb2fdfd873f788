package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
)

// fakeOCFAgent prints meta-data declaring a required "path" and an optional
// "state"; it refuses to answer without OCF_ROOT, which the LRM always sets.
const fakeOCFAgent = `#!/bin/sh
case "$1" in
meta-data)
	[ -n "$OCF_ROOT" ] || { echo "OCF_ROOT is not set" >&2; exit 1; }
	cat <<'XML'
<?xml version="1.0"?>
<resource-agent name="fake" version="1.0">
<version>1.1</version>
<shortdesc lang="en">Fake agent</shortdesc>
<parameters>
<parameter name="path" required="1"><shortdesc lang="en">data directory</shortdesc><content type="string"/></parameter>
<parameter name="state"><shortdesc lang="en">state file</shortdesc><content type="string"/></parameter>
</parameters>
<actions><action name="start" timeout="20s"/><action name="meta-data" timeout="5s"/></actions>
</resource-agent>
XML
	exit 0 ;;
esac
exit 3
`

// fakeFenceAgent reads its arguments from stdin, as fence agents do, and
// answers action=metadata only.
const fakeFenceAgent = `#!/bin/sh
action=
while IFS= read -r line; do
	case "$line" in action=*) action=${line#action=} ;; esac
done
[ "$action" = metadata ] || { echo "unexpected action $action" >&2; exit 1; }
cat <<'XML'
<?xml version="1.0" ?>
<resource-agent name="fence_fake" shortdesc="Fake fence agent">
<parameters>
	<parameter name="action" unique="0" required="1"><content type="string" default="reboot"/></parameter>
	<parameter name="plug" unique="0" required="1"><content type="string"/></parameter>
	<parameter name="ip" unique="0" required="1" obsoletes="ipaddr"><content type="string"/></parameter>
	<parameter name="ipaddr" unique="0" required="1" deprecated="1"><content type="string"/></parameter>
	<parameter name="login" unique="0" required="0"><content type="string"/></parameter>
</parameters>
<actions><action name="off"/><action name="status"/><action name="metadata"/></actions>
</resource-agent>
XML
`

// agentDirs makes an OCF root holding ocf:test:fake and a fence agent
// directory holding fence_fake, and returns them.
func agentDirs(t *testing.T) (ocfRoot, fenceDir string) {
	t.Helper()
	dir := t.TempDir()
	ocfRoot = filepath.Join(dir, "ocf")
	fenceDir = filepath.Join(dir, "sbin")
	writeExe(t, filepath.Join(ocfRoot, "resource.d", "test", "fake"), fakeOCFAgent)
	writeExe(t, filepath.Join(fenceDir, "fence_fake"), fakeFenceAgent)
	return ocfRoot, fenceDir
}

func writeExe(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(text), 0o755))
}

// agentConfig writes a two-host cluster with one fence device of fenceAgent
// and resources db and web of rscAgent; rscParams is the params block of
// db (a line or more indented by six spaces), fenceParams the fence
// device's. The lines are fixed: the device on 7, its agent on 8, its
// params key on 9 and its first parameter on 10; db on 13, its agent on 14,
// its params key on 15 and its first parameter on 16; web on 17.
func agentConfig(t *testing.T, fenceAgent, fenceParams, rscAgent, rscParams string) string {
	t.Helper()
	text := fmt.Sprintf(`cluster:
  name: t
hosts:
  - {name: a, address: 127.0.0.1:7101}
  - {name: b, address: 127.0.0.1:7102}
fence-devices:
  - id: pdu
    agent: %s
    params:
      %s
    hosts: {a: "1", b: "2"}
resources:
  - id: db
    agent: %s
    params:
      %s
  - {id: web, agent: "%s", params: {path: /srv/web}}
groups:
  - id: g
    members: [{resource: db}, {resource: web, parent: db}]
    placement:
      domain:
        hosts: [{host: a}, {host: b}]
`, fenceAgent, fenceParams, rscAgent, rscParams, rscAgent)
	f := filepath.Join(t.TempDir(), "cluster.yaml")
	require.NoError(t, os.WriteFile(f, []byte(text), 0o644))
	return f
}

// TestValidateAgentsSuccess: installed agents and parameters they declare
// are valid, and validate says how many agents it checked and where.
func TestValidateAgentsSuccess(t *testing.T) {
	root, fence := agentDirs(t)
	f := agentConfig(t, "fence_fake", "ipaddr: 10.0.0.1", "ocf:test:fake", "path: /srv/db")
	rc, out, errOut := runCLI("validate", "--ocf-root", root, "--fence-agents", fence, f)
	require.Equal(t, 0, rc, out+errOut)
	require.Contains(t, out, f+": valid\n")
	require.Contains(t, out, fmt.Sprintf("agents: 2 checked (OCF root %s, fence agents in %s)\n", root, fence))

	// Each file's own count, though meta-data is asked once per run.
	rc, out, errOut = runCLI("validate", "--ocf-root", root, "--fence-agents", fence, f, f)
	require.Equal(t, 0, rc, out+errOut)
	require.Equal(t, 2, strings.Count(out, "agents: 2 checked"), out)
}

// TestValidateAgentsDefaultRoot: without --ocf-root, validate looks where
// basalt-agent does by default, $OCF_ROOT.
func TestValidateAgentsDefaultRoot(t *testing.T) {
	root, fence := agentDirs(t)
	t.Setenv("OCF_ROOT", root)
	f := agentConfig(t, "fence_fake", "ipaddr: 10.0.0.1", "ocf:test:fake", "path: /srv/db")
	rc, out, errOut := runCLI("validate", "--fence-agents", fence, f)
	require.Equal(t, 0, rc, out+errOut)
	require.Contains(t, out, "OCF root "+root)
}

// TestValidateAgentsRelativeDirs: relative directories are taken from the
// current directory, and the agent gets an absolute OCF_ROOT.
func TestValidateAgentsRelativeDirs(t *testing.T) {
	root, fence := agentDirs(t)
	f := agentConfig(t, "fence_fake", "ipaddr: 10.0.0.1", "ocf:test:fake", "path: /srv/db")
	t.Chdir(filepath.Dir(root))
	rc, out, errOut := runCLI("validate", "--ocf-root", "ocf", "--fence-agents", "./sbin", f)
	require.Equal(t, 0, rc, out+errOut)
	require.Contains(t, out, fmt.Sprintf("agents: 2 checked (OCF root %s, fence agents in %s)\n", root, fence))
}

// TestValidateAgentsMissing: an agent that is not installed is a warning
// on each resource's agent line, with the closest installed name, and the
// file is valid; with --strict each is an error and the file is not valid.
func TestValidateAgentsMissing(t *testing.T) {
	root, fence := agentDirs(t)
	f := agentConfig(t, "fence_fkae", "ipaddr: 10.0.0.1", "ocf:test:fkae", "path: /srv/db")
	ocfPath := filepath.Join(root, "resource.d", "test", "fkae")
	problems := []string{
		f + ":8: fence-devices[0].agent: fence agent fence_fkae is not installed: " + filepath.Join(fence, "fence_fkae") + " does not exist (did you mean fence_fake?)",
		f + ":14: resources[0].agent: ocf:test:fkae is not installed: " + ocfPath + " does not exist (did you mean ocf:test:fake?)",
		f + ":17: resources[1].agent: ocf:test:fkae is not installed: " + ocfPath + " does not exist (did you mean ocf:test:fake?)",
	}

	rc, out, errOut := runCLI("validate", "--ocf-root", root, "--fence-agents", fence, f)
	require.Equal(t, 0, rc, out+errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, f+": valid", lines[0])
	require.Contains(t, out, "agents: 0 checked, 2 not installed here (OCF root "+root)
	var warnings []string
	for _, p := range problems {
		file, rest, _ := strings.Cut(p, ":")
		line, rest, _ := strings.Cut(rest, ": ")
		warnings = append(warnings, file+":"+line+": warning: "+rest+"; its parameters are not checked")
	}
	require.Equal(t, warnings, lines[len(lines)-3:])

	rc, out, _ = runCLI("validate", "--strict", "--ocf-root", root, "--fence-agents", fence, f)
	require.Equal(t, 1, rc)
	require.NotContains(t, out, "valid")
	require.Equal(t, problems, strings.Split(strings.TrimSpace(out), "\n"))

	// Nothing close: the hint names the flag instead.
	f = agentConfig(t, "fence_zzzzzzzz", "ipaddr: 10.0.0.1", "ocf:other:zzzzzz", "path: /srv/db")
	rc, out, _ = runCLI("validate", "--strict", "--ocf-root", root, "--fence-agents", fence, f)
	require.Equal(t, 1, rc)
	require.Contains(t, out, f+":8: fence-devices[0].agent: fence agent fence_zzzzzzzz is not installed: "+filepath.Join(fence, "fence_zzzzzzzz")+" does not exist (--fence-agents sets the directory)\n")
	require.Contains(t, out, f+":14: resources[0].agent: ocf:other:zzzzzz is not installed: "+filepath.Join(root, "resource.d", "other", "zzzzzz")+" does not exist (--ocf-root sets the OCF root)\n")
}

// TestValidateAgentsMissingAmongErrors: when a file is invalid, a missing
// agent's warning is printed among the errors, in line order: it is as
// likely a typo as they are.
func TestValidateAgentsMissingAmongErrors(t *testing.T) {
	root, fence := agentDirs(t)
	f := agentConfig(t, "fence_fkae", "ipaddr: 10.0.0.1", "ocf:test:fake", "{path: /srv/db, stat: x}")
	rc, out, _ := runCLI("validate", "--ocf-root", root, "--fence-agents", fence, f)
	require.Equal(t, 1, rc)
	require.Equal(t, []string{
		f + ":8: warning: fence-devices[0].agent: fence agent fence_fkae is not installed: " + filepath.Join(fence, "fence_fkae") +
			" does not exist (did you mean fence_fake?); its parameters are not checked",
		f + `:16: resources[0].params.stat: resource "db": ocf:test:fake has no parameter "stat" (did you mean "state"?); known: path, state`,
	}, strings.Split(strings.TrimSpace(out), "\n"))
}

// TestValidateAgentsParams: a misspelt parameter names the resource, the
// parameter, the closest known one and all known ones, on the parameter's
// own line; a missing required parameter is reported on the params line;
// a fence device's unknown parameter likewise, but not its "required"
// ones (fence agents mark aliases and basalt's own arguments required).
func TestValidateAgentsParams(t *testing.T) {
	root, fence := agentDirs(t)
	f := agentConfig(t, "fence_fake", "lgoin: admin", "ocf:test:fake", "stat: /srv/db.state")
	rc, out, _ := runCLI("validate", "--ocf-root", root, "--fence-agents", fence, f)
	require.Equal(t, 1, rc)
	require.Equal(t, []string{
		f + `:10: fence-devices[0].params.lgoin: fence device "pdu": fence_fake has no parameter "lgoin" (did you mean "login"?); known: ip, ipaddr, login`,
		f + `:15: resources[0].params: resource "db": parameter "path" (data directory) is required by ocf:test:fake`,
		f + `:16: resources[0].params.stat: resource "db": ocf:test:fake has no parameter "stat" (did you mean "state"?); known: path, state`,
	}, strings.Split(strings.TrimSpace(out), "\n"))

	// Far from every known name: no suggestion, still the list.
	f = agentConfig(t, "fence_fake", "ipaddr: 10.0.0.1", "ocf:test:fake", "{path: /srv/db, colour: blue}")
	rc, out, _ = runCLI("validate", "--ocf-root", root, "--fence-agents", fence, f)
	require.Equal(t, 1, rc)
	require.Equal(t, f+`:16: resources[0].params.colour: resource "db": ocf:test:fake has no parameter "colour"; known: path, state`+"\n", out)
}

// TestValidateAgentsNoAgents: --no-agents checks nothing and says so; it
// refuses the flags it would ignore.
func TestValidateAgentsNoAgents(t *testing.T) {
	f := agentConfig(t, "fence_absent", "lgoin: admin", "ocf:test:absent", "stat: x")
	rc, out, errOut := runCLI("validate", "--no-agents", f)
	require.Equal(t, 0, rc, out+errOut)
	require.Contains(t, out, f+": valid\n")
	require.Contains(t, out, "agents: not checked (--no-agents)\n")

	rc, _, errOut = runCLI("validate", "--no-agents", "--ocf-root", "/x", f)
	require.Equal(t, 2, rc)
	require.Contains(t, errOut, "--ocf-root, --fence-agents and --strict would be ignored")

	rc, _, errOut = runCLI("validate", "--no-agents", "--strict", f)
	require.Equal(t, 2, rc)
	require.Contains(t, errOut, "--ocf-root, --fence-agents and --strict would be ignored")

	rc, _, errOut = runCLI("validate", "--fence-agents=", f)
	require.Equal(t, 2, rc)
	require.Contains(t, errOut, "--fence-agents needs a directory")
}

// TestValidateAgentsBroken: an agent that is not executable, one reached
// through a link out of the OCF root (which basalt-agent refuses to run),
// one whose meta-data fails or is not XML: each is an error naming it.
func TestValidateAgentsBroken(t *testing.T) {
	root, fence := agentDirs(t)
	dir := filepath.Join(root, "resource.d", "test")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "noexec"), []byte(fakeOCFAgent), 0o644))
	outside := filepath.Join(t.TempDir(), "elsewhere")
	writeExe(t, outside, fakeOCFAgent)
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "escape")))
	writeExe(t, filepath.Join(dir, "fails"), "#!/bin/sh\necho 'cannot find ocf-shellfuncs' >&2\nexit 5\n")
	writeExe(t, filepath.Join(dir, "garbage"), "#!/bin/sh\necho 'this is not xml'\n")
	for agent, want := range map[string]string{
		"noexec":  filepath.Join(dir, "noexec") + " is not executable: permission denied",
		"escape":  filepath.Join(dir, "escape") + " leads to " + outside + ", outside the OCF root " + root,
		"fails":   "ocf:test:fails: meta-data failed: exit status 5: cannot find ocf-shellfuncs",
		"garbage": "ocf:test:garbage: meta-data: ",
	} {
		f := agentConfig(t, "fence_fake", "ipaddr: 10.0.0.1", "ocf:test:"+agent, "path: /srv/db")
		rc, out, _ := runCLI("validate", "--ocf-root", root, "--fence-agents", fence, f)
		require.Equal(t, 1, rc, agent)
		require.Contains(t, out, f+":14: resources[0].agent: ", agent)
		require.Contains(t, out, want, agent)
	}
}

// TestAgentCheckerTimeout: an agent whose meta-data hangs (a child keeping
// its output open, as shell agents' children do) is killed whole and
// reported, not waited for.
func TestAgentCheckerTimeout(t *testing.T) {
	root, fence := agentDirs(t)
	writeExe(t, filepath.Join(root, "resource.d", "test", "hangs"), "#!/bin/sh\nsleep 60 &\nwait\n")
	f := agentConfig(t, "fence_fake", "ipaddr: 10.0.0.1", "ocf:test:hangs", "path: /srv/db")
	data, err := os.ReadFile(f)
	require.NoError(t, err)
	m, err := model.Load(f, data)
	require.NoError(t, err)
	c, err := newAgentChecker(root, fence)
	require.NoError(t, err)
	c.timeout = 200 * time.Millisecond
	start := time.Now()
	rep := c.check(f, data, m, false)
	require.Less(t, time.Since(start), 5*time.Second)
	require.Equal(t, 1, rep.checked, "the fence agent")
	require.Zero(t, rep.missing, "a hung agent is there, and broken")
	require.Len(t, rep.errors, 2, "both resources of the agent")
	require.Equal(t, f+":14: resources[0].agent: ocf:test:hangs: meta-data did not answer within 200ms", rep.errors[0].Error())
}

// TestValidateRealTestAgents checks the repository's own agents through
// validate: the example pair is valid with them, and a misspelt parameter
// of ocf:basalt:statefile is caught with its suggestion.
func TestValidateRealTestAgents(t *testing.T) {
	root := filepath.Join("..", "..", "agents", "ocf")
	fence := filepath.Join("..", "..", "agents", "fence")
	good := filepath.Join("..", "..", "testdata", "configs", "failover-pair.yaml")
	rc, out, errOut := runCLI("validate", "--ocf-root", root, "--fence-agents", fence, good)
	require.Equal(t, 0, rc, out+errOut)
	require.Contains(t, out, "agents: 2 checked")

	f := agentConfig(t, "fence_basalt_pid", "{hosts_dir: /run/basalt/hosts, hostsdir: x}", "ocf:basalt:statefile", "stat: /run/db.state")
	rc, out, _ = runCLI("validate", "--ocf-root", root, "--fence-agents", fence, f)
	require.Equal(t, 1, rc)
	require.Equal(t, []string{
		f + `:10: fence-devices[0].params.hostsdir: fence device "pdu": fence_basalt_pid has no parameter "hostsdir" (did you mean "hosts_dir"?); known: hosts_dir, fault_file`,
		f + `:16: resources[0].params.stat: resource "db": ocf:basalt:statefile has no parameter "stat" (did you mean "state"?); known: state, fail_dir, delay, promotion_score`,
		f + `:17: resources[1].params.path: resource "web": ocf:basalt:statefile has no parameter "path"; known: state, fail_dir, delay, promotion_score`,
	}, strings.Split(strings.TrimSpace(out), "\n"))
}

// TestValidateAgentsAliasedParams: params shared through an alias are
// reported for each resource at the anchor's line, as the loader reports
// an error inside an aliased value.
func TestValidateAgentsAliasedParams(t *testing.T) {
	root, fence := agentDirs(t)
	text := `cluster: {name: t, fencing: false}
hosts:
  - {name: a, address: 127.0.0.1:7101}
  - {name: b, address: 127.0.0.1:7102}
resources:
  - id: db
    agent: ocf:test:fake
    params: &p
      path: /srv
      stat: x
  - {id: web, agent: "ocf:test:fake", params: *p}
groups:
  - id: g
    members: [{resource: db}, {resource: web, parent: db}]
    placement:
      domain:
        hosts: [{host: a}, {host: b}]
`
	f := filepath.Join(t.TempDir(), "alias.yaml")
	require.NoError(t, os.WriteFile(f, []byte(text), 0o644))
	rc, out, _ := runCLI("validate", "--ocf-root", root, "--fence-agents", fence, f)
	require.Equal(t, 1, rc)
	require.Equal(t, []string{
		f + `:10: resources[0].params.stat: resource "db": ocf:test:fake has no parameter "stat" (did you mean "state"?); known: path, state`,
		f + `:10: resources[1].params.stat: resource "web": ocf:test:fake has no parameter "stat" (did you mean "state"?); known: path, state`,
	}, strings.Split(strings.TrimSpace(out), "\n"))
}

// TestValidateAgentsGolden runs validate, then validate --strict, on each
// configuration of testdata/agentcheck against the fixture agents of
// testdata/agents, and compares both outputs and exit codes with the
// golden .out file next to it (-update rewrites them).
func TestValidateAgentsGolden(t *testing.T) {
	agents, err := filepath.Abs(filepath.Join("testdata", "agents"))
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join("testdata", "agentcheck", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var got strings.Builder
			for _, extra := range [][]string{nil, {"--strict"}} {
				args := append([]string{"validate"}, extra...)
				args = append(args, "--ocf-root", filepath.Join(agents, "ocf"), "--fence-agents", filepath.Join(agents, "sbin"), f)
				rc, out, errOut := runCLI(args...)
				require.Empty(t, errOut)
				fmt.Fprintf(&got, "$ basalt %s\n%sexit %d\n", strings.Join(append(args[:len(args)-5:len(args)-5], filepath.Base(f)), " "), out, rc)
			}
			// The golden text names the fixture directory as the test
			// sees it, wherever the repository is.
			text := strings.ReplaceAll(got.String(), agents, "testdata/agents")
			golden := strings.TrimSuffix(f, ".yaml") + ".out"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(text), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "missing golden file (run go test ./cmd/basalt -run TestValidateAgentsGolden -update)")
			require.Equal(t, string(want), text)
		})
	}
}

// Where Debian's resource-agents and fence-agents install their agents
// (and basalt-agent's defaults).
const (
	debianOCFRoot  = "/usr/lib/ocf"
	debianFenceDir = "/usr/sbin"
)

// TestValidateDebianAgents: the typos against Debian's agents,
// read from their own meta-data: each mistake is named on its line. It is
// skipped where the packages are not installed (make deps installs them).
func TestValidateDebianAgents(t *testing.T) {
	for _, p := range []string{filepath.Join(debianOCFRoot, "resource.d", "heartbeat", "Dummy"), filepath.Join(debianFenceDir, "fence_dummy")} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("Debian's agents are not installed (%v): make deps installs resource-agents and fence-agents", err)
		}
	}
	f := filepath.Join("testdata", "debian", "typos.yaml")
	rc, out, errOut := runCLI("validate", "--ocf-root", debianOCFRoot, "--fence-agents", debianFenceDir, f)
	require.Equal(t, 1, rc, out+errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{
		f + `:11: warning: fence-devices[0].agent: fence agent fence_dumy is not installed: /usr/sbin/fence_dumy does not exist (did you mean fence_dummy?); its parameters are not checked`,
		// The list of known options is the installed version's.
		f + `:15: fence-devices[1].params.tpye: fence device "lab2": fence_dummy has no parameter "tpye" (did you mean "type"?); known: `,
		f + `:19: warning: resources[0].agent: ocf:heartbeat:Dumy is not installed: /usr/lib/ocf/resource.d/heartbeat/Dumy does not exist (did you mean ocf:heartbeat:Dummy?); its parameters are not checked`,
		f + `:23: resources[1].params.stat: resource "web": ocf:heartbeat:Dummy has no parameter "stat" (did you mean "state"?); known: `,
		f + `:29: resources[3].params.state: resource "queue": ocf:heartbeat:Dummy declares parameter "state" unique, and resource "cache" has it "/run/shared.state" too`,
	}
	require.Len(t, lines, len(want), out)
	for i, w := range want {
		require.True(t, strings.HasPrefix(lines[i], w), "line %d:\n got %s\nwant %s...", i+1, lines[i], w)
	}
	require.Contains(t, lines[1], "type")
	require.Contains(t, lines[3], "state")

	// On a cluster host, --strict: the misspelt agents are errors too.
	rc, out, _ = runCLI("validate", "--strict", "--ocf-root", debianOCFRoot, "--fence-agents", debianFenceDir, f)
	require.Equal(t, 1, rc)
	require.NotContains(t, out, "warning")
	require.Contains(t, out, f+`:11: fence-devices[0].agent: fence agent fence_dumy is not installed`)
	require.Contains(t, out, f+`:19: resources[0].agent: ocf:heartbeat:Dumy is not installed`)
}
