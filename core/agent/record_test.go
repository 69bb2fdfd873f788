package agent

import (
	"bytes"
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
	"github.com/basalt-ha/basalt/core/storage"
)

// storeRecord carries out the resource record's persists among effs on
// st, as a driver does, and reports whether there was one.
func storeRecord(t *testing.T, st *storage.Mem, effs []effect.Effect) bool {
	t.Helper()
	persisted := false
	for _, p := range only[*effect.Persist](effs) {
		if p.Name != ResourcesRecord {
			continue
		}
		persisted = true
		if p.Append {
			require.NoError(t, st.Append(p.Name, p.Data))
		} else {
			require.NoError(t, st.Write(p.Name, p.Data))
		}
	}
	return persisted
}

// recordPersist is the one persist of the resource record among effs.
func recordPersist(t *testing.T, effs []effect.Effect) *effect.Persist {
	t.Helper()
	var out []*effect.Persist
	for _, p := range only[*effect.Persist](effs) {
		if p.Name == ResourcesRecord {
			out = append(out, p)
		}
	}
	require.Len(t, out, 1)
	return out[0]
}

// storedResources decodes the resource record st holds.
func storedResources(t *testing.T, st *storage.Mem) []lrm.Resource {
	t.Helper()
	data, err := st.Read(ResourcesRecord)
	require.NoError(t, err)
	rs, err := DecodeResources(data)
	require.NoError(t, err)
	return rs
}

// TestResourceRecordIsTheWholeListEncoded: the record the agent persists
// as it learns resources (new ones in any ID order, changed ones, restored
// ones, unchanged ones that persist nothing) decodes, after every persist,
// to the whole list the LRM holds, byte for byte as encoded at once; its
// first persist of a life, and every rewrite, is that whole list.
func TestResourceRecordIsTheWholeListEncoded(t *testing.T) {
	a := newAgent(t, 0)
	st := storage.NewMem()
	restored := []lrm.Resource{{ID: "m", Agent: ocf.Agent{Provider: "heartbeat", Type: "Dummy"}},
		{ID: "bad", Agent: ocf.Agent{Provider: "../x", Type: "Dummy"}}}
	a.Restore(t0, restored)
	op := proto.OpID(0)
	persists, appends := 0, 0
	for _, id := range []string{"r5", "r1", "r9", "r1", "a", "r5", "z<&>", "r10"} {
		for _, state := range []string{"/s", "/s", "/t"} {
			op++
			m := exec(1, op, ocf.Start) // only a start changes a known definition
			m.Resource.ID, m.Request.Resource = id, id
			m.Resource.Params = map[string]string{"state": state + id, "n": fmt.Sprint(len(id))}
			effs := a.Receive(t0, 1, m)
			if !storeRecord(t, st, effs) {
				continue
			}
			persists++
			want, err := EncodeResources(a.lrm.Resources())
			require.NoError(t, err)
			p := recordPersist(t, effs)
			if p.Append {
				appends++
			} else {
				require.Equal(t, string(want)+"\n", string(p.Data), "a rewrite is the whole list, after %s %s", id, state)
			}
			got, err := EncodeResources(storedResources(t, st))
			require.NoError(t, err)
			require.Equal(t, string(want), string(got), "after %s %s", id, state)
			require.Contains(t, string(got), `"ID":"m"`, "a restored resource stays listed")
		}
	}
	require.Equal(t, 16, persists, "each of the eight registrations persists twice: new or changed, then changed; a repeat persists nothing")
	require.Equal(t, 15, appends, "the life's first persist writes the whole list, the others append")
}

