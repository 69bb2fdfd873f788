// Package invariant is how core state machines assert what they maintain
// themselves (TigerBeetle style): a broken invariant is a bug in the
// machine, never a consequence of its input, so it stops the machine at
// once with a value of type Error. Drivers recover that value: the
// simulator reports it as a violation of the seed it was running, the live
// daemons log it and stop.
//
// Bad input (a malformed message, a timer the machine does not own, an
// invalid administrative request) is not an invariant: machines return an
// error for it or log and drop it.
package invariant

import "fmt"

// Error is the panic value of a broken invariant.
type Error struct {
	// Machine names the state machine ("manager", "agent", ...).
	Machine string
	// Message says which invariant broke, and with what values.
	Message string
}

// Error renders the violation on one line.
func (e Error) Error() string { return e.Machine + ": invariant broken: " + e.Message }

// Check panics with an Error when cond is false. The message is formatted
// only then, but the arguments are made into interface values at the call,
// held or not: most of them (an integer past 255, a string, a struct) are
// an allocation each. A check on a path taken per event is written
// "if !cond { Fail(...) }" instead, which costs nothing while it holds.
func Check(cond bool, machine, format string, args ...any) {
	if !cond {
		Fail(machine, format, args...)
	}
}

// Fail panics with an Error: the invariant its caller checked is broken.
func Fail(machine, format string, args ...any) {
	panic(Error{Machine: machine, Message: fmt.Sprintf(format, args...)})
}

// Recovered returns the Error a recover() call returned, if it is one.
func Recovered(r any) (Error, bool) {
	e, ok := r.(Error)
	return e, ok
}
