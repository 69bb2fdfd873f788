package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// xOK is access(2)'s X_OK, which the syscall package does not name.
const xOK = 0x1

// ResolveUnder resolves path, which the caller built lexically under root,
// through symbolic links and returns the real path. It refuses a result
// outside the real root (a link that escapes it), a missing file, a
// directory, and a file this process may not execute. Agents are looked up
// by name under OCF_ROOT; a link planted there must not make the LRM run an
// arbitrary program. Errors name the path and the reason.
func ResolveUnder(root, path string) (string, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("resolve %s: root %s: %w", path, root, err)
	}
	realRoot, err = filepath.Abs(realRoot)
	if err != nil {
		return "", fmt.Errorf("resolve %s: root %s: %w", path, root, err)
	}
	real, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("resolve %s: does not exist: %w", path, err)
	}
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	rel, err := filepath.Rel(realRoot, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("resolve %s: leads to %s, outside %s", path, real, realRoot)
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("resolve %s: %s is a directory", path, real)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("resolve %s: %s is not a regular file", path, real)
	}
	// access(2) rather than the mode bits: it answers for this process's
	// user, which is who will run the agent.
	if err := syscall.Access(real, xOK); err != nil {
		return "", fmt.Errorf("resolve %s: %s is not executable: %w", path, real, err)
	}
	return real, nil
}
