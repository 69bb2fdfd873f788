package harness_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/harness"
	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/live/api"
)

// cloneConfig is a three-host cluster running one resource of Debian's
// agent (an OCF type such as ocf:pacemaker:Stateful) in group ms, placed
// as placement says (a promotable or an anonymous clone), with monitors.
func cloneConfig(agent, placement, monitors string) []byte {
	var b strings.Builder
	b.WriteString("cluster: {name: proc, heartbeat-interval: 300ms, dead-timeout: 3s, fence-timeout: 10s}\nhosts:\n")
	for i, h := range []string{"h1", "h2", "h3"} {
		fmt.Fprintf(&b, "  - {name: %s, address: \"127.0.0.1:%d\"}\n", h, i+1)
	}
	b.WriteString("fence-devices:\n")
	for _, h := range []string{"h1", "h2", "h3"} {
		fmt.Fprintf(&b, "  - {id: pid-%s, agent: fence_basalt_pid, hosts: {%s: %s}}\n", h, h, h)
	}
	fmt.Fprintf(&b, "resources:\n  - {id: st, agent: %q, ops: {monitor: [%s]}}\n", agent, monitors)
	fmt.Fprintf(&b, "groups:\n  - {id: ms, members: [{resource: st}], placement: %s}\n", placement)
	return []byte(b.String())
}

// roleMonitors are a promotable clone's monitors, one per role.
const roleMonitors = "{interval: 1s, role: unpromoted}, {interval: 700ms, role: promoted}"

// startDebian starts a process cluster running Debian's agents unmodified,
// and its ground-truth watcher; it skips when the agent is not installed
// or process tests are not wanted.
func startDebian(t *testing.T, agent string, cfg []byte) (*procCluster, *harness.Truth) {
	t.Helper()
	path := filepath.Join(append([]string{debianOCFRoot, "resource.d"}, strings.Split(strings.TrimPrefix(agent, "ocf:"), ":")...)...)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("Debian's %s is not installed: %v", agent, err)
	}
	if testing.Short() {
		t.Skip("process tests build and run the daemons")
	}
	pc, err := harness.StartProcessCluster(harness.ProcessOptions{Name: "proc", Config: cfg, Dir: t.TempDir(),
		Bin: buildBinaries(t, ""), Repo: repo(), OCFRoot: debianOCFRoot, KeepAgents: true, Logf: t.Logf})
	require.NoError(t, err)
	t.Cleanup(pc.Stop)
	truth := harness.WatchTruth(pc, check.Limits(pc.Model))
	t.Cleanup(truth.Close)
	return &procCluster{ProcessCluster: pc, t: t}, truth
}

// promotedInStatus is where the manager's status has st promoted.
func promotedInStatus(p *procCluster) string {
	v, err := p.Status()
	if err != nil || len(v.Groups) == 0 || len(v.Groups[0].Resources) == 0 {
		return ""
	}
	return strings.Join(v.Groups[0].Resources[0].PromotedOn, ",")
}

// promotedOn are the hosts where the ground truth has st promoted.
func promotedOn(p *procCluster, truth *harness.Truth) []string { return hostsWhere(p, truth.Promoted) }

// activeOn are the hosts where the ground truth has st active.
func activeOn(p *procCluster, truth *harness.Truth) []string { return hostsWhere(p, truth.Active) }

// hostsWhere are the hosts, in order, where is(host, "st") holds.
func hostsWhere(p *procCluster, is func(h, rsc string) bool) []string {
	var out []string
	for _, h := range p.Hosts {
		if is(h, "st") {
			out = append(out, h)
		}
	}
	return out
}

// statefulFile is the state file Debian's Stateful keeps for host h's
// instance of st: pacemaker's in HA_VARRUN (Stateful-st.state: an
// anonymous clone's strips the instance's number), heartbeat's in
// HA_RSCTMP (Stateful-st:N.state).
func statefulFile(t *testing.T, p *procCluster, h string, varRun bool) string {
	dir := p.ResourceDir(h)
	if varRun {
		dir = p.VarRunDir(h)
	}
	m, err := filepath.Glob(filepath.Join(dir, "Stateful-st*.state"))
	require.NoError(t, err)
	require.Len(t, m, 1, "one instance of st on %s", h)
	return m[0]
}

