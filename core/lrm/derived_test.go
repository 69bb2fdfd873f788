package lrm_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
)

// TestRunsGetTheEnvironmentOfTheirDefinition: the LRM keeps what it
// derives from a definition (path, environment, digest) between runs;
// every run still gets exactly what its definition and request make, as
// computed afresh: across repeated runs, timeouts and depths more varied
// than it keeps, meta attributes of a request's own, and a re-registered
// definition.
func TestRunsGetTheEnvironmentOfTheirDefinition(t *testing.T) {
	const root = "/usr/lib/ocf"
	l, err := lrm.New(lrm.Config{OCFRoot: root, ExtraEnv: []string{"PATH=/bin"}})
	require.NoError(t, err)
	l.Subscribe("s")
	now := time.Unix(0, 0)
	def := lrm.Resource{ID: "r", Agent: ocf.Agent{Provider: "heartbeat", Type: "Dummy"},
		Params: map[string]string{"state": "/run/a"}, Meta: map[string]string{"clone_max": "2"}}
	_, err = l.Register(now, def)
	require.NoError(t, err)
	check := func(req lrm.OpRequest, def lrm.Resource) {
		t.Helper()
		req.Resource = "r"
		_, effs, err := l.Submit(now, req)
		require.NoError(t, err)
		var sp *effect.StartProcess
		for _, e := range effs {
			if s, ok := e.(*effect.StartProcess); ok {
				sp = s
			}
		}
		require.NotNil(t, sp, "%+v starts", req)
		meta := def.Meta
		if req.Meta != nil {
			meta = map[string]string{"clone_max": "2"}
			for k, v := range *req.Meta {
				meta[k] = v
			}
		}
		depth := 0
		if req.Action == ocf.Monitor {
			depth = req.Depth
		}
		want, err := ocf.Env(ocf.EnvSpec{Root: root, Agent: def.Agent, Instance: "r", Params: def.Params,
			Timeout: req.Timeout, Interval: req.Interval, Depth: depth, Extra: []string{"PATH=/bin"}, Meta: meta})
		require.NoError(t, err)
		require.Equal(t, want, sp.Spec.Env, "%+v", req)
		path, err := def.Agent.Path(root)
		require.NoError(t, err)
		require.Equal(t, path, sp.Spec.Path)
		now = now.Add(time.Second)
		var res *lrm.Result
		for _, e := range l.ProcessExited(now, sp.ID, proc.Exit{}) {
			if lg, ok := e.(*lrm.Notify); ok {
				res = &lg.Result
			}
		}
		require.NotNil(t, res, "%+v reports", req)
		require.Equal(t, def.Digest(), res.Digest, "%+v", req)
	}
	for i := range 20 {
		check(lrm.OpRequest{Action: ocf.Monitor, Timeout: time.Duration(1+i%11) * time.Second, Depth: i % 3}, def)
		check(lrm.OpRequest{Action: ocf.Start, Timeout: time.Duration(1+i%11) * time.Second, Depth: 2}, def)
	}
	check(lrm.OpRequest{Action: ocf.Notify, Timeout: time.Second, Meta: &lrm.Meta{"notify_type": "pre"}}, def)
	check(lrm.OpRequest{Action: ocf.Monitor, Timeout: time.Second}, def)

	def.Params = map[string]string{"state": "/run/b"}
	_, err = l.Register(now, def)
	require.NoError(t, err)
	check(lrm.OpRequest{Action: ocf.Monitor, Timeout: time.Second}, def)
	check(lrm.OpRequest{Action: ocf.Monitor, Timeout: 2 * time.Second}, def)
	check(lrm.OpRequest{Action: ocf.Monitor, Timeout: 2 * time.Second, Interval: 10 * time.Second}, def)
}
