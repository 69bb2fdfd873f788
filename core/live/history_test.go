package live

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
)

// TestAgentDaemonWritesOperationHistory drives an agent daemon as a
// manager would (plain TCP on loopback) and checks the history it writes:
// a probe, a start, every run of a recurring monitor (the unchanged ones
// too, which the manager never hears of), a start killed at its timeout,
// and fence agent runs, one that succeeds and one killed at its timeout.
func TestAgentDaemonWritesOperationHistory(t *testing.T) {
	ocfRoot, _ := repoAgents(t)
	dir := t.TempDir()
	rscTmp := filepath.Join(dir, "rsctmp")
	require.NoError(t, os.MkdirAll(rscTmp, 0o755))
	fenceDir := filepath.Join(dir, "fence")
	require.NoError(t, os.MkdirAll(fenceDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(fenceDir, "fence_ok"), []byte("#!/bin/sh\ncat >/dev/null\nexit 0\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(fenceDir, "fence_hang"), []byte("#!/bin/sh\ncat >/dev/null\nsleep 60\n"), 0o755))
	// r2's start hangs until the LRM kills it.
	require.NoError(t, os.WriteFile(filepath.Join(rscTmp, "statefile-r2.state.hang-start"), nil, 0o644))

	path := filepath.Join(dir, "ops.jsonl")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	require.NoError(t, err)
	defer f.Close()
	d, err := StartAgentDaemon(AgentDaemonConfig{
		Agent: agent.Config{Host: "h1", HeartbeatInterval: time.Second, FenceAgentDir: fenceDir, FenceEnv: []string{DefaultPath},
			LRM: lrm.Config{OCFRoot: ocfRoot, ExtraEnv: []string{DefaultPath, "HA_RSCTMP=" + rscTmp}}},
		Listen: "127.0.0.1:0", Insecure: true, Store: storage.NewMem(), Clock: clock.New(), Runner: NewProcessRunner(),
		Log: quietLog(), History: f,
	})
	require.NoError(t, err)
	defer d.Stop()

	nc, err := net.Dial("tcp", d.Addr())
	require.NoError(t, err)
	c := newConn(nc)
	defer c.Close()
	go func() { // drain what the agent sends, so that it never blocks on us
		for {
			if _, err := c.Recv(); err != nil {
				return
			}
		}
	}()
	const epoch = 3
	statefile := ocf.Agent{Provider: "basalt", Type: "statefile"}
	r1 := lrm.Resource{ID: "r1", Name: "resource one", Agent: statefile}
	r2 := lrm.Resource{ID: "r2", Name: "resource two", Agent: statefile}
	op := proto.OpID(0)
	exec := func(r lrm.Resource, action ocf.Action, interval, timeout time.Duration) {
		op++
		require.NoError(t, c.Send(proto.Exec{Epoch: epoch, Op: op, Resource: r,
			Request: lrm.OpRequest{Resource: r.ID, Action: action, Interval: interval, Timeout: timeout}}))
	}
	// One resource's operations run in the order accepted: probe, start,
	// then the monitor.
	exec(r1, ocf.Monitor, 0, 10*time.Second)
	exec(r1, ocf.Start, 0, 10*time.Second)
	exec(r1, ocf.Monitor, 100*time.Millisecond, 10*time.Second)
	exec(r2, ocf.Start, 0, 300*time.Millisecond)
	for _, agentName := range []string{"fence_ok", "fence_hang"} {
		op++
		require.NoError(t, c.Send(proto.FenceExec{Epoch: epoch, Op: op, Device: "dev-" + agentName, Agent: agentName,
			Action: proto.FenceOff, Target: "h2", Timeout: 300 * time.Millisecond}))
	}

	// Bounded poll on the file itself: five runs of the recurring monitor
	// (the first reported, the others not) and everything else.
	var recs []HistoryRecord
	deadline := time.Now().Add(30 * time.Second)
	for {
		recs, err = ReadHistory(path)
		require.NoError(t, err)
		monitors, fences, starts := 0, 0, 0
		for _, r := range recs {
			switch {
			case r.Kind == HistoryFence:
				fences++
			case r.Action == "monitor" && r.IntervalMS == 100:
				monitors++
			case r.Action == "start":
				starts++
			}
		}
		if monitors >= 5 && fences == 2 && starts == 2 {
			break
		}
		require.True(t, time.Now().Before(deadline), "history incomplete after 30s: %+v", recs)
		time.Sleep(50 * time.Millisecond) // poll interval
	}

	by := func(match func(HistoryRecord) bool) []HistoryRecord {
		var out []HistoryRecord
		for _, r := range recs {
			if match(r) {
				out = append(out, r)
			}
		}
		return out
	}
	for _, r := range recs {
		require.Equal(t, "h1", r.Host)
		require.EqualValues(t, epoch, r.Epoch, "%+v", r)
		require.False(t, r.Call.IsZero(), "%+v", r)
		require.False(t, r.Return.Before(r.Call), "%+v", r)
	}
	probe := by(func(r HistoryRecord) bool { return r.Resource == "r1" && r.Action == "monitor" && r.IntervalMS == 0 })
	require.Len(t, probe, 1)
	require.Equal(t, int(ocf.NotRunning), probe[0].RC)
	require.Equal(t, "done", probe[0].Status)
	require.False(t, probe[0].Killed)

	start := by(func(r HistoryRecord) bool { return r.Resource == "r1" && r.Action == "start" })
	require.Len(t, start, 1)
	require.Equal(t, HistoryResource, start[0].Kind)
	require.Equal(t, 0, start[0].RC)
	require.False(t, start[0].Call.Before(probe[0].Return), "the start ran after the probe")

	monitors := by(func(r HistoryRecord) bool { return r.Resource == "r1" && r.IntervalMS == 100 })
	for i, m := range monitors {
		require.Equal(t, 0, m.RC, "%+v", m)
		require.False(t, m.Call.Before(start[0].Return))
		if i > 0 {
			require.True(t, m.Call.After(monitors[i-1].Return), "runs of one monitor do not overlap")
		}
	}

	hung := by(func(r HistoryRecord) bool { return r.Resource == "r2" })
	require.Len(t, hung, 1)
	require.Equal(t, "timeout", hung[0].Status)
	require.True(t, hung[0].Killed)
	require.NotEqual(t, 0, hung[0].RC)
	require.GreaterOrEqual(t, hung[0].Return.Sub(hung[0].Call), 300*time.Millisecond)

	fenced := by(func(r HistoryRecord) bool { return r.Device == "dev-fence_ok" })
	require.Len(t, fenced, 1)
	require.Equal(t, HistoryRecord{Kind: HistoryFence, Host: "h1", Device: "dev-fence_ok", Action: "off", Target: "h2",
		Call: fenced[0].Call, Return: fenced[0].Return, RC: 0, Epoch: epoch}, fenced[0])
	killed := by(func(r HistoryRecord) bool { return r.Device == "dev-fence_hang" })
	require.Len(t, killed, 1)
	require.True(t, killed[0].Killed)
	require.NotEqual(t, 0, killed[0].RC)
	require.GreaterOrEqual(t, killed[0].Return.Sub(killed[0].Call), 300*time.Millisecond)
}

func TestReadHistoryToleratesOnlyATornLastLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	good := `{"kind":"resource","host":"h1","resource":"r1","action":"start","call":"2025-01-02T03:04:05.123456789Z",` +
		`"return":"2025-01-02T03:04:06Z","rc":0,"status":"done","killed":false,"epoch":2}` + "\n"

	recs, err := ReadHistory(write("torn", good+`{"kind":"fence","host":"h1","dev`))
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, HistoryRecord{Kind: HistoryResource, Host: "h1", Resource: "r1", Action: "start",
		Call: time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC), Return: time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC),
		Status: "done", Epoch: 2}, recs[0])

	recs, err = ReadHistory(write("unterminated", good+good[:len(good)-1]))
	require.NoError(t, err)
	require.Len(t, recs, 2, "a whole last record without its newline still counts")

	recs, err = ReadHistory(write("empty", ""))
	require.NoError(t, err)
	require.Empty(t, recs)

	_, err = ReadHistory(write("damaged", good+"{not json\n"+good))
	require.ErrorContains(t, err, "line 2")

	_, err = ReadHistory(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
