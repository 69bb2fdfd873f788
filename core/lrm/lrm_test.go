package lrm_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/sim/simproc"
)

func TestOperationsOnOneResourceRunInOrderOneAtATime(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	w.register("r1")
	w.runner.Set("r1", "start", simproc.Script{Duration: 3 * time.Second})
	w.runner.Set("r1", "stop", simproc.Script{Duration: 2 * time.Second})
	c1 := w.submit(lrm.OpRequest{Resource: "r1", Action: ocf.Start})
	c2 := w.submit(lrm.OpRequest{Resource: "r1", Action: ocf.Monitor})
	c3 := w.submit(lrm.OpRequest{Resource: "r1", Action: ocf.Stop})
	require.Less(t, c1, c2)
	require.Less(t, c2, c3)
	require.Equal(t, 1, w.runner.Running(), "only the first operation may run")
	w.run(time.Minute)

	res := w.results("r1")
	require.Len(t, res, 3)
	require.Equal(t, []ocf.Action{ocf.Start, ocf.Monitor, ocf.Stop}, []ocf.Action{res[0].Action, res[1].Action, res[2].Action})
	require.Equal(t, epoch.Add(3*time.Second), res[0].EndedAt)
	require.Equal(t, epoch.Add(4*time.Second), res[1].EndedAt)
	require.Equal(t, epoch.Add(6*time.Second), res[2].EndedAt)
	require.Equal(t, 3*time.Second, res[1].QueueTime(), "the monitor waited for the start")
	require.Equal(t, time.Second, res[1].RunTime())
	requireNoOverlap(t, w.runner.Runs)
}

func TestDifferentResourcesRunInParallelUpToTheBound(t *testing.T) {
	w := newWorld(t, lrm.Config{MaxConcurrent: 3})
	for i := range 10 {
		w.register(fmt.Sprintf("r%d", i))
	}
	for i := range 10 {
		w.submit(lrm.OpRequest{Resource: fmt.Sprintf("r%d", i), Action: ocf.Start})
	}
	require.Equal(t, 3, w.runner.Running())
	require.Equal(t, 7, w.lrm.Stats().Queued)
	w.run(time.Minute)
	require.Len(t, w.notes, 10)
	// Waiting heads get slots in the order they asked: r0..r2 end at 1s,
	// r3..r5 at 2s, r6..r8 at 3s, r9 at 4s.
	for i, n := range w.notes {
		require.Equal(t, fmt.Sprintf("r%d", i), n.Result.Resource)
		require.Equal(t, epoch.Add(time.Duration(i/3+1)*time.Second), n.Result.EndedAt, "r%d", i)
	}
	maxRunning := 0
	for _, r := range w.runner.Runs {
		n := 0
		for _, o := range w.runner.Runs {
			if !o.Start.After(r.Start) && o.End.After(r.Start) {
				n++
			}
		}
		maxRunning = max(maxRunning, n)
	}
	require.Equal(t, 3, maxRunning)
}

func TestQueueFullIsRefusedClearly(t *testing.T) {
	w := newWorld(t, lrm.Config{MaxConcurrent: 1, MaxQueued: 2})
	w.register("a")
	w.register("b")
	w.submit(lrm.OpRequest{Resource: "a", Action: ocf.Start}) // runs
	w.submit(lrm.OpRequest{Resource: "a", Action: ocf.Stop})  // queued 1
	w.submit(lrm.OpRequest{Resource: "b", Action: ocf.Start}) // queued 2
	_, effs, err := w.lrm.Submit(w.q.Now(), lrm.OpRequest{Resource: "b", Action: ocf.Stop, Timeout: time.Second})
	require.ErrorIs(t, err, lrm.ErrQueueFull)
	require.Contains(t, err.Error(), "stop b (human b)")
	require.Empty(t, effs)
	w.run(time.Minute)
	require.Len(t, w.notes, 3, "the accepted operations all completed")
}

