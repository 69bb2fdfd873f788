package lrm_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/sim/eventq"
	"github.com/basalt-ha/basalt/sim/simproc"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// world drives an LRM on virtual time with the scripted runner: the
// smallest faithful driver, carrying out every effect in order.
type world struct {
	t       *testing.T
	q       *eventq.Queue
	runner  *simproc.Runner
	lrm     *lrm.LRM
	timers  map[effect.TimerID]eventq.ID
	notes   []*lrm.Notify
	logs    []effect.Log
	effects []string
	// batches, when set, are shared with the LRM, and every batch is
	// released there once carried out.
	batches *effect.Batches
}

func newWorld(t *testing.T, cfg lrm.Config) *world {
	t.Helper()
	if cfg.OCFRoot == "" {
		cfg.OCFRoot = "/usr/lib/ocf"
	}
	l, err := lrm.New(cfg)
	require.NoError(t, err)
	q := eventq.New(epoch, nil)
	w := &world{t: t, q: q, runner: simproc.New(q, simproc.Script{Duration: time.Second}), lrm: l, timers: map[effect.TimerID]eventq.ID{}}
	l.Subscribe("test")
	return w
}

func (w *world) apply(effs []effect.Effect) {
	for _, e := range effs {
		w.effects = append(w.effects, e.Describe())
		switch e := e.(type) {
		case *effect.StartProcess:
			require.NoError(w.t, w.runner.Start(e.ID, e.Spec, func(id proc.ID, x proc.Exit) {
				w.apply(w.lrm.ProcessExited(w.q.Now(), id, x))
			}))
		case *effect.KillProcess:
			require.NoError(w.t, w.runner.Kill(e.ID))
		case *effect.SetTimer:
			w.q.Cancel(w.timers[e.ID])
			id := e.ID
			w.timers[id] = w.q.At(e.At, func() {
				delete(w.timers, id)
				w.apply(w.lrm.TimerFired(w.q.Now(), id))
			})
		case *effect.CancelTimer:
			w.q.Cancel(w.timers[e.ID])
			delete(w.timers, e.ID)
		case *lrm.Notify:
			w.notes = append(w.notes, e)
		case effect.Log:
			w.logs = append(w.logs, e)
		default:
			w.t.Fatalf("unexpected effect %T", e)
		}
	}
	if w.batches != nil {
		w.batches.Put(effs)
	}
}

// share makes the LRM take its batches from ones the world releases.
func (w *world) share() {
	w.batches = &effect.Batches{}
	w.lrm.ShareBatches(w.batches)
}

func (w *world) register(id string) {
	w.t.Helper()
	effs, err := w.lrm.Register(w.q.Now(), lrm.Resource{
		ID: id, Name: "human " + id, Agent: ocf.Agent{Provider: "heartbeat", Type: "Dummy"},
		Params: map[string]string{"state": "/run/" + id},
	})
	require.NoError(w.t, err)
	w.apply(effs)
}

func (w *world) submit(req lrm.OpRequest) lrm.CallID {
	w.t.Helper()
	if req.Timeout == 0 {
		req.Timeout = 20 * time.Second
	}
	call, effs, err := w.lrm.Submit(w.q.Now(), req)
	require.NoError(w.t, err)
	w.apply(effs)
	return call
}

func (w *world) run(d time.Duration) {
	w.t.Helper()
	require.NoError(w.t, w.q.RunFor(d, 1_000_000))
}

// results returns the notified results for a resource, in order.
func (w *world) results(rsc string) []lrm.Result {
	var out []lrm.Result
	for _, n := range w.notes {
		if n.Result.Resource == rsc {
			out = append(out, n.Result)
		}
	}
	return out
}

// requireNoOverlap checks the runner's record: no two runs of one resource
// ever overlapped in virtual time.
func requireNoOverlap(t *testing.T, runs []simproc.Run) {
	t.Helper()
	last := map[string]simproc.Run{}
	for _, r := range runs {
		if p, ok := last[r.Resource]; ok {
			require.False(t, p.End.IsZero(), "run %d of %s started while run %d had not ended", r.ID, r.Resource, p.ID)
			require.False(t, r.Start.Before(p.End), "run %d of %s started at %s before run %d ended at %s", r.ID, r.Resource, r.Start, p.ID, p.End)
		}
		last[r.Resource] = r
	}
}
