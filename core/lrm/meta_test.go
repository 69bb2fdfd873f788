package lrm_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
)

// spawnedEnv is the environment of the process an LRM's effects start.
func spawnedEnv(t *testing.T, effs []effect.Effect) []string {
	t.Helper()
	for _, e := range effs {
		if s, ok := e.(*effect.StartProcess); ok {
			return s.Spec.Env
		}
	}
	t.Fatalf("no process started in %v", effs)
	return nil
}

// TestNotifyRunsWithInstanceAndRequestMeta: a clone instance's meta
// attributes reach every action's environment, and a notification's own
// variables reach only its notify, winning over the instance's.
func TestNotifyRunsWithInstanceAndRequestMeta(t *testing.T) {
	now := time.Unix(1000, 0)
	l, err := lrm.New(lrm.Config{OCFRoot: "/usr/lib/ocf"})
	require.NoError(t, err)
	_, err = l.Register(now, lrm.Resource{ID: "d", Agent: ocf.Agent{Provider: "pacemaker", Type: "Dummy"}, Instance: "d:1",
		Meta: map[string]string{"clone": "1", "clone_max": "3", "notify": "true"}})
	require.NoError(t, err)
	_, effs, err := l.Submit(now, lrm.OpRequest{Resource: "d", Action: ocf.Notify, Timeout: time.Second,
		Meta: &lrm.Meta{"notify_type": "pre", "notify_operation": "start", "notify_start_uname": "a b", "notify": "yes"}})
	require.NoError(t, err)
	env := spawnedEnv(t, effs)
	for _, want := range []string{"OCF_RESKEY_CRM_meta_clone=1", "OCF_RESKEY_CRM_meta_clone_max=3",
		"OCF_RESKEY_CRM_meta_notify_type=pre", "OCF_RESKEY_CRM_meta_notify_operation=start",
		"OCF_RESKEY_CRM_meta_notify_start_uname=a b", "OCF_RESKEY_CRM_meta_notify=yes", "OCF_RESOURCE_INSTANCE=d:1"} {
		require.Contains(t, env, want)
	}

	_, err = l.Register(now, lrm.Resource{ID: "e", Agent: ocf.Agent{Provider: "pacemaker", Type: "Dummy"},
		Meta: map[string]string{"bad-name": "x"}})
	require.Error(t, err, "a meta name the environment cannot carry is refused at registration")
	_, _, err = l.Submit(now, lrm.OpRequest{Resource: "d", Action: ocf.Monitor, Interval: time.Second, Timeout: time.Second,
		Meta: &lrm.Meta{"notify_type": "pre"}})
	require.Error(t, err, "a recurring request takes no meta of its own")
	_, _, err = l.Submit(now, lrm.OpRequest{Resource: "d", Action: ocf.Notify, Timeout: time.Second, Meta: &lrm.Meta{"timeout": "1"}})
	require.Error(t, err, "the operation's own meta attributes are not overridden")
}
