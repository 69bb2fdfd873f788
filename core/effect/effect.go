// Package effect is the vocabulary shared by the core state machines and the
// drivers that run them. A state machine never performs I/O: it receives an
// input together with the current time and returns a list of effects, which a
// driver (live or simulated) carries out in order. Results come back to the
// machine as new inputs (a timer fired, a process exited).
//
// The frequent effects of this package (SetTimer, CancelTimer, Send,
// Persist, StartProcess, KillProcess) are pointers: a machine whose driver
// releases its batches takes them from its Batches, reused, instead of
// boxing a new value into an Effect for each (batches.go). A driver that
// keeps one for later copies it.
package effect

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/basalt-ha/basalt/core/proc"
)

// Effect is one thing a state machine asks its driver to do.
type Effect interface {
	// Describe renders the effect as one deterministic line for traces and
	// golden files.
	Describe() string
}

// TimerID identifies one timer among those set by one state machine.
type TimerID uint64

// StartProcess asks the driver to run a child process and, when it ends, to
// deliver its proc.Exit back to the machine.
type StartProcess struct {
	ID   proc.ID
	Spec proc.Spec
}

// Describe implements Effect.
func (e *StartProcess) Describe() string {
	return fmt.Sprintf("start-process id=%d path=%s args=%v", e.ID, e.Spec.Path, e.Spec.Args)
}

// KillProcess asks the driver to kill a running process and its whole
// process group. Its exit is still delivered once it has been reaped.
type KillProcess struct {
	ID proc.ID
}

// Describe implements Effect.
func (e *KillProcess) Describe() string { return fmt.Sprintf("kill-process id=%d", e.ID) }

// SetTimer asks the driver to deliver a timer input at At. Setting an
// existing ID moves that timer.
type SetTimer struct {
	ID TimerID
	At time.Time
}

// Describe implements Effect.
func (e *SetTimer) Describe() string {
	return fmt.Sprintf("set-timer id=%d at=%s", e.ID, e.At.UTC().Format(time.RFC3339Nano))
}

// CancelTimer asks the driver to forget a timer. Machines must still ignore a
// timer input that races with its cancellation.
type CancelTimer struct {
	ID TimerID
}

// Describe implements Effect.
func (e *CancelTimer) Describe() string { return fmt.Sprintf("cancel-timer id=%d", e.ID) }

// Log is a log record produced by a machine. Machines do not hold a logger:
// the record is data, so that the simulator can put it in its trace and the
// live driver can hand it to log/slog. Records about a resource carry its
// human name.
type Log struct {
	Level slog.Level
	Msg   string
	Attrs []slog.Attr
}

// Describe implements Effect.
func (e Log) Describe() string {
	s := fmt.Sprintf("log %s %q", e.Level, e.Msg)
	for _, a := range e.Attrs {
		s += " " + a.String()
	}
	return s
}

// Message is anything a machine sends to a peer (see core/proto).
type Message interface {
	Describe() string
}

// Send asks the driver to deliver a message to a peer: a host name, or
// Manager for the manager. Delivery is not guaranteed (the network may drop
// it); machines rely on timeouts and retries, never on delivery.
type Send struct {
	To  string
	Msg Message
	// Conn is the connection the message is meant for. A driver delivers
	// it on that connection or not at all: a message meant for one
	// connection must never reach the peer over a later one (it would act
	// on beliefs its sender held about an earlier life of the peer).
	Conn ConnID
}

// ConnID names one connection between the manager and an agent, as the
// driver numbers them: every dial or accept is a new one, never reused.
// Zero means no connection; a Send for it is dropped.
type ConnID uint64

// CloseConn asks the driver to close a connection.
type CloseConn struct {
	Conn ConnID
	// Why is one of the CloseWhy values, for logs and coverage.
	Why string
}

// Reasons for CloseConn.
const (
	// CloseSuperseded: the connection was replaced by a newer one that
	// showed it speaks for the current manager.
	CloseSuperseded = "superseded"
	// CloseStale: the peer on it showed an epoch lower than one already
	// seen, so it speaks for a manager that was replaced.
	CloseStale = "stale"
	// CloseReplaced: a newer candidate connection arrived before this one
	// showed anything.
	CloseReplaced = "replaced"
	// CloseDeposed: the manager learnt it was superseded and lets go.
	CloseDeposed = "deposed"
	// CloseOutranked: the agent on it greeted the manager with a newer
	// manager's epoch (the manager stands down only when most hosts do).
	CloseOutranked = "outranked"
)

// Describe implements Effect.
func (e CloseConn) Describe() string { return fmt.Sprintf("close-conn conn=%d why=%s", e.Conn, e.Why) }

// Manager is the address of the manager in Send effects.
const Manager = "manager"

// Describe implements Effect.
func (e *Send) Describe() string {
	return fmt.Sprintf("send to=%s conn=%d %s", e.To, e.Conn, e.Msg.Describe())
}

// Persist asks the driver to store a record durably before it carries out
// any later effect: an agent persists the epoch it accepts before it acts on
// it, and the manager its epoch before it sends anything. Append adds to the
// end of a log instead of replacing the record.
type Persist struct {
	Name   string
	Data   []byte
	Append bool
}

// Describe implements Effect.
func (e *Persist) Describe() string {
	mode := "write"
	if e.Append {
		mode = "append"
	}
	return fmt.Sprintf("persist %s %s %d bytes", mode, e.Name, len(e.Data))
}

// Concat is append(a, b...) without the copy when a is empty, as it is on
// most inputs of the machines: b is then returned itself. Safe because a
// machine's handlers each return a slice of their own that nothing else
// keeps; appending a heartbeat's effects to nothing copied them into a
// new slice for every message.
func Concat(a, b []Effect) []Effect {
	if len(a) == 0 && len(b) > 0 {
		return b
	}
	return append(a, b...)
}
