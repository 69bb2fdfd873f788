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
		parts []string
	}{
		{"h1", 0, nil},
		{"h2", -5, []string{"domain priority 3"}},
		{"h3", math.MaxInt, []string{"domain priority 1", "stickiness 100", "move requested"}},
		{long, math.MinInt, []string{"", long}},
	} {
		want := fmt.Sprintf("%s: score %d (%s)", c.host, c.score, strings.Join(c.parts, ", "))
		if got := scoreLine(c.host, c.score, c.parts); got != want {
			t.Errorf("scoreLine\n got %q\nwant %q", got, want)
		}
	}
}
