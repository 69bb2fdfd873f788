package agent

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
)

// TestBatchesReuseWhatWasReleasedOnce: a released slice comes back emptied
// and cleared for a batch it has room for; one released twice is kept
// once, so it is never handed out to two batches; a batch still held is
// never handed out.
func TestBatchesReuseWhatWasReleasedOnce(t *testing.T) {
	var b batches
	held := append(b.take(2), effect.KillProcess{ID: 1}, effect.KillProcess{ID: 2})
	done := append(b.take(3), effect.CancelTimer{ID: 7})
	require.NotSame(t, &held[:1][0], &done[:1][0])

	b.put(done)
	b.put(done) // released twice
	require.Len(t, b.spare, 1)
	again := b.take(2)
	require.Same(t, &done[:1][0], &again[:1][0], "the released slice serves the next batch")
	require.Empty(t, again)
	require.Nil(t, again[:1][0], "cleared: it keeps nothing it held alive")
	other := b.take(2)
	require.NotSame(t, &again[:1][0], &other[:1][0], "handed out once only")
	require.NotSame(t, &held[:1][0], &other[:1][0])
	require.Equal(t, []effect.Effect{effect.KillProcess{ID: 1}, effect.KillProcess{ID: 2}}, held, "a held batch is untouched")

	big := b.take(maxSpareBatchCap + 1)
	b.put(big)
	require.Empty(t, b.spare, "too big to keep")
	for range maxSpareBatches + 2 {
		b.put(make([]effect.Effect, 0, 4))
	}
	require.Len(t, b.spare, maxSpareBatches)
	b.put(nil)
	require.Len(t, b.spare, maxSpareBatches)
}

// TestReleasedBatchesChangeNoEffect: an agent whose driver releases every
// batch once it has carried it out (and, as the simulator, tells it each
// process group in the middle of a batch) returns, input for input, the
// effects of one whose driver releases none.
func TestReleasedBatchesChangeNoEffect(t *testing.T) {
	run := func(release bool) []string {
		a := newAgent(t, 0)
		var out []string
		var exits []proc.ID
		timers := map[effect.TimerID]time.Time{}
		var apply func(effs []effect.Effect)
		apply = func(effs []effect.Effect) {
			for _, e := range effs {
				out = append(out, e.Describe())
				switch e := e.(type) {
				case effect.StartProcess:
					exits = append(exits, e.ID)
					apply(a.ProcessStarted(t0, e.ID, int(e.ID)+100))
				case effect.SetTimer:
					timers[e.ID] = e.At
				case effect.CancelTimer:
					delete(timers, e.ID)
				}
			}
			if release {
				a.Release(effs)
			}
		}
		monitor := exec(1, 2, ocf.Monitor)
		monitor.Request.Interval = 10 * time.Second
		apply(a.Start(t0))
		apply(a.Receive(t0, 1, exec(1, 1, ocf.Start)))
		apply(a.Receive(t0, 1, monitor))
		for i := range 30 {
			now := t0.Add(time.Duration(i) * time.Second)
			if len(exits) > 0 {
				id := exits[0]
				exits = exits[1:]
				apply(a.ProcessExited(now, id, proc.Exit{Code: 0}))
			}
			for _, id := range slices.Sorted(maps.Keys(timers)) {
				if !timers[id].After(now) {
					delete(timers, id)
					apply(a.TimerFired(now, id))
				}
			}
		}
		return out
	}
	without := run(false)
	require.Greater(t, len(without), 80)
	require.Contains(t, strings.Join(without, "\n"), "heartbeat")
	require.Equal(t, without, run(true))
}
