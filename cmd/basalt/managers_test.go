package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// Failed resource actions, as crm_mon shows them: the agent's words, the
// count and when; hard failures say the host is banned.
func TestStatusFailedActions(t *testing.T) {
	last := time.Date(2026, 12, 2, 7, 30, 0, 0, time.UTC)
	v := api.StatusView{Cluster: "prod", Epoch: 3, Groups: []api.GroupView{{ID: "g", Name: "web", Managed: true, Placed: []string{"h2"},
		Resources: []api.ResourceView{{ID: "ip", Name: "address", RunningOn: []string{"h2"}, FailCount: map[string]int{"h1": 1},
			Failures: []api.FailedAction{{Host: "h1", Count: 1, Hard: true, Op: "start", Last: last,
				What: "start_0: done OCF_ERR_INSTALLED (rc 5): fork/exec /usr/lib/ocf/resource.d/heartbeat/IPaddr3: no such file or directory"}}},
			{ID: "web", Name: "server", Depth: 1, RunningOn: []string{"h2"}, FailCount: map[string]int{"h2": 2},
				Failures: []api.FailedAction{{Host: "h2", Count: 2, Op: "monitor", Last: last}}}}}}}
	var b bytes.Buffer
	printStatus(&b, v)
	golden(t, "status-failed-actions.txt", b.String())
}

// Constraints, as crm_mon lists location constraints: each move and ban
// with its lifetime and the request that set it (its report, and the
// request as typed while the manager still holds the report); standby
// and maintenance show beside their host and in the title.
func TestStatusConstraints(t *testing.T) {
	until := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	v := api.StatusView{Cluster: "prod", Epoch: 4, Maintenance: true,
		Hosts: []api.HostView{{Name: "h1", State: "online", Standby: true}, {Name: "h2", State: "online"}},
		Groups: []api.GroupView{{ID: "g", Name: "web", Managed: true, Placed: []string{"h2"},
			Resources: []api.ResourceView{{ID: "ip", Name: "address", RunningOn: []string{"h2"}}}}},
		Constraints: []api.ConstraintView{
			{Kind: "move", Group: "g", Host: "h2", Until: until, By: "r4-2", Request: "move g h2 for 1h0m0s"},
			{Kind: "ban", Group: "g", Host: "h1", By: "r3-7"},
			{Kind: "ban", Group: "g", Host: "h3"}}}
	var b bytes.Buffer
	printStatus(&b, v)
	golden(t, "status-constraints.txt", b.String())
}
