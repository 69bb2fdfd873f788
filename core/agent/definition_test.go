package agent

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
)

// run has the agent carry out m and its process exit 0, and returns the
// process's environment and the result reported.
func run(t *testing.T, a *Agent, m proto.Exec) ([]string, lrm.Result) {
	t.Helper()
	var sp *effect.StartProcess
	for _, e := range a.Receive(t0, 1, m) {
		if s, ok := e.(*effect.StartProcess); ok {
			sp = s
		}
	}
	require.NotNil(t, sp, "%s starts a process", m.Describe())
	for _, e := range only[*effect.Send](a.ProcessExited(t0, sp.ID, proc.Exit{})) {
		if r, ok := e.Msg.(proto.OpResult); ok {
			return sp.Spec.Env, r.Result
		}
	}
	t.Fatalf("%s reports no result", m.Describe())
	return nil, lrm.Result{}
}

// TestActionsRunWithTheDefinitionLastStarted: a stop or monitor sent with a
// changed definition (the configuration changed while the resource ran)
// acts on the instance that runs: it runs with the parameters of the last
// start, and its result says so by digest. Only a start takes the new one.
// Were the stop to run with the new parameters, an IP address agent would
// remove an address it never added and leave the old one up.
func TestActionsRunWithTheDefinitionLastStarted(t *testing.T) {
	a := newAgent(t, 0)
	old := exec(1, 1, ocf.Start)
	old.Resource.Params = map[string]string{"ip": "10.0.0.1"}
	env, res := run(t, a, old)
	require.Contains(t, env, "OCF_RESKEY_ip=10.0.0.1")
	require.Equal(t, old.Resource.Digest(), res.Digest)

	changed := map[string]string{"ip": "10.0.0.2"}
	for i, action := range []ocf.Action{ocf.Monitor, ocf.Stop} {
		m := exec(1, proto.OpID(2+i), action)
		m.Resource.Params = changed
		env, res = run(t, a, m)
		require.Contains(t, env, "OCF_RESKEY_ip=10.0.0.1", "%s runs with the started definition", action)
		require.Equal(t, old.Resource.Digest(), res.Digest, "%s says which definition it ran with", action)
	}
	start := exec(1, 4, ocf.Start)
	start.Resource.Params = changed
	env, res = run(t, a, start)
	require.Contains(t, env, "OCF_RESKEY_ip=10.0.0.2", "a start takes the new definition")
	require.Equal(t, start.Resource.Digest(), res.Digest)
	require.NotEqual(t, old.Resource.Digest(), res.Digest)
}

// TestUnknownOrphanIsNotRunningHere: a probe or stop of a resource the
// manager knows only by name (found on another host, configured nowhere)
// is answered without running anything when this agent does not know it:
// the agent records a resource before acting on it, so it never ran it.
func TestUnknownOrphanIsNotRunningHere(t *testing.T) {
	a := newAgent(t, 0)
	for _, c := range []struct {
		action ocf.Action
		rc     ocf.RC
	}{{ocf.Monitor, ocf.NotRunning}, {ocf.Stop, ocf.OK}} {
		m := proto.Exec{Epoch: 1, Op: proto.OpID(len(c.action)), Resource: lrm.Resource{ID: "old"},
			Request: lrm.OpRequest{Resource: "old", Action: c.action}}
		effs := a.Receive(t0, 1, m)
		require.Empty(t, only[*effect.StartProcess](effs))
		sends := only[*effect.Send](effs)
		require.Len(t, sends, 1)
		require.Equal(t, c.rc, sends[0].Msg.(proto.OpResult).Result.RC, "%s", c.action)
	}
	effs := a.Receive(t0, 1, proto.Exec{Epoch: 1, Op: 99, Resource: lrm.Resource{ID: "old"},
		Request: lrm.OpRequest{Resource: "old", Action: ocf.Start}})
	require.IsType(t, proto.Refused{}, only[*effect.Send](effs)[0].Msg, "nothing starts without an agent")
	require.Empty(t, a.Hello().Resources, "nothing was registered")
}

// TestForgetDropsAResourceDurably: Forget unregisters a resource and
// persists the resource record without it; the hello stops listing it.
func TestForgetDropsAResourceDurably(t *testing.T) {
	a := newAgent(t, 0)
	st := storage.NewMem()
	effs := a.Receive(t0, 1, exec(1, 1, ocf.Stop))
	require.True(t, storeRecord(t, st, effs))
	a.ProcessExited(t0, only[*effect.StartProcess](effs)[0].ID, proc.Exit{})
	require.Equal(t, []string{"r"}, a.Hello().Resources)
	require.Len(t, storedResources(t, st), 1)
	effs = a.Receive(t0, 1, proto.Forget{Epoch: 1, Op: 2, Resource: "r"})
	persists := only[*effect.Persist](effs)
	require.Len(t, persists, 1)
	require.Equal(t, ResourcesRecord, persists[0].Name)
	require.True(t, storeRecord(t, st, effs))
	require.Empty(t, storedResources(t, st), "the record no longer lists it")
	require.Empty(t, a.Hello().Resources)
	require.Empty(t, a.Receive(t0, 1, proto.Forget{Epoch: 1, Op: 3, Resource: "r"}), "forgetting twice does nothing")
}
