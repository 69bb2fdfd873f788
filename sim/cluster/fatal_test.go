package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
)

// TestFatalStartAcrossCleanup is hardening item 11: a start that will end
// with rc 6 (configured wrong everywhere) is still running when an
// operator's cleanup arrives, the fault having been fixed meanwhile. Its
// result, coming after the cleanup, must not undo the cleanup and leave
// the resource down for good: the cluster recovers it.
func TestFatalStartAcrossCleanup(t *testing.T) {
	w := newWorld(t, "failover-pair.yaml", Options{Seed: 51})
	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() }, "start-up")
	w.FailResource("oss1", "ost1", "start", ResourceFault{RC: 6, Delay: 4 * time.Second, Times: 1})
	w.KillResource("oss1", "ost1")
	w.settle(time.Minute, func() bool { return w.starting("oss1", "ost1") }, "the doomed start of ost1 runs")
	require.NoError(t, w.Run(2*time.Second))
	_, err := w.Admin(manager.Request{Command: manager.CmdCleanup, Target: "fs1"})
	require.NoError(t, err)
	w.settle(3*time.Minute, func() bool {
		return (w.runningOn("fs1", "oss1") || w.runningOn("fs1", "oss2")) && w.Manager().Idle()
	}, "fs1 recovered after the cleanup")
}
