package swarm

import (
	"bytes"
	"encoding/json"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/harness/check"
)

// notifyKinds are the event kinds the notify judge reads, as they appear
// in an event record's JSON: a failed notification, and the failure
// records a notification must never become.
var notifyKinds = [][]byte{[]byte(`"kind":"notify-failed"`), []byte(`"kind":"failure"`),
	[]byte(`"kind":"fatal"`), []byte(`"kind":"stop-failed"`)}

// notifyEvents collects, from every event the managers persisted
// (cluster.Options.ManagerEvent), what the notify judge reads: a failed
// or hung notification (fail-notify, hang-notify) must fail nothing. Only
// records of those kinds are decoded, so the rest of the log costs a
// scan.
type notifyEvents struct{ events []check.NotifyEvent }

// record reads one persisted event record.
func (n *notifyEvents) record(payload []byte) {
	wanted := false
	for _, k := range notifyKinds {
		wanted = wanted || bytes.Contains(payload, k)
	}
	if !wanted {
		return
	}
	var e manager.Event
	if err := json.Unmarshal(payload, &e); err != nil {
		panic("simulated event log: an event record that does not decode: " + err.Error()) // the core encodes it
	}
	n.events = append(n.events, check.NotifyEvent{At: e.Time, Kind: e.Kind, Host: e.Host, Resource: e.Resource, Op: e.Op,
		Message: e.Message})
}

// judge runs the notify judge on everything collected.
func (n *notifyEvents) judge() []check.Violation { return check.CheckNotifyFailures(n.events) }
