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

// CheckNotifyFailures judges that a notification that failed or timed out
// is never a failure of its resource (Pacemaker ignores notify failures,
// and Basalt's notifications have no on-fail): no failure of any kind
// (failure, fatal, stop-failed) names a notify operation, and the instant
// the manager records a notify-failed of a resource on a host it records
// no failure of that resource there. A failure record is what raises a fail
// count and brings a recovery, a ban or a fence, so none of those can
// follow from a notification. (That the transition goes on after one is
// the liveness judge's: a step that waited for a failed notification
// forever would leave the cluster unrecovered.)
func CheckNotifyFailures(events []NotifyEvent) []Violation {
	notified := map[string]bool{} // at|host|resource of each notify-failed
	for _, e := range events {
		if e.Kind == "notify-failed" {
			notified[e.At.String()+"|"+e.Host+"|"+e.Resource] = true
		}
	}
	var out []Violation
	for _, e := range events {
		if e.Kind != "failure" && e.Kind != "fatal" && e.Kind != "stop-failed" {
			continue
		}
		switch {
		case e.Op == notifyAction || strings.HasPrefix(e.Message, notifyAction+"_"):
			out = append(out, Violation{At: e.At, Checker: "notify",
				Message: fmt.Sprintf("a notification of %s on %s was recorded as a %s: %s", e.Resource, e.Host, e.Kind, e.Message)})
		case notified[e.At.String()+"|"+e.Host+"|"+e.Resource]:
			out = append(out, Violation{At: e.At, Checker: "notify",
				Message: fmt.Sprintf("%s on %s: a %s recorded with the failed notification: %s", e.Resource, e.Host, e.Kind, e.Message)})
		}
	}
	return out
}
