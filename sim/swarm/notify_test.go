package swarm

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/sim/cluster"
	"github.com/basalt-ha/basalt/sim/faults"
)

// notifyRun plays the promotable cluster with notification faults of repl
// on its three hosts from the start (armed again at stopAt), a stop of the
// clone at stopAt and its start 30 s later, and no other fault: every
// demote, stop, start and promote of repl is announced, and the faulted
// notifications fail or hang. It returns the run and the manager as the
// run left it.
func notifyRun(t *testing.T, kind faults.Kind, times int) (Result, *manager.Manager) {
	t.Helper()
	m, err := PromotableModel()
	require.NoError(t, err)
	const stopAt = 2 * time.Minute
	var fs []faults.Fault
	for _, at := range []time.Duration{0, stopAt} {
		for _, h := range []string{"h1", "h2", "h3"} {
			f := faults.Fault{At: at, Kind: kind, Host: h, Resource: "repl", Times: times}
			if kind == faults.FailNotify {
				f.RC = 1
			}
			fs = append(fs, f)
		}
	}
	fs = append(fs, faults.Fault{At: stopAt, Kind: faults.AdminStop, Group: "repl", For: 30 * time.Second})
	plan := faults.Plan{Seed: 7, Scripted: true, Chaos: 5 * time.Minute, Heal: time.Second,
		Network: faults.Network{LatencyMin: time.Millisecond, LatencyMax: 5 * time.Millisecond}, Faults: fs}
	all := []string{"h1", "h2", "h3"}
	var last *manager.Manager
	cfg := Config{Model: m, Text: PromotableConfig(), KeepHistory: true, Promotable: true,
		ManagerIntercept: func(mg *manager.Manager, _ time.Time, effs []effect.Effect) []effect.Effect {
			last = mg
			return effs
		},
		Expect: []Expectation{
			{By: stopAt - time.Second, RunningOn: map[string][]string{"repl": all}, Promoted: map[string]string{"repl": AnyHost}},
			{By: stopAt + 25*time.Second, Stopped: []string{"repl"}},
			{By: 5 * time.Minute, RunningOn: map[string][]string{"repl": all}, Promoted: map[string]string{"repl": AnyHost}},
		}}
	r := RunPlan(cfg, plan)
	require.NotNil(t, last, "the manager ran")
	return r, last
}

// TestFailedNotifyFailsNothing: with every notification of repl failing
// (rc 1), the clone still starts, promotes one instance, demotes and stops
// at the admin stop and starts and promotes again at the start; the failed
// notifications are notify-failed events, and none of them counts: repl
// has no fail count on any host, no failure is recorded, nothing is
// fenced, and repl is started and stopped only as the two requests ask (no
// recovery).
func TestFailedNotifyFailsNothing(t *testing.T) {
	r, mg := notifyRun(t, faults.FailNotify, 100)
	require.False(t, r.Failed(), r.Summary())
	failed := notifyConsequences(t, r, mg)
	for _, o := range failed {
		require.Equal(t, 1, o.RC, "a failed notification exits with the injected rc")
	}
	require.Equal(t, 6, r.Coverage.NotifyFaults)
	require.Equal(t, len(failed), r.Coverage.NotifyFailures)
}

// TestHungNotifyFailsNothing: a notification that hangs is killed at its
// timeout (ops.notify.timeout), and fails nothing either; the step it held
// up goes on after it.
func TestHungNotifyFailsNothing(t *testing.T) {
	r, mg := notifyRun(t, faults.HangNotify, 1)
	require.False(t, r.Failed(), r.Summary())
	failed := notifyConsequences(t, r, mg)
	notifyTimeout := mustResource(t, "repl").Notify.Timeout
	for _, o := range failed {
		require.True(t, o.Killed, "a hung notification ends killed")
		require.Equal(t, notifyTimeout, o.Return.Sub(o.Call), "killed at ops.notify.timeout")
	}
}

