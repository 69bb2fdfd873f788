package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/agents"
)

func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	rc := run(args, &out, &errOut)
	return rc, out.String(), errOut.String()
}

func TestRunOpThroughTheLRM(t *testing.T) {
	root, err := agents.OCFRoot()
	require.NoError(t, err)
	state := filepath.Join(t.TempDir(), "demo.state")
	base := []string{"run-op", "--ocf-root", root, "--agent", "ocf:basalt:statefile", "--param", "state=" + state}

	rc, out, errOut := runCLI(append(base, "--action", "monitor")...)
	require.Equal(t, 7, rc, errOut)
	require.Contains(t, out, "OCF_NOT_RUNNING (rc 7), status done, outcome stopped")

	rc, out, _ = runCLI(append(base, "--action", "start")...)
	require.Equal(t, 0, rc)
	require.Contains(t, out, "ocf:basalt:statefile start on run-op: OCF_SUCCESS")
	require.FileExists(t, state)

	rc, out, _ = runCLI(append(base, "--action", "monitor", "--depth", "10", "-o", "json")...)
	require.Equal(t, 0, rc)
	var res runOpOutput
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, "OCF_SUCCESS", res.RCName)
	require.Equal(t, 10, res.Depth)
	require.Equal(t, "done", res.Status)

	require.NoError(t, writeFile(state+".fail-stop", "1"))
	rc, out, _ = runCLI(append(base, "--action", "stop")...)
	require.Equal(t, 1, rc)
	require.Contains(t, out, "exit reason: injected stop failure")
}

func TestRunOpTimeout(t *testing.T) {
	root, err := agents.OCFRoot()
	require.NoError(t, err)
	state := filepath.Join(t.TempDir(), "hang.state")
	require.NoError(t, writeFile(state+".hang-start", ""))
	rc, out, _ := runCLI("run-op", "--ocf-root", root, "--agent", "ocf:basalt:statefile", "--param", "state="+state,
		"--action", "start", "--timeout", "300ms")
	require.Equal(t, 1, rc)
	require.Contains(t, out, "status timeout")
	require.Contains(t, out, "timed out after 300ms")
}

func TestRunOpBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run-op", "--action", "start"}, "--agent and --action are required"},
		{[]string{"run-op", "--agent", "ocf:../x:y", "--action", "start"}, `provider "../x" is not a plain name`},
		{[]string{"run-op", "--agent", "ocf:heartbeat:Dummy", "--action", "explode"}, `"explode" is not an OCF action`},
		{[]string{"run-op", "--agent", "ocf:heartbeat:Dummy", "--action", "start", "--param", "novalue"}, `--param "novalue": want name=value`},
		{[]string{"run-op", "--agent", "ocf:heartbeat:Dummy", "--action", "start", "--param", "a-b=1"}, `parameter name "a-b"`},
		{[]string{"run-op", "--agent", "ocf:heartbeat:Dummy", "--action", "start", "-o", "yaml"}, `--output "yaml"`},
		{[]string{"bogus"}, `unknown subcommand "bogus"`},
	} {
		rc, _, errOut := runCLI(tc.args...)
		require.Equal(t, 2, rc, "%v", tc.args)
		require.Contains(t, errOut, tc.want, "%v", tc.args)
	}
}

func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o644)
}

// TestRunOpRelativeOCFRoot: the README's `--ocf-root agents/ocf` was
// refused as relative; it means the current directory's agents/ocf.
func TestRunOpRelativeOCFRoot(t *testing.T) {
	root, err := agents.OCFRoot()
	require.NoError(t, err)
	wd, err := os.Getwd()
	require.NoError(t, err)
	rel, err := filepath.Rel(wd, root)
	require.NoError(t, err)
	require.False(t, filepath.IsAbs(rel))
	state := filepath.Join(t.TempDir(), "demo.state")
	rc, out, errOut := runCLI("run-op", "--ocf-root", rel, "--agent", "ocf:basalt:statefile", "--param", "state="+state, "--action", "monitor")
	require.Equal(t, 7, rc, errOut)
	require.Contains(t, out, "OCF_NOT_RUNNING (rc 7)")
}

// TestRunOpUnknownFlagSaysSo: before, run-op --bogus exited 2 silently.
func TestRunOpUnknownFlagSaysSo(t *testing.T) {
	rc, out, errOut := runCLI("run-op", "--bogus")
	require.Equal(t, 2, rc)
	require.Empty(t, out)
	require.Contains(t, errOut, "basalt-agent run-op: unknown flag: --bogus")
	require.Contains(t, errOut, "--help")
}

// An agent that fails saying why only on stderr: run-op shows that line as
// the exit reason, marked as stderr.
func TestRunOpShowsStderrOfAFailureWithoutExitReason(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "resource.d", "test")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "grumble"),
		[]byte("#!/bin/sh\necho \"grumble: mkfs.xfs: command not found\" >&2\nexit 1\n"), 0o755))
	rc, out, errOut := runCLI("run-op", "--ocf-root", root, "--agent", "ocf:test:grumble", "--action", "start")
	require.Equal(t, 1, rc, errOut)
	require.Contains(t, out, "exit reason: stderr: grumble: mkfs.xfs: command not found")
}
