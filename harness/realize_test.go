package harness

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/stretchr/testify/require"
)

func TestRealizeKeepsStructureAndScalesTime(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "testdata", "configs", "three-host-domain.yaml"))
	require.NoError(t, err)
	orig, err := model.Load("trio", src)
	require.NoError(t, err)
	addrs := map[string]string{"a": "127.0.0.2:4001", "b": "127.0.0.3:4002", "c": "127.0.0.4:4003"}
	out, m, err := Realize("trio", src, Realization{Scale: 0.2, Addrs: addrs, OCFRoot: "/x/ocf", HostsDir: "/x/hosts", FaultsDir: "/x/faults"})
	require.NoError(t, err, string(out))

	// Decisions are made on the same structure.
	require.Equal(t, orig.HostNames(), m.HostNames())
	require.Equal(t, orig.FencingLevels("c"), m.FencingLevels("c"))
	g, _ := m.Group("service")
	og, _ := orig.Group("service")
	require.Equal(t, og.StartOrder(), g.StartOrder())
	require.Equal(t, og.Placement.MigrationThreshold, g.Placement.MigrationThreshold)
	for _, h := range m.Hosts {
		require.Equal(t, addrs[h.Name], h.Address)
	}
	// Agents and devices are the test ones.
	for _, r := range m.Resources {
		require.Equal(t, "ocf:basalt:statefile", r.Agent.String(), r.ID)
		require.Empty(t, r.Params, "the state file defaults to the host's runtime directory")
	}
	pdu, _ := m.Device("pdu1")
	require.Equal(t, "fence_basalt_pid", pdu.Agent)
	require.Equal(t, map[string]string{"a": "a", "b": "b", "c": "c"}, pdu.Plugs)
	require.Equal(t, "/x/faults/pdu1", pdu.Params["fault_file"])
	// Durations are scaled, with floors for what real processes need.
	require.Equal(t, 400*time.Millisecond, m.Cluster.HeartbeatInterval)
	require.Equal(t, 2*time.Second, m.Cluster.DeadTimeout, "10s × 0.2 is the floor")
	require.Equal(t, time.Minute, g.Placement.FailureTimeout)
	require.Equal(t, "/x/ocf", m.Cluster.OCFRoot)
}

func TestRealizeRejectsBadInput(t *testing.T) {
	_, _, err := Realize("x", []byte("cluster: {name: x}\n"), Realization{Scale: 2})
	require.ErrorContains(t, err, "scale 2")
	_, _, err = Realize("x", []byte("hosts: [{name: a}]\n"), Realization{Scale: 1})
	require.ErrorContains(t, err, "no cluster section")
	_, _, err = Realize("x", []byte("cluster: {name: x}\nhosts: [{name: a, address: '127.0.0.1:1'}]\n"), Realization{Scale: 1})
	require.ErrorContains(t, err, `hosts[0] "a" has no address`)
}

// TestRealizePromotableScores: a promotable clone's resource gets the
// statefile agent's promotion scores, one per instance (host place), the
// simulator's on a first boot, so that both worlds promote alike; an
// anonymous clone's gets none.
func TestRealizePromotableScores(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "testdata", "configs", "clones.yaml"))
	require.NoError(t, err)
	addrs := map[string]string{"n1": "127.0.0.2:1", "n2": "127.0.0.3:2", "n3": "127.0.0.4:3"}
	out, m, err := Realize("clones", src, Realization{Scale: 0.2, Addrs: addrs, OCFRoot: "/x/ocf", HostsDir: "/x/hosts", FaultsDir: "/x/faults"})
	require.NoError(t, err, string(out))
	db, _ := m.Resource("db")
	require.Equal(t, map[string]string{"promotion_score": "20 30 10"}, db.Params)
	mon, _ := m.Resource("mon")
	require.Empty(t, mon.Params)
}