// notifyConsequences checks what a run of notifyRun must show whatever
// the notifications' fault, and returns the notifications that failed.
func notifyConsequences(t *testing.T, r Result, mg *manager.Manager) []cluster.Op {
	t.Helper()
	var failed []cluster.Op
	kinds := map[string]int{}
	for _, o := range r.Ops {
		if o.Resource != "repl" || o.Return.IsZero() {
			continue
		}
		kinds[o.Kind]++
		if o.Kind == "notify" && (o.RC != 0 || o.Killed) {
			failed = append(failed, o)
		}
	}
	require.NotEmpty(t, failed, "notifications failed")
	// No recovery: three starts at boot and three after the admin start,
	// three stops at the admin stop, and each of the two promotions.
	require.Equal(t, 6, kinds["start"], "repl started only as asked: %v", kinds)
	require.Equal(t, 3, kinds["stop"], "repl stopped only as asked: %v", kinds)
	require.Equal(t, 2, kinds["promote"], "repl promoted once per start: %v", kinds)
	require.Equal(t, 1, kinds["demote"], "repl demoted once, at the stop: %v", kinds)

	// The transition goes on: each kind of step that a faulted
	// notification announced ran after one had failed (or been killed).
	for _, kind := range []string{"promote", "demote", "stop"} {
		first := -1
		for i, o := range r.Ops {
			if o.Resource == "repl" && o.Kind == kind {
				first = i
				break
			}
		}
		require.NotEqual(t, -1, first, "repl had a %s", kind)
		require.True(t, endedBefore(failed, r.Ops[first].Call), "the first %s of repl ran after a failed notification", kind)
	}

	events := map[string]int{}
	for _, e := range mg.Events() {
		events[e.Kind]++
		if e.Kind == "failure" || e.Kind == "fatal" || e.Kind == "stop-failed" {
			t.Errorf("a failure recorded: %+v", e)
		}
	}
	require.Equal(t, len(failed), events["notify-failed"], "each failed notification is a notify-failed event")
	require.Zero(t, events["fence-requested"], "nothing fenced")
	require.Empty(t, mg.FenceHistory(), "nothing fenced")
	for _, rs := range mg.Status().Resources {
		if rs.ID == "repl" {
			for h, f := range rs.Fails {
				require.Zero(t, f.Count, "repl's fail count on %s", h)
			}
		}
	}
	return failed
}

// mustResource is a resource of the promotable cluster.
func mustResource(t *testing.T, id string) model.Resource {
	t.Helper()
	m, err := PromotableModel()
	require.NoError(t, err)
	r, ok := m.Resource(id)
	require.True(t, ok, "no resource %s", id)
	return *r
}

// endedBefore reports whether one of the operations ended before t.
func endedBefore(ops []cluster.Op, t time.Time) bool {
	for _, f := range ops {
		if f.Return.Before(t) {
			return true
		}
	}
	return false
}

// TestNotifySeeds replays promotable seeds the notify judge once judged
// wrongly: in 13051 a frozen manager read a hung notification's timeout
// and the killed primary's monitor failure in one step, and the judge took
// the monitor's failure for the notification's.
func TestNotifySeeds(t *testing.T) {
	m, err := PromotableModel()
	require.NoError(t, err)
	cfg := Config{Model: m, Text: PromotableConfig(), Promotable: true}
	for _, seed := range []uint64{13051} {
		r := RunSeed(cfg, seed)
		require.False(t, r.Failed(), "seed %d: %s", seed, r.Summary())
		require.Positive(t, r.Coverage.NotifyFailures, "seed %d failed a notification", seed)
	}
}

// TestNotifyJudgeReadsEveryPersistedEvent: the judge reads the event
// records as the managers persist them, so a notification recorded as a
// failure is caught however many events follow it (a manager keeps only
// its last 1,024 in memory), and records of other kinds are not decoded.
func TestNotifyJudgeReadsEveryPersistedEvent(t *testing.T) {
	var n notifyEvents
	at := cluster.Start
	bad, err := json.Marshal(manager.Event{Seq: 1, Time: at, Kind: "failure", Host: "h1", Resource: "repl", Op: "notify",
		Message: "post-start: done OCF_ERR_GENERIC (rc 1)"})
	require.NoError(t, err)
	n.record(bad)
	for i := range 2 * manager.MaxReports {
		ok, err := json.Marshal(manager.Event{Seq: uint64(i + 2), Time: at, Kind: "started", Host: "h2", Resource: "repl"})
		require.NoError(t, err)
		n.record(ok)
	}
	require.Len(t, n.events, 1, "only the kinds the judge reads are kept")
	v := n.judge()
	require.Len(t, v, 1)
	require.Contains(t, v[0].Message, "a notification of repl on h1 was recorded as a failure")
}
