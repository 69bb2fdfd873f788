package daemon

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/core/history"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/live/process"
	"github.com/basalt-ha/basalt/live/transport"
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
	// r2's start hangs until the LRM kills it; r3's hangs past the test.
	for _, r := range []string{"r2", "r3"} {
		require.NoError(t, os.WriteFile(filepath.Join(rscTmp, "statefile-"+r+".state.hang-start"), nil, 0o644))
	}

	path := filepath.Join(dir, "ops.jsonl")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	require.NoError(t, err)
	defer f.Close()
	runner := process.NewRunner()
	d, err := StartAgentDaemon(AgentDaemonConfig{
		Agent: agent.Config{Host: "h1", HeartbeatInterval: time.Second, FenceAgentDir: fenceDir, FenceEnv: []string{DefaultPath},
			LRM: lrm.Config{OCFRoot: ocfRoot, ExtraEnv: []string{DefaultPath, "HA_RSCTMP=" + rscTmp}}},
		Listen: "127.0.0.1:0", Insecure: true, Store: storage.NewMem(), Clock: clock.New(), Runner: runner,
		Log: quietLog(), History: f,
	})
	require.NoError(t, err)
	defer d.Stop()

	nc, err := net.Dial("tcp", d.Addr())
	require.NoError(t, err)
	c := transport.NewConn(nc)
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
	r3 := lrm.Resource{ID: "r3", Name: "resource three", Agent: statefile}
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
	exec(r3, ocf.Start, 0, time.Minute)
	for _, agentName := range []string{"fence_ok", "fence_hang"} {
		op++
		require.NoError(t, c.Send(proto.FenceExec{Epoch: epoch, Op: op, Device: "dev-" + agentName, Agent: agentName,
			Action: proto.FenceOff, Target: "h2", Timeout: 300 * time.Millisecond}))
	}

	// Bounded poll on the file itself: five runs of the recurring monitor
	// (the first reported, the others not) and everything else.
	var recs []history.Op
	deadline := time.Now().Add(30 * time.Second)
	for {
		recs, err = readOps(path)
		require.NoError(t, err)
		monitors, fences, starts := 0, 0, 0
		for _, r := range recs {
			switch {
			case r.Pending():
			case r.Device != "":
				fences++
			case r.Kind == "monitor" && r.IntervalMS == 100:
				monitors++
			case r.Kind == "start":
				starts++
			}
		}
		if monitors >= 5 && fences == 2 && starts == 2 {
			break
		}
		require.True(t, time.Now().Before(deadline), "history incomplete after 30s: %+v", recs)
		time.Sleep(50 * time.Millisecond) // poll interval
	}

	by := func(match func(history.Op) bool) []history.Op {
		var out []history.Op
		for _, r := range recs {
			if match(r) {
				out = append(out, r)
			}
		}
		return out
	}
	// r3's start is running: its call record is all there is, and it is
	// what the history shows if the agent dies now.
	running := by(func(r history.Op) bool { return r.Pending() })
	require.NotEmpty(t, running)
	for _, r := range running {
		if r.Resource == "r3" {
			require.Equal(t, history.Op{Host: "h1", Resource: "r3", Kind: "start", Call: r.Call, Killed: true,
				Epoch: epoch}, r)
			require.False(t, r.Call.IsZero())
		}
	}
	r3Recs := by(func(r history.Op) bool { return r.Resource == "r3" })
	require.Len(t, r3Recs, 1, "r3's start is in the history once")
	require.True(t, r3Recs[0].Pending())
	// Killing its process ends the start, and the end record completes
	// the start record.
	runs := runsOf(t, path, "r3")
	require.Len(t, runs, 1)
	require.NoError(t, runner.Kill(proc.ID(runs[0])))
	for {
		recs, err = readOps(path)
		require.NoError(t, err)
		r3Recs = by(func(r history.Op) bool { return r.Resource == "r3" })
		require.Len(t, r3Recs, 1, "r3's start is in the history once")
		if !r3Recs[0].Pending() {
			break
		}
		require.True(t, time.Now().Before(deadline), "r3's start did not end after its process was killed")
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	require.True(t, r3Recs[0].Killed, "%+v", r3Recs[0])
	require.Equal(t, "start", r3Recs[0].Kind)
	for _, r := range recs {
		require.Equal(t, "h1", r.Host)
		if r.Pending() {
			continue // a monitor's run in progress; r3 is checked above
		}
		require.EqualValues(t, epoch, r.Epoch, "%+v", r)
		require.False(t, r.Call.IsZero(), "%+v", r)
		require.False(t, r.Return.Before(r.Call), "%+v", r)
	}
	probe := by(func(r history.Op) bool { return r.Resource == "r1" && r.Kind == "monitor" && r.IntervalMS == 0 })
	require.Len(t, probe, 1)
	require.Equal(t, int(ocf.NotRunning), probe[0].RC)
	require.Equal(t, "done", probe[0].Status)
	require.False(t, probe[0].Killed)

	start := by(func(r history.Op) bool { return r.Resource == "r1" && r.Kind == "start" })
	require.Len(t, start, 1)
	require.Equal(t, 0, start[0].RC)
	require.False(t, start[0].Call.Before(probe[0].Return), "the start ran after the probe")

	monitors := by(func(r history.Op) bool { return r.Resource == "r1" && r.IntervalMS == 100 && !r.Pending() })
	for i, m := range monitors {
		require.Equal(t, 0, m.RC, "%+v", m)
		require.False(t, m.Call.Before(start[0].Return))
		if i > 0 {
			require.True(t, m.Call.After(monitors[i-1].Return), "runs of one monitor do not overlap")
		}
	}

	hung := by(func(r history.Op) bool { return r.Resource == "r2" })
	require.Len(t, hung, 1)
	require.Equal(t, "timeout", hung[0].Status)
	require.True(t, hung[0].Killed)
	require.NotEqual(t, 0, hung[0].RC)
	require.GreaterOrEqual(t, hung[0].Return.Sub(hung[0].Call), 300*time.Millisecond)

	fenced := by(func(r history.Op) bool { return r.Device == "dev-fence_ok" })
	require.Len(t, fenced, 1)
	require.Equal(t, history.Op{Host: "h1", Device: "dev-fence_ok", Kind: "off", Target: "h2",
		Call: fenced[0].Call, Return: fenced[0].Return, RC: 0, Epoch: epoch}, fenced[0])
	killed := by(func(r history.Op) bool { return r.Device == "dev-fence_hang" })
	require.Len(t, killed, 1)
	require.True(t, killed[0].Killed)
	require.NotEqual(t, 0, killed[0].RC)
	require.GreaterOrEqual(t, killed[0].Return.Sub(killed[0].Call), 300*time.Millisecond)
}

