package harness_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/live/api"
)

// awaitLeader waits (bounded) for a replica other than those in not to
// lead, and returns it.
func (pc *procCluster) awaitLeader(not ...string) string {
	pc.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if l := pc.Leader(); l != "" && !slices.Contains(not, l) {
			return l
		}
		time.Sleep(100 * time.Millisecond)
	}
	pc.t.Fatalf("no replica but %v leads within 30s", not)
	return ""
}

// awaitStopped waits (bounded) until replica name's log says it stopped
// acting: the daemon found its lease past (stops acting), or the
// coordinator demoted it (deposed), whichever came first.
func (pc *procCluster) awaitStopped(name string) {
	pc.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, _ := os.ReadFile(pc.ReplicaLog(name))
		if strings.Contains(string(data), "stops acting") || strings.Contains(string(data), "deposed:") {
			return
		}
		require.True(pc.t, time.Now().Before(deadline), "replica %s did not say it stopped acting:\n%s", name, data)
		time.Sleep(100 * time.Millisecond)
	}
}

// requireNeverTwice fails when a resource of the group is active on more
// than one host now.
func (pc *procCluster) requireNeverTwice() {
	pc.t.Helper()
	for _, r := range []string{"statefile-pool.state", "statefile-mnt.state"} {
		var on []string
		for _, h := range pc.Hosts {
			if slices.Contains(pc.StateFiles(h), r) {
				on = append(on, h)
			}
		}
		require.LessOrEqual(pc.t, len(on), 1, "%s active on %v", r, on)
	}
}

// Three manager replicas on one etcd. kill -9 of the leader while a
// resource is failing: a standby takes over within the lease and recovers
// it. Then the new leader is frozen past its lease (SIGSTOP): another takes
// over; the frozen one, resumed, acts on nothing and logs that it stopped.
// The group is never active on two hosts.
func TestProcessManagerReplicas(t *testing.T) {
	pc := newProcClusterOpts(t, []string{"h1", "h2", "h3"}, procOpts{replicas: 3})
	v := pc.awaitHealthyOn("h1")
	first := pc.awaitLeader()

	require.NoError(t, pc.KillResource("h1", "mnt"))
	require.NoError(t, pc.KillReplica(first))
	pc.Mark("mnt killed on h1; leader %s killed", first)
	second := pc.awaitLeader(first)
	pc.awaitHealthyOnAny(t, pc.Hosts)
	pc.requireNeverTwice()
	st, _ := pc.status()
	require.Greater(t, st.Epoch, v.Epoch, "the new leader's epoch is above the old one's")

	require.NoError(t, pc.PauseReplica(second))
	pc.Mark("leader %s frozen", second)
	third := pc.awaitLeader(first, second)
	where := pc.awaitHealthyOnAny(t, pc.Hosts)
	require.NoError(t, pc.ResumeReplica(second))
	pc.Mark("%s resumed", second)
	pc.awaitStopped(second)
	require.Equal(t, third, pc.awaitLeader(first, second), "the replica elected while the other was frozen still leads")
	pc.awaitHealthyOn(where)
	pc.requireNeverTwice()
	acts, tenures, err := pc.ReplicaLeaderships()
	require.NoError(t, err)
	require.NotEmpty(t, acts)
	require.Empty(t, check.CheckLeadership(acts, tenures), "no replica acted outside its leadership")
	var led []string
	for _, e := range pc.LeaderLane() {
		if e.State == check.ManagerActing {
			led = append(led, e.Replica)
		}
	}
	require.Equal(t, []string{first, second, third}, led, "the timeline's manager lane names each leader in turn")

	evs, err := pc.Events()
	require.NoError(t, err)
	var takeovers []string
	for _, e := range evs {
		if e.Kind == "takeover" {
			takeovers = append(takeovers, e.Manager+": "+e.Message)
		}
	}
	require.Len(t, takeovers, 3, "one takeover event per leadership: %v", takeovers)
	for i, from := range []string{first, second} {
		require.Contains(t, takeovers[i+1], "from "+from+" (epoch ", "takeover %d", i+1)
		require.Contains(t, takeovers[i+1], "whose lease ran out without a resignation", "takeover %d", i+1)
	}
}

// The ignore-lease canary on processes (a canary build): the leader frozen
// past its lease goes on acting when it resumes. The leadership judge, on
// the replicas' own logs, catches it.
func TestProcessIgnoreLeaseCanaryIsCaught(t *testing.T) {
	pc := newProcClusterOpts(t, []string{"h1", "h2"}, procOpts{replicas: 3, tags: "canary", mgrArgs: []string{"--canary-ignore-lease"}})
	pc.awaitHealthyOn("h1")
	first := pc.awaitLeader()
	require.NoError(t, pc.PauseReplica(first))
	require.NoError(t, pc.KillResource("h1", "mnt"))
	pc.Mark("leader %s frozen, mnt killed on h1", first)
	pc.awaitLeader(first)
	pc.awaitHealthyOnAny(t, pc.Hosts)
	require.NoError(t, pc.ResumeReplica(first))
	pc.Mark("%s resumed", first)
	deadline := time.Now().Add(30 * time.Second)
	for {
		acts, tenures, err := pc.ReplicaLeaderships()
		require.NoError(t, err)
		if v := check.CheckLeadership(acts, tenures); len(v) > 0 {
			require.Contains(t, v[0].Message, first+" acted outside its leadership")
			t.Logf("caught: %s", v[0].Message)
			return
		}
		require.True(t, time.Now().Before(deadline), "the canary was not caught within 30s")
		time.Sleep(200 * time.Millisecond)
	}
}

