package agent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/history"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
)

func testConfig(boot string) Config {
	return Config{Host: "h1", LRM: lrm.Config{OCFRoot: "/usr/lib/ocf"}, HeartbeatInterval: time.Second,
		FenceAgentDir: "/usr/sbin", Boot: boot}
}

// persistAll plays a driver's storage: every Persist effect is written.
func persistAll(t *testing.T, st storage.Store, effs []effect.Effect) {
	t.Helper()
	for _, e := range effs {
		if p, ok := e.(*effect.Persist); ok && p.Append {
			require.NoError(t, st.Append(p.Name, p.Data))
		} else if ok {
			require.NoError(t, st.Write(p.Name, p.Data))
		}
	}
}

func startsOf(effs []effect.Effect) []*effect.StartProcess { return only[*effect.StartProcess](effs) }

func sends(effs []effect.Effect) []effect.Message {
	var out []effect.Message
	for _, s := range only[*effect.Send](effs) {
		out = append(out, s.Msg)
	}
	return out
}

// midStart is an agent that died during a start: its store holds the
// epoch, the resource and the start's process (with its group when pgid
// is not 0).
func midStart(t *testing.T, boot string, pgid int) storage.Store {
	st := storage.NewMem()
	a, err := Recover(testConfig(boot), st)
	require.NoError(t, err)
	a.Connected(t0, 1)
	persistAll(t, st, a.Resume(t0))
	effs := a.Receive(t0, 1, exec(1, 1, ocf.Start))
	persistAll(t, st, effs)
	sp := startsOf(effs)
	require.Len(t, sp, 1)
	var persisted, started int
	for i, e := range effs {
		if p, ok := e.(*effect.Persist); ok && p.Name == OpsRecord {
			persisted = i
		}
		if _, ok := e.(*effect.StartProcess); ok {
			started = i
		}
	}
	require.Less(t, persisted, started, "the operation is durable before its process starts")
	if pgid != 0 {
		persistAll(t, st, a.ProcessStarted(t0, sp[0].ID, pgid))
	}
	return st // the agent dies here: its start runs on
}

func TestOlderStateDirectoryBoots(t *testing.T) {
	st := storage.NewMem()
	require.NoError(t, st.Write(EpochRecord, []byte("7\n")))
	data, err := EncodeResources([]lrm.Resource{{ID: "r", Agent: ocf.Agent{Provider: "heartbeat", Type: "Dummy"}}})
	require.NoError(t, err)
	require.NoError(t, st.Write(ResourcesRecord, data))
	a, err := Recover(testConfig("b1"), st)
	require.NoError(t, err)
	a.Connected(t0, 1)
	require.Equal(t, proto.Epoch(7), a.Epoch())
	effs := a.Resume(t0)
	require.Len(t, startsOf(effs), 1, "no operations record: nothing left running, the probe runs at once")
}

func TestOrphanIsKilledBeforeAnythingIsSaidOfItsResource(t *testing.T) {
	st := midStart(t, "b1", 4242)
	a, err := Recover(testConfig("b1"), st)
	require.NoError(t, err)
	a.Connected(t0, 1)
	effs := a.Resume(t0.Add(time.Second))
	var kill []KillOrphan
	for _, e := range effs {
		if k, ok := e.(KillOrphan); ok {
			kill = append(kill, k)
		}
	}
	require.Equal(t, []KillOrphan{{Resource: "r", Life: 1, Run: 1, PGID: 4242}}, kill)
	require.Empty(t, startsOf(effs), "no probe beside the orphan")

	// The manager probes meanwhile, then asks for a stop: both wait.
	probe := exec(1, 2, ocf.Monitor)
	held := append(a.Receive(t0.Add(time.Second), 1, probe), a.Receive(t0.Add(time.Second), 1, exec(1, 3, ocf.Stop))...)
	require.Empty(t, startsOf(held))
	require.Empty(t, sends(held), "nothing is reported about r while its orphan may run")

	effs = a.OrphanEnded(t0.Add(2*time.Second), 1, 1, true)
	var end []history.Record
	for _, e := range effs {
		if n, ok := e.(*history.Note); ok && n.Record.Phase == history.Ended {
			end = append(end, n.Record)
		}
	}
	require.Len(t, end, 1)
	require.True(t, end[0].Orphan && end[0].Killed)
	require.Equal(t, "start", end[0].Action)
	sp := startsOf(effs)
	require.Len(t, sp, 1, "the restart's own probe runs first, the held commands queue behind it")
	persistAll(t, st, effs)
	_, running, orphans, err := DecodeOps(mustRead(t, st, OpsRecord))
	require.NoError(t, err)
	require.Empty(t, orphans, "the orphan is gone from the record")
	require.Len(t, running, 1)
}

