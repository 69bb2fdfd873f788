package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
)

// TestGenerateWritesAClusterRunTakes: the generated file loads as the
// size asked, --large makes it a large cluster's, and basalt-sim run takes
// it with --config.
func TestGenerateWritesAClusterRunTakes(t *testing.T) {
	rc, out, errOut := cli("generate", "--hosts", "5", "--resources", "8")
	require.Equal(t, 0, rc, errOut)
	m, err := model.Load("out.yaml", []byte(out))
	require.NoError(t, err)
	require.Len(t, m.Hosts, 5)
	require.Len(t, m.Resources, 8)
	require.Len(t, m.Groups, 3, "groups of three, the last of two")
	require.Equal(t, model.DiscoveryAlways, m.Groups[0].Placement.Discovery)
	require.Len(t, m.DeviceCheckers("pdu"), 5)

	path := filepath.Join(t.TempDir(), "large.yaml")
	rc, _, errOut = cli("generate", "--hosts", "6", "--resources", "9", "--large", "--out", path)
	require.Equal(t, 0, rc, errOut)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	m, err = model.Load(path, data)
	require.NoError(t, err)
	require.Equal(t, model.DiscoveryExclusive, m.Groups[1].Placement.Discovery)
	require.Equal(t, []string{"h2", "h3"}, m.DiscoveryHosts("r3"))
	require.Len(t, m.DeviceCheckers("pid-h1"), 3)

	rc, out, errOut = cli("run", "--seeds", "1-2", "--config", path, "--chaos", "20s", "--heal", "2m")
	require.Equal(t, 0, rc, out+errOut)
	require.Contains(t, out, "violations               0")
}

// TestGenerateMistakes: each mistake names what is wrong, exit 2.
func TestGenerateMistakes(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--resources", "3"}, "missing --hosts"},
		{[]string{"--hosts", "3"}, "missing --resources"},
		{[]string{"--hosts", "0", "--resources", "3"}, "--hosts: 0 is outside 1..62500"},
		{[]string{"--hosts", "2", "--resources", "2000000"}, "--resources: 2000000 is outside 1..1000000"},
		{[]string{"--hosts", "2", "--resources", "3", "extra"}, `unexpected argument "extra"`},
		{[]string{"--hosts", "two", "--resources", "3"}, `invalid argument "two"`},
	} {
		rc, out, errOut := cli(append([]string{"generate"}, c.args...)...)
		require.Equal(t, 2, rc, c.args)
		require.Empty(t, out)
		require.Contains(t, errOut, "basalt-sim generate: "+c.want, c.args)
	}
	rc, _, errOut := cli("generate", "--hosts", "2", "--resources", "3", "--out", filepath.Join(t.TempDir(), "no", "such", "dir.yaml"))
	require.Equal(t, 2, rc)
	require.Contains(t, errOut, "no such file or directory")
}
