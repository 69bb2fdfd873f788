package check

import (
	"fmt"
	"time"
)

// Loss is a manager declaring a host lost (and fencing it), with the ground
// truth beside it: when a sign of life from that host (a hello, a
// heartbeat) last reached the manager's end of a connection, whether the
// manager had read it yet or not; zero if none ever did. AgentDied is when
// the host's agent process was last killed while the host ran (zero if
// never).
type Loss struct {
	At        time.Time
	Host      string
	Epoch     uint64
	LastHeard time.Time
	AgentDied time.Time
}

// CheckLosses verifies that no manager declared a host lost while that
// host was demonstrably alive and connected to it: a host is lost only
// after the dead timeout without a word, so a sign of life that reached
// the manager within the dead timeout before the declaration means the
// manager judged a healthy host by what it had not read (a paused manager
// whose dead timers fired before its sockets were read). A host that was
// crashed, paused or cut off sent nothing that arrived, and is never
// flagged. A sign of life in the very instant of the declaration may have
// been ordered after the deadline and is not held against the manager;
// slack is left at the far end of the window, for a driver whose clock
// reads are less exact than the simulator's. A host whose agent was killed
// after its last sign of life reached the manager is not healthy: the
// manager may judge it sooner than the dead timeout, from what the host's
// kernel said of it (fast failover: core/manager, suspect.go).
func CheckLosses(losses []Loss, deadTimeout, slack time.Duration) []Violation {
	var out []Violation
	for _, l := range losses {
		if l.LastHeard.IsZero() || l.AgentDied.After(l.LastHeard) && !l.AgentDied.After(l.At) {
			continue
		}
		silent := l.At.Sub(l.LastHeard)
		if silent > 0 && silent < deadTimeout-slack {
			out = append(out, Violation{At: l.At, Checker: "unjust-loss",
				Message: fmt.Sprintf("manager epoch %d declared %s lost (and fenced it) %s after its last heartbeat reached the manager, within the dead timeout of %s: a healthy host fenced",
					l.Epoch, l.Host, silent, deadTimeout)})
		}
	}
	return out
}
