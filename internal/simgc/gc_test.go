package simgc

import (
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTuneGCKeepsWhatTheEnvironmentSays: TuneGC sets the simulator's
// collector target and a memory limit, but leaves both alone when GOGC or
// GOMEMLIMIT is set, as a person measuring or bounding a run sets them.
func TestTuneGCKeepsWhatTheEnvironmentSays(t *testing.T) {
	percent := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) })

	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "100")
			TuneGC()
			require.Equal(t, 100, debug.SetGCPercent(100), "%s set: the collector's target is left alone", env)
			require.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(math.MaxInt64), "%s set: no limit", env)
		})
	}

	t.Run("neither", func(t *testing.T) {
		for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
			t.Setenv(env, "") // restored when the test ends
			require.NoError(t, os.Unsetenv(env))
		}
		TuneGC()
		require.Equal(t, SimGCPercent, debug.SetGCPercent(100))
		got := debug.SetMemoryLimit(math.MaxInt64)
		if total := physicalMemory(); total > 0 {
			require.Equal(t, int64(total/2), got, "half the machine's memory")
		} else {
			require.Equal(t, int64(math.MaxInt64), got, "no limit where the memory is not read")
		}
	})
}
