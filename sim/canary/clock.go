package canary

import "time"

// NoClockJumpGraceName is the manager canary that hides a pause from the
// manager.
const NoClockJumpGraceName = "no-clock-jump-grace"

// TimerClock is the time a manager is told one of its timers fired at,
// given when it was due and when it fired.
type TimerClock func(due, now time.Time) time.Time

// ManagerTimerClock returns the timer clock of a manager canary, or false
// for a name that has none.
func ManagerTimerClock(name string) (TimerClock, bool) {
	if name == NoClockJumpGraceName {
		return NoClockJumpGrace, true
	}
	return nil, false
}

// NoClockJumpGrace is a manager without the clock-jump grace: every timer
// is handled as if it had fired when it was due. That is the one input a
// manager tells a pause by (core/manager, noticeClockJump: a timer handled
// long after it was due), so a manager that was stopped wakes up believing
// it ran all along: it judges each host by its dead timer at the instant
// the timer was due, before it reads the heartbeats that wait in its
// sockets, and fences hosts that were talking to it all the while. Nothing
// else changes: messages, admin requests and what the manager does are
// handled at the time they happen, and a manager that was never paused
// sees no difference (its timers fire when due).
//
// A wrapper of effects cannot do this: the manager notices the jump in the
// input itself, before any effect. Only the time of the input can hide it,
// and the simulator's Options.ManagerTimerAt is where a driver sets that.
func NoClockJumpGrace(due, _ time.Time) time.Time { return due }
