package process

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// groupPoll is how often KillGroup looks whether the group is gone.
const groupPoll = 20 * time.Millisecond

// KillGroup kills the process group pgid with SIGKILL and waits, polling,
// until no process of it is left or wait has passed; it reports whether the
// group is gone. It is for groups this process did not start (a resource
// agent an earlier life of the agent left running), which it cannot reap:
// their parent is init now, which does. A group already gone is gone.
func KillGroup(pgid int, wait time.Duration) (bool, error) {
	if pgid <= 1 {
		// 0 is our own group, 1 init's: never the orphan's.
		return false, fmt.Errorf("kill process group %d: not a process group of an agent", pgid)
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Kill(-pgid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("kill process group %d: %w", pgid, err)
		}
		if !time.Now().Before(deadline) {
			return false, nil
		}
		time.Sleep(groupPoll)
	}
}

// BootID identifies the running boot of this host (Linux's
// /proc/sys/kernel/random/boot_id), or "" where there is none: process
// group numbers mean something only within one boot.
func BootID() string {
	data, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}
