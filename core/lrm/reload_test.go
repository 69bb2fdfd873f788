package lrm_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/sim/simproc"
)

func actions(runs []simproc.Run) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.Resource+" "+r.Action)
	}
	return out
}

func TestStartLearnsMetaDataOnceAndRecordsHowItReloads(t *testing.T) {
	w := newWorld(t, lrm.Config{LearnMetaData: true})
	w.register("a")
	w.register("b")
	w.submit(lrm.OpRequest{Resource: "a", Action: ocf.Start})
	w.run(10 * time.Second)
	w.submit(lrm.OpRequest{Resource: "b", Action: ocf.Start})
	w.run(10 * time.Second)
	// The meta-data runs once, before the first start of its agent type.
	require.Equal(t, []string{"a meta-data", "a start", "b start"}, actions(w.runner.Runs))
	res := w.results("a")
	require.Len(t, res, 1, "the LRM's own meta-data run reaches no subscriber")
	require.Equal(t, ocf.ReloadAgent, res[0].ReloadAction)
	require.Equal(t, []string{"state"}, res[0].ForceRestart)
	params := map[string]string{"state": "/run/a"}
	require.Equal(t, ocf.RestartDigest(ocf.Agent{Provider: "heartbeat", Type: "Dummy"}, params, []string{"state"}), res[0].RestartDigest)
	def, _ := w.lrm.Resource("b")
	require.NotNil(t, def.Reload, "the definition that runs records how it reloads")
	require.Equal(t, ocf.ReloadAgent, w.results("b")[0].ReloadAction)
}

func TestWithoutLearningNothingReloads(t *testing.T) {
	w := newWorld(t, lrm.Config{})
	w.register("a")
	w.submit(lrm.OpRequest{Resource: "a", Action: ocf.Start})
	w.run(10 * time.Second)
	require.Equal(t, []string{"a start"}, actions(w.runner.Runs))
	require.Empty(t, w.results("a")[0].ReloadAction)
}

func TestMetaDataFailureNeverBlocksTheStart(t *testing.T) {
	w := newWorld(t, lrm.Config{LearnMetaData: true})
	w.register("a")
	w.runner.Set("", "meta-data", simproc.Script{RC: 1, Stderr: "ocf-exit-reason:broken\n"})
	w.submit(lrm.OpRequest{Resource: "a", Action: ocf.Start})
	w.run(10 * time.Second)
	res := w.results("a")
	require.Len(t, res, 1)
	require.Equal(t, ocf.Success, res[0].Outcome)
	require.Empty(t, res[0].ReloadAction, "no meta-data: it cannot reload")
	_, ok := w.lrm.MetaData(ocf.Agent{Provider: "heartbeat", Type: "Dummy"})
	require.False(t, ok)
}

func TestReloadTakesTheNewDefinitionOnlyOnSuccess(t *testing.T) {
	w := newWorld(t, lrm.Config{LearnMetaData: true})
	w.register("a")
	w.submit(lrm.OpRequest{Resource: "a", Action: ocf.Start})
	w.submit(lrm.OpRequest{Resource: "a", Action: ocf.Monitor, Interval: 10 * time.Second})
	w.run(5 * time.Second)
	old, _ := w.lrm.Resource("a")
	next := old
	next.Params = map[string]string{"state": "/run/a", "delay": "2"}

	w.runner.Once("a", "reload-agent", simproc.Script{RC: 1})
	_, effs, err := w.lrm.SubmitReload(w.q.Now(), lrm.OpRequest{Resource: "a", Action: ocf.ReloadAgent, Timeout: 20 * time.Second}, next)
	require.NoError(t, err)
	w.apply(effs)
	w.run(5 * time.Second)
	def, _ := w.lrm.Resource("a")
	require.Equal(t, old.Digest(), def.Digest(), "a failed reload leaves the definition that ran")

	_, effs, err = w.lrm.SubmitReload(w.q.Now(), lrm.OpRequest{Resource: "a", Action: ocf.ReloadAgent, Timeout: 20 * time.Second}, next)
	require.NoError(t, err)
	w.apply(effs)
	w.run(30 * time.Second)
	def, _ = w.lrm.Resource("a")
	require.Equal(t, next.Digest(), def.Digest())
	require.NotNil(t, def.Reload)
	var reload lrm.Result
	for _, r := range w.results("a") {
		if r.Action == ocf.ReloadAgent && r.Outcome == ocf.Success {
			reload = r
		}
	}
	require.Equal(t, next.Digest(), reload.Digest, "the reload ran with the new definition")
	require.Equal(t, ocf.ReloadAgent, reload.ReloadAction)
	// The recurring monitor runs with the new definition from then on.
	last, ok := w.lrm.LastResult("a", lrm.OpKey{Action: ocf.Monitor, Interval: 10 * time.Second})
	require.True(t, ok)
	require.Equal(t, next.Digest(), last.Digest)
	require.Equal(t, []string{"a meta-data", "a start"}, actions(w.runner.Runs)[:2])

	other := next
	other.Agent = ocf.Agent{Provider: "pacemaker", Type: "Dummy"}
	_, _, err = w.lrm.SubmitReload(w.q.Now(), lrm.OpRequest{Resource: "a", Action: ocf.ReloadAgent, Timeout: time.Second}, other)
	require.Error(t, err, "a reload cannot change the agent")
	_, _, err = w.lrm.SubmitReload(w.q.Now(), lrm.OpRequest{Resource: "a", Action: ocf.Start, Timeout: time.Second}, next)
	require.Error(t, err, "only reloads take a new definition")
}

func TestRegisteringTheSameDefinitionKeepsWhatWasLearnt(t *testing.T) {
	w := newWorld(t, lrm.Config{LearnMetaData: true})
	w.register("a")
	w.submit(lrm.OpRequest{Resource: "a", Action: ocf.Start})
	w.run(5 * time.Second)
	def, _ := w.lrm.Resource("a")
	require.NotNil(t, def.Reload)
	bare := def
	bare.Reload = nil
	bare.Name = "renamed"
	effs, err := w.lrm.Register(w.q.Now(), bare)
	require.NoError(t, err)
	w.apply(effs)
	def, _ = w.lrm.Resource("a")
	require.NotNil(t, def.Reload, "a new name does not forget how the definition reloads")
	bare.Params = map[string]string{"state": "/run/other"}
	_, err = w.lrm.Register(w.q.Now(), bare)
	require.NoError(t, err)
	def, _ = w.lrm.Resource("a")
	require.Nil(t, def.Reload, "a changed definition has not started yet")
}
