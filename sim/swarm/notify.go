package swarm

import (
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/harness/check"
)

// checkNotifies runs the notify judge on the manager's event log: a failed
// or hung notification (fail-notify, hang-notify) must fail nothing.
func checkNotifies(mg *manager.Manager) []check.Violation {
	var events []check.NotifyEvent
	for _, e := range mg.Events() {
		switch e.Kind {
		case "notify-failed", "failure", "fatal", "stop-failed":
			events = append(events, check.NotifyEvent{At: e.Time, Kind: e.Kind, Host: e.Host, Resource: e.Resource, Op: e.Op,
				Message: e.Message})
		}
	}
	return check.CheckNotifyFailures(events)
}
