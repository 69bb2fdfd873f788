package cluster

import (
	"math"
	"math/rand/v2"
	"strings"
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

// TestDuplicatedMessagesFreeTheirFlightOnce: with every message delivered
// twice, a flight goes back to the free list once, after its second
// arrival (a flight freed after the first would carry the next message in
// place of the copy), and the cluster still settles as it does without.
func TestDuplicatedMessagesFreeTheirFlightOnce(t *testing.T) {
	w := newWorld(t, "failover-pair.yaml", Options{Seed: 1})
	w.SetDuplication(1)
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "fs1 on oss1")
	require.NoError(t, w.Run(30*time.Second))
	require.NotEmpty(t, w.flights)
	seen := map[*flight]bool{}
	for _, f := range w.flights {
		require.False(t, seen[f], "a flight freed twice")
		seen[f] = true
		require.Zero(t, f.arrivals)
		require.Nil(t, f.msg)
	}
	copies := 0
	for _, l := range w.lines {
		if strings.HasSuffix(l, " deliver oss1->manager conn=1 heartbeat host=oss1 epoch=1 seq=30") {
			copies++
		}
	}
	require.Equal(t, 2, copies, "a heartbeat arrives twice")
}
