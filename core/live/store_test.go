package live

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/core/storage/storagetest"
)

func TestDirStoreConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := OpenDirStore(filepath.Join(t.TempDir(), "state"))
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestDirStoreLockAndModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s, err := OpenDirStore(dir)
	require.NoError(t, err)
	_, err = OpenDirStore(dir)
	require.ErrorContains(t, err, "in use by another process")
	require.NoError(t, s.Write("epoch", []byte("7")))
	st, err := os.Stat(filepath.Join(dir, "epoch"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	dst, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), dst.Mode().Perm())
	require.NoError(t, s.Close())

	again, err := OpenDirStore(dir)
	require.NoError(t, err, "the lock is released on close")
	defer again.Close()
	b, err := again.Read("epoch")
	require.NoError(t, err)
	require.Equal(t, "7", string(b), "content survives reopening")
	names, err := again.List()
	require.NoError(t, err)
	require.Equal(t, []string{"epoch"}, names, "no lock or temp files listed")
}

func TestResolveUnder(t *testing.T) {
	root := t.TempDir()
	exe := filepath.Join(root, "agent")
	require.NoError(t, os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755))
	plain := filepath.Join(root, "plain")
	require.NoError(t, os.WriteFile(plain, []byte("x"), 0o644))
	require.NoError(t, os.Symlink(exe, filepath.Join(root, "link")))
	outside := filepath.Join(t.TempDir(), "evil")
	require.NoError(t, os.WriteFile(outside, []byte("#!/bin/sh\n"), 0o755))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "escape")))
	require.NoError(t, os.Mkdir(filepath.Join(root, "dir"), 0o755))

	got, err := ResolveUnder(root, exe)
	require.NoError(t, err)
	require.Equal(t, filepath.Base(exe), filepath.Base(got))
	_, err = ResolveUnder(root, filepath.Join(root, "link"))
	require.NoError(t, err, "a link inside the root is fine")
	for name, want := range map[string]string{"plain": "not executable", "escape": "outside", "dir": "directory", "missing": "no such file"} {
		_, err := ResolveUnder(root, filepath.Join(root, name))
		require.ErrorContains(t, err, want, name)
	}
}
