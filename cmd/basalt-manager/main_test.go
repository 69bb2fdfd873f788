package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRefusesAnInvalidConfigurationListingEveryError(t *testing.T) {
	cfg := filepath.Join("..", "..", "testdata", "configs", "broken", "many.yaml")
	var errOut bytes.Buffer
	rc := run([]string{"--config", cfg, "--state-dir", t.TempDir()}, &errOut, nil)
	require.Equal(t, 1, rc)
	require.Contains(t, errOut.String(), "refusing to start on an invalid configuration")
	want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "configs", "broken", "many.err"))
	require.NoError(t, err)
	require.Equal(t, strings.Count(string(want), "\n"), strings.Count(errOut.String(), "many.yaml:"), "every error listed")
}

func TestBadFlags(t *testing.T) {
	for args, want := range map[string]string{
		"--log-format xml":  `--log-format "xml"`,
		"--log-level loud":  `--log-level "loud"`,
		"--socket-mode 777": "--socket-mode 777",
	} {
		var errOut bytes.Buffer
		rc := run(strings.Fields(args), &errOut, nil)
		require.Equal(t, 2, rc, args)
		require.Contains(t, errOut.String(), want, args)
	}
}

func TestStartsAndStopsWithoutTouchingResources(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join("..", "..", "testdata", "configs", "failover-pair.yaml")
	stop := make(chan struct{})
	close(stop) // stop at once: start-up must succeed and shut down cleanly
	var errOut bytes.Buffer
	rc := run([]string{"--config", cfg, "--state-dir", filepath.Join(dir, "state"), "--insecure-dev",
		"--socket", filepath.Join(dir, "m.sock")}, &errOut, stop)
	require.Equal(t, 0, rc, errOut.String())
	require.Contains(t, errOut.String(), "manager started")
	data, err := os.ReadFile(filepath.Join(dir, "state", "manager-epoch"))
	require.NoError(t, err)
	require.Equal(t, "1", string(data), "the epoch was persisted")
	require.NoFileExists(t, filepath.Join(dir, "m.sock"), "the socket is removed on exit")
	require.NotContains(t, errOut.String(), "configuration warning")
}

// TestLogsConfigurationWarnings: a risky but valid configuration starts, and
// its warnings are in the log where an administrator looks first.
func TestLogsConfigurationWarnings(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join("..", "..", "testdata", "configs", "warnings", "lab-pair.yaml")
	stop := make(chan struct{})
	close(stop)
	var errOut bytes.Buffer
	rc := run([]string{"--config", cfg, "--state-dir", filepath.Join(dir, "state"), "--insecure-dev",
		"--socket", filepath.Join(dir, "m.sock")}, &errOut, stop)
	require.Equal(t, 0, rc, errOut.String())
	require.Equal(t, 3, strings.Count(errOut.String(), "configuration warning"), errOut.String())
	require.Contains(t, errOut.String(), "lab-pair.yaml:8: warning: cluster.fencing: fencing is off")
}
