package agent

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proto"
)

// TestResourceRecordIsTheWholeListEncoded: the record the agent persists
// as it learns resources (new ones in any ID order, changed ones, restored
// ones, unchanged ones that persist nothing) is byte for byte the whole
// list encoded at once, as the agent wrote it before keeping each
// resource's encoding.
func TestResourceRecordIsTheWholeListEncoded(t *testing.T) {
	a := newAgent(t, 0)
	restored := []lrm.Resource{{ID: "m", Agent: ocf.Agent{Provider: "heartbeat", Type: "Dummy"}},
		{ID: "bad", Agent: ocf.Agent{Provider: "../x", Type: "Dummy"}}}
	a.Restore(t0, restored)
	op := proto.OpID(0)
	persists := 0
	for _, id := range []string{"r5", "r1", "r9", "r1", "a", "r5", "z<&>", "r10"} {
		for _, state := range []string{"/s", "/s", "/t"} {
			op++
			m := exec(1, op, ocf.Monitor)
			m.Resource.ID, m.Request.Resource = id, id
			m.Resource.Params = map[string]string{"state": state + id, "n": fmt.Sprint(len(id))}
			var got []byte
			for _, p := range only[effect.Persist](a.Receive(t0, 1, m)) {
				if p.Name == ResourcesRecord {
					got = p.Data
				}
			}
			if got == nil {
				continue
			}
			persists++
			want, err := EncodeResources(a.lrm.Resources())
			require.NoError(t, err)
			require.Equal(t, string(want), string(got), "after %s %s", id, state)
			require.Contains(t, string(got), `"ID":"m"`, "a restored resource stays listed")
		}
	}
	require.Equal(t, 16, persists, "each of the eight registrations persists twice: new or changed, then changed; a repeat persists nothing")
}