// etcd killed for a while: the leader cannot renew its lease and stops
// acting (no replica leads), while what runs goes on running; once etcd is
// back a leader is elected, on the journal as it was: the group stays on
// h2, where a move put it, and was never restarted.
func TestProcessReplicasSurviveAnEtcdOutage(t *testing.T) {
	pc := newProcClusterOpts(t, []string{"h1", "h2"}, procOpts{replicas: 2})
	pc.awaitHealthyOn("h1")
	pc.awaitLeader()
	rc, out := pc.cli("resource", "move", "g", "--host", "h2", "--wait")
	require.Equal(t, 0, rc, out)
	pc.awaitHealthyOn("h2")
	before, err := os.Stat(filepath.Join(pc.ResourceDir("h2"), "statefile-pool.state"))
	require.NoError(t, err)

	require.NoError(t, pc.KillEtcd())
	pc.Mark("etcd killed")
	deadline := time.Now().Add(20 * time.Second)
	for pc.Leader() != "" {
		require.True(t, time.Now().Before(deadline), "a replica still leads 20s after etcd died")
		time.Sleep(100 * time.Millisecond)
	}
	require.Len(t, pc.StateFiles("h2"), 2, "what runs goes on running while nobody leads")

	require.NoError(t, pc.StartEtcd())
	pc.Mark("etcd back")
	pc.awaitLeader()
	pc.awaitHealthyOn("h2")
	after, err := os.Stat(filepath.Join(pc.ResourceDir("h2"), "statefile-pool.state"))
	require.NoError(t, err)
	require.Equal(t, before.ModTime(), after.ModTime(), "the pool was never restarted")
	require.Empty(t, pc.StateFiles("h1"))
}

// The leader cut from etcd, not from the agents: it stops acting before
// its lease can end, a standby takes over within the lease, and once the
// cut heals the old leader stands by; the group is never active twice.
func TestProcessLeaderCutFromEtcd(t *testing.T) {
	pc := newProcClusterOpts(t, []string{"h1", "h2"}, procOpts{replicas: 3})
	pc.awaitHealthyOn("h1")
	first := pc.awaitLeader()
	require.NoError(t, pc.CutReplicaFromEtcd(first, true))
	pc.Mark("leader %s cut from etcd", first)
	second := pc.awaitLeader(first)
	pc.awaitHealthyOn("h1")
	pc.requireNeverTwice()
	pc.awaitStopped(first)
	require.NoError(t, pc.CutReplicaFromEtcd(first, false))
	pc.Mark("%s reaches etcd again", first)
	pc.awaitHealthyOn("h1")
	require.Equal(t, second, pc.awaitLeader(first), "the new leader keeps leading")
	pc.requireNeverTwice()
}

// A configuration applied through the leader outlives it: the leader adds
// a group, is killed (kill -9), and the next leader runs the applied
// version (its text, through the new leader's own socket) with the added
// group still running where it was, never reverting to the start-up file
// every replica was started with. A standby refuses a configuration,
// naming the leader, so that an operator knows where to send it.
func TestProcessReplicasKeepAnAppliedConfig(t *testing.T) {
	if _, err := exec.LookPath("etcd"); err != nil {
		t.Skip("etcd not installed (make deps installs Debian's etcd-server)")
	}
	hosts := []string{"h1", "h2"}
	pc := newProcClusterOpts(t, hosts, procOpts{replicas: 2})
	pc.awaitHealthyOn("h1")
	first := pc.awaitLeader()
	standby := pc.Replicas()[0]
	if standby == first {
		standby = pc.Replicas()[1]
	}

	src := strings.Replace(string(testConfig(hosts)), "groups:\n",
		"  - {id: web, agent: \"ocf:basalt:statefile\", ops: {monitor: [{interval: 1s}]}}\ngroups:\n", 1) +
		"  - id: g2\n    members: [{resource: web}]\n"
	next, err := pc.RealizeConfig([]byte(src))
	require.NoError(t, err)
	req := api.ConfigRequest{Text: string(next), Source: "next.yaml"}
	_, err = api.NewClient(pc.ReplicaSocket(standby)).ApplyConfig(req)
	require.ErrorContains(t, err, "this manager stands by: "+first+" leads", "the standby names the leader")

	a, err := api.NewClient(pc.ReplicaSocket(first)).ApplyConfig(req)
	require.NoError(t, err)
	require.Equal(t, 1, a.Version)
	require.Equal(t, []string{"+ group g2", "+ resource web"}, a.Change)
	webOn := func() []string {
		var on []string
		for _, h := range hosts {
			if pc.Running(h, "web") {
				on = append(on, h)
			}
		}
		return on
	}
	pc.poll("web running once applied", 15*time.Second, func() bool { return len(webOn()) == 1 })
	where := webOn()[0]
	started, err := os.Stat(filepath.Join(pc.ResourceDir(where), "statefile-web.state"))
	require.NoError(t, err)

	require.NoError(t, pc.KillReplica(first))
	pc.Mark("leader %s killed after applying version 1", first)
	second := pc.awaitLeader(first)
	c := api.NewClient(pc.ReplicaSocket(second))
	v, err := c.Config()
	require.NoError(t, err)
	require.Equal(t, api.ConfigView{Version: 1, Text: string(next)}, v, "the new leader runs the applied version")
	pc.poll("the new leader healthy with both groups", 15*time.Second, func() bool {
		st, err := c.Status()
		return err == nil && st.Healthy && len(st.Groups) == 2 && st.Groups[1].ID == "g2"
	})
	require.Equal(t, []string{where}, webOn(), "web stays where it ran")
	after, err := os.Stat(filepath.Join(pc.ResourceDir(where), "statefile-web.state"))
	require.NoError(t, err)
	require.Equal(t, started.ModTime(), after.ModTime(), "web was never restarted")
	pc.requireNeverTwice()
}
