package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/coordinator"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/harness/check"
)

// leadership judges the run so far as the swarm does.
func (w *world) leadership() []check.Violation {
	var acts []check.LeaderAct
	for _, a := range w.LeaderActs() {
		acts = append(acts, check.LeaderAct{At: a.At, Name: a.Name, Rev: int64(a.Rev), Epoch: uint64(a.Epoch), What: a.What})
	}
	var ts []check.Tenure
	for _, t := range w.Tenures() {
		ts = append(ts, check.Tenure{Rev: t.Rev, Name: t.Name, From: t.From, To: t.To})
	}
	return check.CheckLeadership(acts, ts)
}

// leader is the replica whose manager acts, "" for none.
func (w *world) leader() string {
	if mi := w.cur; mi != nil && mi.up && mi.rep != nil && mi.rep.coord.MayAct(w.Q.Now()) {
		return mi.rep.name
	}
	return ""
}

// replicaWorld boots the failover pair with three manager replicas and
// waits until one leads with fs1 running on oss1.
func replicaWorld(t *testing.T, opts Options) *world {
	opts.Replicas = 3
	w := newWorld(t, "failover-pair.yaml", opts)
	w.Boot()
	w.settle(time.Minute, func() bool {
		return w.leader() != "" && w.runningOn("fs1", "oss1") && w.Manager().Idle()
	}, "a leader, and fs1 on oss1")
	require.Len(t, w.Tenures(), 1)
	return w
}

// lastEvent is the manager's latest event of kind.
func lastEvent(t *testing.T, m *manager.Manager, kind string) manager.Event {
	t.Helper()
	events := m.Events()
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Kind == kind {
			return events[i]
		}
	}
	t.Fatalf("no %s event", kind)
	return manager.Event{}
}

func (w *world) replica(name string) *replica {
	for _, r := range w.reps {
		if r.name == name {
			return r
		}
	}
	w.t.Fatalf("no replica %s", name)
	return nil
}

// TestStandbyTakesOverFromACrashedLeaderAndRecovers: kill -9 of the leader
// while a resource is failing. A standby is elected once the dead leader's
// lease expires, adopts what runs and recovers the resource; nothing runs
// twice and nobody acts outside its leadership.
func TestStandbyTakesOverFromACrashedLeaderAndRecovers(t *testing.T) {
	w := replicaWorld(t, Options{Seed: 5})
	first := w.leader()
	w.KillResource("oss1", "ost0")
	w.CrashLeader()
	require.Equal(t, "", w.leader())
	w.settle(time.Minute, func() bool { return w.leader() != "" && w.leader() != first }, "a standby leads")
	took := w.Q.Now()
	w.settle(2*time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "ost0 recovered")
	require.Empty(t, w.leadership())
	require.Len(t, w.Tenures(), 2)
	require.Less(t, w.Tenures()[1].From.Sub(w.Tenures()[0].To), time.Second, "the election follows the expiry")
	takeover := lastEvent(t, w.Manager(), "takeover")
	require.Equal(t, w.leader(), takeover.Manager)
	require.Contains(t, takeover.Message, "from "+first+" (epoch ")
	require.Contains(t, takeover.Message, "whose lease ran out without a resignation")
	require.Regexp(t, `replayed [0-9] event log records on taking over, [1-9][0-9]* while standing by`, takeover.Message,
		"the standby followed the journal: only the records of the last moments are replayed at the takeover")
	t.Logf("new leader %s acted %s after the crash's lease expired; recovered by %s; its takeover event: %s", w.leader(),
		took.Sub(w.Tenures()[1].From), w.Q.Now().Sub(Start), takeover.Message)
}

