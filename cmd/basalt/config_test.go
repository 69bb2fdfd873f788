package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/live/api"
)

// pairFile is the configuration the test manager starts on.
var pairFile = filepath.Join("..", "..", "testdata", "configs", "failover-pair.yaml")

// writeConfig writes the failover pair's file with edit applied, in a
// temporary directory, and returns its path.
func writeConfig(t *testing.T, edit func(string) string) string {
	data, err := os.ReadFile(pairFile)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "next.yaml")
	require.NoError(t, os.WriteFile(path, []byte(edit(string(data))), 0o644))
	return path
}

// reportIDs are masked in goldens: their numbers depend on the epoch.
var reportIDs = regexp.MustCompile(`r\d+-\d+`)

// basalt config apply against a manager: --dry-run prints the change and
// the transition and applies nothing; apply prints them and the report;
// show prints the running file after its version; the same file again
// changes nothing; a refused file is one line naming what is wrong.
func TestConfigApplyAndShow(t *testing.T) {
	sock := manager(t)
	path := writeConfig(t, func(s string) string {
		return strings.Replace(s, "name: Lustre OST0001 mount", "name: Lustre OST0001", 1)
	})
	rc, out, errOut := runCLI("config", "apply", path, "--dry-run", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	require.Empty(t, errOut)
	require.Equal(t, "Dry run (nothing applied): "+path+" as configuration version 1.\n\nChanges:\n  ~ resource ost1\n\nTransition:\n", out[:strings.Index(out, "Transition:\n")+len("Transition:\n")])
	rc, out, _ = runCLI("config", "show", "--socket", sock)
	require.Equal(t, 0, rc)
	orig, err := os.ReadFile(pairFile)
	require.NoError(t, err)
	require.Equal(t, "# basalt configuration version 0\n"+string(orig), out, "the dry run applied nothing")

	rc, out, errOut = runCLI("config", "apply", path, "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	require.True(t, strings.HasPrefix(out, "Applied "+path+" as configuration version 1.\n\nChanges:\n  ~ resource ost1\n"), out)
	require.Regexp(t, `\nreport r\d+-\d+\n$`, out)
	rc, out, _ = runCLI("config", "show", "--socket", sock)
	require.Equal(t, 0, rc)
	next, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "# basalt configuration version 1\n"+string(next), out)

	rc, out, _ = runCLI("config", "apply", path, "--wait", "--socket", sock)
	require.Equal(t, 0, rc)
	require.Equal(t, path+" changes nothing: the running configuration stays version 1.\n", out)

	bad := writeConfig(t, func(s string) string {
		return strings.Replace(s, "  name: oss-pair\n", "  name: oss-pair\n  colour: blue\n", 1)
	})
	rc, out, errOut = runCLI("config", "apply", bad, "--dry-run", "--socket", sock)
	require.Equal(t, 1, rc)
	require.Empty(t, out)
	require.Contains(t, errOut, "basalt config apply: ")
	require.Contains(t, errOut, "colour")

	rc, out, errOut = runCLI("config", "apply", filepath.Join(t.TempDir(), "nosuch.yaml"), "--socket", sock)
	require.Equal(t, 1, rc)
	require.Empty(t, out)
	require.Regexp(t, `^basalt config apply: cannot read the configuration: open .*nosuch.yaml: no such file or directory\n$`, errOut)
}

// The text of an apply and of a status with orphans (golden): the change,
// the transition and the warnings; an orphan group marked as crm_mon marks
// ORPHANED ones, stopping or stopped.
func TestConfigText(t *testing.T) {
	var b bytes.Buffer
	printConfigChange(&b, "next.yaml", api.ConfigPreviewView{Version: 3, Change: []string{"+ group web", "- group old", "~ resource fs"},
		Transition: []string{"1: stop fs on h1", "2: stop old-ip on h2", "3: start fs on h1 after 1", "4: start web-ip on h2"},
		Warnings:   []string{"resources[2]: web-ip: parameter ip is unique"}}, true)
	printConfigChange(&b, "next.yaml", api.ConfigPreviewView{Version: 3, Empty: true}, false)
	b.WriteString("----\n")
	printStatus(&b, api.StatusView{Cluster: "prod", Epoch: 4, Healthy: false, Groups: []api.GroupView{
		{ID: "old", Name: "old", Target: "stopped", Managed: true, Orphan: true, Placed: nil,
			Resources: []api.ResourceView{{ID: "old-ip", Name: "old-ip", RunningOn: []string{"h2"}}}},
		{ID: "orphan/x", Name: "x", Target: "stopped", Managed: true, Orphan: true,
			Resources: []api.ResourceView{{ID: "x", Name: "x"}}},
		{ID: "web", Name: "web", Target: "started", Managed: true, Placed: []string{"h2"},
			Resources: []api.ResourceView{{ID: "web-ip", Name: "web-ip", RunningOn: []string{"h2"}}}},
	}})
	golden(t, "config-apply.txt", reportIDs.ReplaceAllString(b.String(), "rN-N"))
}
