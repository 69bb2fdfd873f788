package live

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/proc"
)

// runOne starts spec and waits (bounded) for its exit.
func runOne(t *testing.T, r *ProcessRunner, id proc.ID, spec proc.Spec) proc.Exit {
	t.Helper()
	ch := make(chan proc.Exit, 1)
	require.NoError(t, r.Start(id, spec, func(got proc.ID, x proc.Exit) {
		require.Equal(t, id, got)
		ch <- x
	}))
	select {
	case x := <-ch:
		return x
	case <-time.After(30 * time.Second):
		t.Fatalf("process %d did not end within 30s", id)
		return proc.Exit{}
	}
}

func TestRunnerExitCodesAndExactEnvironment(t *testing.T) {
	r := NewProcessRunner()
	x := runOne(t, r, 1, proc.Spec{Path: "/bin/sh", Args: []string{"-c", "exit 7"}})
	require.Equal(t, 7, x.Code)
	require.True(t, x.Started())

	x = runOne(t, r, 2, proc.Spec{Path: "/usr/bin/env", Env: []string{"A=1", "B=$(touch pwned)"}})
	require.Equal(t, 0, x.Code)
	require.Equal(t, "A=1\nB=$(touch pwned)\n", string(x.Stdout), "exactly the spec's environment, verbatim")

	x = runOne(t, r, 3, proc.Spec{Path: "/usr/bin/env"})
	require.Empty(t, string(x.Stdout), "an empty Env is empty, not inherited")

	x = runOne(t, r, 4, proc.Spec{Path: "/bin/pwd"})
	require.Equal(t, "/\n", string(x.Stdout), "agents run in /")
}

func TestRunnerStdinAndBoundedOutput(t *testing.T) {
	r := NewProcessRunner()
	x := runOne(t, r, 1, proc.Spec{Path: "/bin/cat", Stdin: []byte("action=off\nplug=h1\n")})
	require.Equal(t, "action=off\nplug=h1\n", string(x.Stdout))

	x = runOne(t, r, 2, proc.Spec{Path: "/bin/sh", Args: []string{"-c", "head -c 1048576 /dev/zero; head -c 10 /dev/zero >&2"},
		Env: []string{"PATH=/usr/bin:/bin"}, OutputLimit: 1000})
	require.Equal(t, 0, x.Code)
	require.Len(t, x.Stdout, 1000)
	require.Len(t, x.Stderr, 10)
	require.True(t, x.Truncated)
}

func TestRunnerMissingExecutable(t *testing.T) {
	r := NewProcessRunner()
	x := runOne(t, r, 1, proc.Spec{Path: "/nonexistent/agent"})
	require.False(t, x.Started())
	require.True(t, x.Missing)
	require.Equal(t, -1, x.Code)
	require.Error(t, r.Start(2, proc.Spec{}, func(proc.ID, proc.Exit) {}), "empty path is misuse")
}

func TestRunnerKillReachesTheWholeGroup(t *testing.T) {
	r := NewProcessRunner()
	pgids := make(chan int, 1)
	r.onStart = func(_ proc.ID, pgid int) { pgids <- pgid }
	ch := make(chan proc.Exit, 1)
	require.NoError(t, r.Start(1, proc.Spec{Path: "/bin/sh", Args: []string{"-c", "sleep 1000 & sleep 1000 & echo ready; wait"},
		Env: []string{"PATH=/usr/bin:/bin"}}, func(_ proc.ID, x proc.Exit) { ch <- x }))
	pgid := <-pgids
	require.Equal(t, 1, r.Running())
	deadline := time.Now().Add(10 * time.Second)
	for !groupHas(pgid, 3) {
		require.True(t, time.Now().Before(deadline), "children never appeared")
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, r.Kill(1))
	x := <-ch
	require.Equal(t, "killed", x.Signal)
	require.Equal(t, -1, x.Code)
	require.ErrorIs(t, syscall.Kill(-pgid, 0), syscall.ESRCH, "nothing of the group is left")
	require.Equal(t, 0, r.Running())
	require.NoError(t, r.Kill(1), "killing a finished process is not an error")
}

func TestRunnerDoesNotWaitForBackgroundedDaemons(t *testing.T) {
	r := NewProcessRunner()
	// The "agent" starts a daemon that keeps stdout open and exits 0.
	x := runOne(t, r, 1, proc.Spec{Path: "/bin/sh", Args: []string{"-c", "sleep 60 & echo $!; exit 0"}, Env: []string{"PATH=/usr/bin:/bin"}})
	require.Equal(t, 0, x.Code)
	pid, err := strconv.Atoi(strings.TrimSpace(string(x.Stdout)))
	require.NoError(t, err, "stdout %q", x.Stdout)
	require.NoError(t, syscall.Kill(pid, 0), "the daemon was left running, as an agent's daemon must be")
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
}

func TestRunnerManyConcurrent(t *testing.T) {
	r := NewProcessRunner()
	const n = 200
	ch := make(chan proc.Exit, n)
	for i := range n {
		require.NoError(t, r.Start(proc.ID(i+1), proc.Spec{Path: "/bin/sh", Args: []string{"-c", "exit " + strconv.Itoa(i%5)}},
			func(_ proc.ID, x proc.Exit) { ch <- x }))
	}
	sum := 0
	for range n {
		select {
		case x := <-ch:
			sum += x.Code
		case <-time.After(time.Minute):
			t.Fatal("not every process ended")
		}
	}
	require.Equal(t, 400, sum) // 40 × (0+1+2+3+4)
	require.Equal(t, 0, r.Running())
}

// groupHas reports whether process group pgid has at least n members.
func groupHas(pgid, n int) bool {
	out := 0
	for _, pid := range listPids() {
		if g, err := syscall.Getpgid(pid); err == nil && g == pgid {
			out++
		}
	}
	return out >= n
}

func listPids() []int {
	var pids []int
	entries, _ := readDirNames("/proc")
	for _, e := range entries {
		if pid, err := strconv.Atoi(e); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}
