package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/internal/etcdtest"
	"github.com/basalt-ha/basalt/live/store"
)

func runEpoch(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	rc := epochCmd(args, &out, &errOut)
	return rc, out.String(), errOut.String()
}

// basalt-manager epoch --set moves a manager above the agents' epoch, and
// --show reads it back; epochs only grow and stay under the ceiling.
func TestManagerEpochSetAndShow(t *testing.T) {
	dir := t.TempDir()
	rc, out, _ := runEpoch("--state-dir", dir, "--show")
	require.Equal(t, 0, rc)
	require.Contains(t, out, "no epoch record")

	rc, out, _ = runEpoch("--state-dir", dir, "--set", "9")
	require.Equal(t, 0, rc)
	require.Contains(t, out, "epoch 9 recorded (the next start takes 10)")
	data, err := os.ReadFile(filepath.Join(dir, manager.EpochRecord))
	require.NoError(t, err)
	require.Equal(t, "9", strings.TrimSpace(string(data)))

	rc, out, _ = runEpoch("--state-dir", dir, "--show")
	require.Equal(t, 0, rc)
	require.Contains(t, out, "epoch 9 (the next start takes 10)")

	rc, _, errOut := runEpoch("--state-dir", dir, "--set", "3")
	require.Equal(t, 1, rc)
	require.Contains(t, errOut, "epochs only grow")
	rc, _, errOut = runEpoch("--state-dir", dir, "--set", "4611686018427387904")
	require.Equal(t, 1, rc)
	require.Contains(t, errOut, "ceiling")
}

// --new-log starts a lost event log on purpose, and never replaces one.
func TestManagerEpochNewLog(t *testing.T) {
	dir := t.TempDir()
	rc, out, _ := runEpoch("--state-dir", dir, "--new-log")
	require.Equal(t, 0, rc, out)
	rc, _, errOut := runEpoch("--state-dir", dir, "--new-log")
	require.Equal(t, 1, rc)
	require.Contains(t, errOut, "not replaced")
}

// Every mistake prints a message; a running manager (its lock) is refused.
func TestManagerEpochMistakes(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"--state-dir", dir}, 2, "exactly one of"},
		{[]string{"--state-dir", dir, "--show", "--set", "3"}, 2, "exactly one of"},
		{[]string{"--state-dir", dir, "--set", "x"}, 2, `--set "x": want a non-negative integer`},
		{[]string{"--state-dir", dir, "--show", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--bogus"}, 2, "unknown flag"},
		{[]string{"--state-dir", filepath.Join(dir, "absent"), "--show"}, 1, "not a state directory"},
	} {
		rc, _, errOut := runEpoch(c.args...)
		require.Equal(t, c.rc, rc, c.args)
		require.Contains(t, errOut, c.want, c.args)
		require.True(t, strings.HasPrefix(errOut, "basalt-manager epoch: "), errOut)
	}
	held, err := store.OpenDir(dir)
	require.NoError(t, err)
	defer held.Close()
	rc, _, errOut := runEpoch("--state-dir", dir, "--set", "5")
	require.Equal(t, 1, rc)
	require.Contains(t, errOut, "stop the manager first")
}

// The subcommand is reached through the daemon's own argument parsing.
func TestManagerEpochThroughRun(t *testing.T) {
	var errOut bytes.Buffer
	require.Equal(t, 2, run([]string{"epoch", "--state-dir", t.TempDir()}, &errOut, nil))
	require.Contains(t, errOut.String(), "exactly one of")
}

// A state directory whose epoch record was deleted beside its event log
// refuses to start, with the recovery command ready to run.
func TestRefusesAnEventLogWithoutEpochRecord(t *testing.T) {
	dir := t.TempDir()
	rc, _, errOut := runEpoch("--state-dir", dir, "--new-log")
	require.Equal(t, 0, rc, errOut)
	cfg := filepath.Join("..", "..", "testdata", "configs", "failover-pair.yaml")
	var out bytes.Buffer
	rc = run([]string{"--config", cfg, "--state-dir", dir, "--insecure-dev", "--socket", filepath.Join(dir, "s.sock")}, &out, nil)
	require.Equal(t, 1, rc)
	require.Contains(t, out.String(), `epoch record "manager-epoch" is missing`)
	require.Contains(t, out.String(), "basalt-manager epoch --state-dir "+dir+" --set N")
}

// With --etcd the epoch commands act on the replicas' state in etcd, and
// refuse to write while a replica campaigns.
func TestEpochOnEtcd(t *testing.T) {
	cli := etcdtest.Start(t)
	at := []string{"--etcd", strings.Join(cli.Endpoints(), ","), "--etcd-prefix", "/basalt/mig"}
	epoch := func(args ...string) (int, string, string) { return runEpoch(append(slices.Clone(at), args...)...) }
	rc, out, _ := epoch("--show")
	require.Equal(t, 0, rc)
	require.Contains(t, out, "no epoch record")
	rc, out, errOut := epoch("--set", "9")
	require.Equal(t, 0, rc, errOut)
	require.Contains(t, out, "epoch 9 recorded")
	rc, out, _ = epoch("--show")
	require.Equal(t, 0, rc)
	require.Contains(t, out, "epoch 9")

	// A replica campaigns: no write.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := cli.Put(ctx, "/basalt/mig/election/1234", "m1")
	require.NoError(t, err)
	rc, _, errOut = epoch("--set", "12")
	require.Equal(t, 1, rc)
	require.Contains(t, errOut, "stop every replica first")
	rc, out, _ = epoch("--show")
	require.Equal(t, 0, rc)
	require.Contains(t, out, "epoch 9")

	rc, _, errOut = epoch("--show", "--state-dir", t.TempDir())
	require.Equal(t, 2, rc)
	require.Contains(t, errOut, "--state-dir and --etcd")
}