func TestOrphanThatSurvivesItsKillFailsEveryCommand(t *testing.T) {
	a, err := Recover(testConfig("b1"), midStart(t, "b1", 4242))
	require.NoError(t, err)
	a.Connected(t0, 1)
	a.Resume(t0)
	require.Empty(t, sends(a.Receive(t0, 1, exec(1, 2, ocf.Monitor))))
	effs := a.OrphanEnded(t0.Add(10*time.Second), 1, 1, false)
	msgs := sends(effs)
	require.Len(t, msgs, 1)
	res := msgs[0].(proto.OpResult).Result
	require.Equal(t, lrm.Error, res.Status)
	require.True(t, res.Failed(), "a failure, which the manager resolves by stopping and then fencing")
	require.Empty(t, startsOf(effs))
	stop := sends(a.Receive(t0.Add(11*time.Second), 1, exec(1, 3, ocf.Stop)))
	require.Len(t, stop, 1)
	require.True(t, stop[0].(proto.OpResult).Result.Failed())
}

func TestOrphanOfAnEarlierBootIsGone(t *testing.T) {
	a, err := Recover(testConfig("b2"), midStart(t, "b1", 4242))
	require.NoError(t, err)
	a.Connected(t0, 1)
	effs := a.Resume(t0)
	for _, e := range effs {
		_, kill := e.(KillOrphan)
		require.False(t, kill, "a group number of another boot is nobody's to kill")
	}
	require.Len(t, startsOf(effs), 1, "probed at once")
}

func TestOrphanOfUnknownGroupIsPresumedOverAtItsTimeout(t *testing.T) {
	a, err := Recover(testConfig("b1"), midStart(t, "b1", 0))
	require.NoError(t, err)
	a.Connected(t0, 1)
	effs := a.Resume(t0)
	require.Empty(t, startsOf(effs))
	var timer *effect.SetTimer
	for _, e := range effs {
		if s, ok := e.(*effect.SetTimer); ok && s.At.After(t0.Add(time.Second)) {
			timer = s
		}
	}
	require.Equal(t, t0.Add(time.Second+orphanGrace), timer.At, "the start's timeout (1 s) and the grace")
	require.Len(t, startsOf(a.TimerFired(timer.At, timer.ID)), 1, "then probed")
}

func mustRead(t *testing.T, st storage.Store, name string) []byte {
	data, err := st.Read(name)
	require.NoError(t, err)
	return data
}

func TestHeldCommandOfASupersededManagerIsRefused(t *testing.T) {
	a, err := Recover(testConfig("b1"), midStart(t, "b1", 4242))
	require.NoError(t, err)
	a.Connected(t0, 1)
	a.Resume(t0)
	require.Empty(t, sends(a.Receive(t0, 1, exec(1, 2, ocf.Start))), "held")
	// A new manager takes over while the start waits; its own probe waits
	// behind the orphan too.
	require.Empty(t, sends(a.Receive(t0, 1, exec(2, 1, ocf.Monitor))))
	effs := a.OrphanEnded(t0.Add(time.Second), 1, 1, true)
	var refused []proto.Refused
	for _, m := range sends(effs) {
		if r, ok := m.(proto.Refused); ok {
			refused = append(refused, r)
		}
	}
	require.Len(t, refused, 1)
	require.True(t, refused[0].Stale)
	require.Equal(t, proto.OpID(2), refused[0].Op)
	for _, sp := range startsOf(effs) {
		require.Equal(t, []string{"monitor"}, sp.Spec.Args, "the old manager's start never runs")
	}
}

// TestOpsRecordFollowsTheRunningProcesses: when an operation ends and the
// next one on its resource starts in the same step, the record persisted
// before the new process lists it alone.
func TestOpsRecordFollowsTheRunningProcesses(t *testing.T) {
	st := storage.NewMem()
	a, err := Recover(testConfig("b1"), st)
	require.NoError(t, err)
	a.Connected(t0, 1)
	persistAll(t, st, a.Resume(t0))
	effs := a.Receive(t0, 1, exec(1, 1, ocf.Start))
	first := startsOf(effs)[0]
	persistAll(t, st, effs)
	persistAll(t, st, a.Receive(t0, 1, exec(1, 2, ocf.Stop))) // queued behind the start
	effs = a.ProcessExited(t0.Add(time.Second), first.ID, proc.Exit{})
	next := startsOf(effs)
	require.Len(t, next, 1)
	for i, e := range effs {
		if sp, ok := e.(*effect.StartProcess); ok && sp.ID == next[0].ID {
			persistAll(t, st, effs[:i])
			break
		}
	}
	_, running, _, err := DecodeOps(mustRead(t, st, OpsRecord))
	require.NoError(t, err)
	require.Len(t, running, 1)
	require.Equal(t, ocf.Stop, running[0].Action)
	require.Equal(t, uint64(next[0].ID), running[0].Run)
}
