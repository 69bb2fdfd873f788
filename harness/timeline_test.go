package harness_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/harness"
	"github.com/basalt-ha/basalt/harness/check"
)

// TestTimelineHostLostAndFencing: on real processes, a host whose agent
// dies is declared lost, fenced (by a fence agent slow enough for the
// fencing to last: 2s for the off, 2s for the status that confirms it,
// hence a boot only 5s after the fence) and booted again; the run's record has the manager's
// view from its log, lost then fencing, and the timeline's lane for the
// host shows fencing before fenced and up again, with the fence request
// marked on it.
func TestTimelineHostLostAndFencing(t *testing.T) {
	pc := newProcClusterOpts(t, []string{"h1", "h2"}, procOpts{fenceDir: slowFence(t), rebootAfter: 5 * time.Second})
	pc.awaitHealthyOn("h1")
	truth := harness.WatchTruth(pc.ProcessCluster, check.Limits(pc.Model))
	start := time.Now()
	pc.Mark("crash-agent h1")
	pc.CrashAgent("h1", 0)
	pc.awaitHealthyOnAny(t, []string{"h2"})
	require.Eventually(t, func() bool {
		return slices.ContainsFunc(pc.Marks(), func(m check.Mark) bool { return m.Label == "boot h1" })
	}, 30*time.Second, 50*time.Millisecond, "h1 did not boot again within 30s of its fence")
	rec, violations, err := harness.Finish(pc.ProcessCluster, truth, "lost and fencing", start)
	require.NoError(t, err)
	require.Empty(t, violations)

	var states []string
	for _, e := range rec.HostEvents {
		require.Equal(t, "h1", e.Host, "only h1 was lost: %+v", e)
		states = append(states, e.State)
	}
	require.Equal(t, []string{check.HostLost, check.HostFencing}, states, "the manager's log: lost, then a fence requested")
	require.Contains(t, rec.HostEvents[0].Detail, "declared lost (manager)")
	require.Contains(t, rec.HostEvents[1].Detail, "fence requested by manager")

	dir := t.TempDir()
	require.NoError(t, rec.Keep(pc.Dir, dir))
	page, err := os.ReadFile(filepath.Join(dir, "timeline.html"))
	require.NoError(t, err)
	lane := hostLane(string(page), "h1")
	var order []string
	for _, state := range []string{"up", "fencing", "fenced", "up again"} {
		i := strings.Index(lane, `<title>h1 `+state+` from `)
		require.GreaterOrEqual(t, i, 0, "h1's lane has no %q span:\n%s", state, lane)
		order = append(order, state)
		lane = lane[i:]
	}
	require.Equal(t, []string{"up", "fencing", "fenced", "up again"}, order)
	require.Contains(t, string(page), "declared lost (manager)", "the loss is told, on its own span or the fencing's")
	require.Contains(t, string(page), "fencing of h1 requested by manager (action off)", "the request is a fence mark")
}

// hostLane is the host's lane in the timeline's page, its spans in order.
func hostLane(page, host string) string {
	start := strings.Index(page, `<g class="lane host-lane" data-host="`+host+`">`)
	if start < 0 {
		return ""
	}
	page = page[start:]
	return page[:strings.Index(page, "</g>")]
}