// TestProcessStatefulPromotableFailover: Debian's unmodified ocf:pacemaker:
// Stateful as a promotable clone on three hosts, as real processes. Once
// up, every host runs an instance, exactly one promoted (its state file
// says "Promoted", the others "Unpromoted"), the one the status shows.
// kill -9 of the promoted host's agent leaves its instance promoted in
// truth until the fence powers the host off; another instance is promoted
// only after that fence: the event log has the fence confirmed before
// the promotion, and the new host's agent started the promote after it.
// The ground truth, read every few milliseconds throughout, never shows
// two promoted at once (nor the safety checker, which saw every change).
func TestProcessStatefulPromotableFailover(t *testing.T) {
	p, truth := startDebian(t, "ocf:pacemaker:Stateful", cloneConfig("ocf:pacemaker:Stateful", "{promotable: true}", roleMonitors))
	var first string
	p.poll("three instances, one promoted", 40*time.Second, func() bool {
		prom := promotedOn(p, truth)
		if len(prom) != 1 || len(activeOn(p, truth)) != 3 {
			return false
		}
		first = prom[0]
		return promotedInStatus(p) == first
	})
	requireStateFiles(t, p, true, first, "Promoted\n", "Unpromoted\n")

	killed, second := killPrimary(p, truth, first)
	b, err := os.ReadFile(statefulFile(t, p, second, true))
	require.NoError(t, err)
	require.Equal(t, "Promoted\n", string(b))

	fenceAt := requireFencedBeforePromoted(t, p, first, second, killed)
	truth.Close()
	require.Empty(t, truth.Violations(), "never two promoted at once, nor more instances than hosts")
	requireOnePromotedThroughout(t, truth.Roles(), first, second, fenceAt)
}

// requireFencedBeforePromoted checks the manager's event log and the
// agents' operation histories: lost was fenced (the fence confirmed)
// before st was promoted on next, and next's agent began that promote
// only after the fence was confirmed. It returns when the fence happened.
func requireFencedBeforePromoted(t *testing.T, p *procCluster, lost, next string, since time.Time) time.Time {
	t.Helper()
	evs, err := p.Events()
	require.NoError(t, err)
	var fenced, promoted *api.Event
	for i := range evs {
		e := &evs[i]
		switch {
		case e.Kind == "fenced" && e.Host == lost && fenced == nil:
			fenced = e
		case e.Kind == "promoted" && e.Host == next && e.Time.After(since):
			promoted = e
		}
	}
	require.NotNil(t, fenced, "%s fenced: %v", lost, evs)
	require.NotNil(t, promoted, "st promoted on %s: %v", next, evs)
	require.Less(t, fenced.Seq, promoted.Seq, "the fence is confirmed before the promotion")
	var fences []check.Op
	for _, f := range p.Fences() {
		if f.Host == lost {
			fences = append(fences, f)
		}
	}
	require.Len(t, fences, 1, "%s fenced once", lost)
	ops, err := p.Ops()
	require.NoError(t, err)
	var promotes []check.Op
	for _, op := range ops {
		if op.Kind == "promote" && op.Host == next && op.Call.After(since) {
			promotes = append(promotes, op)
		}
	}
	require.Len(t, promotes, 1, "one promote on %s", next)
	require.True(t, promotes[0].Call.After(fenced.Time), "the promote on %s began (%s) after the fence was confirmed (%s)",
		next, promotes[0].Call.Format(time.StampMilli), fenced.Time.Format(time.StampMilli))
	return fences[0].Call
}

// requireOnePromotedThroughout replays every role change the ground truth
// saw: never two hosts promoted at once; first's role ended (its host
// powered off) before second's began, and second's no earlier than the
// fence.
func requireOnePromotedThroughout(t *testing.T, roles []harness.RoleChange, first, second string, fenceAt time.Time) {
	t.Helper()
	promoted := map[string]bool{}
	var firstEnd, secondStart time.Time
	for _, r := range roles {
		require.Equal(t, "st", r.Resource)
		promoted[r.Host] = r.Promoted
		n := 0
		for _, p := range promoted {
			if p {
				n++
			}
		}
		require.LessOrEqual(t, n, 1, "promoted on %v at %s", promoted, r.At.Format(time.StampMilli))
		if r.Host == first && !r.Promoted && firstEnd.IsZero() {
			firstEnd = r.At
		}
		if r.Host == second && r.Promoted {
			secondStart = r.At
		}
	}
	require.False(t, firstEnd.IsZero(), "%s's promoted instance ended: %v", first, roles)
	require.True(t, secondStart.After(firstEnd), "%s promoted after %s's instance ended", second, first)
	// The fence log's time is in whole seconds: the promotion is no earlier.
	require.False(t, secondStart.Before(fenceAt), "%s promoted no earlier than the fence", second)
}

