//go:build canary

package main

import (
	"github.com/spf13/pflag"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/sim/canary"
)

// Built with -tags canary only: the agent with a known defect, so that the
// process harness can show its checkers catch it. Release builds do not
// have the flag.
func init() {
	registerCanary = func(fs *pflag.FlagSet) *canaryFlags {
		c := &canaryFlags{}
		fs.BoolVar(&c.ignoreEpoch, "canary-ignore-epoch", false, "DEFECT: obey commands from superseded managers (no epoch guard)")
		// The same wrapper as the simulator's canary, read once the flags
		// are parsed.
		c.wrap = func(a *agent.Agent) agent.Machine {
			if c.ignoreEpoch {
				return canary.IgnoreEpoch(a)
			}
			return a
		}
		return c
	}
}
