package check

import (
	"fmt"
	"strings"
	"time"
)

// NotifyEvent is what the notification judge reads of one event of the
// manager's log (manager.Event): the judges stay free of the manager's
// package, and either driver fills it from the events it has.
type NotifyEvent struct {
	At       time.Time
	Kind     string
	Host     string
	Resource string
	// Op names the operation of a failure (start, monitor, promote...);
	// Message begins with the failed operation's key ("notify_0: ...").
	Op      string
	Message string
}

// notifyAction is the OCF action of a clone notification, as the manager's
// events name it.
const notifyAction = "notify"

// NotifyJudges reports whether CheckNotifyFailures reads events of kind:
// the failure records (failure, fatal, stop-failed) a notification must
// never become. A driver may pass it only those.
func NotifyJudges(kind string) bool {
	switch kind {
	case "failure", "fatal", "stop-failed":
		return true
	}
	return false
}

// CheckNotifyFailures judges that a notification that failed or timed out
// is never a failure of its resource (Pacemaker ignores notify failures,
// and Basalt's notifications have no on-fail): no failure of any kind
// (failure, fatal, stop-failed) names a notify operation, by its op or by
// the operation key its message begins with. A failure record is what
// raises a fail count and brings a recovery, a ban or a fence, so none of
// those can follow from a notification. A failure of another operation of
// the resource is judged on its own, even when the manager reads it in the
// same step as a failed notification: a manager frozen past a hung
// notify's timeout reads that result and the promoted instance's real
// monitor failure together (seed 13051 of the promotable swarm). (That the
// transition goes on after a failed notification is the liveness judge's:
// a step that waited for it forever would leave the cluster unrecovered.)
func CheckNotifyFailures(events []NotifyEvent) []Violation {
	var out []Violation
	for _, e := range events {
		if !NotifyJudges(e.Kind) {
			continue
		}
		if e.Op == notifyAction || strings.HasPrefix(e.Message, notifyAction+"_") {
			out = append(out, Violation{At: e.At, Checker: "notify",
				Message: fmt.Sprintf("a notification of %s on %s was recorded as a %s: %s", e.Resource, e.Host, e.Kind, e.Message)})
		}
	}
	return out
}
