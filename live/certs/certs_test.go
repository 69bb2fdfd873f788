package certs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A host named after the CA's or the manager's files must not overwrite
// them: before the fix, a host "manager" replaced the manager's certificate
// and "ca-key" the CA's key.
func TestHostNamesThatCollideWithRoleFilesAreRefused(t *testing.T) {
	for _, h := range []string{"manager", "ca", "ca-key", "manager-key", "h1-key", ManagerName, "", "../h1", "h 1", "-h1", "h1\n"} {
		t.Run(h, func(t *testing.T) {
			dir := t.TempDir()
			err := InitCerts(dir, []string{"h1", h}, time.Hour, false)
			require.Error(t, err)
			require.Contains(t, err.Error(), "host ")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries, "nothing is written when a name is refused")
		})
	}
	require.ErrorContains(t, InitCerts(t.TempDir(), []string{"h1", "h1"}, time.Hour, false), `host "h1" is named twice`)
}

// An existing CA key is never overwritten without force, even when the CA
// certificate beside it is gone; with force, everything is issued anew.
func TestExistingKeysAreKeptUnlessForced(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, InitCerts(dir, []string{"h1"}, time.Hour, false))
	key, err := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, "ca.pem")))

	err = InitCerts(dir, []string{"h2"}, time.Hour, false)
	require.ErrorContains(t, err, "already holds ca-key.pem, manager-key.pem, manager.pem")
	after, err := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	require.NoError(t, err)
	require.Equal(t, key, after, "the CA key was not touched")

	require.NoError(t, InitCerts(dir, []string{"h1"}, time.Hour, true))
	after, err = os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	require.NoError(t, err)
	require.False(t, bytes.Equal(key, after), "force issues a new CA")
	_, err = LoadPair(dir, "h1")
	require.NoError(t, err)
}
