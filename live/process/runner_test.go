package process

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/proc"
)

// exitTimeout bounds every wait for an exit; none of these processes should
// take more than a fraction of it.
const exitTimeout = 10 * time.Second

// pathEnv lets a shell script find the usual tools.
var pathEnv = []string{"PATH=/usr/bin:/bin"}

// exits collects onExit calls for tests.
type exits struct {
	ch chan reported
}

type reported struct {
	id   proc.ID
	exit proc.Exit
}

func newExits(capacity int) *exits {
	return &exits{ch: make(chan reported, capacity)}
}

func (e *exits) onExit(id proc.ID, x proc.Exit) {
	e.ch <- reported{id, x}
}

// next waits (bounded) for the next report.
func (e *exits) next(t *testing.T) reported {
	t.Helper()
	select {
	case r := <-e.ch:
		return r
	case <-time.After(exitTimeout):
		t.Fatalf("no process ended within %s", exitTimeout)
		return reported{}
	}
}

// run starts spec and waits for its exit.
func run(t *testing.T, r *Runner, spec proc.Spec) proc.Exit {
	t.Helper()
	e := newExits(1)
	require.NoError(t, r.Start(1, spec, e.onExit))
	got := e.next(t)
	require.Equal(t, proc.ID(1), got.id)
	return got.exit
}

func TestRunnerReportsExitCodesAndSignals(t *testing.T) {
	r := NewRunner()
	for _, code := range []int{0, 1, 7, 190} {
		x := run(t, r, proc.Spec{Path: "/bin/sh", Args: []string{"-c", fmt.Sprintf("exit %d", code)}})
		require.True(t, x.Started())
		require.Equal(t, code, x.Code)
		require.Empty(t, x.Signal)
	}
	x := run(t, r, proc.Spec{Path: "/bin/sh", Args: []string{"-c", "kill -TERM $$"}})
	require.Equal(t, -1, x.Code, "a signalled process has no exit code")
	require.Equal(t, syscall.SIGTERM.String(), x.Signal)
}

func TestRunnerGivesExactlyTheSpecEnvironment(t *testing.T) {
	t.Setenv("BASALT_PARENT_ONLY", "must not leak")
	r := NewRunner()
	env := []string{"A=1", "B=two words", "EMPTY=", "OCF_RESKEY_x=a=b"}
	x := run(t, r, proc.Spec{Path: "/usr/bin/env", Env: env})
	require.Equal(t, 0, x.Code)
	require.Equal(t, strings.Join(env, "\n")+"\n", string(x.Stdout))

	for _, empty := range [][]string{nil, {}} {
		x := run(t, r, proc.Spec{Path: "/usr/bin/env", Env: empty})
		require.Equal(t, 0, x.Code)
		require.Empty(t, string(x.Stdout), "an empty Env is empty, not the daemon's (Env %#v)", empty)
	}
}

func TestRunnerNeverInterpretsValues(t *testing.T) {
	work := t.TempDir()
	r := NewRunner()
	value := "$(touch pwned1) `touch pwned2`; touch pwned3 && touch pwned4 | touch pwned5"
	x := run(t, r, proc.Spec{Path: "/usr/bin/env", Env: []string{"OCF_RESKEY_v=" + value}, Dir: work})
	require.Equal(t, "OCF_RESKEY_v="+value+"\n", string(x.Stdout), "the value reaches the child verbatim")
	x = run(t, r, proc.Spec{Path: "/bin/echo", Args: []string{value}, Dir: work})
	require.Equal(t, value+"\n", string(x.Stdout), "arguments too")
	entries, err := os.ReadDir(work)
	require.NoError(t, err)
	require.Empty(t, entries, "nothing was executed")
}

func TestRunnerWorkingDirectory(t *testing.T) {
	r := NewRunner()
	x := run(t, r, proc.Spec{Path: "/bin/pwd"})
	require.Equal(t, "/\n", string(x.Stdout), "agents run in / unless told")
	dir, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	x = run(t, r, proc.Spec{Path: "/bin/pwd", Args: []string{"-P"}, Dir: dir})
	require.Equal(t, dir+"\n", string(x.Stdout))
}