// TestResourceRecordStaysBounded: a long run of changes and removals
// appends each, and rewrites the record once the changes outweigh the
// list, so that the record never holds much more than twice the list; it
// decodes to the list after each.
func TestResourceRecordStaysBounded(t *testing.T) {
	a := newAgent(t, 0)
	st := storage.NewMem()
	op := proto.OpID(0)
	rewrites := 0
	for i := range 600 {
		op++
		id := fmt.Sprintf("r%d", i%40)
		var effs []effect.Effect
		if i%7 == 6 {
			effs = a.Receive(t0, 1, proto.Forget{Epoch: 1, Op: op, Resource: id})
		} else {
			m := exec(1, op, ocf.Start)
			m.Resource.ID, m.Request.Resource = id, id
			m.Resource.Params = map[string]string{"state": fmt.Sprintf("/s%d", i)}
			effs = a.Receive(t0, 1, m)
			for _, sp := range only[*effect.StartProcess](effs) {
				effs = append(effs, a.ProcessExited(t0, sp.ID, proc.Exit{})...) // done, so that a forget may follow
			}
		}
		if !storeRecord(t, st, effs) {
			continue
		}
		for _, p := range only[*effect.Persist](effs) {
			if p.Name == ResourcesRecord && !p.Append {
				rewrites++
			}
		}
		want, err := EncodeResources(a.lrm.Resources())
		require.NoError(t, err)
		got, err := EncodeResources(storedResources(t, st))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "after change %d", i)
		data, err := st.Read(ResourcesRecord)
		require.NoError(t, err)
		require.LessOrEqual(t, len(data), 2*len(want)+recordSlack+1024, "after change %d", i)
	}
	require.Greater(t, rewrites, 1, "the record was rewritten as the changes grew")
	require.Less(t, rewrites, 60, "most changes are appended")
}

// TestResourceRecordDecodes: an old agent's record (the list alone), a
// list and its changes, and a torn last change (a crash during its
// append: never acknowledged, so skipped) decode; a damaged change before
// the last, or one that sets and removes nothing, is an error.
func TestResourceRecordDecodes(t *testing.T) {
	dummy := ocf.Agent{Provider: "heartbeat", Type: "Dummy"}
	base := `[{"ID":"a","Agent":{"Provider":"heartbeat","Type":"Dummy"}},{"ID":"c","Agent":{"Provider":"heartbeat","Type":"Dummy"}}]`
	ids := func(data string) []string {
		rs, err := DecodeResources([]byte(data))
		require.NoError(t, err, data)
		var out []string
		for _, r := range rs {
			require.Equal(t, dummy, r.Agent)
			out = append(out, r.ID+r.Params["p"])
		}
		return out
	}
	require.Equal(t, []string{"a", "c"}, ids(base), "an old agent's record")
	require.Equal(t, []string{"a", "c"}, ids(base+"\n"))
	changes := base + "\n" + `{"set":{"ID":"b","Agent":{"Provider":"heartbeat","Type":"Dummy"}}}` + "\n" +
		`{"remove":"a"}` + "\n" + `{"set":{"ID":"c","Agent":{"Provider":"heartbeat","Type":"Dummy"},"Params":{"p":"2"}}}` + "\n"
	require.Equal(t, []string{"b", "c2"}, ids(changes), "changes apply in order; the list comes in ID order")
	require.Equal(t, []string{"b", "c2"}, ids(changes+`{"remove":"b`), "a torn last change is skipped")
	for _, bad := range []string{"", `{"remove":"a"}` + "\n", base + "\n{\"remove\":\n" + `{"remove":"a"}` + "\n", base + "\n{}\n"} {
		_, err := DecodeResources([]byte(bad))
		require.Error(t, err, "%q", bad)
	}
}

// TestRecoveredAgentRewritesTheRecordFirst: a life's first persist of the
// resource record writes it whole, replacing whatever tail a crash left.
func TestRecoveredAgentRewritesTheRecordFirst(t *testing.T) {
	st := storage.NewMem()
	a := newAgent(t, 0)
	require.True(t, storeRecord(t, st, a.Receive(t0, 1, exec(1, 1, ocf.Stop))))
	m := exec(1, 2, ocf.Stop)
	m.Resource.ID, m.Request.Resource = "s", "s"
	require.True(t, storeRecord(t, st, a.Receive(t0, 1, m)))
	st.TearTail(ResourcesRecord, 3)
	require.Len(t, storedResources(t, st), 1, "the torn change is skipped")

	b, err := Recover(testConfig("h1"), st)
	require.NoError(t, err)
	b.Connected(t0, 1)
	m = exec(1, 3, ocf.Stop)
	m.Resource.ID, m.Request.Resource = "t", "t"
	effs := b.Receive(t0, 1, m)
	p := recordPersist(t, effs)
	require.False(t, p.Append, "the first persist of a life is a rewrite")
	require.True(t, storeRecord(t, st, effs))
	var got []string
	for _, r := range storedResources(t, st) {
		got = append(got, r.ID)
	}
	require.Equal(t, []string{"t"}, got, "the new life knows only what it registered (Restore adds the rest)")
}

