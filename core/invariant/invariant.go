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
// only then, so that checks cost nothing on the happy path.
func Check(cond bool, machine, format string, args ...any) {
	if !cond {
		panic(Error{Machine: machine, Message: fmt.Sprintf(format, args...)})
	}
}

// Recovered returns the Error a recover() call returned, if it is one.
func Recovered(r any) (Error, bool) {
	e, ok := r.(Error)
	return e, ok
}
