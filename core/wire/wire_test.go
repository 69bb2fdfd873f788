package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proto"
)

func TestRoundTrip(t *testing.T) {
	msgs := []effect.Message{
		proto.Exec{Epoch: 3, Op: 9, Resource: lrm.Resource{ID: "r", Name: "R", Agent: ocf.Agent{Provider: "heartbeat", Type: "Dummy"},
			Params: map[string]string{"state": "/run/$(x)"}}, Request: lrm.OpRequest{Resource: "r", Action: ocf.Monitor, Interval: 10 * time.Second, Timeout: time.Minute, Depth: 10}},
		proto.Cancel{Epoch: 1, Op: 2, Resource: "r", Key: lrm.OpKey{Action: ocf.Monitor, Interval: time.Second}},
		proto.Cancel{Epoch: 1, Op: 5, Resource: "r", Key: lrm.OpKey{Action: ocf.Monitor, Interval: time.Second}, Setup: 4},
		proto.FenceExec{Epoch: 1, Op: 3, Device: "d", Agent: "fence_dummy", Params: map[string]string{"a": "b"}, Action: proto.FenceOff, Target: "h", Plug: "h", Timeout: time.Minute},
		proto.Hello{Host: "h", Epoch: 4},
		proto.Hello{Host: "h", Epoch: 4, Heartbeat: time.Second},
		proto.Hello{Host: "h", Epoch: 4, Heartbeat: time.Second, Lists: true, Resources: []string{"r"}, CancelsBySetup: true},
		proto.Welcome{Epoch: 4, HeartbeatInterval: 250 * time.Millisecond, DeadTimeout: 3 * time.Second},
		proto.Goodbye{Host: "h", Epoch: 4},
		proto.Heartbeat{Host: "h", Epoch: 4, Seq: 99},
		proto.OpResult{Host: "h", Epoch: 4, Op: 7, Result: lrm.Result{CallID: 2, Resource: "r", RC: ocf.NotRunning, Status: lrm.Done, Outcome: ocf.Stopped,
			QueuedAt: time.Unix(10, 0).UTC(), EndedAt: time.Unix(11, 0).UTC()}},
		proto.FenceResult{Host: "h", Epoch: 4, Op: 8, Device: "d", Action: proto.FenceStatus, RC: 2},
		proto.Refused{Host: "h", Epoch: 1, Op: 1, Reason: "stale", Stale: true},
		proto.Hello{Host: "h", Epoch: 4, Heartbeat: time.Second, Attrs: true, HasAttrs: true, Boot: "b1"},
		proto.AttrUpdate{Host: "h", Req: 3, Target: "h2", Name: "master-db", Value: "10", Lifetime: proto.AttrReboot, By: "crm_master (db)"},
		proto.AttrUpdate{Host: "h", Req: 4, Target: "h", Name: "site", Delete: true, Lifetime: proto.AttrForever},
		proto.Attributes{Epoch: 4, Hosts: map[string][]proto.Attribute{"h": {{Name: "master-db", Value: "10", Lifetime: proto.AttrReboot}}}, Ack: 3},
		proto.Attributes{Epoch: 4, Ack: 5, Refused: "too many"},
	}
	for _, m := range msgs {
		line, err := Encode(m)
		require.NoError(t, err)
		require.Equal(t, byte('\n'), line[len(line)-1])
		got, err := Decode(line)
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
}

func TestBadInput(t *testing.T) {
	for in, want := range map[string]string{
		`{"type":"teleport","msg":{}}`:              `unknown message type "teleport"`,
		`{"type":"hello","msg":{"Host":"h","X":1}}`: `unknown field "X"`,
		`not json`:                  "wire:",
		`{"type":"hello","msg":[]}`: "hello",
	} {
		_, err := Decode([]byte(in))
		require.ErrorContains(t, err, want, in)
	}
	_, err := Encode(&effect.Send{})
	require.Error(t, err)
}

// The store's bounds keep the largest Attributes message, every host's
// attributes at their longest, within one line.
func TestLargestAttributesFitsALine(t *testing.T) {
	m := proto.Attributes{Epoch: proto.MaxEpoch, Ack: 1 << 63, Hosts: map[string][]proto.Attribute{}}
	value := strings.Repeat("<", proto.MaxAttrValue) // escaped by JSON as \u003c: the worst case
	for h := 0; h < proto.MaxAttrsInCluster/proto.MaxAttrsPerHost; h++ {
		host := fmt.Sprintf("%s%03d", strings.Repeat("h", 60), h)
		for i := 0; i < proto.MaxAttrsPerHost; i++ {
			name := fmt.Sprintf("%s%03d", strings.Repeat("n", proto.MaxAttrName-3), i)
			m.Hosts[host] = append(m.Hosts[host], proto.Attribute{Name: name, Value: value, Lifetime: proto.AttrForever})
		}
	}
	line, err := Encode(m)
	require.NoError(t, err)
	require.Less(t, len(line), MaxLine)
}

// An agent older than Welcome sends a Hello without Heartbeat, which the
// manager reads; a new agent's Hello without a heartbeat set (never sent)
// encodes as an old one's, so an old manager reads that too.
func TestHelloStaysReadableAcrossVersions(t *testing.T) {
	old, err := Decode([]byte(`{"type":"hello","msg":{"Host":"h","Epoch":3}}` + "\n"))
	require.NoError(t, err)
	require.Equal(t, proto.Hello{Host: "h", Epoch: 3}, old)
	line, err := Encode(proto.Hello{Host: "h", Epoch: 3})
	require.NoError(t, err)
	require.Equal(t, `{"type":"hello","msg":{"Host":"h","Epoch":3}}`+"\n", string(line))
}

// A cancel that names no setup reads the same in both directions: an
// older manager's cancel decodes as one naming none (the agent goes by key,
// as before), and a current manager's cancel naming none (what it sends an
// agent whose hello does not say CancelsBySetup) encodes byte for byte as
// an older manager's, which an older agent reads. One naming a setup is
// refused by a decoder of the older shape, which is why the manager names
// none to an older agent; and an older agent's hello says no
// CancelsBySetup.
func TestCancelStaysReadableAcrossVersions(t *testing.T) {
	oldCancel := `{"type":"cancel","msg":{"Epoch":1,"Op":9,"Resource":"r","Key":{"Action":"monitor","Interval":10000000000}}}` + "\n"
	key := lrm.OpKey{Action: ocf.Monitor, Interval: 10 * time.Second}
	got, err := Decode([]byte(oldCancel))
	require.NoError(t, err)
	require.Equal(t, proto.Cancel{Epoch: 1, Op: 9, Resource: "r", Key: key}, got)
	line, err := Encode(proto.Cancel{Epoch: 1, Op: 9, Resource: "r", Key: key})
	require.NoError(t, err)
	require.Equal(t, oldCancel, string(line))

	line, err = Encode(proto.Cancel{Epoch: 1, Op: 9, Resource: "r", Key: key, Setup: 7})
	require.NoError(t, err)
	var env envelope
	require.NoError(t, json.Unmarshal(line, &env))
	var before struct { // proto.Cancel before Setup
		Epoch    proto.Epoch
		Op       proto.OpID
		Resource string
		Key      lrm.OpKey
	}
	dec := json.NewDecoder(bytes.NewReader(env.Msg))
	dec.DisallowUnknownFields()
	require.ErrorContains(t, dec.Decode(&before), `unknown field "Setup"`)

	hello, err := Decode([]byte(`{"type":"hello","msg":{"Host":"h","Epoch":3,"Heartbeat":1000000000,"Lists":true}}` + "\n"))
	require.NoError(t, err)
	require.False(t, hello.(proto.Hello).CancelsBySetup)
	line, err = Encode(proto.Hello{Host: "h", Epoch: 3, Heartbeat: time.Second, Lists: true})
	require.NoError(t, err)
	require.NotContains(t, string(line), "CancelsBySetup", "a hello without it reads as an older agent's")
}

func FuzzDecode(f *testing.F) {
	line, _ := Encode(proto.Hello{Host: "h", Epoch: 1})
	f.Add(line)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		again, err := Encode(m)
		if err != nil {
			t.Fatalf("decoded %T does not encode: %v", m, err)
		}
		if _, err := Decode(again); err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
	})
}

