// Package storage is the durable storage the core's drivers write through:
// small named records (an epoch, a resource list) and append-only logs (the
// event log) in one flat namespace. Mem implements it in memory for tests and
// the simulator; live/store implements it on a directory with fsync.
package storage

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// ErrNotFound is returned (wrapped; test it with errors.Is) for a name that
// holds nothing.
var ErrNotFound = errors.New("not found")

// Store is the durable storage a state machine's driver writes through:
// small named records and append-only logs in one directory-like namespace.
// Every method that returns nil has made its change durable: a crash
// afterwards loses none of it.
type Store interface {
	// Read returns the whole content stored under name, or an error
	// wrapping ErrNotFound when there is none.
	Read(name string) ([]byte, error)
	// Write replaces name's content atomically: after a crash it holds
	// either the old or the new content, never a mix.
	Write(name string, data []byte) error
	// Append adds data at the end of name, creating it if needed. A crash
	// during an Append that has not returned may leave part of data (a torn
	// tail); readers of a log must recognise and cut it with Truncate.
	Append(name string, data []byte) error
	// Truncate cuts name back to size bytes (torn-tail recovery). A size
	// beyond the current length is an error, and a missing name an error
	// wrapping ErrNotFound.
	Truncate(name string, size int64) error
	// Remove deletes name; a missing name is not an error.
	Remove(name string) error
	// List returns the stored names, sorted.
	List() ([]string, error)
}

// maxName bounds a name, well inside any file system's limit even with the
// prefix and suffix of a temporary file.
const maxName = 128

// ValidName returns an error (naming name) unless name may be stored: one or
// more letters, digits, '.', '_' and '-', not starting with '.', at most 128
// bytes. Names become file names, so nothing in them may reach outside the
// store's directory, and a leading '.' is kept for a store's own files.
func ValidName(name string) error {
	if name == "" || len(name) > maxName {
		return fmt.Errorf("storage name %q: must be 1 to %d bytes", name, maxName)
	}
	if name[0] == '.' {
		return fmt.Errorf("storage name %q: must not start with '.'", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '.' || c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Errorf("storage name %q: byte %d (%q) is not a letter, digit, '.', '_' or '-'", name, i, c)
		}
	}
	return nil
}

// Mem is an in-memory Store for tests and the simulator. Every acknowledged
// change is durable: a simulated crash is the loss of the process using the
// Mem, and the Mem itself, like a disk, keeps everything it acknowledged.
// TearTail emulates the one thing a real crash can leave behind, a partial
// final append. Mem is not safe for concurrent use: the simulator runs on one
// goroutine, and drivers serialise their effects.
type Mem struct {
	// files holds each file's bytes behind a pointer, so that an append
	// (most of a simulation's writes) looks its file up once.
	files map[string]*[]byte
}

// NewMem returns an empty Mem.
func NewMem() *Mem { return &Mem{files: map[string]*[]byte{}} }

// Clone is a copy of everything m holds, as a backup of a state directory
// would be: later writes to either do not reach the other.
func (m *Mem) Clone() *Mem {
	out := NewMem()
	for name, data := range m.files { // purity:unordered a copy, file by file, into another map
		b := append([]byte(nil), *data...)
		out.files[name] = &b
	}
	return out
}

// Read implements Store.
func (m *Mem) Read(name string) ([]byte, error) {
	if err := ValidName(name); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	b, ok := m.files[name]
	if !ok {
		return nil, fmt.Errorf("read %s: %w", name, ErrNotFound)
	}
	return slices.Clone(*b), nil
}

// Write implements Store.
func (m *Mem) Write(name string, data []byte) error {
	if err := ValidName(name); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	// Into the file's old buffer when it has room: the Mem's own (Read
	// and Clone copy out of it), and a record rewritten as a fresh base
	// and then appended to until it is rewritten again (the agent's logs)
	// grew a new buffer, zeroed and copied, every cycle.
	if old := m.files[name]; old != nil && cap(*old) >= len(data) {
		*old = append((*old)[:0], data...)
		return nil
	}
	b := bytesCopy(data)
	m.files[name] = &b
	return nil
}

// Append implements Store.
func (m *Mem) Append(name string, data []byte) error {
	if err := ValidName(name); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	b, ok := m.files[name]
	if !ok {
		b = &[]byte{}
		m.files[name] = b
	}
	// In place: the slice is the Mem's own (Write copies, Read clones), and
	// copying the whole log on every append would make a long simulation
	// quadratic.
	*b = append(*b, data...)
	return nil
}

// Truncate implements Store.
func (m *Mem) Truncate(name string, size int64) error {
	if err := ValidName(name); err != nil {
		return fmt.Errorf("truncate: %w", err)
	}
	b, ok := m.files[name]
	if !ok {
		return fmt.Errorf("truncate %s: %w", name, ErrNotFound)
	}
	if size < 0 || size > int64(len(*b)) {
		return fmt.Errorf("truncate %s to %d: size is outside 0..%d", name, size, len(*b))
	}
	*b = (*b)[:size]
	return nil
}

// Remove implements Store.
func (m *Mem) Remove(name string) error {
	if err := ValidName(name); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	delete(m.files, name)
	return nil
}

// List implements Store.
func (m *Mem) List() ([]string, error) {
	return slices.Sorted(maps.Keys(m.files)), nil
}

// TearTail cuts the last n bytes of name (all of them if it holds fewer), as
// a crash in the middle of an append would. It is a test hook: nothing
// happens for a missing name or n <= 0.
func (m *Mem) TearTail(name string, n int) {
	b, ok := m.files[name]
	if !ok || n <= 0 {
		return
	}
	keep := max(0, len(*b)-n)
	*b = (*b)[:keep]
}

// bytesCopy copies b into a new non-nil slice, so that an empty record reads
// back as empty rather than absent and nothing is shared with the caller.
func bytesCopy(b []byte) []byte {
	return append([]byte{}, b...)
}

var _ Store = (*Mem)(nil)