// TestOpsRecordIsTheWholeStateEncoded: the ops record, kept one running
// process at a time and appended change by change, decodes after every
// persist to the whole state, byte for byte as encoded at once (as the
// agent wrote it before), through starts, process groups learned, ends
// (the next process starting in the same step), and orphans of an
// earlier life killed; each rewrite is a base alone.
func TestOpsRecordIsTheWholeStateEncoded(t *testing.T) {
	st := midStart(t, "b1", 4242)
	a, err := Recover(testConfig("b1"), st)
	require.NoError(t, err)
	a.Connected(t0, 1)
	whole := func() string {
		s := opsState{Life: a.life, Orphans: a.orphans}
		for _, id := range slices.Sorted(maps.Keys(a.running)) {
			s.Running = append(s.Running, a.running[id])
		}
		data, err := json.Marshal(s)
		require.NoError(t, err)
		return string(data)
	}
	appends, rewrites := 0, 0
	check := func(step string, effs []effect.Effect) {
		t.Helper()
		for _, p := range only[*effect.Persist](effs) {
			if p.Name != OpsRecord {
				continue
			}
			if p.Append {
				appends++
				require.NoError(t, st.Append(p.Name, p.Data))
				continue
			}
			rewrites++
			require.Equal(t, len(p.Data)-1, bytes.IndexByte(p.Data, '\n'), "a rewrite is a base alone: %s", step)
			require.NoError(t, st.Write(p.Name, p.Data))
		}
		life, running, orphans, err := DecodeOps(mustRead(t, st, OpsRecord))
		require.NoError(t, err, step)
		data, err := json.Marshal(opsState{Life: life, Running: running, Orphans: orphans})
		require.NoError(t, err)
		require.Equal(t, whole(), string(data), step)
	}
	check("resumed", a.Resume(t0))
	require.Contains(t, whole(), `"orphans":[`, "the earlier life's start is an orphan")
	var started []proc.ID
	for i := range 6 {
		m := exec(1, proto.OpID(10+i), ocf.Monitor)
		id := fmt.Sprintf("q%d", i)
		m.Resource.ID, m.Request.Resource = id, id
		effs := a.Receive(t0, 1, m)
		for _, sp := range startsOf(effs) {
			started = append(started, sp.ID)
		}
		check("started "+id, effs)
	}
	require.Len(t, started, 6)
	for i, id := range started {
		if i%2 == 0 {
			check(fmt.Sprintf("group of %d", id), a.ProcessStarted(t0, id, 5000+i))
		}
	}
	check("orphan ended", a.OrphanEnded(t0.Add(time.Second), 1, 1, true))
	m := exec(1, 30, ocf.Stop) // queued behind q0's monitor: starts as it ends
	m.Resource.ID, m.Request.Resource = "q0", "q0"
	check("stop queued", a.Receive(t0, 1, m))
	for _, i := range []int{3, 0, 5} {
		check(fmt.Sprintf("ended %d", started[i]), a.ProcessExited(t0.Add(2*time.Second), started[i], proc.Exit{Code: 7}))
	}
	require.Contains(t, whole(), `"running":[`, "some still run")
	require.Contains(t, whole(), `"action":"stop"`, "the stop runs")
	for _, i := range []int{1, 2, 4} {
		check(fmt.Sprintf("ended %d", started[i]), a.ProcessExited(t0.Add(3*time.Second), started[i], proc.Exit{Code: 7}))
	}
	require.Equal(t, 2, rewrites, "a new life and an orphan's end rewrite the record")
	require.Greater(t, appends, 10, "the rest is appended")
}