func TestRunnerStdin(t *testing.T) {
	r := NewRunner()
	in := "action=off\nplug=h1\n"
	x := run(t, r, proc.Spec{Path: "/bin/cat", Stdin: []byte(in)})
	require.Equal(t, in, string(x.Stdout), "stdin is written, then closed (cat ends)")

	x = run(t, r, proc.Spec{Path: "/bin/cat"})
	require.Equal(t, 0, x.Code, "no Stdin reads as empty")
	require.Empty(t, x.Stdout)

	big := make([]byte, 1<<20)
	x = run(t, r, proc.Spec{Path: "/bin/true", Stdin: big})
	require.Equal(t, 0, x.Code, "a child that ignores its stdin is not an error")
	require.Empty(t, x.StartError)
}

func TestRunnerBoundsOutput(t *testing.T) {
	r := NewRunner()
	const mib = 1 << 20
	script := fmt.Sprintf("head -c %d /dev/zero; printf err >&2", mib)
	x := run(t, r, proc.Spec{Path: "/bin/sh", Args: []string{"-c", script}, Env: pathEnv})
	require.Equal(t, 0, x.Code, "the child was never blocked on a full pipe")
	require.Len(t, x.Stdout, proc.DefaultOutputLimit)
	require.Equal(t, "err", string(x.Stderr))
	require.True(t, x.Truncated)

	x = run(t, r, proc.Spec{Path: "/bin/sh", Args: []string{"-c", "head -c 5000 /dev/zero >&2"}, Env: pathEnv, OutputLimit: 1000})
	require.Len(t, x.Stderr, 1000, "the limit applies to stderr too")
	require.True(t, x.Truncated)

	x = run(t, r, proc.Spec{Path: "/bin/sh", Args: []string{"-c", "printf 12345"}, OutputLimit: 5})
	require.Equal(t, "12345", string(x.Stdout))
	require.False(t, x.Truncated, "output of exactly the limit is whole")
}

func TestRunnerReportsStartFailuresAsExits(t *testing.T) {
	r := NewRunner()
	missing := filepath.Join(t.TempDir(), "agent")
	x := run(t, r, proc.Spec{Path: missing})
	require.False(t, x.Started())
	require.True(t, x.Missing)
	require.Equal(t, -1, x.Code)
	require.Contains(t, x.StartError, missing)

	plain := filepath.Join(t.TempDir(), "plain")
	require.NoError(t, os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644))
	x = run(t, r, proc.Spec{Path: plain})
	require.False(t, x.Started())
	require.False(t, x.Missing, "a file that cannot be executed is there")
	require.Equal(t, -1, x.Code)

	x = run(t, r, proc.Spec{Path: "/bin/true", Dir: filepath.Join(t.TempDir(), "gone")})
	require.False(t, x.Started())
	require.False(t, x.Missing, "a missing working directory is not a missing agent")
	require.Contains(t, x.StartError, "working directory")
	require.Equal(t, 0, r.Running())
}

func TestRunnerRefusesMisuse(t *testing.T) {
	r := NewRunner()
	never := func(proc.ID, proc.Exit) { t.Error("onExit called after a refused Start") }
	require.ErrorContains(t, r.Start(1, proc.Spec{}, never), "empty path")
	require.ErrorContains(t, r.Start(1, proc.Spec{Path: "true"}, never), "not absolute")
	require.ErrorContains(t, r.Start(1, proc.Spec{Path: "/bin/true"}, nil), "onExit")

	e := newExits(1)
	require.NoError(t, r.Start(1, proc.Spec{Path: "/bin/sleep", Args: []string{"1000"}}, e.onExit))
	require.ErrorContains(t, r.Start(1, proc.Spec{Path: "/bin/true"}, never), "already in use")
	require.NoError(t, r.Kill(1))
	require.Equal(t, "killed", e.next(t).exit.Signal)
	require.Equal(t, 0, r.Running())
}

