package swarm

import (
	"bytes"
	"encoding/json"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/harness/check"
)

// kindKey starts an event record's kind in its JSON. json.Marshal writes
// Event's fields in order, seq and time first, so its first occurrence is
// the record's own kind, not one of a snapshot's nested records.
var kindKey = []byte(`"kind":"`)

// judged reports whether an event record is of a kind the notify judge
// reads (check.NotifyJudges), looking its kind up once instead of
// searching the whole record for each kind: every event every manager
// persists passes here.
func judged(payload []byte) bool {
	_, rest, ok := bytes.Cut(payload, kindKey)
	if !ok {
		return false
	}
	kind, _, ok := bytes.Cut(rest, []byte(`"`))
	if !ok {
		return false
	}
	return check.NotifyJudges(string(kind))
}

// notifyEvents collects, from every event the managers persisted
// (cluster.Options.ManagerEvent), what the notify judge reads: a failed
// or hung notification (fail-notify, hang-notify) must fail nothing. Only
// records of those kinds are decoded, so the rest of the log costs a
// scan.
type notifyEvents struct{ events []check.NotifyEvent }

// record reads one persisted event record.
func (n *notifyEvents) record(payload []byte) {
	if !judged(payload) {
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
