package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestServeHelpListsOpHistory(t *testing.T) {
	rc, _, errOut := runCLI("serve", "--help")
	require.Equal(t, 0, rc)
	require.Contains(t, errOut, "--op-history")
}

func TestServeRefusesAnOpHistoryItCannotOpen(t *testing.T) {
	dir := t.TempDir()
	rc, _, errOut := runCLI("serve", "--host", "h1", "--listen", "127.0.0.1:0", "--insecure-dev",
		"--state-dir", filepath.Join(dir, "state"), "--op-history", filepath.Join(dir, "missing", "ops.jsonl"))
	require.Equal(t, 1, rc)
	require.Contains(t, errOut, "--op-history")
	require.Contains(t, errOut, "no such file or directory")
}
