package check

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCheckNotifyFailures: a failed notification logged as such passes, as
// do failures of other operations, even one recorded in the same step on
// the same host; a failure that names a notify operation is a violation.
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

	sameStep := NotifyEvent{At: at, Kind: "failure", Host: "h1", Resource: "repl", Op: "monitor", Message: "monitor_9000: not running"}
	require.Empty(t, CheckNotifyFailures([]NotifyEvent{notified, sameStep}),
		"a real monitor failure read in the same step as the failed notification is the monitor's")
}
