package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
)

// TestFrozenManagerReadsItsSocketsAfterItsTimers is hardening item B, the
// paused manager: stopped (SIGSTOP) for longer than the dead timeout while
// the agents go on heartbeating into its sockets, then resumed (SIGCONT).
// On resume the world fires every timer that came due before the manager
// reads anything, as a real process does, and the heartbeats sent meanwhile
// wait for it, neither lost nor delivered early. The manager's clock-jump
// grace gives them time to be read: nobody is declared lost or fenced.
func TestFrozenManagerReadsItsSocketsAfterItsTimers(t *testing.T) {
	for _, pause := range []time.Duration{5200 * time.Millisecond, 9 * time.Second} {
		w := frozenFor(t, Options{Seed: 31}, pause)
		require.Empty(t, w.Losses(), "pause %s: no host lost", pause)
		require.Empty(t, w.Fences(), "pause %s: no host fenced", pause)
		require.True(t, w.runningOn("fs1", "oss1"), "fs1 stays where it ran")
	}
}

// TestFrozenManagerWithoutGraceFencesHealthyHosts: the same pause with the
// grace hidden from the manager (every timer handled at the time it was
// due, the no-clock-jump-grace canary) fences the hosts that heartbeated
// all along, and each loss shows a heartbeat that had reached the manager
// within the dead timeout.
func TestFrozenManagerWithoutGraceFencesHealthyHosts(t *testing.T) {
	w := frozenFor(t, Options{Seed: 31, ManagerTimerAt: func(due, _ time.Time) time.Time { return due }}, 9*time.Second)
	require.NotEmpty(t, w.Losses())
	dead := w.Model.Cluster.DeadTimeout
	for _, l := range w.Losses() {
		require.Less(t, l.At.Sub(l.LastHeard), dead, "%s was heard within the dead timeout", l.Host)
	}
}

// frozenFor boots the failover pair, freezes the manager for pause, thaws
// it and lets the cluster run on for a minute.
func frozenFor(t *testing.T, opts Options, pause time.Duration) *world {
	w := newWorld(t, "failover-pair.yaml", opts)
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "start-up")
	w.FreezeManager()
	_, err := w.Admin(manager.Request{Command: manager.CmdCleanup, Target: "fs1"})
	require.ErrorContains(t, err, "frozen", "a frozen manager does not answer")
	require.NoError(t, w.Run(pause))
	held := len(w.cur.held)
	require.Positive(t, held, "the heartbeats sent meanwhile wait in the manager's sockets")
	require.Positive(t, len(w.cur.heldTimers), "its dead timers came due meanwhile")
	w.ThawManager()
	require.NoError(t, w.Run(time.Minute))
	w.requireSafe()
	return w
}
