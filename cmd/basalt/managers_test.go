package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/live/api"
)

// golden compares got with testdata/name (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), got)
}

// The status of manager replicas: the leader's lists every replica with
// its role and lease, a standby's says who leads and that it does not act.
func TestStatusOfReplicas(t *testing.T) {
	ms := []api.ManagerView{
		{Name: "m2", Leader: true, Epoch: 57, LeaseLeft: "4s"},
		{Name: "m1", Epoch: 61, LeaseLeft: "5s", Self: true},
		{Name: "m3"},
	}
	var b bytes.Buffer
	printStatus(&b, api.StatusView{Cluster: "prod", Epoch: 57, Healthy: true, Role: api.RoleLeader, Managers: ms})
	b.WriteString("----\n")
	printStatus(&b, api.StatusView{Role: api.RoleStandby, Managers: ms,
		Problems: []string{"this manager stands by: m2 leads (epoch 57); ask it, or list every manager's socket in --socket"}})
	golden(t, "status-replicas.txt", b.String())
}