// readOps reads a history file as operations.
func readOps(path string) ([]history.Op, error) {
	recs, err := ReadHistory(path)
	return history.Ops(recs), err
}

// runsOf returns the process numbers of rsc's runs that started.
func runsOf(t *testing.T, path, rsc string) []uint64 {
	recs, err := ReadHistory(path)
	require.NoError(t, err)
	var out []uint64
	for _, r := range recs {
		if r.Resource == rsc && r.Phase == history.Started {
			out = append(out, r.Run)
		}
	}
	return out
}

func TestReadHistoryToleratesOnlyATornLastLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	good := `{"phase":"end","kind":"resource","host":"h1","resource":"r1","action":"start","at":"2025-01-02T03:04:05.123456789Z",` +
		`"status":"done","epoch":2,"life":1,"run":1}` + "\n"

	recs, err := ReadHistory(write("torn", good+`{"phase":"start","kind":"fence","host":"h1","dev`))
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, history.Record{Phase: history.Ended, Kind: history.Resource, Host: "h1", Resource: "r1", Action: "start",
		At: time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC), Status: "done", Epoch: 2, Life: 1, Run: 1}, recs[0])

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

// TestHistoryPairsStartsWithTheirEnds: a start record and its end make one
// operation; a start with no end (the agent died, or the operation is
// still running) comes back pending, and a new life of the agent, which
// numbers its processes afresh, never completes the last life's starts.
func TestHistoryPairsStartsWithTheirEnds(t *testing.T) {
	at := func(s int) string { return time.Date(2025, 1, 2, 3, 4, s, 0, time.UTC).Format(time.RFC3339Nano) }
	start := func(life, run, s int, action string) string {
		return fmt.Sprintf(`{"phase":"start","kind":"resource","host":"h1","resource":"r1","action":%q,"at":%q,"epoch":2,"life":%d,"run":%d}`+"\n",
			action, at(s), life, run)
	}
	end := func(life, run, e int, action string, rc int) string {
		return fmt.Sprintf(`{"phase":"end","kind":"resource","host":"h1","resource":"r1","action":%q,"at":%q,"rc":%d,"status":"done","epoch":2,"life":%d,"run":%d}`+"\n",
			action, at(e), rc, life, run)
	}
	content := start(1, 1, 1, "monitor") + end(1, 1, 2, "monitor", 7) +
		start(1, 2, 3, "start") + // the agent dies during this start
		start(2, 1, 10, "monitor") + start(2, 2, 11, "stop") + end(2, 1, 12, "monitor", 0) +
		start(2, 3, 13, "monitor") // still running when read
	path := filepath.Join(t.TempDir(), "ops.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	ops, err := readOps(path)
	require.NoError(t, err)
	type got struct {
		action  string
		call    int
		pending bool
		rc      int
	}
	var gots []got
	for _, r := range ops {
		gots = append(gots, got{r.Kind, r.Call.Second(), r.Pending(), r.RC})
	}
	require.Equal(t, []got{
		{"monitor", 1, false, 7},
		{"start", 3, true, 0}, // life 2's run 2 is not life 1's
		{"monitor", 10, false, 0},
		{"stop", 11, true, 0},
		{"monitor", 13, true, 0},
	}, gots)
}
