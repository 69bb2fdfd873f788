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

// The flags of manager high availability are refused where they would be
// ignored or contradict each other, each with a message.
func TestHighAvailabilityFlags(t *testing.T) {
	cfg := filepath.Join("..", "..", "testdata", "configs", "failover-pair.yaml")
	etcd := "--etcd=http://127.0.0.1:1"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", "m1"}, "--name is for manager high availability: give --etcd too"},
		{[]string{"--lease-ttl", "3s"}, "--lease-ttl is for manager high availability"},
		{[]string{etcd, "--state-dir", t.TempDir()}, "--state-dir and --etcd"},
		{[]string{etcd, "--name", " "}, "--name: with --etcd every manager needs a name"},
		{[]string{etcd, "--name", "m1", "--etcd-cert", "c.pem"}, "--etcd-cert and --etcd-key go together"},
	} {
		var errOut bytes.Buffer
		rc := run(append([]string{"--config", cfg}, c.args...), &errOut, nil)
		require.Equal(t, 2, rc, "%v", c.args)
		require.Contains(t, errOut.String(), c.want, "%v", c.args)
	}
}
