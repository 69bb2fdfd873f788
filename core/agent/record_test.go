package agent

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
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
			m := exec(1, op, ocf.Start) // only a start changes a known definition
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

// TestOpsRecordIsTheWholeStateEncoded: the ops record, kept one running
// process at a time, is byte for byte the whole state encoded at once, as
// the agent wrote it before, through starts, process groups learned, ends,
// and orphans of an earlier life killed.
func TestOpsRecordIsTheWholeStateEncoded(t *testing.T) {
	st := midStart(t, "b1", 4242)
	a, err := Recover(testConfig("b1"), st)
	require.NoError(t, err)
	a.Connected(t0, 1)
	whole := func() string {
		s := opsState{Life: a.life, Orphans: a.orphans}
		for _, id := range slices.Sorted(maps.Keys(a.running)) {
			s.Running = append(s.Running, *a.running[id])
		}
		data, err := json.Marshal(s)
		require.NoError(t, err)
		return string(data)
	}
	check := func(step string) {
		t.Helper()
		require.Equal(t, whole(), string(a.persistOps().(effect.Persist).Data), step)
	}
	check("recovered, orphan pending")
	a.Resume(t0)
	check("resumed")
	require.Contains(t, whole(), `"orphans":[`, "the earlier life's start is an orphan")
	var started []proc.ID
	for i := range 6 {
		m := exec(1, proto.OpID(10+i), ocf.Monitor)
		id := fmt.Sprintf("q%d", i)
		m.Resource.ID, m.Request.Resource = id, id
		for _, sp := range startsOf(a.Receive(t0, 1, m)) {
			started = append(started, sp.ID)
		}
		check("started " + id)
	}
	require.Len(t, started, 6)
	for i, id := range started {
		if i%2 == 0 {
			a.ProcessStarted(t0, id, 5000+i)
			check(fmt.Sprintf("group of %d", id))
		}
	}
	a.OrphanEnded(t0.Add(time.Second), 1, 1, true)
	check("orphan ended")
	for _, i := range []int{3, 0, 5} {
		a.ProcessExited(t0.Add(2*time.Second), started[i], proc.Exit{Code: 7})
		check(fmt.Sprintf("ended %d", started[i]))
	}
	require.Contains(t, whole(), `"running":[`, "some still run")
	for _, i := range []int{1, 2, 4} {
		a.ProcessExited(t0.Add(3*time.Second), started[i], proc.Exit{Code: 7})
	}
	check("all ended")
}
