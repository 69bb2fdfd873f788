package main

import (
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/basalt-ha/basalt/live/admin"
)

// reloadOnHangup applies the configuration file at path again on every
// SIGHUP (systemctl reload), through the path basalt config apply takes:
// the manager refuses it whole (logged; nothing changes) or records it as
// the next version; an unchanged file does nothing. It returns the
// function that stops listening.
func reloadOnHangup(path string, src admin.Source, log *slog.Logger) (stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP)
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-sig:
				reload(path, src, log)
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
		<-finished
	}
}

// hangupBy names a reload in the event log and the report.
const hangupBy = "SIGHUP (the manager's --config file)"

// reload reads path and applies it to src's daemon, logging the outcome.
func reload(path string, src admin.Source, log *slog.Logger) {
	d := src.Daemon()
	if d == nil {
		log.Warn("SIGHUP ignored: this manager stands by; reload the leader (or basalt config apply)", "config", path)
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		log.Error("SIGHUP: cannot read the configuration; the running one stays", "config", path, "err", err.Error())
		return
	}
	p, report, empty, err := d.ApplyConfig(string(data), hangupBy)
	switch {
	case err != nil:
		log.Error("SIGHUP: configuration refused; the running one stays", "config", path, "err", err.Error())
	case empty:
		log.Info("SIGHUP: the configuration file is unchanged; nothing to do", "config", path, "version", p.Version-1)
	default:
		log.Info("SIGHUP: configuration applied", "config", path, "version", p.Version, "report", report,
			"change", strings.TrimSuffix(strings.ReplaceAll(p.Change.String(), "\n", "; "), "; "))
	}
}