func TestUnknownResourceAndBadRequests(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	_, _, err := w.lrm.Submit(w.q.Now(), lrm.OpRequest{Resource: "nope", Action: ocf.Start, Timeout: time.Second})
	require.ErrorIs(t, err, lrm.ErrUnknownResource)
	w.register("r")
	for name, req := range map[string]lrm.OpRequest{
		"no timeout":          {Resource: "r", Action: ocf.Start},
		"recurring start":     {Resource: "r", Action: ocf.Start, Interval: time.Second, Timeout: time.Second},
		"unknown action":      {Resource: "r", Action: "explode", Timeout: time.Second},
		"delay without recur": {Resource: "r", Action: ocf.Monitor, StartDelay: time.Second, Timeout: time.Second},
	} {
		_, effs, err := w.lrm.Submit(w.q.Now(), req)
		require.Error(t, err, name)
		require.Contains(t, err.Error(), "human r", name)
		require.Empty(t, effs, name)
	}
	_, err = w.lrm.Register(w.q.Now(), lrm.Resource{ID: "bad", Agent: ocf.Agent{Provider: "heartbeat", Type: "Dummy"},
		Params: map[string]string{"not-valid": "x"}})
	require.ErrorContains(t, err, "not-valid")
	_, err = w.lrm.Register(w.q.Now(), lrm.Resource{ID: "bad", Agent: ocf.Agent{Provider: "..", Type: "Dummy"}})
	require.Error(t, err)
}

// An agent that fails without an ocf-exit-reason line but said why on
// stderr: the result carries the first line, marked as stderr; its own exit
// reason, when it gives one, is preferred; a run that did not fail keeps its
// stderr out of the result.
func TestFailureWithoutExitReasonCarriesStderr(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	w.register("r")
	w.runner.Once("r", "start", simproc.Script{RC: 1, Stderr: "\n/usr/lib/ocf/resource.d/x/y: line 3: mkfs: command not found\nmore\n"})
	w.runner.Once("r", "start", simproc.Script{RC: 1, Stderr: "first\nocf-exit-reason:disk on fire\n"})
	w.runner.Set("r", "monitor", simproc.Script{RC: 7, Stderr: "no pid file\n"})
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Start})
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Start})
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Monitor}) // a probe: 7 is an answer, not a failure
	w.run(time.Minute)
	res := w.results("r")
	require.Len(t, res, 3)
	require.True(t, res[0].Failed())
	require.Equal(t, ocf.StderrPrefix+"/usr/lib/ocf/resource.d/x/y: line 3: mkfs: command not found", res[0].ExitReason)
	require.Equal(t, "disk on fire", res[1].ExitReason, "the agent's own exit reason first")
	require.False(t, res[2].Failed())
	require.Empty(t, res[2].ExitReason, "a run that did not fail has no reason")
	h, ok := w.lrm.History("r")
	require.True(t, ok)
	require.Equal(t, res[1].ExitReason, h.LastFailure.ExitReason)
	require.Equal(t, res[0].ExitReason, h.Recent[0].ExitReason, "history keeps it")
}

func TestTimeoutKillsAndReportsOnlyAfterReap(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	w.register("r")
	w.runner.Set("r", "start", simproc.Script{Hang: true})
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Start, Timeout: 5 * time.Second})
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Stop, Timeout: 5 * time.Second})
	w.run(time.Minute)
	res := w.results("r")
	require.Len(t, res, 2)
	require.Equal(t, lrm.Timeout, res[0].Status)
	require.Equal(t, ocf.SoftFailure, res[0].Outcome)
	require.Contains(t, res[0].ExitReason, "timed out after 5s")
	require.Equal(t, epoch.Add(5*time.Second), res[0].EndedAt)
	require.True(t, w.runner.Runs[0].Killed)
	require.Equal(t, lrm.Done, res[1].Status)
	require.Contains(t, w.effects, (&effect.KillProcess{ID: 1}).Describe())
	requireNoOverlap(t, w.runner.Runs)
}

