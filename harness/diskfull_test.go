package harness_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/harness"
	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/live/api"
)

// awaitStatus polls the manager's status (bounded) until cond holds.
func awaitStatus(t *testing.T, pc *procCluster, what string, cond func(v api.StatusView) bool) api.StatusView {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, err := pc.Status()
		if err == nil && cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within 60s: %s (last status %+v, %v)", what, v, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hasProblem(v api.StatusView, s string) bool {
	for _, p := range v.Problems {
		if strings.Contains(p, s) {
			return true
		}
	}
	return false
}

// TestProcessDiskFull fills, for real, first the manager's state directory
// (a small tmpfs of its own) and then an agent's: the manager refuses
// requests with 503 and says why, the agent holds its work and says so in
// its heartbeats without being fenced, and both resume by themselves once
// the space is back, nothing lost and never active on two hosts.
func TestProcessDiskFull(t *testing.T) {
	pc := newProcClusterOpts(t, []string{"h1", "h2"}, procOpts{stateTmpfs: "8m"})
	pc.awaitHealthyOn("h1")
	w := harness.WatchTruth(pc.ProcessCluster, check.Limits(pc.Model))
	defer w.Close()
	if err := pc.FillDisk("manager"); errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("no full disk here: %v", err)
	} else {
		require.NoError(t, err)
	}
	// An append may still fit in the last page of the event log; the
	// first that does not is a request's own record, refused.
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		err = pc.Admin(api.Request{Command: "cleanup", Target: "g"})
	}
	require.ErrorContains(t, err, "cannot persist")
	require.ErrorContains(t, pc.Admin(api.Request{Command: "move", Target: "g", Host: "h2"}), "cannot persist",
		"every request is refused while the disk is full")
	v := awaitStatus(t, pc, "status says the manager cannot persist", func(v api.StatusView) bool { return v.PersistError != "" })
	require.False(t, v.Healthy)
	require.NoError(t, pc.EmptyDisk("manager"))
	awaitStatus(t, pc, "the manager persists again", func(v api.StatusView) bool { return v.PersistError == "" })
	pc.awaitHealthyOn("h1")

	require.NoError(t, pc.FillDisk("h1"))
	require.NoError(t, pc.Admin(api.Request{Command: "move", Target: "g", Host: "h2"}))
	// The agent's records are logs: a change line may still fit in the
	// last block of its file, and a write that succeeds is durable. Each
	// cleanup probes g on h1 again, a few lines more, until one does not
	// fit (a block is 4 KiB; a probe writes some hundred bytes).
	full := func(v api.StatusView) bool { return hasProblem(v, "host h1 cannot persist") }
	for i := 0; i < 200; i++ {
		if v, err := pc.Status(); err == nil && full(v) {
			break
		}
		if err := pc.Admin(api.Request{Command: "cleanup", Target: "g"}); err != nil {
			t.Logf("cleanup %d: %v", i, err)
		}
		awaitStatus(t, pc, "the cleanup done, or h1 unable to persist", func(v api.StatusView) bool {
			return len(v.OpenReports) == 0 || full(v)
		})
	}
	awaitStatus(t, pc, "status says h1 cannot persist", full)
	require.Empty(t, pc.Fences(), "a live host is not fenced for its full disk")
	require.NoError(t, pc.EmptyDisk("h1"))
	pc.awaitHealthyOn("h2")
	require.Empty(t, pc.Fences())
	require.Empty(t, w.Violations())
}

// TestProcessImpostorIsRefused puts an impostor holding h1's certificate
// where the manager reaches h1; it relays h1's traffic and forges
// heartbeats and a newer manager's epoch in h2's name and in its own. The
// manager refuses the forgeries: nothing is fenced, nobody is deposed, and
// the cluster stays healthy.
func TestProcessImpostorIsRefused(t *testing.T) {
	pc := newProcClusterOpts(t, []string{"h1", "h2", "h3"}, procOpts{network: harness.NetProxy})
	pc.awaitHealthyOn("h1")
	require.NoError(t, pc.StartImpostor("h1", "h2"))
	deadline := time.Now().Add(60 * time.Second)
	for pc.ImpostorForged("h1") < 30 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	require.GreaterOrEqual(t, pc.ImpostorForged("h1"), 30, "the impostor was reached and forged")
	v, err := pc.Status()
	require.NoError(t, err)
	require.False(t, v.Deposed, "one host's word deposes nobody")
	pc.EndImpostor("h1")
	pc.awaitHealthyOn("h1")
	require.Empty(t, pc.Fences(), "nothing fenced")
}
