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
		"notify_available_uname": "a b c", "notify_all_uname": "a b c", "notify_all_hosts": "a b c",
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

// TestRenumber: actions are put in an order where each follows what it
// waits for, keeping their order otherwise and dependencies on earlier
// actions (below base); a cycle is refused, not half placed.
func TestRenumber(t *testing.T) {
	acts := []Action{
		{ID: 5, Kind: Start, Resource: "r", Host: "a", After: []int{0, 8}}, // waits for a fence (0) and the notify (8)
		{ID: 6, Kind: Monitor, Resource: "r", Host: "a", After: []int{5}},
		{ID: 7, Kind: Notify, Resource: "r", Host: "a", After: []int{5}, Notify: &Notification{Type: NotifyPost, Operation: Start}},
		{ID: 8, Kind: Notify, Resource: "r", Host: "b", Notify: &Notification{Type: NotifyPre, Operation: Start}},
	}
	out, ok := renumber(acts, 5)
	require.True(t, ok)
	var got []string
	for _, a := range out {
		got = append(got, a.String())
	}
	require.Equal(t, []string{"5: notify pre-start r on b", "6: start r on a after 0,5", "7: monitor#0 r on a after 6",
		"8: notify post-start r on a after 6"}, got)

	_, ok = renumber([]Action{{ID: 1, After: []int{2}}, {ID: 2, After: []int{1}}}, 1)
	require.False(t, ok)
}
