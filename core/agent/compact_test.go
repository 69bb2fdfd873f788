package agent

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
)

// TestGoodbyeLeavesRecordsAnOlderAgentReads: an agent that appended
// change lines to its records rewrites both as bases alone when it stops
// cleanly, so that an older agent, which reads a record as one JSON value
// and refuses anything after it, can take over the state directory; what
// the records say is unchanged by it.
func TestGoodbyeLeavesRecordsAnOlderAgentReads(t *testing.T) {
	st := storage.NewMem()
	a, err := Recover(testConfig("b1"), st)
	require.NoError(t, err)
	persistAll(t, st, a.Resume(t0))
	a.Connected(t0, 1)
	for i := range 6 { // starts of new resources: appended to both records
		m := exec(1, proto.OpID(i+1), ocf.Start)
		m.Resource.ID = fmt.Sprintf("r%d", i)
		m.Request.Resource = m.Resource.ID
		persistAll(t, st, a.Receive(t0, 1, m))
	}
	var old []lrm.Resource
	require.Error(t, json.Unmarshal(mustRead(t, st, ResourcesRecord), &old), "the record holds change lines")
	want, err := DecodeResources(mustRead(t, st, ResourcesRecord))
	require.NoError(t, err)
	wantLife, wantRunning, _, err := DecodeOps(mustRead(t, st, OpsRecord))
	require.NoError(t, err)
	require.Len(t, wantRunning, 6, "six starts under way")

	persistAll(t, st, a.Goodbye(t0))
	require.NoError(t, json.Unmarshal(mustRead(t, st, ResourcesRecord), &old), "an older agent reads the resource record")
	require.Equal(t, want, old)
	var ops opsState
	require.NoError(t, json.Unmarshal(mustRead(t, st, OpsRecord), &ops), "an older agent reads the ops record")
	require.Equal(t, wantLife, ops.Life)
	require.Equal(t, wantRunning, ops.Running)
}

// TestGoodbyeBeforeResumeWritesNothing: an agent that read its records
// and was stopped before it resumed knows none of what they hold; a
// rewrite then would empty them.
func TestGoodbyeBeforeResumeWritesNothing(t *testing.T) {
	st := midStart(t, "b1", 4242)
	a, err := Recover(testConfig("b1"), st)
	require.NoError(t, err)
	require.Empty(t, only[*effect.Persist](a.Goodbye(t0)), "nothing known yet, nothing rewritten")
}
