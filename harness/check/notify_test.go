package check

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCheckNotifyFailures: a failed notification logged as such passes, as
// do failures of other operations at other instants; a failure that names
// a notify operation, or one recorded with the notify-failed of the same
// resource and host, is a violation.
func TestCheckNotifyFailures(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	notified := NotifyEvent{At: at, Kind: "notify-failed", Host: "h1", Resource: "repl", Message: "pre-promote: rc=1"}
	later := NotifyEvent{At: at.Add(time.Second), Kind: "failure", Host: "h1", Resource: "repl", Op: "monitor",
		Message: "monitor_10000: not running"}
	elsewhere := NotifyEvent{At: at, Kind: "failure", Host: "h2", Resource: "repl", Op: "monitor", Message: "monitor_10000: not running"}
	require.Empty(t, CheckNotifyFailures([]NotifyEvent{notified, later, elsewhere}), "a notify-failed alone, and unrelated failures, pass")

	counted := NotifyEvent{At: at, Kind: "failure", Host: "h1", Resource: "repl", Op: "notify", Message: "notify_0: rc=1"}
	v := CheckNotifyFailures([]NotifyEvent{notified, counted})
	require.Len(t, v, 1)
	require.Equal(t, "notify", v[0].Checker)
	require.Contains(t, v[0].Message, "recorded as a failure")

	byKey := NotifyEvent{At: at.Add(time.Minute), Kind: "stop-failed", Host: "h3", Resource: "repl", Message: "notify_0: timed out"}
	require.Len(t, CheckNotifyFailures([]NotifyEvent{byKey}), 1, "a failure whose operation key is a notify's")

	sameStep := NotifyEvent{At: at, Kind: "failure", Host: "h1", Resource: "repl", Op: "monitor", Message: "monitor_10000: failed"}
	v = CheckNotifyFailures([]NotifyEvent{notified, sameStep})
	require.Len(t, v, 1, "a failure of the resource on the host, recorded with its failed notification")
	require.Contains(t, v[0].Message, "with the failed notification")
}