// TestResultsSayHowTheyReloadAndOldOnesCannot: a result carries how its
// definition reloads, and a result from an agent that predates reloads
// (no such fields) decodes as one that cannot reload.
func TestResultsSayHowTheyReloadAndOldOnesCannot(t *testing.T) {
	m := proto.OpResult{Host: "h", Epoch: 4, Op: 7, Result: lrm.Result{CallID: 2, Resource: "r", Action: ocf.Start, Status: lrm.Done,
		Digest: "d1", ReloadAction: ocf.ReloadAgent, ForceRestart: []string{"state"}, RestartDigest: "d2",
		QueuedAt: time.Unix(10, 0).UTC(), EndedAt: time.Unix(11, 0).UTC()}}
	line, err := Encode(m)
	require.NoError(t, err)
	got, err := Decode(line)
	require.NoError(t, err)
	require.Equal(t, m, got)

	old := `{"type":"op-result","msg":{"Host":"h","Epoch":4,"Op":7,"Result":{"CallID":2,"Resource":"r","Name":"","Action":"start",` +
		`"Interval":0,"Depth":0,"RC":0,"Status":1,"Outcome":0,"ExitReason":"","Output":"","Digest":"d1",` +
		`"QueuedAt":"1970-01-01T00:00:10Z","StartedAt":"0001-01-01T00:00:00Z","EndedAt":"1970-01-01T00:00:11Z"}}}` + "\n"
	got, err = Decode([]byte(old))
	require.NoError(t, err)
	res := got.(proto.OpResult).Result
	require.Equal(t, "d1", res.Digest)
	require.False(t, res.Reloadability().CanReload())

	// An exec names no reloadability: what the agent learnt is its own.
	line, err = Encode(proto.Exec{Epoch: 1, Op: 1, Resource: lrm.Resource{ID: "r"}, Request: lrm.OpRequest{Resource: "r", Action: ocf.Start}})
	require.NoError(t, err)
	require.NotContains(t, string(line), "Reload")
}
