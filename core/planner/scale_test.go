package planner

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPlanScalesLinearly: a cluster four times bigger (hosts and
// resources) costs the planner at most six times the allocations. Work
// per group × host (an explanation string for every host, a scan of every
// host's state per member) makes it sixteen times or more.
func TestPlanScalesLinearly(t *testing.T) {
	pairs := [][2]clusterSize{{{16, 48}, {64, 192}}, {{64, 192}, {256, 768}}}
	inputs := map[string]func(clusterSize) Input{"steady": steadyInput, "troubled": troubledInput}
	for _, kind := range []string{"steady", "troubled"} {
		for _, pair := range pairs {
			small, big := inputs[kind](pair[0]), inputs[kind](pair[1])
			a := testing.AllocsPerRun(2, func() { Plan(small) })
			b := testing.AllocsPerRun(2, func() { Plan(big) })
			t.Logf("%s: %v %.0f allocations, %v %.0f: ×%.2f", kind, pair[0], a, pair[1], b, b/a)
			assert.LessOrEqual(t, b/a, 6.0, "%s: %v costs %.0f allocations, %v %.0f: ×%.1f for a cluster four times bigger",
				kind, pair[0], a, pair[1], b, b/a)
		}
	}
}
