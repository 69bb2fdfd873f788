package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/live/daemon/daemontest"
)

// TestHangupAppliesTheFileAgain: SIGHUP to a running manager applies its
// --config file again, as basalt config apply does: an invalid file is
// refused (logged, the version stays), an unchanged one does nothing, a
// changed one is the next version.
func TestHangupAppliesTheFileAgain(t *testing.T) {
	dir := t.TempDir()
	orig, err := os.ReadFile(filepath.Join("..", "..", "testdata", "configs", "failover-pair.yaml"))
	require.NoError(t, err)
	cfg := filepath.Join(dir, "cluster.yaml")
	require.NoError(t, os.WriteFile(cfg, orig, 0o644))
	sock := filepath.Join(dir, "m.sock")
	stop, done := make(chan struct{}), make(chan int, 1)
	var errOut daemontest.Buffer
	go func() {
		done <- run([]string{"--config", cfg, "--state-dir", filepath.Join(dir, "state"), "--insecure-dev", "--socket", sock}, &errOut, stop)
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	c := api.NewClient(sock)
	// The socket exists once SIGHUP is handled (serveManager).
	version := func() int {
		v, err := c.Config()
		if err != nil {
			return -1
		}
		return v.Version
	}
	awaitLog := func(what string, n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(errOut.String(), what) < n {
			require.True(t, time.Now().Before(deadline), "no %q (%d) in the log within 10 s:\n%s", what, n, errOut.String())
			time.Sleep(10 * time.Millisecond) // poll interval
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for version() != 0 {
		require.True(t, time.Now().Before(deadline), "the manager did not serve within 10 s:\n%s", errOut.String())
		time.Sleep(10 * time.Millisecond) // poll interval
	}
	hup := func() { require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP)) }

	hup()
	awaitLog("the configuration file is unchanged", 1)
	require.Equal(t, 0, version())

	require.NoError(t, os.WriteFile(cfg, []byte(strings.Replace(string(orig), "  name: oss-pair\n", "  name: oss-pair\n  colour: blue\n", 1)), 0o644))
	hup()
	awaitLog("configuration refused; the running one stays", 1)
	require.Contains(t, errOut.String(), "colour")
	require.Equal(t, 0, version())

	next := strings.Replace(string(orig), "name: Lustre OST0001 mount", "name: Lustre OST0001", 1)
	require.NoError(t, os.WriteFile(cfg, []byte(next), 0o644))
	hup()
	awaitLog("SIGHUP: configuration applied", 1)
	v, err := c.Config()
	require.NoError(t, err)
	require.Equal(t, api.ConfigView{Version: 1, Text: next}, v)
	evs, err := c.Events(0, 0)
	require.NoError(t, err)
	var applied bytes.Buffer
	for _, e := range evs {
		if e.Kind == "config-applied" {
			applied.WriteString(e.Message + "\n")
		}
	}
	require.Equal(t, "~ resource ost1\n", applied.String())
}
