package eventq

import (
	"math/rand/v2"
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
