package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestResourceRunsAreFreedOnceEnded: a resource agent's run goes back to
// the free list once it has ended, whether it exited or its agent killed
// it at its timeout (a hung monitor), and never while it still runs nor
// twice: a run freed early would carry a later operation in place of its
// own.
func TestResourceRunsAreFreedOnceEnded(t *testing.T) {
	w := newWorld(t, "failover-pair.yaml", Options{Seed: 1})
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "start-up")
	w.FailResource("oss1", "ost1", "monitor", ResourceFault{Hang: true, Times: 1})
	require.NoError(t, w.Run(2*time.Minute))
	w.requireSafe()
	killed := false
	for _, op := range w.History() {
		killed = killed || (op.Host == "oss1" && op.Resource == "ost1" && op.Kind == "monitor" && op.Killed && !op.Pending())
	}
	require.True(t, killed, "the hung monitor was killed at its timeout")
	require.NotEmpty(t, w.procs)
	free := map[*simProc]bool{}
	for _, p := range w.procs {
		require.False(t, free[p], "a run freed twice")
		free[p] = true
		require.Nil(t, p.h, "a free run keeps nothing of its last operation")
	}
	for _, n := range w.names {
		for key, p := range w.hosts[n].procs {
			require.False(t, free[p], "run %v on %s is free while it runs", key, n)
		}
	}
}
