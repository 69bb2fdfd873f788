package core

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestDriversAndJudgesLinkOnlyWhatTheyMay holds the house together: the
// simulator and the judges never link the live driver or anything that
// touches the network or runs processes, and the admin CLI links the API
// client, not the state machines. A new import that breaks the layering
// fails here, where the purity guard (which looks at source, not at the
// linked closure) would not see it.
func TestDriversAndJudgesLinkOnlyWhatTheyMay(t *testing.T) {
	for _, c := range []struct {
		pkgs      []string
		forbidden []string
	}{
		{[]string{"./sim/...", "./harness/check"}, []string{"github.com/basalt-ha/basalt/live/", "os/exec", "net", "net/http",
			"github.com/prometheus/"}},
		{[]string{"./cmd/basalt"}, []string{"github.com/basalt-ha/basalt/core/manager", "github.com/basalt-ha/basalt/core/agent",
			"github.com/basalt-ha/basalt/core/lrm", "github.com/basalt-ha/basalt/core/planner"}},
	} {
		cmd := exec.Command("go", append([]string{"list", "-deps"}, c.pkgs...)...)
		cmd.Dir = ".."
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %v: %v\n%s", c.pkgs, err, stderr.String())
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range c.forbidden {
				// An entry ending in "/" forbids a whole tree; others one package.
				if dep == f || strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f) {
					t.Errorf("%v links %s", c.pkgs, dep)
				}
			}
		}
	}
}