func TestResultsAndHistory(t *testing.T) {
	w := newWorld(t, lrm.Config{HistoryLen: 3})
	w.register("r")
	w.runner.Once("r", "start", simproc.Script{RC: 1, Stderr: "noise\nocf-exit-reason:disk on fire\n", Duration: time.Second})
	w.runner.Set("r", "monitor", simproc.Script{RC: 7})
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Start})
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Monitor}) // a probe: 7 is "stopped", not a failure
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Start})
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Stop})
	w.run(time.Minute)
	res := w.results("r")
	require.Len(t, res, 4)
	require.Equal(t, ocf.ErrGeneric, res[0].RC)
	require.Equal(t, "disk on fire", res[0].ExitReason)
	require.True(t, res[0].Failed())
	require.Equal(t, ocf.Stopped, res[1].Outcome)
	require.False(t, res[1].Failed())
	require.Equal(t, ocf.Success, res[2].Outcome)

	h, ok := w.lrm.History("r")
	require.True(t, ok)
	require.Equal(t, "human r", h.Resource.Name)
	require.Len(t, h.Recent, 3, "bounded by HistoryLen")
	for i, rec := range h.Recent {
		require.Equal(t, res[i+1].CallID, rec.CallID, "the latest runs, oldest first")
	}
	require.Equal(t, ocf.Stop, h.Last.Key.Action)
	require.Equal(t, res[0].CallID, h.LastFailure.CallID)
	require.Equal(t, "disk on fire", h.LastFailure.ExitReason)
	var start lrm.OpRecord
	for _, r := range h.ByKey {
		if r.Key.Action == ocf.Start {
			start = r
		}
	}
	require.Equal(t, ocf.OK, start.RC, "latest start")
	require.Equal(t, res[2].EndedAt, start.LastRCChange, "rc changed from 1 to 0")
}

func TestRecurringMonitorNotifiesOnlyOnChange(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	w.register("r")
	w.runner.Set("r", "monitor", simproc.Script{Duration: 100 * time.Millisecond})
	call := w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Monitor, Interval: 10 * time.Second})
	w.run(35 * time.Second)
	require.Len(t, w.runner.Runs, 4, "runs at 0, 10.1, 20.2, 30.3 s")
	for _, run := range w.runner.Runs {
		require.Equal(t, "monitor", run.Action, "every run gets the op's arguments (made once, at the first)")
	}
	require.Len(t, w.results("r"), 1, "first result only")

	w.runner.Set("r", "monitor", simproc.Script{RC: 7, Duration: 100 * time.Millisecond}) // it died
	w.run(25 * time.Second)
	res := w.results("r")
	require.Len(t, res, 2, "one notification for the failure, none for repeats")
	require.Equal(t, call, res[1].CallID)
	require.Equal(t, ocf.NotRunning, res[1].RC)
	require.Equal(t, ocf.SoftFailure, res[1].Outcome, "a recurring monitor finding it stopped is a failure")

	h, _ := w.lrm.History("r")
	require.Equal(t, res[1].EndedAt, h.ByKey[0].LastRCChange)
	require.True(t, h.ByKey[0].EndedAt.After(h.ByKey[0].LastRCChange), "later identical runs keep the change time")
}

func TestIdenticalRecurringRequestMergesAndChangedOneReplaces(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	w.register("r")
	req := lrm.OpRequest{Resource: "r", Action: ocf.Monitor, Interval: 10 * time.Second, Timeout: 20 * time.Second}
	c1 := w.submit(req)
	c2 := w.submit(req)
	require.Equal(t, c1, c2)
	require.Len(t, w.lrm.Recurring("r"), 1)

	got, ok := w.lrm.RecurringCall("r", req.Key())
	require.True(t, ok)
	require.Equal(t, c1, got)

	req.Depth = 10
	c3 := w.submit(req)
	require.NotEqual(t, c1, c3)
	require.Equal(t, []lrm.OpRequest{req}, w.lrm.Recurring("r"))
	got, ok = w.lrm.RecurringCall("r", req.Key())
	require.True(t, ok)
	require.Equal(t, c3, got, "the key now names the replacing setup's call")
	_, ok = w.lrm.RecurringCall("r", lrm.OpKey{Action: ocf.Monitor, Interval: time.Second})
	require.False(t, ok)
	_, ok = w.lrm.RecurringCall("nope", req.Key())
	require.False(t, ok)
	w.run(time.Minute)
	for _, r := range w.runner.Runs[1:] {
		require.Equal(t, "monitor", r.Action)
	}
	require.Equal(t, lrm.Cancelled, w.results("r")[0].Status, "the replaced monitor reports cancelled")
}

func TestStopCancelsRecurringMonitors(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	w.register("r")
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Monitor, Interval: 10 * time.Second})
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Monitor, Interval: 30 * time.Second, Depth: 10})
	w.run(15 * time.Second)
	runs := len(w.runner.Runs)
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Stop})
	require.Empty(t, w.lrm.Recurring("r"))
	w.run(5 * time.Minute)
	require.Len(t, w.runner.Runs, runs+1, "only the stop ran after it was submitted")
	require.Equal(t, "stop", w.runner.Runs[len(w.runner.Runs)-1].Action)
	var cancelled int
	for _, r := range w.results("r") {
		if r.Status == lrm.Cancelled {
			cancelled++
		}
	}
	require.Equal(t, 2, cancelled)
}

