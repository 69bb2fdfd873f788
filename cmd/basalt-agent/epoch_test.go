package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/live/store"
)

// basalt-agent epoch --reset repairs a poisoned record (2^64-1, stored
// before agents refused impossible epochs); --show says it is poisoned.
func TestAgentEpochResetsAPoisonedRecord(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, agent.EpochRecord), []byte("18446744073709551615"), 0o600))
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"epoch", "--state-dir", dir, "--show"}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "poisoned")

	out.Reset()
	require.Equal(t, 0, run([]string{"epoch", "--state-dir", dir, "--reset", "7"}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "epoch 7 stored (was 18446744073709551615")
	data, err := os.ReadFile(filepath.Join(dir, agent.EpochRecord))
	require.NoError(t, err)
	require.Equal(t, "7", strings.TrimSpace(string(data)))
}

// Every mistake prints a message, and a running agent (its state
// directory's lock) is refused.
func TestAgentEpochMistakes(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"--state-dir", dir}, 2, "exactly one of"},
		{[]string{"--state-dir", dir, "--show", "--reset", "1"}, 2, "exactly one of"},
		{[]string{"--state-dir", dir, "--reset", "-1"}, 2, "want a non-negative integer"},
		{[]string{"--state-dir", dir, "--reset", "4611686018427387905"}, 2, "above the ceiling"},
		{[]string{"--state-dir", dir, "--show", "x"}, 2, `unexpected argument "x"`},
		{[]string{"--nope"}, 2, "unknown flag"},
		{[]string{"--state-dir", filepath.Join(dir, "absent"), "--show"}, 1, "not a state directory"},
	} {
		var out, errOut bytes.Buffer
		rc := run(append([]string{"epoch"}, c.args...), &out, &errOut)
		require.Equal(t, c.rc, rc, c.args)
		require.Contains(t, errOut.String(), c.want, c.args)
	}
	held, err := store.OpenDir(dir)
	require.NoError(t, err)
	defer held.Close()
	var out, errOut bytes.Buffer
	require.Equal(t, 1, run([]string{"epoch", "--state-dir", dir, "--reset", "3"}, &out, &errOut))
	require.Contains(t, errOut.String(), "stop the agent first")
}