// TestOpsRecordDecodes: an old agent's ops record (the state alone), a
// state and its changes, and a torn last change decode; a damaged change
// before the last, or one that starts and ends nothing, is an error.
func TestOpsRecordDecodes(t *testing.T) {
	base := `{"life":2,"running":[{"resource":"a","action":"start","life":2,"run":3,"call":"2024-01-01T00:00:00Z","timeout_ms":1}],` +
		`"orphans":[{"resource":"o","action":"stop","life":1,"run":9,"call":"2024-01-01T00:00:00Z","timeout_ms":1}]}`
	runs := func(data string) []string {
		t.Helper()
		life, running, orphans, err := DecodeOps([]byte(data))
		require.NoError(t, err, data)
		require.Equal(t, uint64(2), life)
		require.Len(t, orphans, 1)
		var out []string
		for _, in := range running {
			out = append(out, fmt.Sprintf("%s%d/%d", in.Resource, in.Run, in.PGID))
		}
		return out
	}
	require.Equal(t, []string{"a3/0"}, runs(base), "an old agent's record")
	changes := base + "\n" + `{"run":{"resource":"b","action":"start","life":2,"run":1,"call":"2024-01-01T00:00:00Z","timeout_ms":1}}` + "\n" +
		`{"run":{"resource":"a","action":"start","life":2,"run":3,"pgid":7,"call":"2024-01-01T00:00:00Z","timeout_ms":1}}` + "\n" +
		`{"run":{"resource":"c","action":"start","life":2,"run":5,"call":"2024-01-01T00:00:00Z","timeout_ms":1}}` + "\n" + `{"end":5}` + "\n"
	require.Equal(t, []string{"b1/0", "a3/7"}, runs(changes), "changes apply in order; processes come in process order")
	require.Equal(t, []string{"b1/0", "a3/7"}, runs(changes+`{"end":1`), "a torn last change is skipped")
	for _, bad := range []string{"", base + "\n{\"end\":\n{\"end\":1}\n", base + "\n{}\n"} {
		_, _, _, err := DecodeOps([]byte(bad))
		require.Error(t, err, "%q", bad)
	}
}

// TestSameResourceIsTheirEncodingsBeingEqual: comparing two definitions
// field by field says what comparing their JSON encodings said, over
// definitions differing in each field, nil against empty, and alike.
func TestSameResourceIsTheirEncodingsBeingEqual(t *testing.T) {
	dummy := ocf.Agent{Provider: "heartbeat", Type: "Dummy"}
	var defs []lrm.Resource
	for _, params := range []map[string]string{nil, {}, {"a": "1"}, {"a": "2"}} {
		for _, meta := range []map[string]string{nil, {}, {"clone_max": "2"}} {
			for _, rl := range []*ocf.Reloadability{nil, {}, {Action: ocf.Reload}, {Action: ocf.Reload, ForceRestart: []string{}},
				{Action: ocf.Reload, ForceRestart: []string{"a"}}, {Action: ocf.Reload, RestartDigest: "d"}} {
				defs = append(defs, lrm.Resource{ID: "r", Name: "r", Agent: dummy, Params: params, Meta: meta, Reload: rl})
			}
		}
	}
	defs = append(defs, lrm.Resource{ID: "s", Name: "r", Agent: dummy}, lrm.Resource{ID: "r", Name: "n", Agent: dummy},
		lrm.Resource{ID: "r", Name: "r"}, lrm.Resource{ID: "r", Name: "r", Agent: dummy, Instance: "r:1"})
	for _, a := range defs {
		for _, b := range defs {
			x, err := json.Marshal(a)
			require.NoError(t, err)
			y, err := json.Marshal(b)
			require.NoError(t, err)
			require.Equal(t, string(x) == string(y), sameResource(a, b), "%s vs %s", x, y)
		}
	}
}
