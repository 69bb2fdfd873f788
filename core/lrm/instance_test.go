package lrm_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
)

// A clone instance runs with OCF_RESOURCE_INSTANCE "id:N", as Pacemaker's
// do; a name that is not the resource's and a number is refused.
func TestCloneInstanceName(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	effs, err := w.lrm.Register(w.q.Now(), lrm.Resource{ID: "db", Agent: ocf.Agent{Provider: "heartbeat", Type: "Dummy"}, Instance: "db:2"})
	require.NoError(t, err)
	w.apply(effs)
	w.submit(lrm.OpRequest{Resource: "db", Action: ocf.Start})
	w.run(0)
	require.NotEmpty(t, w.runner.Runs)
	require.Equal(t, "db", w.runner.Runs[0].Resource)
	require.Equal(t, "db:2", w.runner.Runs[0].Instance)

	for _, bad := range []string{"other:1", "db:", "db:x", "db"} {
		_, err := w.lrm.Register(w.q.Now(), lrm.Resource{ID: "db2", Agent: ocf.Agent{Provider: "heartbeat", Type: "Dummy"}, Instance: bad})
		require.Error(t, err, bad)
	}
}
