package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ (.err of validate, status-*.txt)")

func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	rc := run(args, &out, &errOut)
	return rc, out.String(), errOut.String()
}

// noAgents is the flag of tests about the file alone: the agents their
// files name need not be installed where the tests run.
const noAgents = "--no-agents"

// TestValidateExamples: the examples load. Their agents are not all on a
// test machine (three-host-domain's are Debian's); TestValidateRealTestAgents
// checks failover-pair's, which the repository holds.
func TestValidateExamples(t *testing.T) {
	for _, f := range []string{"failover-pair.yaml", "three-host-domain.yaml"} {
		rc, out, errOut := runCLI("validate", noAgents, "--config", filepath.Join("..", "..", "testdata", "configs", f))
		require.Equal(t, 0, rc, "%s: %s%s", f, out, errOut)
		require.Contains(t, out, f+": valid")
		require.Contains(t, out, "groups:")
		require.NotContains(t, out, "warning", "the examples are what we recommend")
	}
}

// TestValidateWarnings: a file that is valid but risky exits 0, with each
// warning after the summary, naming its line and key.
func TestValidateWarnings(t *testing.T) {
	f := filepath.Join("..", "..", "testdata", "configs", "warnings", "lab-pair.yaml")
	rc, out, errOut := runCLI("validate", noAgents, "--config", f)
	require.Equal(t, 0, rc, out+errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, f+": valid", lines[0])
	require.Equal(t, []string{
		f + ":7: warning: cluster.dead-timeout: 5s is less than three heartbeats of 2s: one late heartbeat gets a healthy host declared lost",
		f + ":8: warning: cluster.fencing: fencing is off: the groups of a host that is lost stay down until it comes back (only for test clusters)",
		f + `:18: warning: groups[0].placement.domain: the group may run only on host "a": it cannot fail over (add hosts to the domain, or set restricted: false)`,
	}, lines[len(lines)-3:])
	require.Equal(t, 3, strings.Count(out, "warning:"))
}

// TestValidateBrokenConfigs runs validate on every broken example and
// compares its output with the golden .err file next to it.
func TestValidateBrokenConfigs(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "configs", "broken")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 10)
	lineRef := regexp.MustCompile(`^[^:]+\.yaml:[1-9][0-9]*: `)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			// The golden text names files relative to the repository.
			rel := filepath.ToSlash(filepath.Join("testdata", "configs", "broken", filepath.Base(f)))
			rc, out, _ := runCLI("validate", "--config", f)
			require.Equal(t, 1, rc)
			out = strings.ReplaceAll(out, filepath.ToSlash(f), rel)
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				require.Regexp(t, lineRef, line, "every error names its file and line")
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".err"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(out), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "missing golden file (run go test ./cmd/basalt -update)")
			require.Equal(t, string(want), out)
		})
	}
}

func TestValidateUsage(t *testing.T) {
	rc, _, errOut := runCLI("validate")
	require.Equal(t, 2, rc)
	require.Contains(t, errOut, "--config FILE is required")
	rc, _, errOut = runCLI("frobnicate")
	require.Equal(t, 2, rc)
	require.Contains(t, errOut, `unknown subcommand "frobnicate"`)
	rc, out, _ := runCLI("validate", "--config", filepath.Join(t.TempDir(), "absent.yaml"))
	require.Equal(t, 1, rc)
	require.Contains(t, out, "absent.yaml: cannot read: no such file or directory")
}

// TestValidateUsageErrorsAreOneLine: a mistake is one line and the hint
// to --help, not pflag's whole flag list.
func TestValidateUsageErrorsAreOneLine(t *testing.T) {
	rc, out, errOut := runCLI("validate", "--frobnicate")
	require.Equal(t, 2, rc)
	require.Empty(t, out)
	require.Equal(t, "basalt validate: unknown flag: --frobnicate\nRun 'basalt validate --help' for usage.\n", errOut)

	rc, out, errOut = runCLI("validate", "--help")
	require.Equal(t, 0, rc)
	require.Empty(t, errOut)
	require.Contains(t, out, "usage: basalt validate --config FILE")
	require.Contains(t, out, "--config")
}

// TestValidateSeveralFiles checks that every file is validated, the exit
// code reflects any failure, and an unreadable file is one line naming it.
func TestValidateSeveralFiles(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("hosts: []\nclutser: {}\n"), 0o644))
	good := filepath.Join("..", "..", "testdata", "configs", "failover-pair.yaml")

	rc, out, errOut := runCLI("validate", noAgents, "--config", good, "-c", bad, "--config", dir)
	require.Equal(t, 1, rc)
	require.Empty(t, errOut)
	require.Contains(t, out, good+": valid\n")
	require.Contains(t, out, bad+":1: hosts: at least one host is required\n")
	require.Contains(t, out, bad+":2: clutser: unknown key")
	require.Contains(t, out, dir+": cannot read: is a directory\n")

	rc, out, _ = runCLI("validate", noAgents, "--config", good, "--config", good)
	require.Equal(t, 0, rc)
	require.Equal(t, 2, strings.Count(out, ": valid\n"))
}
