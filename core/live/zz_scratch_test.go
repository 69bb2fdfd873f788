package live

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestZZScratch(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "sleep 1000 & sleep 1000 & wait")
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	var b boundedBuffer
	b.limit = 100
	cmd.Stdout = &b
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for !groupHas(cmd.Process.Pid, 3) {
		time.Sleep(time.Millisecond)
	}
	t0 := time.Now()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	err := cmd.Wait()
	t.Log("wait", time.Since(t0), err)
	t1 := time.Now()
	awaitGroupGone(cmd.Process.Pid)
	t.Log("gone", time.Since(t1))
}
