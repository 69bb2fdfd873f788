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
		{Name: "m1", Epoch: 61, LeaseLeft: "5s", Self: true, Following: 418},
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

// resource why, as crm_simulate -s shows allocation scores but with each
// term in words: before, it printed the planner's raw totals
// ("score 110997000 (domain priority 3, ...)") with no value per part.
func TestResourceWhyScores(t *testing.T) {
	v := api.WhyView{Group: "web", Placed: []string{"h2"}, Scores: []api.HostScore{
		{Host: "h1", Allowed: true, Total: 10_999_150, Parts: []api.ScorePart{
			{What: "preference of the failover domain: priority 1 (1000000, less 1000 per priority step)", Value: 999_000},
			{What: "runs here and failback is off: it stays where it runs", Value: 10_000_000},
			{What: "stickiness: it runs here, healthy", Value: 150},
			{What: "fail count of ip here: 1 of the migration threshold 3: no penalty until it is reached, then the host is banned"}}},
		{Host: "h2", Allowed: true, Chosen: true, Total: 100_998_000, Parts: []api.ScorePart{
			{What: "preference of the failover domain: priority 2 (1000000, less 1000 per priority step)", Value: 998_000},
			{What: "move requested by an administrator: it prefers this host (basalt resource clear lifts it)", Value: 100_000_000}}},
		{Host: "h3", Parts: []api.ScorePart{{What: "ban: banned by an administrator (basalt resource clear web lifts it)", NotAllowed: true}}},
		{Host: "h4", Parts: []api.ScorePart{{What: "standby: host in standby", NotAllowed: true}}},
	}}
	var b bytes.Buffer
	printWhy(&b, v)
	b.WriteString("----\n")
	printWhy(&b, api.WhyView{Group: "db", Note: "waiting for probes"})
	golden(t, "resource-why.txt", b.String())
}
