//go:build canary

package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCanaryServeHasIgnoreEpoch(t *testing.T) {
	rc, _, errOut := runCLI("serve", "--help")
	require.Equal(t, 0, rc)
	require.Contains(t, errOut, "--canary-ignore-epoch")
}
