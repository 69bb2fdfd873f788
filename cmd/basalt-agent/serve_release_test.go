//go:build !canary

package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReleaseServeHasNoCanaryFlags: a release agent cannot be switched
// into a known defect.
func TestReleaseServeHasNoCanaryFlags(t *testing.T) {
	rc, _, errOut := runCLI("serve", "--help")
	require.Equal(t, 0, rc)
	require.NotContains(t, errOut, "canary")

	rc, _, errOut = runCLI("serve", "--canary-ignore-epoch", "--host", "h1", "--listen", "127.0.0.1:0")
	require.Equal(t, 2, rc)
	require.Contains(t, errOut, "unknown flag: --canary-ignore-epoch")
}
