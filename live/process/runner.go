// Package process runs child processes for real, behind the core's
// proc.Runner interface: os/exec, each child in its own process group so
// that a timeout kills the agent and everything it started.
package process

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/basalt-ha/basalt/core/proc"
)

// waitDelay bounds how long a finished agent's output pipes are drained: an
// agent that starts a daemon in the background may leave it holding stdout,
// and the LRM must not wait for that daemon to exit.
const waitDelay = 2 * time.Second

// Runner implements proc.Runner with os/exec. Every child runs in its
// own process group, so that a kill reaches whatever the agent started, with
// exactly the environment of its Spec and no shell in between. It is safe for
// concurrent use.
type Runner struct {
	mu    sync.Mutex
	procs map[proc.ID]*child
	// onStart, when set (OnStart), learns each child's process group.
	onStart func(id proc.ID, pgid int)
}

// child is the runner's bookkeeping for one started id, from Start until its
// exit has been handed to onExit.
type child struct {
	// cmd is nil while the process is being started and for a start that
	// failed.
	cmd *exec.Cmd
	// killed records a Kill, so that the exit waits for the whole group and
	// so that a Kill racing with the start is not lost.
	killed bool
	// reaped is set once Wait has returned: the pid may then belong to
	// another process, so it must not be signalled any more.
	reaped bool
}

// NewRunner returns a runner with nothing running.
func NewRunner() *Runner {
	return &Runner{procs: map[proc.ID]*child{}}
}

// OnStart makes fn learn each child's process group as soon as it runs, on
// the goroutine that called Start.
func (r *Runner) OnStart(fn func(id proc.ID, pgid int)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onStart = fn
}

// Running is the number of processes started and not yet reported through
// onExit (a start that failed counts until its failure is reported).
func (r *Runner) Running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.procs)
}

// Start launches spec under id without a shell: spec.Path is executed with
// spec.Args, spec.Env as the whole environment (an empty Env is an empty
// environment, never the daemon's), in spec.Dir or "/", in a new process
// group. spec.Stdin is written to the child's standard input, which is then
// closed (no Stdin means /dev/null); stdout and stderr are kept up to the
// Spec's output limit each.
//
// Start returns an error only for misuse (an empty or relative path, a nil
// onExit, an id that is still running), and then onExit is never called.
// Everything that can go wrong with the program itself, including an
// executable that is missing (Exit.Missing) or cannot be executed, is
// reported through onExit as an Exit with Code -1 and StartError set, so
// that callers handle every failure in one place. onExit is called exactly
// once per id Start accepted, from a goroutine of the runner, after the
// process has been reaped (and, if it was killed, its whole group is gone).
func (r *Runner) Start(id proc.ID, spec proc.Spec, onExit func(proc.ID, proc.Exit)) error {
	switch {
	case spec.Path == "":
		return fmt.Errorf("start process %d: empty path", id)
	case !filepath.IsAbs(spec.Path):
		// A relative path would be looked up in a directory the agent
		// author did not choose.
		return fmt.Errorf("start process %d: path %q is not absolute", id, spec.Path)
	case onExit == nil:
		return fmt.Errorf("start process %d: nil onExit", id)
	}
	limit := spec.OutputLimit
	if limit <= 0 {
		limit = proc.DefaultOutputLimit
	}
	stdout := &boundedBuffer{limit: limit}
	stderr := &boundedBuffer{limit: limit}
	// The Cmd is built by hand rather than with exec.Command, which would
	// search the daemon's PATH for a name without a slash.
	cmd := &exec.Cmd{
		Path: spec.Path,
		Args: append([]string{spec.Path}, spec.Args...),
		// A nil Env would inherit the daemon's environment; an agent gets
		// only what its Spec says.
		Env:         append([]string{}, spec.Env...),
		Dir:         spec.Dir,
		Stdout:      stdout,
		Stderr:      stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
		WaitDelay:   waitDelay,
	}
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	if spec.Stdin != nil {
		cmd.Stdin = bytes.NewReader(spec.Stdin)
	}

	// The id is reserved before the fork so that a duplicate is refused and
	// a Kill arriving during the start is remembered; the lock is not held
	// across the fork, which would serialise every start and kill.
	c := &child{}
	r.mu.Lock()
	if _, dup := r.procs[id]; dup {
		r.mu.Unlock()
		return fmt.Errorf("start process %d: id already in use", id)
	}
	r.procs[id] = c
	r.mu.Unlock()

	if err := cmd.Start(); err != nil {
		exit := startFailure(spec, cmd.Dir, err)
		go r.report(id, onExit, exit)
		return nil
	}
	pgid := cmd.Process.Pid // Setpgid with Pgid 0: the child leads its group
	r.mu.Lock()
	c.cmd = cmd
	killNow := c.killed
	hook := r.onStart
	r.mu.Unlock()
	if hook != nil {
		hook(id, pgid)
	}
	if killNow {
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // ESRCH: already gone, nothing to do
	}

	go func() {
		_ = cmd.Wait() // everything Wait can tell is in ProcessState
		r.mu.Lock()
		c.reaped = true
		killed := c.killed
		r.mu.Unlock()
		exit := proc.Exit{Code: -1, Stdout: stdout.Bytes(), Stderr: stderr.Bytes(),
			Truncated: stdout.Truncated() || stderr.Truncated()}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			exit.Signal = signalName(ws.Signal())
		} else {
			exit.Code = cmd.ProcessState.ExitCode()
		}
		if killed {
			awaitGroupGone(pgid)
		}
		r.report(id, onExit, exit)
	}()
	return nil
}

