// Package store is the durable storage of the real daemons: a directory of
// files written with fsync and renamed into place, behind storage.Store.
package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/basalt-ha/basalt/core/storage"
)

const (
	// lockName is the store's lock file. Like the temporary files it starts
	// with '.', which storage.ValidName refuses, so it can never collide
	// with a stored name.
	lockName = ".lock"
	// tmpInfix marks the temporary files of Write ("." + name + tmpInfix +
	// random suffix).
	tmpInfix = ".tmp-"
)

// Dir implements storage.Store on a directory: one file per name, each
// change fsynced (and the directory too, when an entry appears, is renamed
// or disappears) before it is acknowledged. An exclusive lock on the
// directory keeps two daemons from sharing one state directory. Its methods
// may be called concurrently for different names.
type Dir struct {
	dir  string
	lock *os.File
	// mu guards suspect: the logs whose failed Append could not be undone
	// (the disk full, and the truncation back failing too). Their tails may
	// hold part of a record, and a record appended after it would be read
	// as corruption at the next start, so they take no Append until a
	// Truncate (torn-tail recovery) or Write has made them whole again.
	mu      sync.Mutex
	suspect map[string]error
	// write and truncate are the file operations of Append and its undo;
	// tests replace them to fail on demand.
	write    func(f *os.File, b []byte) (int, error)
	truncate func(f *os.File, size int64) error
}

// OpenDir opens the state directory dir, creating it (mode 0700) if
// needed and taking it back to 0700 if it is open to others, takes its lock,
// and removes the temporary files a crash in the middle of a Write may have
// left. It fails, naming dir, when another process holds the directory.
func OpenDir(dir string) (*Dir, error) {
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		// Without this the new directory, and every record acknowledged
		// in it, could vanish in a crash.
		if err := syncDir(filepath.Dir(dir), "create "+dir); err != nil {
			return nil, err
		}
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("state directory %s: not a directory", dir)
	}
	// The directory holds epochs and logs that decide who may act: nobody
	// else may write there, or read what the daemon keeps private.
	if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("state directory %s: %w", dir, err)
		}
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state directory %s: lock: %w", dir, err)
	}
	// flock's lock belongs to the open file, which Go opens close-on-exec:
	// an agent's daemon can never inherit it and keep the directory held.
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("state directory %s is in use by another process (locked)", dir)
		}
		return nil, fmt.Errorf("state directory %s: lock: %w", dir, err)
	}
	s := &Dir{dir: dir, lock: lock, suspect: map[string]error{},
		write: (*os.File).Write, truncate: (*os.File).Truncate}
	if err := s.removeTemporaries(); err != nil {
		lock.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the directory's lock. The store must not be used after.
func (s *Dir) Close() error {
	if err := s.lock.Close(); err != nil {
		return fmt.Errorf("state directory %s: unlock: %w", s.dir, err)
	}
	return nil
}

// Dir is the store's directory.
func (s *Dir) Dir() string { return s.dir }

func (s *Dir) path(op, name string) (string, error) {
	if err := storage.ValidName(name); err != nil {
		return "", fmt.Errorf("%s in %s: %w", op, s.dir, err)
	}
	return filepath.Join(s.dir, name), nil
}

// Read implements storage.Store.
func (s *Dir) Read(name string) ([]byte, error) {
	p, err := s.path("read", name)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", p, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return b, nil
}

// Write implements storage.Store: a temporary file in the same directory,
// fsync, rename over the old file, fsync of the directory, so that a crash
// at any point leaves the old or the new content.
func (s *Dir) Write(name string, data []byte) error {
	p, err := s.path("write", name)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, "."+name+tmpInfix+"*") // mode 0600
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: fsync: %w", p, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := s.syncDir("write " + p); err != nil {
		return err
	}
	s.repaired(name)
	return nil
}

