package daemon

import (
	"crypto/tls"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/live/certs"
)

// A daemon whose MayAct says no (its lease no longer provably holds) stops
// acting for good: admin requests are refused, its agent connections are
// closed, and a MayAct that says yes again does not bring it back (its
// machine ran ahead of what it carried out).
func TestNoLongerLeadingIsFinal(t *testing.T) {
	lc := newLiveCluster(t, []string{"h1", "h2"})
	lc.await("the group runs on h1", func() bool { return lc.running("h1") })
	lc.mgr.Stop()
	var may atomic.Bool
	may.Store(true)
	d, err := StartManagerDaemon(ManagerDaemonConfig{Model: lc.model, Store: lc.mstore,
		TLS:   func(h string) (*tls.Config, error) { return certs.ManagerTLS(lc.certs, h) },
		Clock: clock.New(), Log: quietLog(), MayAct: may.Load})
	require.NoError(t, err)
	lc.mgr = d
	lc.await("the gated manager adopts the group", func() bool { return lc.running("h1") })
	require.True(t, d.Leads())

	may.Store(false)
	_, err = d.Admin(manager.Request{Command: manager.CmdMove, Target: "g", Host: "h2"})
	require.True(t, errors.Is(err, ErrNotLeading), "%v", err)
	require.False(t, d.Leads())
	require.Error(t, d.linkCtx.Err(), "the agent connections are closed")
	may.Store(true)
	require.False(t, d.Leads(), "no longer leading is final")
	_, err = d.Admin(manager.Request{Command: manager.CmdMove, Target: "g", Host: "h2"})
	require.ErrorIs(t, err, ErrNotLeading)
}