// report forgets id and hands its exit to onExit. The lock is not held during
// the callback, which may call back into the runner.
func (r *Runner) report(id proc.ID, onExit func(proc.ID, proc.Exit), exit proc.Exit) {
	r.mu.Lock()
	delete(r.procs, id)
	r.mu.Unlock()
	onExit(id, exit)
}

// startFailure describes a process that could not be started. Missing is
// only claimed for the executable: a missing working directory also fails
// with ENOENT, but it does not mean the agent is not installed.
func startFailure(spec proc.Spec, dir string, err error) proc.Exit {
	exit := proc.Exit{Code: -1, StartError: err.Error()}
	if errors.Is(err, fs.ErrNotExist) {
		if _, dirErr := os.Stat(dir); dirErr != nil {
			exit.StartError = fmt.Sprintf("start %s: working directory: %v", spec.Path, dirErr)
		} else {
			exit.Missing = true
		}
	}
	return exit
}

// Kill sends SIGKILL to the process's whole group. The end is still reported
// through onExit once the process is reaped and the group is gone. Killing an
// unknown or already reaped process does nothing.
func (r *Runner) Kill(id proc.ID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.procs[id]
	if !ok || c.reaped {
		return nil
	}
	c.killed = true
	if c.cmd == nil {
		return nil // still starting (Start kills it) or failed to start
	}
	pgid := c.cmd.Process.Pid
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process %d (group %d): %w", id, pgid, err)
	}
	return nil
}

// groupGoneWait bounds how long a kill waits for the rest of a process group
// to disappear once its leader is reaped.
const groupGoneWait = 5 * time.Second

// awaitGroupGone waits until no process is left in group pgid, killing again
// as it polls. SIGKILL reaches every member at once, but members other than
// the leader die and are reaped (by init) asynchronously; the kill is only
// complete, and the next operation on the resource only safe to start, once
// they are gone. The wait is bounded: a process stuck in the kernel must not
// hang the LRM forever.
func awaitGroupGone(pgid int) {
	deadline := time.Now().Add(groupGoneWait)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(-pgid, syscall.SIGKILL); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// signalName names the signal that ended a process. SIGKILL is "killed", the
// word the rest of Basalt (and Pacemaker's logs) use for a forced end.
func signalName(s syscall.Signal) string {
	if s == syscall.SIGKILL {
		return "killed"
	}
	return s.String()
}

// boundedBuffer keeps the first limit bytes written and discards the rest,
// so that a chatty agent cannot exhaust the daemon's memory. It still
// accepts (and drops) everything, so that the child never blocks on a full
// pipe.
type boundedBuffer struct {
	mu        sync.Mutex
	buf       []byte
	limit     int
	truncated bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.limit - len(b.buf)
	if len(p) > room {
		b.truncated = true
		b.buf = append(b.buf, p[:max(room, 0)]...)
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Bytes returns a copy of what was kept.
func (b *boundedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf)
}

// Truncated reports whether anything was discarded.
func (b *boundedBuffer) Truncated() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.truncated
}

var _ proc.Runner = (*Runner)(nil)
