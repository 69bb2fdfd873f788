package harness_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/harness"
)

// writeState writes a state file the way an agent does, for the watcher.
func writeState(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

// awaitTruth polls (bounded) until the watcher's last look satisfies ok.
func awaitTruth(t *testing.T, what string, ok func() bool) {
	t.Helper()
	require.Eventually(t, ok, 10*time.Second, 5*time.Millisecond, what)
}

// TestTruthStatefulRoles: the watcher reads the roles Debian's Stateful
// agents write (pacemaker's "Promoted"/"Unpromoted" in HA_VARRUN,
// heartbeat's "master"/"slave" in HA_RSCTMP) and Dummy's bare files; a
// promotion on one host after the other's file is gone (a fence) is no
// violation and every role change is recorded, while a second host
// promoted while the first still is, is one.
func TestTruthStatefulRoles(t *testing.T) {
	pc := &harness.ProcessCluster{Dir: t.TempDir(), Hosts: []string{"h1", "h2", "h3"}}
	w := harness.WatchTruth(pc, map[string]int{"st": 3, "hb": 3, "d": 3, "sf": 3})
	defer w.Close()
	h1, h3 := filepath.Join(pc.VarRunDir("h1"), "Stateful-st.state"), filepath.Join(pc.VarRunDir("h3"), "Stateful-st.state")
	writeState(t, h1, "Unpromoted\n")
	writeState(t, h3, "Promoted\n")
	writeState(t, filepath.Join(pc.ResourceDir("h2"), "Stateful-hb:1.state"), "master\n")
	writeState(t, filepath.Join(pc.VarRunDir("h2"), "Dummy-d.state"), "")
	awaitTruth(t, "st promoted on h3, hb on h2, d active on h2", func() bool {
		return w.Promoted("h3", "st") && w.Active("h1", "st") && !w.Promoted("h1", "st") && w.Promoted("h2", "hb") && w.Active("h2", "d")
	})
	require.NoError(t, os.Remove(h3)) // h3 fenced: its RAM is gone
	writeState(t, h1, "Promoted\n")
	awaitTruth(t, "st promoted on h1 alone", func() bool { return w.Promoted("h1", "st") && !w.Active("h3", "st") })
	require.Empty(t, w.Violations())
	var st []harness.RoleChange
	for _, r := range w.Roles() {
		if r.Resource == "st" {
			st = append(st, r)
		}
	}
	require.Len(t, st, 3)
	require.Equal(t, []string{"h3", "h3", "h1"}, []string{st[0].Host, st[1].Host, st[2].Host})
	require.Equal(t, []bool{true, false, true}, []bool{st[0].Promoted, st[1].Promoted, st[2].Promoted})

	writeState(t, filepath.Join(pc.ResourceDir("h3"), "Stateful-hb:2.state"), "master\n")
	awaitTruth(t, "a second master of hb", func() bool { return len(w.Violations()) > 0 })
	require.Contains(t, w.Violations()[0].Message, "hb promoted on 2 hosts at once")

	// The statefile agent: promoted while its marker is beside its state
	// file, and a marker alone is nothing.
	sf := filepath.Join(pc.ResourceDir("h1"), "statefile-sf:0.state")
	writeState(t, sf+".promoted", "")
	writeState(t, filepath.Join(pc.ResourceDir("h2"), "statefile-sf:1.state"), "running\n")
	awaitTruth(t, "sf active on h2", func() bool { return w.Active("h2", "sf") })
	require.False(t, w.Active("h1", "sf"))
	writeState(t, sf, "running\n")
	awaitTruth(t, "sf promoted on h1", func() bool { return w.Promoted("h1", "sf") && !w.Promoted("h2", "sf") })
}
