package ocf

import (
	"fmt"
	"strings"
)

// RC is an OCF exit code.
type RC int

// The exit codes of OCF RA API 1.1.
const (
	OK               RC = 0
	ErrGeneric       RC = 1
	ErrArgs          RC = 2
	ErrUnimplemented RC = 3
	ErrPerm          RC = 4
	ErrInstalled     RC = 5
	ErrConfigured    RC = 6
	NotRunning       RC = 7
	RunningPromoted  RC = 8
	FailedPromoted   RC = 9
	Degraded         RC = 190
	DegradedPromoted RC = 191
)

var rcNames = map[RC]string{
	OK: "OCF_SUCCESS", ErrGeneric: "OCF_ERR_GENERIC", ErrArgs: "OCF_ERR_ARGS",
	ErrUnimplemented: "OCF_ERR_UNIMPLEMENTED", ErrPerm: "OCF_ERR_PERM", ErrInstalled: "OCF_ERR_INSTALLED",
	ErrConfigured: "OCF_ERR_CONFIGURED", NotRunning: "OCF_NOT_RUNNING", RunningPromoted: "OCF_RUNNING_PROMOTED",
	FailedPromoted: "OCF_FAILED_PROMOTED", Degraded: "OCF_DEGRADED", DegradedPromoted: "OCF_DEGRADED_PROMOTED",
}

// String returns the code's OCF name, or "unknown(N)".
func (rc RC) String() string {
	if n, ok := rcNames[rc]; ok {
		return n
	}
	return fmt.Sprintf("unknown(%d)", int(rc))
}

// Known reports whether rc is one of the codes the API defines.
func (rc RC) Known() bool { _, ok := rcNames[rc]; return ok }

// Outcome is what an rc means for the action that returned it.
type Outcome int

// Outcomes, from best to worst.
const (
	// Success: the action did what was asked (a start left it running, a
	// stop left it stopped — including stop returning 7 —, a monitor found
	// it running).
	Success Outcome = iota
	// Stopped: a probe found the resource cleanly stopped.
	Stopped
	// Promoted: found or left running in the promoted role.
	Promoted
	// DegradedRunning: running, but the agent says it is degraded. Not a
	// failure: recovery would not help.
	DegradedRunning
	// SoftFailure: failed; retrying here may help.
	SoftFailure
	// HardFailure: cannot work on this host (bad arguments, permissions,
	// software missing, action not implemented): ban this host.
	HardFailure
	// FatalFailure: the configuration is wrong everywhere: do not try
	// elsewhere.
	FatalFailure
)

var outcomeNames = [...]string{"success", "stopped", "promoted", "degraded", "soft-failure", "hard-failure", "fatal-failure"}

// String returns the outcome's name.
func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Failed reports whether the outcome is a failure of any severity.
func (o Outcome) Failed() bool { return o >= SoftFailure }

// Classify returns what rc means for action. probe marks a one-shot monitor
// that discovers state (interval 0) rather than watching a resource believed
// running.
//
// The table (rows: rc; "other" = promote, demote, notify, reload,
// reload-agent, migrate_to, migrate_from):
//
//	rc                    start    stop     monitor  probe    other    meta-data/validate-all
//	0 SUCCESS             success  success  success  success  success  success
//	1 ERR_GENERIC         soft     soft     soft     soft     soft     soft
//	2 ERR_ARGS            hard     hard     hard     hard     hard     hard
//	3 ERR_UNIMPLEMENTED   hard     hard     hard     hard     hard     hard
//	4 ERR_PERM            hard     hard     hard     hard     hard     hard
//	5 ERR_INSTALLED       hard     hard     hard     stopped  hard     hard
//	6 ERR_CONFIGURED      fatal    fatal    fatal    fatal    fatal    fatal
//	7 NOT_RUNNING         soft     success  soft     stopped  soft     soft
//	8 RUNNING_PROMOTED    promoted soft     promoted promoted promoted soft
//	9 FAILED_PROMOTED     soft     soft     soft     soft     soft     soft
//	190 DEGRADED          degraded soft     degraded degraded degraded soft
//	191 DEGRADED_PROMOTED degraded soft     degraded degraded degraded soft
//	anything else         soft     soft     soft     soft     soft     soft
//
// Two rows carry the API's exceptions: a stop returning 7 means the resource
// is stopped, which is what a stop is for; and a probe returning 7 or 5 is
// not a failure but an answer ("not running here", "cannot run here, so not
// running here"). A stop never succeeds with 8 or 190: a resource still
// running after a stop has failed to stop.
func Classify(action Action, rc RC, probe bool) Outcome {
	switch rc {
	case OK:
		return Success
	case ErrArgs, ErrUnimplemented, ErrPerm:
		return HardFailure
	case ErrConfigured:
		return FatalFailure
	case ErrInstalled:
		if action == Monitor && probe {
			return Stopped
		}
		return HardFailure
	case NotRunning:
		switch {
		case action == Stop:
			return Success
		case action == Monitor && probe:
			return Stopped
		}
		return SoftFailure
	case RunningPromoted, Degraded, DegradedPromoted:
		if action == Stop || action == MetaDataAction || action == ValidateAll {
			return SoftFailure
		}
		if rc == RunningPromoted {
			return Promoted
		}
		return DegradedRunning
	}
	return SoftFailure
}

// maxExitReason bounds an exit reason: it goes into logs, history and
// status output, and an agent must not be able to flood them.
const maxExitReason = 256

// ExitReason returns the agent's exit reason: the last stderr line starting
// with "ocf-exit-reason:", prefix removed, control characters dropped,
// trimmed and capped. It is "" when there is none.
func ExitReason(stderr []byte) string {
	var reason string
	found := false
	for line := range strings.Lines(string(stderr)) {
		if r, ok := strings.CutPrefix(line, "ocf-exit-reason:"); ok {
			reason, found = r, true
		}
	}
	if !found {
		return ""
	}
	return clean(reason, maxExitReason)
}

// StderrPrefix marks an exit reason that is not the agent's own
// ocf-exit-reason but the first line it wrote on stderr (StderrReason), so
// that an operator reading status or events can tell the two apart.
const StderrPrefix = "stderr: "

// StderrReason is the exit reason of a failed run whose agent gave none:
// StderrPrefix and the first non-empty line of its stderr, cleaned and
// capped as ExitReason does, the whole no longer than an exit reason. A
// shell agent that dies of "command not found", or a program that prints
// its error and exits 1, says why only there. It is "" when stderr holds
// nothing but blanks.
func StderrReason(stderr []byte) string {
	if l := FirstLine(string(stderr), maxExitReason-len(StderrPrefix)); l != "" {
		return StderrPrefix + l
	}
	return ""
}

// FirstLine is the first line of an agent's output that is not blank,
// cleaned and capped at limit bytes as an exit reason is: what a failure
// quotes of an agent that gave no reason of its own (a resource agent's
// stderr, a fence agent's output). It is "" when there is none.
func FirstLine(out string, limit int) string {
	for line := range strings.Lines(out) {
		if l := clean(line, limit); l != "" {
			return l
		}
	}
	return ""
}

// clean drops control characters, trims and caps s at limit bytes without
// cutting a character: an agent's words go into logs, history and status
// output, and must neither flood them nor forge lines there.
func clean(s string, limit int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "")
	}
	return s
}
