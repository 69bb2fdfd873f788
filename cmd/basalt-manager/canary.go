//go:build canary

package main

import "github.com/spf13/pflag"

// Built with -tags canary only: the manager with known defects, so that the
// process harness can show its checkers catch them. Release builds do not
// have these flags.
func init() {
	registerCanary = func(fs *pflag.FlagSet) *canaryFlags {
		c := &canaryFlags{}
		fs.BoolVar(&c.skipFence, "canary-skip-fence", false, "DEFECT: recover a lost host's groups without waiting for the fence")
		fs.BoolVar(&c.noProbe, "canary-no-probe", false, "DEFECT: treat resources not yet probed as stopped (and start them again)")
		return c
	}
}
