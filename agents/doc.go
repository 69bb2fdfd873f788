// Package agents holds Basalt's test agents as files: a state-file OCF
// resource agent (ocf/resource.d/basalt/statefile, so that ocf/ is an
// OCF_ROOT) and a PID-based fence agent (fence/). They are ordinary agents
// that any OCF-compliant manager can run. The functions here locate them for
// tests and harnesses.
package agents

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// dir is the agents directory of the source tree.
func dir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("agents: cannot locate the source tree")
	}
	return filepath.Dir(file), nil
}

// OCFRoot returns the in-repo OCF root holding ocf:basalt:statefile.
func OCFRoot() (string, error) {
	d, err := dir()
	if err != nil {
		return "", err
	}
	root := filepath.Join(d, "ocf")
	if _, err := os.Stat(filepath.Join(root, "resource.d", "basalt", "statefile")); err != nil {
		return "", fmt.Errorf("agents: statefile agent not found: %w", err)
	}
	return root, nil
}

// FenceAgentPath returns the path of the PID-based test fence agent.
func FenceAgentPath() (string, error) {
	d, err := dir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(d, "fence", "fence_basalt_pid")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("agents: fence agent not found: %w", err)
	}
	return p, nil
}
