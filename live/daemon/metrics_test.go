package daemon_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/live/daemon"
	"github.com/basalt-ha/basalt/live/metrics"
)

// The metrics test lives here, outside package daemon, because package
// metrics imports the daemon; it borrows the in-process cluster through
// export_test.go.
func TestLiveClusterMetrics(t *testing.T) {
	lc := daemon.NewLiveCluster(t, []string{"h1", "h2"})
	srv, addr, err := metrics.ServeMetrics(metrics.NewMetrics(lc.Manager()), "127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Close()
	lc.Await("group running on h1", func() bool { return lc.Running("h1") })
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	text := string(body)
	require.Contains(t, text, `ha_cluster_pacemaker_resources{group="g",managed="true",node="h1",resource="pool",status="running"} 1`)
	require.Contains(t, text, `ha_cluster_pacemaker_nodes{node="h2",status="online"} 1`)
	require.Contains(t, text, "basalt_cluster_healthy 1")
	require.Contains(t, text, `basalt_operation_duration_seconds_count{action="start"}`)
	require.Contains(t, text, `basalt_resource_last_rc{action="start",node="h1",resource="pool",status="done"} 0`)
}