func TestCancelWhileRunningReportsCancelledAfterExit(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	w.register("r")
	w.runner.Set("r", "monitor", simproc.Script{Duration: 4 * time.Second})
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Monitor, Interval: 10 * time.Second})
	w.run(time.Second)
	effs, err := w.lrm.Cancel(w.q.Now(), "r", ocf.Monitor, 10*time.Second)
	require.NoError(t, err)
	w.apply(effs)
	require.Empty(t, w.results("r"), "still running")
	w.run(time.Minute)
	res := w.results("r")
	require.Len(t, res, 1)
	require.Equal(t, lrm.Cancelled, res[0].Status)
	require.Equal(t, epoch.Add(4*time.Second), res[0].EndedAt)
	require.Len(t, w.runner.Runs, 1)

	_, err = w.lrm.Cancel(w.q.Now(), "r", ocf.Monitor, 10*time.Second)
	require.ErrorContains(t, err, "no such recurring operation")
}

func TestStartDelay(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	w.register("r")
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Monitor, Interval: 10 * time.Second, StartDelay: 7 * time.Second})
	w.run(8 * time.Second)
	require.Len(t, w.runner.Runs, 1)
	require.Equal(t, epoch.Add(7*time.Second), w.runner.Runs[0].Start)
}

func TestMissingAgent(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	w.register("r")
	w.runner.Set("r", "", simproc.Script{})
	w.runner.Set("r", "monitor", simproc.Script{Missing: true})
	w.runner.Set("r", "start", simproc.Script{Missing: true})
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Monitor})
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Start})
	w.run(time.Minute)
	res := w.results("r")
	require.Equal(t, lrm.NotInstalled, res[0].Status)
	require.Equal(t, ocf.Stopped, res[0].Outcome, "probe exception")
	require.Equal(t, ocf.HardFailure, res[1].Outcome, "cannot run on this host")
}

func TestUnregister(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	w.register("r")
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Start})
	_, err := w.lrm.Unregister(w.q.Now(), "r")
	require.ErrorIs(t, err, lrm.ErrBusy)
	w.run(time.Minute)
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Monitor, Interval: 10 * time.Second})
	w.run(5 * time.Second)
	effs, err := w.lrm.Unregister(w.q.Now(), "r")
	require.NoError(t, err)
	w.apply(effs)
	runs := len(w.runner.Runs)
	w.run(time.Minute)
	require.Len(t, w.runner.Runs, runs, "no monitor after unregister")
	_, ok := w.lrm.History("r")
	require.False(t, ok)
}

func TestReRegisterIsIdempotent(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	w.register("r")
	effs, err := w.lrm.Register(w.q.Now(), lrm.Resource{ID: "r", Name: "human r", Agent: ocf.Agent{Provider: "heartbeat", Type: "Dummy"},
		Params: map[string]string{"state": "/run/r"}})
	require.NoError(t, err)
	require.Empty(t, effs)
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Monitor, Interval: time.Second})
	_, err = w.lrm.Register(w.q.Now(), lrm.Resource{ID: "r", Agent: ocf.Agent{Provider: "pacemaker", Type: "Dummy"}})
	require.ErrorIs(t, err, lrm.ErrBusy)
}

func TestEveryLogLineNamesTheResource(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	w.register("r")
	w.runner.Set("r", "start", simproc.Script{Hang: true})
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Start, Timeout: time.Second})
	w.submit(lrm.OpRequest{Resource: "r", Action: ocf.Monitor, Interval: time.Second})
	w.run(10 * time.Second)
	require.NotEmpty(t, w.logs)
	for _, l := range w.logs {
		var name string
		for _, a := range l.Attrs {
			if a.Key == "name" {
				name = a.Value.String()
			}
		}
		require.Equal(t, "human r", name, "log %q", l.Msg)
	}
}