func TestRunnerKillReachesTheWholeGroup(t *testing.T) {
	r := NewRunner()
	pgids := make(chan int, 1)
	r.onStart = func(_ proc.ID, pgid int) { pgids <- pgid }
	e := newExits(1)
	require.NoError(t, r.Start(1, proc.Spec{Path: "/bin/sh", Args: []string{"-c", "sleep 1000 & sleep 1000 & wait"},
		Env: pathEnv}, e.onExit))
	var pgid int
	select {
	case pgid = <-pgids:
	case <-time.After(exitTimeout):
		t.Fatal("start hook not called")
	}
	require.Equal(t, 1, r.Running())
	// Bounded poll: the shell forks its two sleeps on its own schedule.
	deadline := time.Now().Add(exitTimeout)
	for groupSize(pgid) < 3 {
		require.True(t, time.Now().Before(deadline), "the shell's children never appeared")
		time.Sleep(5 * time.Millisecond)
	}

	require.NoError(t, r.Kill(1))
	x := e.next(t).exit
	require.Equal(t, "killed", x.Signal)
	require.Equal(t, -1, x.Code)
	require.ErrorIs(t, syscall.Kill(-pgid, 0), syscall.ESRCH, "nothing of the group is left when the exit is reported")
	require.Equal(t, 0, r.Running())
	require.NoError(t, r.Kill(1), "killing a finished process is not an error")
	require.NoError(t, r.Kill(42), "nor is killing an unknown one")
}

func TestRunnerDoesNotWaitForBackgroundedDaemons(t *testing.T) {
	r := NewRunner()
	// An agent that starts a daemon which inherits (and keeps) its stdout,
	// then exits 0. The report comes after waitDelay, long before the
	// daemon's 60 s, and the daemon is left running as agents expect.
	x := run(t, r, proc.Spec{Path: "/bin/sh", Args: []string{"-c", "sleep 60 & echo $!; exit 0"}, Env: pathEnv})
	require.Equal(t, 0, x.Code)
	pid, err := strconv.Atoi(strings.TrimSpace(string(x.Stdout)))
	require.NoError(t, err, "stdout %q", x.Stdout)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	require.NoError(t, syscall.Kill(pid, 0), "the daemon is still running")
}

func TestRunnerRunningCount(t *testing.T) {
	r := NewRunner()
	e := newExits(3)
	for id := proc.ID(1); id <= 3; id++ {
		require.NoError(t, r.Start(id, proc.Spec{Path: "/bin/sleep", Args: []string{"1000"}}, e.onExit))
	}
	require.Equal(t, 3, r.Running())
	// From inside onExit the runner is usable and no longer counts the
	// reported process.
	inside := make(chan int, 1)
	require.NoError(t, r.Start(4, proc.Spec{Path: "/bin/true"}, func(proc.ID, proc.Exit) { inside <- r.Running() }))
	select {
	case n := <-inside:
		require.Equal(t, 3, n)
	case <-time.After(exitTimeout):
		t.Fatal("no exit")
	}
	require.NoError(t, r.Kill(2))
	require.Equal(t, proc.ID(2), e.next(t).id)
	require.Equal(t, 2, r.Running())
	require.NoError(t, r.Kill(1))
	require.NoError(t, r.Kill(3))
	e.next(t)
	e.next(t)
	require.Equal(t, 0, r.Running())
}

func TestRunnerManyConcurrent(t *testing.T) {
	r := NewRunner()
	const n = 200
	e := newExits(n)
	for i := range n {
		id := proc.ID(i + 1)
		script := fmt.Sprintf("echo %d; exit %d", id, i%5)
		require.NoError(t, r.Start(id, proc.Spec{Path: "/bin/sh", Args: []string{"-c", script}}, e.onExit))
	}
	seen := map[proc.ID]bool{}
	for range n {
		got := e.next(t)
		require.False(t, seen[got.id], "id %d reported twice", got.id)
		seen[got.id] = true
		require.Equal(t, fmt.Sprintf("%d\n", got.id), string(got.exit.Stdout), "each exit carries its own process's output")
		require.Equal(t, int(got.id-1)%5, got.exit.Code)
	}
	require.Len(t, seen, n)
	require.Equal(t, 0, r.Running())
}

// groupSize counts the live processes in process group pgid.
func groupSize(pgid int) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err == nil && g == pgid {
			n++
		}
	}
	return n
}