// TestLeaderPausedPastItsLeaseActsOnNothing: the leader frozen (SIGSTOP)
// for three TTLs, then resumed. A standby took over meanwhile; the resumed
// one's overdue expiry timer demotes it before it reads anything, so it
// acts on nothing, and says it was deposed.
func TestLeaderPausedPastItsLeaseActsOnNothing(t *testing.T) {
	w := replicaWorld(t, Options{Seed: 6})
	old := w.leader()
	w.PauseLeader()
	w.KillResource("oss1", "ost1") // something for the new leader to do
	require.NoError(t, w.Run(3*defaultLeaseTTL))
	require.NotEqual(t, "", w.leader())
	require.NotEqual(t, old, w.leader())
	acts := len(w.LeaderActs())
	w.ResumeReplicas()
	require.NoError(t, w.Run(time.Minute))
	w.requireSafe()
	require.Empty(t, w.leadership())
	for _, a := range w.LeaderActs()[acts:] {
		require.NotEqual(t, old, a.Name, "the deposed leader acted: %s", a.What)
	}
	require.True(t, w.traced("replica "+old+" deposed"), "the old leader says it was deposed")
	require.NotEqual(t, coordinator.Leading, w.replica(old).coord.Role())
}

// TestIgnoreLeaseCanaryIsCaught: the same pause with a leader that ignores
// its lease (the ignore-lease canary): it goes on acting when it resumes,
// and the leadership judge catches it.
func TestIgnoreLeaseCanaryIsCaught(t *testing.T) {
	w := replicaWorld(t, Options{Seed: 6, IgnoreLease: true})
	w.PauseLeader()
	w.KillResource("oss1", "ost1")
	require.NoError(t, w.Run(3*defaultLeaseTTL))
	w.ResumeReplicas()
	require.NoError(t, w.Run(time.Minute))
	v := w.leadership()
	require.NotEmpty(t, v)
	require.Contains(t, v[0].Message, "outside its leadership")
}

// TestLeaderCutFromTheStoreStopsActing: the leader loses etcd but not the
// agents. It demotes itself before its lease can expire in the store, a
// standby takes over, and when the link returns the old leader campaigns
// as a standby.
func TestLeaderCutFromTheStoreStopsActing(t *testing.T) {
	w := replicaWorld(t, Options{Seed: 7})
	old := w.leader()
	w.CutLeaderFromStore()
	w.settle(time.Minute, func() bool { return w.leader() != "" && w.leader() != old }, "a standby leads")
	require.True(t, w.traced("manager "+old+" epoch="), "the cut leader's manager stopped")
	w.RestoreStoreLinks()
	require.NoError(t, w.Run(time.Minute))
	w.requireSafe()
	require.Empty(t, w.leadership())
	require.True(t, w.runningOn("fs1", "oss1"))
	require.Equal(t, coordinator.Candidate, w.replica(old).coord.Role())
}

// TestStoreOutageKeepsTheClusterRunning: etcd down for a minute. The
// leader stops acting within its TTL and nobody leads; what runs keeps
// running; when etcd returns a leader is elected and acts again (an admin
// request is taken and carried out).
func TestStoreOutageKeepsTheClusterRunning(t *testing.T) {
	w := replicaWorld(t, Options{Seed: 8})
	w.StopStore()
	require.NoError(t, w.Run(2*defaultLeaseTTL))
	require.Equal(t, "", w.leader())
	_, err := w.Admin(manager.Request{Command: manager.CmdMove, Target: "fs1", Host: "oss2"})
	require.ErrorContains(t, err, "no manager leads")
	require.NoError(t, w.Run(time.Minute))
	require.True(t, w.Running("oss1", "pool1"), "what runs keeps running while nobody leads")
	w.StartStore()
	w.settle(time.Minute, func() bool { return w.leader() != "" }, "a leader after the outage")
	_, err = w.Admin(manager.Request{Command: manager.CmdMove, Target: "fs1", Host: "oss2"})
	require.NoError(t, err)
	w.settle(2*time.Minute, func() bool { return w.runningOn("fs1", "oss2") && w.Manager().Idle() }, "fs1 moved")
	require.Empty(t, w.leadership())
	require.Empty(t, w.Fences(), "nobody was fenced for the outage")
}

func (w *world) traced(prefix string) bool {
	for _, l := range w.lines {
		if _, rest, ok := strings.Cut(l, " "); ok && strings.HasPrefix(rest, prefix) {
			return true
		}
	}
	return false
}
