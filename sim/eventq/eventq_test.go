package eventq

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestOrderAndVirtualTime(t *testing.T) {
	q := New(t0, nil)
	var got []string
	q.After(2*time.Second, func() { got = append(got, "b") })
	q.After(time.Second, func() { got = append(got, "a") })
	q.After(2*time.Second, func() { got = append(got, "c") }) // same instant: insertion order
	id := q.After(1500*time.Millisecond, func() { got = append(got, "cancelled") })
	q.Cancel(id)
	require.False(t, q.Pending(id))
	require.NoError(t, q.RunFor(10*time.Second, 100))
	require.Equal(t, []string{"a", "b", "c"}, got)
	require.Equal(t, t0.Add(10*time.Second), q.Now())
	require.Equal(t, uint64(3), q.Handled())
}

func TestPastEventsRunNowNeverBackwards(t *testing.T) {
	q := New(t0, nil)
	require.NoError(t, q.RunFor(time.Minute, 10))
	var at time.Time
	q.At(t0, func() { at = q.Now() })
	require.True(t, q.Step())
	require.Equal(t, t0.Add(time.Minute), at)
}

func TestLivelockIsBounded(t *testing.T) {
	q := New(t0, nil)
	var again func()
	again = func() { q.After(0, again) }
	q.After(0, again)
	require.ErrorContains(t, q.RunFor(time.Second, 1000), "more than 1000 events")
}

func TestSeededTieBreakIsReproducible(t *testing.T) {
	order := func(seed uint64) []int {
		q := New(t0, rand.New(rand.NewPCG(seed, 0)))
		var got []int
		for i := range 20 {
			q.After(time.Second, func() { got = append(got, i) })
		}
		require.NoError(t, q.RunFor(time.Minute, 100))
		return got
	}
	require.Equal(t, order(1), order(1))
	require.NotEqual(t, order(1), order(2), "a seed picks an interleaving")
}

func TestStaleIDNeverNamesALaterEvent(t *testing.T) {
	q := New(t0, nil)
	ran := false
	old := q.After(time.Second, func() {})
	q.Cancel(old)
	fresh := q.After(time.Second, func() { ran = true }) // reuses old's slot
	q.Cancel(old)
	q.Cancel(0)
	require.False(t, q.Pending(old))
	require.True(t, q.Pending(fresh))
	require.NoError(t, q.RunFor(time.Minute, 10))
	require.True(t, ran)
	require.False(t, q.Pending(fresh))
}

// TestOrderMatchesSortedSchedule checks the heap against the order it
// promises (time, then tie-break, then insertion) under heavy cancelling.
func TestOrderMatchesSortedSchedule(t *testing.T) {
	type want struct {
		at  time.Duration
		tie uint64
		seq int
	}
	r := rand.New(rand.NewPCG(7, 7))
	tie := rand.New(rand.NewPCG(3, 0))
	ties := rand.New(rand.NewPCG(3, 0)) // replays tie's draws
	q := New(t0, tie)
	var live []want
	ids := map[int]ID{}
	var got []int
	for seq := range 5000 {
		at := time.Duration(r.IntN(50)) * time.Millisecond
		ids[seq] = q.After(at, func() { got = append(got, seq) })
		live = append(live, want{at, ties.Uint64(), seq})
		if r.IntN(3) > 0 {
			k := r.IntN(len(live))
			q.Cancel(ids[live[k].seq])
			live = append(live[:k], live[k+1:]...)
		}
	}
	require.Equal(t, len(live), q.Len())
	sort.Slice(live, func(i, j int) bool {
		a, b := live[i], live[j]
		if a.at != b.at {
			return a.at < b.at
		}
		if a.tie != b.tie {
			return a.tie < b.tie
		}
		return a.seq < b.seq
	})
	require.NoError(t, q.RunFor(time.Second, len(live)))
	exp := make([]int, len(live))
	for i, w := range live {
		exp[i] = w.seq
	}
	require.Equal(t, exp, got)
}

// TestMoveIsCancelThenAt drives two queues with the same tie-break stream
// through the same random schedule, one moving events with Move and the
// other cancelling them and scheduling their callbacks anew: the events
// must run in the same order at the same instants, whether a move stays
// in its bucket, crosses the wheel, goes into or out of the front or far
// heaps, lands in the past or names an event that already ran.
func TestMoveIsCancelThenAt(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	moveIsCancelThenAt(t, New(start, rand.New(rand.NewPCG(7, 8))), New(start, rand.New(rand.NewPCG(7, 8))))
	// Without a tie-break, events of one instant run in insertion order:
	// a move inserts anew.
	moveIsCancelThenAt(t, New(start, nil), New(start, nil))
}

func moveIsCancelThenAt(t *testing.T, a, b *Queue) {
	r := rand.New(rand.NewPCG(9, 10))
	var ranA, ranB []string
	idsA, idsB := map[int]ID{}, map[int]ID{}
	offsets := []time.Duration{0, time.Millisecond, 3 * time.Millisecond, 5 * time.Second, 20 * time.Second, time.Hour, -time.Second}
	for step := range 20_000 {
		k := r.IntN(64)
		d := offsets[r.IntN(len(offsets))] + time.Duration(r.IntN(3))*time.Microsecond // often the same instant as another
		switch op := r.IntN(10); {
		case op < 4:
			name := fmt.Sprintf("e%d@%d", k, step)
			idsA[k] = a.At(a.Now().Add(d), func() { ranA = append(ranA, name) })
			idsB[k] = b.At(b.Now().Add(d), func() { ranB = append(ranB, name) })
		case op < 8:
			if id, ok := idsA[k]; ok {
				if moved := a.Move(id, a.Now().Add(d)); moved != 0 {
					idsA[k] = moved
				}
			}
			if id, ok := idsB[k]; ok {
				if s, live := b.find(id); live {
					fn := b.slots[s].fn
					b.Cancel(id)
					idsB[k] = b.At(b.Now().Add(d), fn)
				}
			}
		default:
			for range r.IntN(8) {
				a.Step()
				b.Step()
			}
		}
		require.Equal(t, a.Now(), b.Now(), "step %d", step)
	}
	for a.Step() {
		b.Step()
	}
	require.False(t, b.Step())
	require.Equal(t, ranB, ranA)
	require.NotEmpty(t, ranA)
}
