// Package live holds the real implementations behind the core's interfaces:
// child processes through os/exec in their own process groups, files with
// fsync, and the drivers that run the core state machines on the real clock.
// It is the only part of core/ allowed to touch the operating system.
package live

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/basalt-ha/basalt/core/proc"
)

// waitDelay bounds how long a finished agent's output pipes are drained: an
// agent that starts a daemon in the background may leave it holding stdout,
// and the LRM must not wait for that daemon to exit.
const waitDelay = 2 * time.Second

// ProcessRunner implements proc.Runner with os/exec. Every child runs in its
// own process group, so that a kill reaches whatever the agent started, with
// exactly the environment of its Spec and no shell in between.
type ProcessRunner struct {
	mu      sync.Mutex
	running map[proc.ID]*exec.Cmd
	killed  map[proc.ID]bool
	// onStart, when set by tests, learns each child's process group.
	onStart func(id proc.ID, pgid int)
}

// NewProcessRunner returns a runner with nothing running.
func NewProcessRunner() *ProcessRunner {
	return &ProcessRunner{running: map[proc.ID]*exec.Cmd{}, killed: map[proc.ID]bool{}}
}

// Running is the number of processes started and not yet reported.
func (r *ProcessRunner) Running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.running)
}

// Start launches spec. It returns an error only for misuse (empty path,
// duplicate id); a program that is missing or cannot be executed is reported
// through onExit like any other end, with StartError set (and Missing for a
// file that does not exist), so callers handle every failure in one place.
func (r *ProcessRunner) Start(id proc.ID, spec proc.Spec, onExit func(proc.ID, proc.Exit)) error {
	if spec.Path == "" {
		return fmt.Errorf("start process %d: empty path", id)
	}
	limit := spec.OutputLimit
	if limit <= 0 {
		limit = proc.DefaultOutputLimit
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	// A nil Env would inherit the daemon's environment; an agent gets only
	// what its Spec says.
	cmd.Env = append([]string{}, spec.Env...)
	cmd.Dir = spec.Dir
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	if spec.Stdin != nil {
		cmd.Stdin = bytes.NewReader(spec.Stdin)
	}
	stdout := &boundedBuffer{limit: limit}
	stderr := &boundedBuffer{limit: limit}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = waitDelay

	r.mu.Lock()
	if _, dup := r.running[id]; dup {
		r.mu.Unlock()
		return fmt.Errorf("start process %d: id already running", id)
	}
	if err := cmd.Start(); err != nil {
		r.mu.Unlock()
		exit := proc.Exit{Code: -1, StartError: err.Error(), Missing: errors.Is(err, fs.ErrNotExist)}
		go onExit(id, exit) // asynchronously, as for every other end
		return nil
	}
	r.running[id] = cmd
	hook := r.onStart
	r.mu.Unlock()
	if hook != nil {
		hook(id, cmd.Process.Pid)
	}

	go func() {
		err := cmd.Wait()
		exit := proc.Exit{Code: -1, Stdout: stdout.Bytes(), Stderr: stderr.Bytes(),
			Truncated: stdout.truncated || stderr.truncated}
		if st := cmd.ProcessState; st != nil {
			if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				exit.Signal = signalName(ws.Signal())
			} else {
				exit.Code = st.ExitCode()
			}
		} else if err != nil {
			exit.StartError = err.Error()
		}
		r.mu.Lock()
		killed := r.killed[id]
		delete(r.killed, id)
		r.mu.Unlock()
		if killed {
			awaitGroupGone(cmd.Process.Pid)
		}
		r.mu.Lock()
		delete(r.running, id)
		r.mu.Unlock()
		onExit(id, exit)
	}()
	return nil
}

// Kill sends SIGKILL to the process's whole group. The end is still reported
// through onExit once the process is reaped.
func (r *ProcessRunner) Kill(id proc.ID) error {
	r.mu.Lock()
	cmd, ok := r.running[id]
	if ok {
		r.killed[id] = true
	}
	r.mu.Unlock()
	if !ok {
		return nil
	}
	pid := cmd.Process.Pid
	// The group id is the child's pid (Setpgid with Pgid 0).
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d: %w", pid, err)
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

func signalName(s syscall.Signal) string {
	if s == syscall.SIGKILL {
		return "killed"
	}
	return s.String()
}

// boundedBuffer keeps the first limit bytes written and counts the rest as
// discarded, so that a chatty agent cannot exhaust the daemon's memory.
type boundedBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	limit     int
	truncated bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.limit - b.buf.Len()
	if room < len(p) {
		b.truncated = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	b.buf.Write(p)
	return len(p), nil
}

func (b *boundedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

var _ proc.Runner = (*ProcessRunner)(nil)