// Append implements storage.Store. A failed Append (a full disk, an I/O
// error) leaves the file as it was: what was written of data is cut off
// again and the cut fsynced, so that no record is ever appended after a
// partial one. When even the cut fails, the file is remembered as suspect
// and refuses appends until Truncate or Write repairs it.
func (s *Dir) Append(name string, data []byte) error {
	p, err := s.path("append", name)
	if err != nil {
		return err
	}
	if err := s.suspectErr(name); err != nil {
		return fmt.Errorf("append %s: an earlier append failed and could not be undone (%v); refusing to append after a possibly torn record until recovery truncates it", p, err)
	}
	// Opening without O_CREATE first tells whether the entry is new, and
	// so whether the directory must be fsynced too.
	created := false
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if errors.Is(err, fs.ErrNotExist) {
		created = true
		f, err = os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	}
	if err != nil {
		return fmt.Errorf("append %s: %w", p, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("append %s: %w", p, err)
	}
	if _, err := s.write(f, data); err != nil {
		return s.undoAppend(f, name, p, st.Size(), fmt.Errorf("append %s: %w", p, err))
	}
	if err := f.Sync(); err != nil {
		return s.undoAppend(f, name, p, st.Size(), fmt.Errorf("append %s: fsync: %w", p, err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("append %s: %w", p, err)
	}
	if created {
		return s.syncDir("append " + p)
	}
	return nil
}

// undoAppend cuts f back to size after a failed append (cause) and closes
// it; if the cut or its fsync fails, name becomes suspect. It returns cause,
// with what the undo could not do.
func (s *Dir) undoAppend(f *os.File, name, p string, size int64, cause error) error {
	defer f.Close()
	err := s.truncate(f, size)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		s.mu.Lock()
		s.suspect[name] = cause
		s.mu.Unlock()
		return fmt.Errorf("%w; and cutting %s back to %d bytes failed: %v (appends refused until it is truncated)", cause, p, size, err)
	}
	return cause
}

// suspectErr returns why name takes no appends, or nil.
func (s *Dir) suspectErr(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.suspect[name]
}

// repaired forgets that name was suspect: it was truncated or rewritten.
func (s *Dir) repaired(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.suspect, name)
}

// Truncate implements storage.Store.
func (s *Dir) Truncate(name string, size int64) error {
	p, err := s.path("truncate", name)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("truncate %s: %w", p, storage.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("truncate %s: %w", p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("truncate %s: %w", p, err)
	}
	if size < 0 || size > st.Size() {
		return fmt.Errorf("truncate %s to %d: size is outside 0..%d", p, size, st.Size())
	}
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("truncate %s: %w", p, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("truncate %s: fsync: %w", p, err)
	}
	s.repaired(name)
	return nil
}

// Remove implements storage.Store.
func (s *Dir) Remove(name string) error {
	p, err := s.path("remove", name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			s.repaired(name)
			return nil
		}
		return fmt.Errorf("remove %s: %w", p, err)
	}
	s.repaired(name)
	return s.syncDir("remove " + p)
}

// List implements storage.Store. Only regular files with valid names are
// listed: the lock, temporary files and anything else put there by hand are
// not the store's records.
func (s *Dir) List() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.dir, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && storage.ValidName(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// removeTemporaries deletes what interrupted Writes left behind. It runs
// under the lock, so no Write of another process can be in progress.
func (s *Dir) removeTemporaries() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("state directory %s: %w", s.dir, err)
	}
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(n, ".") || !strings.Contains(n, tmpInfix) {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("state directory %s: remove leftover %s: %w", s.dir, n, err)
		}
	}
	return nil
}

// syncDir makes the store directory's entries (a new, renamed or removed file)
// durable; fsync of a file does not cover its name.
func (s *Dir) syncDir(what string) error { return syncDir(s.dir, what) }

// syncDir fsyncs directory dir; what says which change it completes.
func syncDir(dir, what string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%s: fsync %s: %w", what, dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("%s: fsync %s: %w", what, dir, err)
	}
	return nil
}

var _ storage.Store = (*Dir)(nil)

// OpenStopped opens the state directory of a daemon (named for the
// message) that must not be running, for a repair command: a directory
// that does not exist is an error rather than a fresh start, and the
// directory's lock refuses it while the daemon runs.
func OpenStopped(dir, daemon string) (*Dir, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("--state-dir %s: not a state directory (%v)", dir, err)
	}
	st, err := OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w (stop the %s first: its epoch is changed only while it does not run)", err, daemon)
	}
	return st, nil
}
