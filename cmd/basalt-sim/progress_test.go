package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock advances by step at every reading after the first.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	first := true
	return func() time.Time {
		if !first {
			t = t.Add(step)
		}
		first = false
		return t
	}
}

// On a terminal the progress is one line rewritten in place: a bar, seeds
// done of the total, the rate and the time left at that rate, and a final
// newline. Before, stderr got nothing and stdout a bar with no ETA.
func TestProgressOnATerminal(t *testing.T) {
	var w bytes.Buffer
	p := newProgress(&w, true, 4, fakeClock(10*time.Second))
	p.seedDone(1) // 10 s for 1 seed: 3 left, 30 s
	p.seedDone(2)
	p.seedDone(4)
	p.finish()
	require.Equal(t, "\r[#######.......................] 1/4 seeds  0 seeds/s  ETA 30s\x1b[K"+
		"\r[###############...............] 2/4 seeds  0 seeds/s  ETA 20s\x1b[K"+
		"\r[##############################] 4/4 seeds  0 seeds/s  ETA 0s\x1b[K\n", w.String())
	require.Equal(t, 1, strings.Count(w.String(), "\n"), "one line, rewritten")
}

// Anywhere else it prints plain lines, at every tenth of the run and at the
// end, without carriage returns or escapes to pile up in a log.
func TestProgressInALog(t *testing.T) {
	var w bytes.Buffer
	p := newProgress(&w, false, 20, fakeClock(time.Second))
	for done := 1; done <= 20; done++ {
		p.seedDone(done)
	}
	p.finish()
	lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
	require.Len(t, lines, 10)
	require.Equal(t, "2/20 seeds, 1 seeds/s", lines[0])
	require.Equal(t, "20/20 seeds, 1 seeds/s", lines[9])
	require.NotContains(t, w.String(), "\r")
	require.NotContains(t, w.String(), "\x1b")
}

// The run command takes the path its stderr calls for and keeps the
// progress off stdout, which carries the summary alone.
func TestRunProgressGoesToStderr(t *testing.T) {
	for _, tty := range []bool{true, false} {
		prev := terminal
		terminal = func(io.Writer) bool { return tty }
		rc, out, errOut := cli("run", "--seeds", "1-2", "--workers", "1", "--chaos", "20s", "--heal", "2m")
		terminal = prev
		require.Equal(t, 0, rc, errOut+out)
		require.NotContains(t, out, "seeds/s\n", "no progress on stdout")
		require.NotContains(t, out, "\r")
		if tty {
			require.True(t, strings.HasPrefix(errOut, "\r["), errOut)
			require.Regexp(t, `\r\[#+\] 2/2 seeds  \d+ seeds/s  ETA 0s\x1b\[K\n$`, errOut)
		} else {
			require.Equal(t, "1/2 seeds", strings.Split(errOut, ",")[0])
			require.Regexp(t, `^1/2 seeds, \d+ seeds/s\n2/2 seeds, \d+ seeds/s\n$`, errOut)
		}
	}
}

// isTerminal is false for a buffer and a regular file (a redirected
// stderr): those get the plain lines.
func TestIsTerminal(t *testing.T) {
	require.False(t, isTerminal(&bytes.Buffer{}))
	f, err := os.CreateTemp(t.TempDir(), "progress")
	require.NoError(t, err)
	defer f.Close()
	require.False(t, isTerminal(f), "a regular file")
}
