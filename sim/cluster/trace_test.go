package cluster

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAppendDurationIsDurationString: the trace's time prefix is hashed,
// so appendDuration must write exactly what time.Duration.String does, at
// every unit boundary and for random durations of every magnitude.
func TestAppendDurationIsDurationString(t *testing.T) {
	ds := []time.Duration{0, 1, -1, 999, 1000, 1001, 999_999, 1_000_000, 1_500_000, 999_999_999,
		time.Second, time.Second + 1, 59 * time.Second, time.Minute, time.Hour, 90 * time.Minute,
		4*time.Minute + 17058*time.Millisecond, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		d := time.Duration(rng.Int64N(int64(1) << uint(rng.IntN(63))))
		if rng.IntN(4) == 0 {
			d = -d
		}
		ds = append(ds, d)
	}
	for _, d := range ds {
		require.Equal(t, d.String(), string(appendDuration([]byte("x"), d)[1:]), "duration %d", int64(d))
	}
}

// TestTraceLinesAndHash: lines reach the Trace callback as fmt formats
// them, with the time prefix, and the hash is SHA-256 over the lines each
// followed by a newline, whichever way (fmt or the deliver fast path) a
// line was built.
func TestTraceLinesAndHash(t *testing.T) {
	var lines []string
	c := New(loadModel(t, "three-host-domain.yaml"), Options{Seed: 1, Trace: func(l string) { lines = append(lines, l) }})
	c.trace("host %s agent started epoch=%d", "h1", 3)
	c.Q.After(1500*time.Millisecond, func() { c.traceDeliver("h1", "manager", 7, "heartbeat x") })
	c.Q.Step()
	c.trace("%s", "a much longer line than the others, to grow the buffer past what it held")
	c.trace("short")
	require.Equal(t, []string{
		"0s host h1 agent started epoch=3",
		"1.5s deliver h1->manager conn=7 heartbeat x",
		"1.5s a much longer line than the others, to grow the buffer past what it held",
		"1.5s short",
	}, lines)
	want := New(loadModel(t, "three-host-domain.yaml"), Options{Seed: 1})
	for _, l := range lines {
		want.hasher.Write([]byte(l + "\n"))
	}
	require.Equal(t, want.Hash(), c.Hash())
	require.Equal(t, 4, c.TraceLines())
}
