package metrics

import (
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/live/daemon"
)

// fixed is a collector of one status, fence history and last rcs.
type fixed struct {
	v      api.StatusView
	fences map[[2]string]int
	rcs    map[rcKey]lastRC
}

func (f fixed) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(f, ch) }
func (f fixed) Collect(ch chan<- prometheus.Metric) { emitCluster(ch, f.v, f.fences, f.rcs) }

// scrape is the text a Prometheus scrape of c reads.
func scrape(t *testing.T, c prometheus.Collector) string {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	require.Equal(t, 200, rec.Code, "%s", body)
	return string(body)
}

// TestClusterMetrics: per resource its fail counts and the last rc of each
// action on each host (with the status that says whether the rc means
// anything), the moves and bans in force (a ban asked for twice is one
// series, counted twice, not a scrape error), and the fence history's
// counts by target and result.
func TestClusterMetrics(t *testing.T) {
	v := api.StatusView{Epoch: 3, Healthy: true,
		Hosts: []api.HostView{{Name: "h1", State: "online"}, {Name: "h2", State: "online", Standby: true}},
		Groups: []api.GroupView{{ID: "g", Managed: true, Resources: []api.ResourceView{{ID: "web",
			States: map[string]string{"h1": "running"}, FailCount: map[string]int{"h2": 2}}}}},
		Constraints: []api.ConstraintView{{Kind: "move", Group: "g", Host: "h1"}, {Kind: "ban", Group: "g", Host: "h2"}, {Kind: "ban", Group: "g", Host: "h2"}}}
	text := scrape(t, fixed{v: v,
		fences: map[[2]string]int{{"h3", "success"}: 2, {"h3", "failure"}: 1},
		rcs:    map[rcKey]lastRC{{"h1", "web", "monitor"}: {0, "done"}, {"h2", "web", "start"}: {1, "timeout"}}})
	for _, want := range []string{
		`ha_cluster_pacemaker_fail_count{node="h2",resource="web"} 2`,
		`basalt_resource_last_rc{action="monitor",node="h1",resource="web",status="done"} 0`,
		`basalt_resource_last_rc{action="start",node="h2",resource="web",status="timeout"} 1`,
		`basalt_constraints{group="g",kind="move",node="h1"} 1`,
		`basalt_constraints{group="g",kind="ban",node="h2"} 2`,
		`basalt_fence_operations{result="success",target="h3"} 2`,
		`basalt_fence_operations{result="failure",target="h3"} 1`,
		`ha_cluster_pacemaker_nodes{node="h2",status="standby"} 1`,
		`ha_cluster_pacemaker_resources{group="g",managed="true",node="h1",resource="web",status="running"} 1`,
	} {
		require.Contains(t, text, want+"\n")
	}
}

// standby is a replica standing by: no daemon, two elections won so far,
// and its lease's last renewal.
type standby struct{}

func (standby) Daemon() *daemon.ManagerDaemon         { return nil }
func (standby) Managers() []api.ManagerView           { return nil }
func (standby) Leaderships() uint64                   { return 2 }
func (standby) LeaseRenewal() (time.Duration, uint64) { return 40 * time.Millisecond, 3 }

// TestReplicaMetrics: a replica exports whether it leads, its takeovers,
// and its lease's renew latency and failed renewals, standing by too.
func TestReplicaMetrics(t *testing.T) {
	out := scrape(t, NewSourceMetrics(standby{}))
	require.Contains(t, out, "basalt_manager_leader 0\n")
	require.Contains(t, out, "basalt_manager_takeovers_total 2\n")
	require.Contains(t, out, "basalt_manager_lease_renew_seconds 0.04\n")
	require.Contains(t, out, "basalt_manager_lease_renew_failures_total 3\n")
}
