package store

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
		s, err := OpenDir(filepath.Join(t.TempDir(), "state"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestDirStoreLockKeepsASecondDaemonOut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s, err := OpenDir(dir)
	require.NoError(t, err)
	_, err = OpenDir(dir)
	require.ErrorContains(t, err, "in use")
	require.ErrorContains(t, err, dir, "the error says which directory is held")
	require.NoError(t, s.Close())

	again, err := OpenDir(dir)
	require.NoError(t, err, "Close releases the lock")
	require.NoError(t, again.Close())
}

func TestDirStoreContentSurvivesReopening(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s, err := OpenDir(dir)
	require.NoError(t, err)
	require.NoError(t, s.Write("epoch", []byte("7")))
	require.NoError(t, s.Append("events", []byte("e1;")))
	require.NoError(t, s.Append("events", []byte("e2;")))
	require.NoError(t, s.Close())

	s, err = OpenDir(dir)
	require.NoError(t, err)
	defer s.Close()
	b, err := s.Read("epoch")
	require.NoError(t, err)
	require.Equal(t, "7", string(b))
	b, err = s.Read("events")
	require.NoError(t, err)
	require.Equal(t, "e1;e2;", string(b))
	names, err := s.List()
	require.NoError(t, err)
	require.Equal(t, []string{"epoch", "events"}, names, "the lock file is not a record")
}

func TestDirStoreModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s, err := OpenDir(dir)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Write("epoch", []byte("1")))
	require.NoError(t, s.Append("log", []byte("x")))
	for _, name := range []string{"epoch", "log", lockName} {
		st, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), name)
	}
	st, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
}

func TestDirStoreTightensAnOpenDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.Chmod(dir, 0o777)) // past the umask
	s, err := OpenDir(dir)
	require.NoError(t, err)
	defer s.Close()
	st, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
}

func TestDirStoreRemovesLeftoversOfInterruptedWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s, err := OpenDir(dir)
	require.NoError(t, err)
	require.NoError(t, s.Write("epoch", []byte("3")))
	require.NoError(t, s.Close())
	// What a crash between CreateTemp and rename leaves behind, plus a
	// foreign dot file that is not ours to delete.
	leftover := filepath.Join(dir, ".epoch"+tmpInfix+"12345")
	require.NoError(t, os.WriteFile(leftover, []byte("4"), 0o600))
	foreign := filepath.Join(dir, ".keep")
	require.NoError(t, os.WriteFile(foreign, nil, 0o600))

	s, err = OpenDir(dir)
	require.NoError(t, err)
	defer s.Close()
	require.NoFileExists(t, leftover)
	require.FileExists(t, foreign)
	b, err := s.Read("epoch")
	require.NoError(t, err)
	require.Equal(t, "3", string(b), "the interrupted write did not happen")
	names, err := s.List()
	require.NoError(t, err)
	require.Equal(t, []string{"epoch"}, names)
}

func TestDirStoreBadNamesStayInside(t *testing.T) {
	parent := t.TempDir()
	s, err := OpenDir(filepath.Join(parent, "state"))
	require.NoError(t, err)
	defer s.Close()
	require.Error(t, s.Write("../escaped", []byte("x")))
	require.Error(t, s.Append("../escaped", []byte("x")))
	require.Error(t, s.Remove("../state"))
	require.Error(t, s.Write(lockName, []byte("x")), "the lock file is not a record")
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Len(t, entries, 1, "nothing was created beside the state directory")
}

func TestDirStoreRefusesAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err := OpenDir(file)
	require.ErrorContains(t, err, file)
}
