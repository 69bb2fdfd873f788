package agent

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/core/proto"
)

// Hardening item 2: one command carrying epoch 2^64-1 (a manager
// certificate is all it takes) used to be stored, and every later manager
// was refused as stale for ever. The agent refuses it without storing it,
// saying why, and the next honest manager is obeyed.
func TestEpochAboveTheCeilingIsRefusedAndNotStored(t *testing.T) {
	for _, bad := range []proto.Epoch{math.MaxUint64, proto.MaxEpoch + 1} {
		a := newAgent(t, 4)
		effs := a.Receive(t0, 1, exec(bad, 1, ocf.Start))
		require.NotContains(t, kinds(effs), "start-process")
		for _, k := range kinds(effs) {
			require.NotContains(t, k, "persist:agent-epoch")
		}
		ref := effs[len(effs)-1].(*effect.Send).Msg.(proto.Refused)
		require.False(t, ref.Stale, "an impossible epoch does not supersede anyone")
		require.Contains(t, ref.Reason, "above the ceiling")
		require.Equal(t, proto.Epoch(4), a.Epoch())

		require.Contains(t, kinds(a.Receive(t0, 1, exec(5, 2, ocf.Start))), "start-process", "the next manager is obeyed")
	}
}

// A jump of more than the bound above the stored epoch is refused, the
// bound is the agent's configuration, and a jump within it is accepted.
func TestEpochJumpBound(t *testing.T) {
	a := newAgent(t, 4)
	effs := a.Receive(t0, 1, exec(4+proto.DefaultMaxEpochJump+1, 1, ocf.Start))
	require.Contains(t, effs[len(effs)-1].(*effect.Send).Msg.(proto.Refused).Reason, "more than the bound")
	require.Equal(t, proto.Epoch(4), a.Epoch())
	require.Contains(t, kinds(a.Receive(t0, 1, exec(4+proto.DefaultMaxEpochJump, 2, ocf.Start))), "start-process")

	b, err := New(Config{Host: "h1", LRM: lrm.Config{OCFRoot: "/usr/lib/ocf"}, HeartbeatInterval: time.Second, MaxEpochJump: 10}, 4)
	require.NoError(t, err)
	b.Connected(t0, 1)
	require.NotContains(t, kinds(b.Receive(t0, 1, exec(15, 1, ocf.Start))), "start-process")
	require.Contains(t, kinds(b.Receive(t0, 1, exec(14, 2, ocf.Start))), "start-process")
}

// A candidate connection whose command carries an impossible epoch does
// not take the agent over.
func TestImpossibleEpochDoesNotPromoteACandidate(t *testing.T) {
	a := newAgent(t, 4)
	a.Connected(t0, 2)
	a.Receive(t0, 2, exec(math.MaxUint64, 1, ocf.Start))
	cur, cand := a.Conns()
	require.Equal(t, effect.ConnID(1), cur)
	require.Equal(t, effect.ConnID(2), cand)
}

// An agent whose record was poisoned before the rule existed refuses to
// start, naming the recovery command.
func TestPoisonedEpochRecordRefusesToStart(t *testing.T) {
	_, err := New(Config{Host: "h1", LRM: lrm.Config{OCFRoot: "/usr/lib/ocf"}, HeartbeatInterval: time.Second}, math.MaxUint64)
	require.ErrorContains(t, err, "basalt-agent epoch --state-dir DIR --reset N")
}

// Hardening item 10: a manager whose state directory was restored from a
// backup one restart old starts with the epoch the agents already hold and
// numbers its operations from 1 again. The agents took its probes for
// copies of the lost manager's operations of the same numbers and dropped
// them: the manager waited for their timeouts (about 90 s) before it knew
// anything. Its commands come on its own connection, and are new.
func TestRestoredManagerReusingEpochAndOpsIsObeyed(t *testing.T) {
	a := newAgent(t, 0)
	effs := a.Receive(t0, 1, exec(5, 1, ocf.Monitor))
	require.Contains(t, kinds(effs), "start-process")
	for _, e := range effs {
		if sp, ok := e.(*effect.StartProcess); ok {
			a.ProcessExited(t0, sp.ID, proc.Exit{Code: 7})
		}
	}
	a.Disconnected(t0, 1) // that manager's host died; its directory is restored from a backup
	a.Connected(t0, 2)
	require.Contains(t, kinds(a.Receive(t0, 2, exec(5, 1, ocf.Monitor))), "start-process",
		"the restored manager's probe runs at once")
	require.NotContains(t, kinds(a.Receive(t0, 2, exec(5, 1, ocf.Monitor))), "start-process",
		"a copy on the same connection still runs once")
}