// The same inputs give the same effects: the LRM has no hidden source of
// order or time.
func TestDeterministicEffects(t *testing.T) {
	trace := func() []string {
		w := newWorld(t, lrm.Config{MaxConcurrent: 2})
		for i := range 20 {
			w.register(fmt.Sprintf("r%02d", i))
			w.runner.Set(fmt.Sprintf("r%02d", i), "start", simproc.Script{Duration: time.Duration(i%3+1) * time.Second})
		}
		for i := range 20 {
			w.submit(lrm.OpRequest{Resource: fmt.Sprintf("r%02d", i), Action: ocf.Start})
			w.submit(lrm.OpRequest{Resource: fmt.Sprintf("r%02d", i), Action: ocf.Monitor, Interval: 5 * time.Second})
		}
		w.run(2 * time.Minute)
		return w.effects
	}
	a, b := trace(), trace()
	require.Greater(t, len(a), 200)
	require.Equal(t, a, b)
}

// TestResourceViewIsResourceAndStaysWhatItWas: the agent compares a view
// taken before registering a changed definition with one taken after, so
// a view must be Resource's definition and must not change when the LRM
// takes a new one.
func TestResourceViewIsResourceAndStaysWhatItWas(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	w.register("r")
	view, ok := w.lrm.ResourceView("r")
	require.True(t, ok)
	copied, _ := w.lrm.Resource("r")
	require.Equal(t, copied, view)

	changed := copied
	changed.Params = map[string]string{"state": "/run/elsewhere"}
	effs, err := w.lrm.Register(w.q.Now(), changed)
	require.NoError(t, err)
	w.apply(effs)
	require.Equal(t, copied, view, "the earlier view is unchanged")
	now, _ := w.lrm.ResourceView("r")
	require.Equal(t, "/run/elsewhere", now.Params["state"])

	_, ok = w.lrm.ResourceView("nobody")
	require.False(t, ok)
}

// TestLogLevelDropsRecordsBelowIt: an LRM told a log level emits no record
// below it (and still every one at or above it), and runs alike otherwise.
func TestLogLevelDropsRecordsBelowIt(t *testing.T) {
	run := func(cfg lrm.Config) *world {
		w := newWorld(t, cfg)
		w.register("r1")
		w.runner.Set("r1", "stop", simproc.Script{Duration: 30 * time.Second}) // times out
		w.submit(lrm.OpRequest{Resource: "r1", Action: ocf.Start})
		w.submit(lrm.OpRequest{Resource: "r1", Action: ocf.Monitor, Interval: 10 * time.Second})
		w.run(35 * time.Second)
		w.submit(lrm.OpRequest{Resource: "r1", Action: ocf.Stop})
		w.run(time.Minute)
		return w
	}
	all := run(lrm.Config{})
	warn := run(lrm.Config{LogLevel: slog.LevelWarn})
	var kept []effect.Log
	levels := map[slog.Level]bool{}
	for _, l := range all.logs {
		levels[l.Level] = true
		if l.Level >= slog.LevelWarn {
			kept = append(kept, l)
		}
	}
	require.True(t, levels[slog.LevelDebug] && levels[slog.LevelInfo] && levels[slog.LevelWarn], "the run logs at every level")
	require.Equal(t, kept, warn.logs)
	require.Equal(t, all.notes, warn.notes)
}

// TestSharedBatchesChangeNoEffect: an LRM that builds its batches in the
// slices its driver released returns, input for input, the effects of one
// that allocates them.
func TestSharedBatchesChangeNoEffect(t *testing.T) {
	run := func(share bool) *world {
		w := newWorld(t, lrm.Config{MaxConcurrent: 2})
		if share {
			w.share()
		}
		for i := range 4 {
			w.register(fmt.Sprintf("r%d", i))
			w.submit(lrm.OpRequest{Resource: fmt.Sprintf("r%d", i), Action: ocf.Start})
			w.submit(lrm.OpRequest{Resource: fmt.Sprintf("r%d", i), Action: ocf.Monitor, Interval: 5 * time.Second})
		}
		w.run(time.Minute)
		w.submit(lrm.OpRequest{Resource: "r1", Action: ocf.Stop})
		w.run(time.Minute)
		return w
	}
	alone, shared := run(false), run(true)
	require.Greater(t, len(alone.effects), 100)
	require.Equal(t, alone.effects, shared.effects)
	require.Positive(t, shared.batches.Spare(), "the released slices are kept for reuse")
}
