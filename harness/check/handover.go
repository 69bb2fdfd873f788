package check

import (
	"fmt"
	"time"
)

// Handover is an agent giving its manager connection to another manager:
// which epoch the new owner runs at, the highest epoch the agent had
// accepted, and whether the connection it obeyed until then was that
// epoch's manager's, still open. (An agent's first connection of a life
// takes it from nobody.)
type Handover struct {
	At   time.Time
	Host string
	// To is the epoch of the manager that got the connection.
	To uint64
	// Accepted is the highest epoch the agent had accepted.
	Accepted uint64
	// AcceptedOpen: the connection obeyed until then was the accepted
	// epoch's manager's, and still open.
	AcceptedOpen bool
}

// CheckHandovers is the connection rule seen from outside: an agent never
// leaves the connection of the newest manager it has accepted, while that
// manager is connected, for an older one's (a superseded manager waking up
// must not take the agent from the live one, which would then see the
// agent as restarted and lose what it had in flight). Drivers report the
// handovers that a newcomer's arrival or command caused; the promotion of
// a candidate that stayed silent for two heartbeats is the rule's
// deliberate trade-off (an agent must not heartbeat only to a manager that
// may be gone) and is not reported.
func CheckHandovers(hs []Handover) []Violation {
	var out []Violation
	for _, h := range hs {
		if h.To < h.Accepted && h.AcceptedOpen {
			out = append(out, Violation{At: h.At, Checker: "connection",
				Message: fmt.Sprintf("%s gave its connection to a manager of epoch %d while the manager of epoch %d it had accepted was connected",
					h.Host, h.To, h.Accepted)})
		}
	}
	return out
}
