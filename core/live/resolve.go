package live

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ResolveUnder resolves path, which the caller built lexically under root,
// through symbolic links, and refuses a result outside the real root (a link
// that escapes it), a missing file, a directory, or a file nobody may
// execute. Agents are looked up by name under OCF_ROOT; a link planted there
// must not make the LRM run an arbitrary program.
func ResolveUnder(root, path string) (string, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("resolve %s: root %s: %w", path, root, err)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	rel, err := filepath.Rel(realRoot, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return "", fmt.Errorf("resolve %s: it leads to %s, outside %s", path, real, realRoot)
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("resolve %s: is a directory", path)
	}
	if st.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("resolve %s: is not executable", path)
	}
	return real, nil
}
