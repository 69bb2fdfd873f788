//go:build canary

package main

import "github.com/spf13/pflag"

// Built with -tags canary only: the manager with a known defect, so that
// the process harness can show its checkers catch it. Release builds do not
// have the flag.
func init() {
	registerCanary = func(fs *pflag.FlagSet) *bool {
		return fs.Bool("canary-skip-fence", false, "DEFECT: recover a lost host's groups without waiting for the fence")
	}
}
