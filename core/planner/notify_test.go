package planner

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNotificationMeta: a notification's variables are Pacemaker's, names
// and values: the lists as instance names and as hosts, space-separated, a
// single space for an empty one, the promoted lists under both spellings.
func TestNotificationMeta(t *testing.T) {
	tr := Plan(loadCase(t, filepath.Join("testdata", "clone-notify-start.case.yaml")))
	var pre *Notification
	for _, a := range tr.Actions {
		if a.Kind == Notify && a.Notify.Type == NotifyPre {
			require.Nil(t, pre, "one pre-start notification: only a runs before")
			pre = a.Notify
			require.Equal(t, "a", a.Host)
		}
	}
	require.NotNil(t, pre)
	m := pre.Meta()
	for k, v := range map[string]string{
		"notify_type": "pre", "notify_operation": "start", "notify_key_type": "pre", "notify_key_operation": "running",
		"notify_active_resource": "cache:0", "notify_active_uname": "a",
		"notify_inactive_resource": "cache:1 cache:2",
		"notify_start_resource":    "cache:1 cache:2", "notify_start_uname": "b c",
		"notify_stop_resource": " ", "notify_stop_uname": " ",
		"notify_promoted_resource": " ", "notify_master_resource": " ", "notify_slave_uname": " ",
		"notify_available_uname": "a b c", "notify_all_uname": "a b c",
	} {
		require.Equal(t, v, m[k], k)
	}
}

// TestNotifyOnlyWithNotify: without notify: true a clone gets no
// notifications at all.
func TestNotifyOnlyWithNotify(t *testing.T) {
	in := loadCase(t, filepath.Join("testdata", "clone-notify-start.case.yaml"))
	gi := 0
	in.Model.Groups[gi].Placement.Clone.Notify = false
	for _, a := range Plan(in).Actions {
		require.NotEqual(t, Notify, a.Kind, "%s", a)
	}
}
