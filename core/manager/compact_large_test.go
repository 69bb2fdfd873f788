package manager

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/eventlog"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
)

// wideCluster is two hosts and groups groups of two resources: every
// report of a standby names all 2 × groups resources.
func wideCluster(t *testing.T, groups int) *model.Model {
	t.Helper()
	var b strings.Builder
	b.WriteString("cluster: {name: wide}\nhosts:\n  - {name: h1, address: 127.0.0.1:7101}\n  - {name: h2, address: 127.0.0.1:7102}\n")
	b.WriteString("fence-devices:\n  - {id: pdu, agent: fence_x, hosts: {h1: \"1\", h2: \"2\"}}\nresources:\n")
	for i := range 2 * groups {
		fmt.Fprintf(&b, "  - {id: resource-%d, agent: \"ocf:basalt:statefile\"}\n", i)
	}
	b.WriteString("groups:\n")
	for g := range groups {
		fmt.Fprintf(&b, "  - {id: group-%d, members: [{resource: resource-%d}, {resource: resource-%d, parent: resource-%d}]}\n", g, 2*g, 2*g+1, 2*g)
	}
	m, err := model.Load("wide.yaml", []byte(b.String()))
	require.NoError(t, err)
	return m
}

// notCompacted counts the effects saying a snapshot could not be written.
func notCompacted(effs []effect.Effect) int {
	n := 0
	for _, e := range effs {
		if l, ok := e.(effect.Log); ok && strings.HasPrefix(l.Msg, "event log not compacted") {
			n++
		}
	}
	return n
}

// A 256-host cluster's simulated heal (every host out of standby, every
// group cleared) never compacted its event log: 128 closed reports of
// standbys, each naming every resource, made a snapshot larger than a
// record may be, and the manager tried again, encoding megabytes, at every
// input while the log grew without bound. The snapshot's history is
// bounded in bytes as well as in count, so the log compacts.
func TestCompactionOfLargeReports(t *testing.T) {
	m := wideCluster(t, 300)
	st := storage.NewMem()
	mg := New(Config{Model: m})
	effs, err := mg.Start(t0, 0, nil)
	require.NoError(t, err)
	failed, snapshots := 0, 0
	onPersist := func(p *effect.Persist) {
		if !p.Append && p.Name == EventLog {
			snapshots++
		}
		persist(t, st, []effect.Effect{p})
	}
	answerAll(t, mg, st, t0, effs, onPersist)
	for _, h := range []string{"h1", "h2"} {
		mg.HostConnected(t0, h, effect.ConnID(len(h)))
		answerAll(t, mg, st, t0, mg.Receive(t0, h, proto.Hello{Host: h}), onPersist)
	}
	for i := range 300 {
		now := t0.Add(time.Duration(i) * time.Second)
		req := Request{Command: CmdStandby, Target: "h2"}
		if i%2 == 1 {
			req.Command = CmdUnstandby
		}
		_, effs, err := mg.Admin(now, req)
		require.NoError(t, err)
		failed += notCompacted(effs)
		answerAll(t, mg, st, now, effs, onPersist)
	}
	require.Zero(t, failed, "snapshots too large to write")
	require.Greater(t, snapshots, 2)
	data, err := st.Read(EventLog)
	require.NoError(t, err)
	require.Less(t, len(data), DefaultCompactBytes+2*eventlog.MaxRecord, "the log is bounded")
	rec, err := Recover(st)
	require.NoError(t, err)
	again := New(Config{Model: m})
	_, err = again.Start(t0.Add(time.Hour), rec.Epoch, rec.Records)
	require.NoError(t, err)
	require.NotEmpty(t, again.Reports(), "the snapshot keeps the latest closed reports")
}

// A snapshot that cannot be written (here: a thousand open reports of
// standbys, which it must keep, each naming every group) is tried again
// when the log's tail has doubled, not at every input.
func TestCompactionThatCannotBeWrittenBacksOff(t *testing.T) {
	m := wideCluster(t, 400)
	mg := New(Config{Model: m, CompactRecords: 100})
	_, err := mg.Start(t0, 0, nil)
	require.NoError(t, err)
	failed := 0
	for i := range 1000 { // no host ever answers: every report stays open
		_, effs, err := mg.Admin(t0.Add(time.Duration(i)*time.Millisecond), Request{Command: CmdStandby, Target: "h2"})
		require.NoError(t, err)
		failed += notCompacted(effs)
	}
	require.Positive(t, failed, "the test means something: the snapshot is too large")
	require.LessOrEqual(t, failed, 8, "tried again only as the tail doubled")
}
