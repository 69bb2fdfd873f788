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
// client, not the state machines. The one exception is basalt simulate:
// the what-if is the simulator running the real manager (sim/whatif), so
// the CLI links the state machines through it, and only through it: the
// rest of the CLI, every command that talks to the manager, still links
// none. A new import that breaks the layering fails here, where the purity
// guard (which looks at source, not at the linked closure) would not see
// it.
func TestDriversAndJudgesLinkOnlyWhatTheyMay(t *testing.T) {
	for _, c := range []struct {
		pkgs      []string
		forbidden []string
		// through is an import of pkgs whose closure is not judged: the
		// rest of their imports' closures are.
		through string
	}{
		{[]string{"./sim/...", "./harness/check"}, []string{"github.com/basalt-ha/basalt/live/", "os/exec", "net", "net/http",
			"github.com/prometheus/"}, ""},
		{[]string{"./cmd/basalt"}, []string{"github.com/basalt-ha/basalt/core/manager", "github.com/basalt-ha/basalt/core/agent",
			"github.com/basalt-ha/basalt/core/lrm", "github.com/basalt-ha/basalt/core/planner"}, "github.com/basalt-ha/basalt/sim/whatif"},
	} {
		pkgs := c.pkgs
		if c.through != "" {
			pkgs = importsBut(t, c.pkgs, c.through)
		}
		cmd := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...)
		cmd.Dir = ".."
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %v: %v\n%s", pkgs, err, stderr.String())
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

// importsBut is the packages pkgs import, but not but.
func importsBut(t *testing.T, pkgs []string, but string) []string {
	cmd := exec.Command("go", append([]string{"list", "-f", "{{join .Imports \"\\n\"}}"}, pkgs...)...)
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -f {{.Imports}} %v: %v\n%s", pkgs, err, stderr.String())
	}
	var imports []string
	for _, p := range strings.Fields(string(out)) {
		if p != but {
			imports = append(imports, p)
		}
	}
	return imports
}
