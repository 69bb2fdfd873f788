package agent

import (
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

// dummyMeta is heartbeat:Dummy's meta-data, cut to what decides reloads.
const dummyMeta = `<?xml version="1.0"?><resource-agent name="Dummy" version="1.0"><version>1.0</version>
<parameters><parameter name="state" unique="1"/><parameter name="fake" unique="0"/></parameters>
<actions><action name="start" timeout="20s"/><action name="reload" timeout="20s"/></actions></resource-agent>`

// step feeds effs' processes their exits (rc from rcs by action, meta-data
// printing out), until no
// process is left; it returns every effect seen, the processes' actions
// and environments in order.
func step(t *testing.T, a *Agent, effs []effect.Effect, out string, rcs map[string]int) (all []effect.Effect, runs []string, envs [][]string) {
	t.Helper()
	for range 10 {
		all = append(all, effs...)
		var sp *effect.StartProcess
		for _, e := range effs {
			if s, ok := e.(*effect.StartProcess); ok {
				sp = s
			}
		}
		if sp == nil {
			return all, runs, envs
		}
		runs, envs = append(runs, sp.Spec.Args[0]), append(envs, sp.Spec.Env)
		exit := proc.Exit{Code: rcs[sp.Spec.Args[0]]}
		if sp.Spec.Args[0] == string(ocf.MetaDataAction) {
			exit.Stdout = []byte(out)
		}
		effs = a.ProcessExited(t0, sp.ID, exit)
	}
	t.Fatal("more than 10 processes")
	return nil, nil, nil
}

func learningAgent(t *testing.T) *Agent {
	t.Helper()
	a, err := New(Config{Host: "h1", LRM: lrm.Config{OCFRoot: "/usr/lib/ocf", LearnMetaData: true}, HeartbeatInterval: time.Second,
		FenceAgentDir: "/usr/sbin"}, 0)
	require.NoError(t, err)
	a.Connected(t0, 1)
	return a
}

func lastResult(t *testing.T, effs []effect.Effect) (lrm.Result, int) {
	t.Helper()
	at := -1
	var res lrm.Result
	for i, e := range effs {
		if s, ok := e.(*effect.Send); ok {
			if r, ok := s.Msg.(proto.OpResult); ok {
				res, at = r.Result, i
			}
		}
	}
	require.GreaterOrEqual(t, at, 0, "a result is sent")
	return res, at
}

func lastRecord(t *testing.T, st *storage.Mem, effs []effect.Effect, before int) []lrm.Resource {
	t.Helper()
	require.True(t, storeRecord(t, st, effs[:before]), "the record is persisted before the result is sent")
	return storedResources(t, st)
}

// TestStartRecordsHowItReloadsAndReloadKeepsTheNewDefinition: the agent's
// first start of an agent type learns its meta-data; the start's result
// and the persisted record say which parameters force a restart; a reload
// runs with the new parameters, and only its success makes them the
// recorded definition, which a restarted agent reports.
func TestStartRecordsHowItReloadsAndReloadKeepsTheNewDefinition(t *testing.T) {
	a := learningAgent(t)
	st := storage.NewMem()
	start := exec(1, 1, ocf.Start)
	start.Resource.Params = map[string]string{"state": "/run/r", "fake": "a"}
	effs, runs, _ := step(t, a, a.Receive(t0, 1, start), dummyMeta, nil)
	require.Equal(t, []string{"meta-data", "start"}, runs)
	res, at := lastResult(t, effs)
	require.Equal(t, ocf.Reload, res.ReloadAction, "heartbeat:Dummy reloads the legacy way")
	require.Equal(t, []string{"state"}, res.ForceRestart)
	rs := lastRecord(t, st, effs, at)
	require.NotNil(t, rs[0].Reload, "how it reloads is recorded with the resource")

	reload := exec(1, 2, ocf.Reload)
	reload.Resource.Params = map[string]string{"state": "/run/r", "fake": "b"}
	effs, runs, envs := step(t, a, a.Receive(t0, 1, reload), dummyMeta, map[string]int{"reload": 1})
	require.Equal(t, []string{"reload"}, runs, "meta-data is learnt once")
	require.Contains(t, envs[0], "OCF_RESKEY_fake=b", "a reload runs with the new parameters")
	res, _ = lastResult(t, effs)
	require.True(t, res.Failed())
	require.Empty(t, kindsOf(effs, "persist:"+ResourcesRecord), "a failed reload leaves the record as it was")
	def, _ := a.LRM().Resource("r")
	require.Equal(t, start.Resource.Digest(), def.Digest())

	reload.Op = 3
	effs, _, _ = step(t, a, a.Receive(t0, 1, reload), dummyMeta, nil)
	res, at = lastResult(t, effs)
	require.Equal(t, reload.Resource.Digest(), res.Digest)
	require.Equal(t, ocf.Reload, res.ReloadAction)
	rs = lastRecord(t, st, effs, at)
	require.Equal(t, reload.Resource.Digest(), rs[0].Digest(), "the reloaded definition is recorded before the manager hears")

	// A restarted agent probes with the reloaded definition and reports
	// how it reloads, without meta-data of its own yet.
	b := newAgent(t, 1)
	effs, runs, envs = step(t, b, b.Restore(t0, rs), "", nil)
	require.Equal(t, []string{"monitor"}, runs)
	require.Contains(t, envs[0], "OCF_RESKEY_fake=b")
	res, _ = lastResult(t, effs)
	require.Equal(t, reload.Resource.Digest(), res.Digest)
	require.Equal(t, []string{"state"}, res.ForceRestart)
	require.Equal(t, ocf.Reload, res.ReloadAction)
}
