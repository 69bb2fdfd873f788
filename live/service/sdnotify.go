// Package service is what both daemons share with systemd: readiness,
// the watchdog and the signals that stop them.
package service

import (
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SDNotify sends a state line ("READY=1", "WATCHDOG=1", "STOPPING=1") to
// systemd when the service runs under Type=notify; outside systemd it does
// nothing. Errors are ignored: notification is advisory.
func SDNotify(state string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	if strings.HasPrefix(path, "@") {
		path = "\x00" + path[1:] // abstract socket
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = c.Write([]byte(state))
}

// WatchdogInterval returns how often to send WATCHDOG=1 (half systemd's
// WatchdogSec), or 0 when no watchdog is asked for.
func WatchdogInterval() time.Duration {
	us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || us <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(us) * time.Microsecond / 2
}

// statusEvery is how often RunServiceStatus asks whether the daemon is
// degraded.
const statusEvery = 2 * time.Second

// RunService tells systemd the service is ready, feeds its watchdog, and
// blocks until SIGTERM or SIGINT (or stop, for tests). Daemons stop on it
// without touching any resource.
func RunService(log *slog.Logger, stop <-chan struct{}) { RunServiceStatus(log, stop, nil) }

// RunServiceStatus is RunService that also reports the daemon's condition:
// every few seconds degraded says what keeps the daemon from working ("" when
// nothing does), and each change is sent as STATUS= (shown by systemctl
// status). The watchdog is fed all the same: it catches a hung daemon, and a
// restart would not cure what degraded reports (a full disk), while the
// running daemon retries and resumes by itself.
func RunServiceStatus(log *slog.Logger, stop <-chan struct{}, degraded func() string) {
	SDNotify("READY=1\nSTATUS=ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	var watchdog, check <-chan time.Time
	if iv := WatchdogInterval(); iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		watchdog = t.C
	}
	if degraded != nil {
		t := time.NewTicker(statusEvery)
		defer t.Stop()
		check = t.C
	}
	last := ""
	for {
		select {
		case s := <-sig:
			log.Info("stopping; resources are left running", "signal", s.String())
			SDNotify("STOPPING=1")
			return
		case <-stop:
			return
		case <-watchdog:
			SDNotify("WATCHDOG=1")
		case <-check:
			if now := degraded(); now != last {
				last = now
				SDNotify(StatusLine(now))
			}
		}
	}
}

// StatusLine is the STATUS= notification for a daemon degraded by what
// ("" for none).
func StatusLine(what string) string {
	if what == "" {
		return "STATUS=ready"
	}
	return "STATUS=NOT READY: " + strings.ReplaceAll(what, "\n", " ")
}
