package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// basalt certs add after init (golden, with the temporary directories
// named DIR and EMPTY): the files it wrote, one a line, then each refusal
// with exit 1 and its reason (the host's files already there, no CA), and
// --force replacing the host's pair. No refusal writes a file.
func TestCertsAddGolden(t *testing.T) {
	dir, empty := t.TempDir(), t.TempDir()
	var b strings.Builder
	step := func(args ...string) {
		rc, out, errOut := runCLI(args...)
		fmt.Fprintf(&b, "$ basalt %s\nexit %d\n%s%s\n", strings.Join(args, " "), rc, out, errOut)
	}
	rc, _, errOut := runCLI("certs", "init", "--dir", dir, "--hosts", "h1,h2,h3")
	require.Equal(t, 0, rc, errOut)
	before := dirNames(t, dir)

	step("certs", "add", "--dir", dir, "--hosts", "h4,h5")
	added := dirNames(t, dir)
	require.Equal(t, len(before)+4, len(added), "two pairs written")
	step("certs", "add", "--dir", dir, "--hosts", "h6,h4")
	step("certs", "add", "--dir", dir, "--hosts", "h6,manager-key")
	step("certs", "add", "--dir", empty, "--hosts", "h4")
	require.Equal(t, added, dirNames(t, dir), "no refusal wrote a file")
	require.Empty(t, dirNames(t, empty))
	step("certs", "add", "--dir", dir, "--hosts", "h4", "--force")

	text := strings.ReplaceAll(strings.ReplaceAll(b.String(), dir, "DIR"), empty, "EMPTY")
	golden(t, "certs-add.txt", text)
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := []string{}
	for _, e := range entries {
		names = append(names, filepath.Join(dir, e.Name()))
	}
	return names
}
