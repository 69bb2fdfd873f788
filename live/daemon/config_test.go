package daemon

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/planner"
)

// linkedHosts are the hosts the daemon keeps a link to, sorted.
func (d *ManagerDaemon) linkedHosts() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for h := range d.links {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}

// hostState is host's state in the manager's status ("" when unknown).
func (lc *liveCluster) hostState(host string) planner.HostState {
	var s planner.HostState
	lc.mgr.View(func(m *manager.Manager) {
		for _, h := range m.Status().Hosts {
			if h.Name == host {
				s = h.State
			}
		}
	})
	return s
}

// TestLiveConfigLinksFollowHosts: the daemon's agent links follow the
// running configuration. h3's agent never runs, so h3 is fenced and off;
// a configuration without h3 closes its link; with h3's agent started, a
// configuration naming h3 again opens a link to it (mutual TLS, as at
// start) and h3 comes online through it.
func TestLiveConfigLinksFollowHosts(t *testing.T) {
	lc := newLiveClusterOpts(t, []string{"h1", "h2", "h3"}, liveOptions{absent: []string{"h3"}})
	require.Equal(t, []string{"h1", "h2", "h3"}, lc.mgr.linkedHosts())
	lc.await("h3 fenced and off, g on h1", func() bool { return lc.hostState("h3") == planner.Offline && lc.running("h1") })

	var without []string
	for _, line := range strings.SplitAfter(lc.text, "\n") {
		if !strings.Contains(line, "name: h3,") && !strings.Contains(line, "id: pid-h3,") {
			without = append(without, line)
		}
	}
	_, _, empty, err := lc.mgr.ApplyConfig(strings.Join(without, ""), "")
	require.NoError(t, err)
	require.False(t, empty)
	require.Equal(t, []string{"h1", "h2"}, lc.mgr.linkedHosts(), "h3's link is closed")
	require.Equal(t, planner.HostState(""), lc.hostState("h3"))
	require.Len(t, lc.mgr.Model().Hosts, 2)

	lc.startAgent("h3")
	_, _, _, err = lc.mgr.ApplyConfig(lc.text, "")
	require.NoError(t, err)
	require.Equal(t, []string{"h1", "h2", "h3"}, lc.mgr.linkedHosts(), "h3 has a link again")
	lc.await("h3 online through its new link", func() bool { return lc.hostState("h3") == planner.Online })
	text, version := lc.mgr.RunningConfig()
	require.Equal(t, 2, version)
	require.Equal(t, lc.text, text)
	// h3 is probed, then the cluster settles: g where it ran.
	lc.await("g on h1, the manager idle", func() bool { return lc.running("h1") })
	require.Equal(t, []string{"h1"}, lc.activeHosts("pool"))
}
