package daemon

import (
	"errors"
	"io"
	"syscall"

	"github.com/basalt-ha/basalt/core/manager"
)

// What the kernel said when a connection to an agent ended or a dial of it
// failed, for the manager machine to judge (core/manager, suspect.go):
// nothing is decided here.

// readEnd classifies the error that ended reading a connection: the peer's
// kernel closed it (EOF, also mid-record) or reset it, or anything else (a
// timeout, the manager's own close) that says nothing of the host.
func readEnd(err error) manager.ConnEnd {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return manager.EndReset
	}
	return manager.EndSilent
}

// dialEnd classifies a failed dial: refused when the host's kernel answered
// that nothing listens on the agent's port; anything else (a timeout, no
// route, a failed handshake) is silent.
func dialEnd(err error) manager.ConnEnd {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return manager.EndRefused
	}
	return manager.EndSilent
}
