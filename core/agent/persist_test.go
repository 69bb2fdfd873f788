package agent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/proto"
)

// heartbeatIn returns the heartbeat among effs.
func heartbeatIn(t *testing.T, effs []effect.Effect) proto.Heartbeat {
	t.Helper()
	for _, e := range effs {
		if s, ok := e.(*effect.Send); ok {
			if hb, ok := s.Msg.(proto.Heartbeat); ok {
				return hb
			}
		}
	}
	t.Fatalf("no heartbeat in %v", kinds(effs))
	return proto.Heartbeat{}
}

// TestHeartbeatsSayTheAgentCannotPersist: once the driver cannot persist,
// the agent says so at once and in every heartbeat until it can again, so
// that the manager reports it rather than take a silent host for lost.
func TestHeartbeatsSayTheAgentCannotPersist(t *testing.T) {
	a, err := New(Config{Host: "h1", LRM: lrm.Config{OCFRoot: "/usr/lib/ocf"}, HeartbeatInterval: time.Second}, 2)
	require.NoError(t, err)
	timer := a.Start(t0)[0].(*effect.SetTimer)
	a.Connected(t0, 7)

	hb := heartbeatIn(t, a.PersistFailed(t0, EpochRecord, "no space left on device"))
	require.Equal(t, "agent-epoch: no space left on device", hb.PersistError, "told at once")
	require.Empty(t, a.PersistFailed(t0, OpsRecord, "no space left on device"), "told once")
	hb = heartbeatIn(t, a.TimerFired(timer.At, timer.ID))
	require.NotEmpty(t, hb.PersistError, "and in every heartbeat")

	hb = heartbeatIn(t, a.PersistRecovered(t0.Add(2*time.Second)))
	require.Empty(t, hb.PersistError, "cleared as soon as it persists again")
	require.Empty(t, a.PersistError())
}
