package planner

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestScoreLineIsSprintfs: the explanation's candidate lines are built by
// hand for speed; they must read exactly as the fmt form they replace.
func TestScoreLineIsSprintfs(t *testing.T) {
	long := strings.Repeat("a long host name ", 20) // past scoreLine's stack buffer
	for _, c := range []struct {
		host  string
		score int
		terms scoreTerms
	}{
		{"h1", 0, scoreTerms{}},
		{"h2", -5, scoreTerms{inDomain: true, prio: 3}},
		{"h3", math.MaxInt, scoreTerms{inDomain: true, prio: math.MinInt, noFailback: true, stickiness: 100, move: true}},
		{long, math.MinInt, scoreTerms{stickiness: math.MaxInt, move: true}},
	} {
		if got, want := scoreLine(c.host, c.score, c.terms), sprintfLine(c.host, c.score, c.terms); got != want {
			t.Errorf("scoreLine\n got %q\nwant %q", got, want)
		}
	}
}

// sprintfLine is the fmt form of scoreLine, as the planner once built it.
func sprintfLine(host string, score int, t scoreTerms) string {
	parts := []string{"outside the domain"}
	if t.inDomain {
		parts = []string{fmt.Sprintf("domain priority %d", t.prio)}
	}
	if t.noFailback {
		parts = append(parts, "runs here (no failback)")
	}
	if t.stickiness != 0 {
		parts = append(parts, fmt.Sprintf("stickiness %d", t.stickiness))
	}
	if t.move {
		parts = append(parts, "move requested")
	}
	return fmt.Sprintf("%s: score %d (%s)", host, score, strings.Join(parts, ", "))
}
