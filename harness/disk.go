package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/sim/faults"
)

// fillName is the file that fills a state directory. It starts with '.',
// so the store never takes it for one of its records.
const fillName = ".basalt-fill"

// mountState creates state directory dir and, with StateTmpfs, mounts a
// tmpfs of that size on it, so that the disk under one daemon can fill
// while the others' does not. Where mounting is not permitted the
// directory stays on the common disk and disk faults on it are
// unsupported (stateTmpfsErr says why). Called with pc.mu held or before
// any process starts.
func (pc *ProcessCluster) mountState(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("process cluster: %w", err)
	}
	if pc.opts.StateTmpfs == "" || pc.tmpfsErr != nil {
		return nil
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+pc.opts.StateTmpfs+",mode=0700"); err != nil {
		pc.tmpfsErr = err
		pc.logf("state directories stay on the common disk: mounting a tmpfs is not permitted here (%v); disk faults are unsupported", err)
		return nil
	}
	pc.tmpfs = append(pc.tmpfs, dir)
	return nil
}

// unmountStates unmounts the state directories' tmpfs (Stop), once no
// daemon uses them.
func (pc *ProcessCluster) unmountStates() {
	for _, dir := range pc.tmpfs {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			pc.logf("unmount %s: %v", dir, err)
		}
	}
	pc.tmpfs = nil
}

// stateDirOf is node's current state directory: a host's agent's, or the
// current manager's.
func (pc *ProcessCluster) stateDirOf(node string) string {
	if node == effect.Manager {
		return pc.managerState()
	}
	return filepath.Join(pc.Dir, "state", node)
}

// FillDisk fills node's state directory (a host, or "manager") with a file
// until the tmpfs under it has no space left: from then on every write of
// the daemon fails with ENOSPC, as on a full disk. EmptyDisk removes the
// file.
func (pc *ProcessCluster) FillDisk(node string) error {
	if node == "manager" && pc.opts.Replicas > 0 {
		return faults.Unsupported("a full disk on the manager: the replicas keep the cluster's state in etcd")
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	dir := pc.stateDirOf(node)
	if !slices.Contains(pc.tmpfs, dir) {
		why := "the cluster was started without StateTmpfs"
		if pc.tmpfsErr != nil {
			why = pc.tmpfsErr.Error()
		}
		return faults.Unsupported("a full disk on %s: its state directory is not a tmpfs of its own (%s)", node, why)
	}
	if pc.filled == nil {
		pc.filled = map[string]string{}
	}
	path := filepath.Join(dir, fillName)
	pc.filled[node] = path
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("fill %s: %w", dir, err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return fmt.Errorf("fill %s: %w", dir, err)
		}
	}
}

// EmptyDisk frees node's state directory again.
func (pc *ProcessCluster) EmptyDisk(node string) error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	path, ok := pc.filled[node]
	if !ok {
		return nil
	}
	delete(pc.filled, node)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("empty %s: %w", path, err)
	}
	return nil
}

// emptyDisks frees every filled state directory (heal).
func (pc *ProcessCluster) emptyDisks() {
	pc.mu.Lock()
	var nodes []string
	for n := range pc.filled { // purity:unordered harness code, each emptied alike
		nodes = append(nodes, n)
	}
	pc.mu.Unlock()
	for _, n := range nodes {
		if err := pc.EmptyDisk(n); err != nil {
			pc.logf("heal: %v", err)
		}
	}
}
