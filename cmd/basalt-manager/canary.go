//go:build canary

package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/live/daemon"
	"github.com/basalt-ha/basalt/sim/canary"
)

// Built with -tags canary only: the manager with known defects, so that the
// process harness can show its checkers catch them. Release builds do not
// have these flags, nor the defects' code.
func init() {
	registerCanary = func(fs *pflag.FlagSet) *canaryFlags {
		c := &canaryFlags{}
		fs.BoolVar(&c.skipFence, "canary-skip-fence", false, "DEFECT: recover a lost host's groups without waiting for the fence")
		fs.BoolVar(&c.noProbe, "canary-no-probe", false, "DEFECT: treat resources not yet probed as stopped (and start them again)")
		fs.BoolVar(&c.ignoreLease, "canary-ignore-lease", false, "DEFECT (with --etcd): go on acting after the lease is lost, taking refused writes for written")
		return c
	}
	applyCanary = func(c *canaryFlags, cfg *daemon.ManagerDaemonConfig) {
		var defects []canary.Intercept
		if c.skipFence {
			defects = append(defects, canary.SkipFence)
		}
		if c.noProbe {
			defects = append(defects, canary.NoProbe)
		}
		if len(defects) == 0 {
			return
		}
		cfg.Canary = func(m *manager.Manager, now time.Time, effs []effect.Effect) []effect.Effect {
			for _, d := range defects {
				effs = d(m, now, effs)
			}
			return effs
		}
	}
}