// TestProcessHeartbeatStatefulPromotable: Debian's ocf:heartbeat:Stateful
// (its own state file in HA_RSCTMP, "master"/"slave", its score through
// ocf_promotion_score) as a promotable clone on three hosts: one master,
// two slaves; the master's host crashes (agent and RAM lost) and, once it
// is fenced, another instance becomes the master, never two at once.
func TestProcessHeartbeatStatefulPromotable(t *testing.T) {
	p, truth := startDebian(t, "ocf:heartbeat:Stateful", cloneConfig("ocf:heartbeat:Stateful", "{promotable: true}", roleMonitors))
	var first string
	p.poll("three instances, one master", 40*time.Second, func() bool {
		prom := promotedOn(p, truth)
		if len(prom) == 1 && len(activeOn(p, truth)) == 3 {
			first = prom[0]
			return true
		}
		return false
	})
	requireStateFiles(t, p, false, first, "master\n", "slave\n")
	killed, second := killPrimary(p, truth, first)
	fenceAt := requireFencedBeforePromoted(t, p, first, second, killed)
	truth.Close()
	require.Empty(t, truth.Violations())
	requireOnePromotedThroughout(t, truth.Roles(), first, second, fenceAt)
}

// TestProcessPacemakerDummyClone: Debian's ocf:pacemaker:Dummy as an
// anonymous clone (clone: true) runs on every host (its state files, one
// per numbered instance, in each host's HA_VARRUN); kill -9 of one host's
// agent, and once that host is fenced (its files lost with its RAM) the
// clone runs on the other two, still running there throughout.
func TestProcessPacemakerDummyClone(t *testing.T) {
	p, truth := startDebian(t, "ocf:pacemaker:Dummy", cloneConfig("ocf:pacemaker:Dummy", "{clone: true}", "{interval: 1s}"))
	p.poll("Dummy on every host", 40*time.Second, func() bool { return len(activeOn(p, truth)) == 3 })
	for _, h := range p.Hosts {
		m, err := filepath.Glob(filepath.Join(p.VarRunDir(h), "Dummy-st*.state"))
		require.NoError(t, err)
		require.Len(t, m, 1, "%s's instance's state file", h)
	}
	p.CrashAgent("h2", 0)
	p.poll("h2 fenced, Dummy on h1 and h3", 60*time.Second, func() bool {
		return len(p.Fences()) == 1 && strings.Join(activeOn(p, truth), ",") == "h1,h3"
	})
	require.Equal(t, "h2", p.Fences()[0].Host)
	// The fence agent's record comes before the manager hears its result:
	// the status says h2 runs nothing once the manager has.
	p.poll("the status has Dummy on h1 and h3", 10*time.Second, func() bool {
		v, err := p.Status()
		return err == nil && strings.Join(v.Groups[0].Resources[0].RunningOn, ",") == "h1,h3"
	})
	truth.Close()
	require.Empty(t, truth.Violations())
	for _, c := range truth.Changes() {
		require.True(t, c.Active || c.Host == "h2", "only h2's instance ended: %+v", c)
	}
}

// requireStateFiles: each host's Stateful state file (in HA_VARRUN, as
// pacemaker's agent keeps it, or HA_RSCTMP, as heartbeat's) says promoted on
// first and unpromoted elsewhere.
func requireStateFiles(t *testing.T, p *procCluster, varRun bool, first, promoted, unpromoted string) {
	t.Helper()
	for _, h := range p.Hosts {
		b, err := os.ReadFile(statefulFile(t, p, h, varRun))
		require.NoError(t, err)
		want := unpromoted
		if h == first {
			want = promoted
		}
		require.Equal(t, want, string(b), "%s's state file", h)
	}
}

// killPrimary kills the agent of first, the promoted host, and waits until
// another instance is promoted, in the truth and in the manager's status:
// when the kill was, and the new primary.
func killPrimary(p *procCluster, truth *harness.Truth, first string) (time.Time, string) {
	killed := time.Now()
	p.CrashAgent(first, 0)
	var second string
	p.poll("another instance promoted after "+first+" is lost", 60*time.Second, func() bool {
		prom := promotedOn(p, truth)
		if len(prom) != 1 || prom[0] == first {
			return false
		}
		second = prom[0]
		return promotedInStatus(p) == second // the manager heard of it too
	})
	return killed, second
}
