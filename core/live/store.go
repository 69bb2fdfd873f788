package live

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/basalt-ha/basalt/core/storage"
)

const lockName = ".lock"

// DirStore implements storage.Store on a directory: one file per name,
// every change fsynced (and the directory too, when an entry appears or is
// renamed) before it is acknowledged. An exclusive lock on the directory
// keeps two daemons from sharing one state directory.
type DirStore struct {
	dir  string
	lock *os.File
}

// OpenDirStore opens (creating it 0700) the state directory dir and takes
// its lock.
func OpenDirStore(dir string) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("state directory %s is in use by another process", dir)
		}
		return nil, fmt.Errorf("state directory %s: lock: %w", dir, err)
	}
	return &DirStore{dir: dir, lock: lock}, nil
}

// Close releases the directory's lock.
func (s *DirStore) Close() error { return s.lock.Close() }

// Dir is the store's directory.
func (s *DirStore) Dir() string { return s.dir }

func (s *DirStore) path(name string) (string, error) {
	if err := storage.ValidName(name); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, name), nil
}

// Read implements storage.Store.
func (s *DirStore) Read(name string) ([]byte, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", p, storage.ErrNotFound)
	}
	return b, err
}

// Write implements storage.Store: a temporary file, fsync, rename, fsync of
// the directory, so that a crash leaves the old or the new content.
func (s *DirStore) Write(name string, data []byte) error {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
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
	return s.syncDir()
}

// Append implements storage.Store.
func (s *DirStore) Append(name string, data []byte) error {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	_, statErr := os.Stat(p)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("append %s: %w", p, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("append %s: %w", p, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("append %s: fsync: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("append %s: %w", p, err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		return s.syncDir() // the new entry itself must survive a crash
	}
	return nil
}

// Truncate implements storage.Store.
func (s *DirStore) Truncate(name string, size int64) error {
	p, err := s.path(name)
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
	return nil
}

// Remove implements storage.Store.
func (s *DirStore) Remove(name string) error {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return s.syncDir()
}

// List implements storage.Store; temporary and lock files are not listed.
func (s *DirStore) List() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.dir, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

func (s *DirStore) syncDir() error {
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("fsync %s: %w", s.dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", s.dir, err)
	}
	return nil
}

var _ storage.Store = (*DirStore)(nil)
