package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Hardening item 10: the manager's state directory is backed up, the
// manager restarts once (the agents then hold the next epoch), its host
// dies, and the directory is restored from the backup. The restored
// manager starts at the epoch the agents hold and numbers its operations
// from 1 again; the agents took its probes for copies of the lost
// manager's and dropped them, and it stalled "waiting for probes" until
// their timeouts (about 90 s). It must know the cluster at once.
func TestManagerRestoredFromABackupRecoversAtOnce(t *testing.T) {
	w := newWorld(t, "failover-pair.yaml", Options{Seed: 8})
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "start-up")
	backup := w.mstore.Clone()
	w.CrashManager()
	w.StartManager()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "restarted")
	lost := w.Manager().Epoch()

	w.CrashManager()
	w.mstore = backup
	w.StartManager()
	require.Equal(t, lost, w.Manager().Epoch(), "the backup is one restart old: the same epoch again")
	w.settle(5*time.Second, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() },
		"the restored manager knows and monitors fs1 at once")
	for _, r := range []string{"pool1", "ost0", "ost1"} {
		require.True(t, w.Manager().Observed(r, "oss1").Monitored, "%s monitored", r)
	}
}
