// Package storage is the durable storage the core's drivers write through:
// small named records (an epoch, a resource list) and append-only logs (the
// event log) in one flat namespace. Mem implements it in memory for tests and
// the simulator; core/live implements it on a directory with fsync.
package storage

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// ErrNotFound is returned (wrapped) for a name that holds nothing.
var ErrNotFound = errors.New("not found")

// Store is durable named storage. Every method that returns nil has made its
// change durable: a crash afterwards loses none of it.
type Store interface {
	// Read returns the whole content stored under name.
	Read(name string) ([]byte, error)
	// Write replaces name's content atomically: after a crash it holds
	// either the old or the new content, never a mix.
	Write(name string, data []byte) error
	// Append adds data at the end of name, creating it.
	Append(name string, data []byte) error
	// Truncate cuts name back to size bytes (torn-tail recovery).
	Truncate(name string, size int64) error
	// Remove deletes name; a missing name is not an error.
	Remove(name string) error
	// List returns the stored names, sorted.
	List() ([]string, error)
}

// maxName bounds a name, well inside any file system's limit.
const maxName = 128

// ValidName reports whether name may be stored: letters, digits, '.', '_'
// and '-', not starting with '.', at most 128 bytes. Names become file names,
// so nothing in them may reach outside the store's directory.
func ValidName(name string) error {
	if name == "" || len(name) > maxName {
		return fmt.Errorf("storage name %q: must be 1 to %d bytes", name, maxName)
	}
	if name[0] == '.' {
		return fmt.Errorf("storage name %q: must not start with '.'", name)
	}
	for _, r := range name {
		if !(r == '.' || r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Errorf("storage name %q: only letters, digits, '.', '_' and '-' are allowed", name)
		}
	}
	return nil
}

// Mem is an in-memory Store. Every acknowledged change is "durable" (it
// survives a simulated crash, which keeps the Mem and drops the process
// using it); TearTail emulates a torn final append.
type Mem struct {
	files map[string][]byte
}

// NewMem returns an empty Mem.
func NewMem() *Mem { return &Mem{files: map[string][]byte{}} }

// Read implements Store.
func (m *Mem) Read(name string) ([]byte, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	b, ok := m.files[name]
	if !ok {
		return nil, fmt.Errorf("read %s: %w", name, ErrNotFound)
	}
	return slices.Clone(b), nil
}

// Write implements Store.
func (m *Mem) Write(name string, data []byte) error {
	if err := ValidName(name); err != nil {
		return err
	}
	m.files[name] = slices.Clone(data)
	return nil
}

// Append implements Store.
func (m *Mem) Append(name string, data []byte) error {
	if err := ValidName(name); err != nil {
		return err
	}
	m.files[name] = append(m.files[name], data...)
	return nil
}

// Truncate implements Store.
func (m *Mem) Truncate(name string, size int64) error {
	if err := ValidName(name); err != nil {
		return err
	}
	b, ok := m.files[name]
	if !ok {
		return fmt.Errorf("truncate %s: %w", name, ErrNotFound)
	}
	if size < 0 || size > int64(len(b)) {
		return fmt.Errorf("truncate %s to %d: size is outside 0..%d", name, size, len(b))
	}
	m.files[name] = b[:size]
	return nil
}

// Remove implements Store.
func (m *Mem) Remove(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	delete(m.files, name)
	return nil
}

// List implements Store.
func (m *Mem) List() ([]string, error) {
	return slices.Sorted(maps.Keys(m.files)), nil
}

// TearTail cuts the last n bytes of name, as a crash in the middle of an
// append would.
func (m *Mem) TearTail(name string, n int) {
	b := m.files[name]
	m.files[name] = b[:max(0, len(b)-n)]
}

var _ Store = (*Mem)(nil)
