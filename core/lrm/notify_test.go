package lrm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRecycledNotificationsTellLaterResults: a notification handed back
// tells the next result, and only one: the agent reads each and recycles
// it, so that a result costs no notification of its own.
func TestRecycledNotificationsTellLaterResults(t *testing.T) {
	l, err := New(Config{OCFRoot: "/usr/lib/ocf"})
	require.NoError(t, err)
	first := l.notify("agent", Result{CallID: 1, Resource: "db"})
	l.Recycle(first)
	again := l.notify("agent", Result{CallID: 2})
	require.Same(t, first, again)
	require.Equal(t, Notify{Subscriber: "agent", Result: Result{CallID: 2}}, *again, "the new result alone")
	require.NotSame(t, again, l.notify("agent", Result{CallID: 3}), "handed out once")
	for range 1000 {
		l.Recycle(&Notify{Subscriber: "x"})
	}
	require.Positive(t, l.notifies.Len())
	require.Less(t, l.notifies.Len(), 1000, "bounded")
}
