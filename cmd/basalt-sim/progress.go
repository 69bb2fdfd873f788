package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress reports a swarm's advance on stderr while it runs, so that
// stdout carries the summary alone. On a terminal it is one line rewritten
// in place (a carriage return, then the line, then "erase to the end of
// the line"): a bar, seeds done of the total, the rate and the time left.
// Anywhere else (a CI log, a file) a rewritten line would pile up as
// carriage returns, so it prints a plain line at every tenth of the run.
type progress struct {
	w     io.Writer
	tty   bool
	total int
	start time.Time
	// now is the clock (time.Now; a test's own), read only here: the
	// swarm itself never reads one.
	now  func() time.Time
	step int

	mu sync.Mutex
}

// barWidth is the progress bar's width in characters.
const barWidth = 30

// newProgress starts reporting on w a run of total seeds; tty says whether
// w is a terminal.
func newProgress(w io.Writer, tty bool, total int, now func() time.Time) *progress {
	return &progress{w: w, tty: tty, total: total, start: now(), now: now, step: max(1, total/10)}
}

// seedDone reports that done seeds of the total have ended. It is safe for
// concurrent use (the swarm's progress callback may come from any worker).
func (p *progress) seedDone(done int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := p.now().Sub(p.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	if !p.tty {
		if done%p.step == 0 || done == p.total {
			fmt.Fprintf(p.w, "%d/%d seeds, %.0f seeds/s\n", done, p.total, rate)
		}
		return
	}
	filled := barWidth * done / max(1, p.total)
	bar := strings.Repeat("#", filled) + strings.Repeat(".", barWidth-filled)
	fmt.Fprintf(p.w, "\r[%s] %d/%d seeds  %.0f seeds/s  ETA %s\x1b[K", bar, done, p.total, rate, eta(done, p.total, elapsed))
}

// finish ends the rewritten line, so that what follows starts on a line
// of its own; the plain lines need nothing.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

// eta is the time left at the rate so far, to the second; "?" before any
// seed has ended, since no rate is known yet.
func eta(done, total int, elapsed time.Duration) string {
	if done <= 0 {
		return "?"
	}
	left := time.Duration(float64(elapsed) * float64(total-done) / float64(done))
	return left.Round(time.Second).String()
}
