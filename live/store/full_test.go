package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// mountTmpfs mounts a tmpfs of size bytes at a new directory, unmounted at
// the end of the test, or skips the test saying why it cannot.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("a full disk needs a small tmpfs, and mounting one is not permitted here (needs root in a mount namespace that allows it): %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// TestDirAppendOnAFullDiskLeavesTheLogWhole fills a real (tmpfs) disk with
// appends: the one that does not fit must leave nothing of itself behind,
// and once space is back the next append must follow the last whole record.
func TestDirAppendOnAFullDiskLeavesTheLogWhole(t *testing.T) {
	root := mountTmpfs(t, "64k")
	s, err := OpenDir(filepath.Join(root, "state"))
	require.NoError(t, err)
	defer s.Close()
	rec := bytes.Repeat([]byte("r"), 3000)
	var want []byte
	var appendErr error
	for i := 0; i < 100 && appendErr == nil; i++ {
		if appendErr = s.Append("log", rec); appendErr == nil {
			want = append(want, rec...)
		}
	}
	require.ErrorIs(t, appendErr, syscall.ENOSPC, "the disk filled up")
	got, err := s.Read("log")
	require.NoError(t, err)
	require.Equal(t, len(want), len(got), "the failed append left part of its record in the log")

	// Space comes back: the next record follows the last whole one.
	require.NoError(t, s.Truncate("log", int64(len(want)-len(rec))))
	require.NoError(t, s.Append("log", []byte("next")))
	got, err = s.Read("log")
	require.NoError(t, err)
	require.Equal(t, append(want[:len(want)-len(rec)], "next"...), got)
}

// TestDirAppendThatCannotBeUndoneRefusesMore: a failed append whose cut
// back fails too leaves a possibly torn tail, after which nothing may be
// appended until recovery truncates it.
func TestDirAppendThatCannotBeUndoneRefusesMore(t *testing.T) {
	s, err := OpenDir(filepath.Join(t.TempDir(), "state"))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Append("log", []byte("whole;")))
	s.write = func(f *os.File, b []byte) (int, error) {
		n, _ := f.Write(b[:len(b)/2])
		return n, syscall.ENOSPC
	}
	s.truncate = func(*os.File, int64) error { return syscall.EIO }
	err = s.Append("log", []byte("torn-record;"))
	require.ErrorIs(t, err, syscall.ENOSPC)

	s.write, s.truncate = (*os.File).Write, (*os.File).Truncate
	err = s.Append("log", []byte("after;"))
	require.Error(t, err, "an append after a torn record must be refused")
	require.Contains(t, err.Error(), "refusing to append")
	got, _ := s.Read("log")
	require.Equal(t, "whole;torn-r", string(got), "nothing appended after the torn part")

	require.NoError(t, s.Truncate("log", 6), "recovery cuts the torn tail")
	require.NoError(t, s.Append("log", []byte("after;")))
	got, _ = s.Read("log")
	require.Equal(t, "whole;after;", string(got))
}

// TestDirAppendUndoneOnWriteFailure: what a failed write left of its record
// is cut off again, so the next append follows the last whole record.
func TestDirAppendUndoneOnWriteFailure(t *testing.T) {
	s, err := OpenDir(filepath.Join(t.TempDir(), "state"))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Append("log", []byte("whole;")))
	s.write = func(f *os.File, b []byte) (int, error) {
		n, _ := f.Write(b[:len(b)/2])
		return n, syscall.ENOSPC
	}
	require.True(t, errors.Is(s.Append("log", []byte("torn-record;")), syscall.ENOSPC))
	s.write = (*os.File).Write
	require.NoError(t, s.Append("log", []byte("next;")))
	got, _ := s.Read("log")
	require.Equal(t, "whole;next;", string(got))
}
