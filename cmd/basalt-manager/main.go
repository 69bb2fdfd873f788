// Command basalt-manager is the cluster manager daemon: it loads the
// configuration, recovers its epoch and event log from its state directory,
// connects to every host's basalt-agent over mutual TLS, and serves the
// administrative API on a unix socket. SIGTERM stops it without touching any
// resource; a restarted manager adopts what runs. SIGHUP reads the
// configuration file again and applies it (reload.go).
package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/benbjohnson/clock"
	"github.com/spf13/pflag"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/live/admin"
	"github.com/basalt-ha/basalt/live/certs"
	"github.com/basalt-ha/basalt/live/daemon"
	"github.com/basalt-ha/basalt/live/metrics"
	"github.com/basalt-ha/basalt/live/service"
	"github.com/basalt-ha/basalt/live/store"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr, nil)) }

// canaryFlags are the known defects a canary build can switch on (for the
// process harness to show its checkers catch them); in a release build they
// are always off.
type canaryFlags struct {
	skipFence bool
	noProbe   bool
	// ignoreLease: a replica that goes on acting after its lease is
	// lost (ha.Config.IgnoreLease).
	ignoreLease bool
}

// registerCanary is set only in builds with the canary tag (canary.go): it
// adds the defect flags to fs, bound to the result.
var registerCanary func(fs *pflag.FlagSet) *canaryFlags

// applyCanary is set only in builds with the canary tag (canary.go): it
// installs the defects switched on in the daemon's configuration. The
// defects' code (sim/canary) is linked into canary builds alone.
var applyCanary func(c *canaryFlags, cfg *daemon.ManagerDaemonConfig)

// run starts the daemon and blocks until SIGTERM/SIGINT (or stop, for
// tests); `basalt-manager epoch ...` runs the epoch recovery command
// instead (epoch.go).
func run(args []string, stderr io.Writer, stop <-chan struct{}) int {
	if len(args) > 0 && args[0] == "epoch" {
		return epochCmd(args[1:], os.Stdout, stderr)
	}
	fs := pflag.NewFlagSet("basalt-manager", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "/etc/basalt/cluster.yaml", "cluster configuration")
	stateDir := fs.String("state-dir", "/var/lib/basalt/manager", "where the epoch and event log live")
	certDir := fs.String("certs", "/etc/basalt/certs", "directory from basalt certs init")
	socket := fs.String("socket", "/run/basalt/manager.sock", "admin API unix socket")
	socketMode := fs.String("socket-mode", "0600", "admin socket permissions, octal: 0600 or 0660")
	insecure := fs.Bool("insecure-dev", false, "no TLS (development on loopback only)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	canary := &canaryFlags{}
	if registerCanary != nil {
		canary = registerCanary(fs)
	}
	metricsAddr := fs.String("metrics-listen", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9664); off when empty")
	ha := haFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		// ContinueOnError leaves reporting to us: an unknown flag (a
		// canary flag given to a release build, say) must say so.
		fmt.Fprintf(stderr, "basalt-manager: %v\n", err)
		return 2
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "basalt-manager: %v\n", err)
		return 2
	}
	mode, err := strconv.ParseUint(*socketMode, 8, 32)
	if err != nil || mode != 0o600 && mode != 0o660 {
		fmt.Fprintf(stderr, "basalt-manager: --socket-mode %s: want 0600 or 0660\n", *socketMode)
		return 2
	}
	data, err := os.ReadFile(*config)
	if err != nil {
		fmt.Fprintf(stderr, "basalt-manager: %v\n", err)
		return 1
	}
	m, err := model.Load(*config, data)
	if err != nil {
		fmt.Fprintf(stderr, "basalt-manager: refusing to start on an invalid configuration:\n%v\n", err)
		return 1
	}
	for _, w := range m.Warnings {
		log.Warn("configuration warning", "detail", w.Warning())
	}
	if err := ha.check(fs); err != nil {
		fmt.Fprintf(stderr, "basalt-manager: %v\n", err)
		return 2
	}
	cfg := daemon.ManagerDaemonConfig{Model: m, StartupConfig: string(data), Clock: clock.New(), Log: log, Insecure: *insecure}
	if applyCanary != nil {
		applyCanary(canary, &cfg)
	}
	// Loud, so that nobody mistakes a canary for a working manager.
	if canary.skipFence {
		log.Error("CANARY BUILD: this manager recovers lost hosts without waiting for fencing")
	}
	if canary.noProbe {
		log.Error("CANARY BUILD: this manager treats unprobed resources as stopped")
	}
	if canary.ignoreLease {
		log.Error("CANARY BUILD: this manager replica goes on acting after its lease is lost")
	}
	if !*insecure {
		cfg.TLS = func(h string) (*tls.Config, error) { return certs.ManagerTLS(*certDir, h) }
	} else {
		log.Warn("INSECURE: agents are contacted without TLS. For development on loopback only.")
	}
	if ha.on() {
		return runReplica(ha, cfg, canary.ignoreLease, *config, *socket, os.FileMode(mode), *metricsAddr, log, stderr, stop)
	}
	st, err := store.OpenDir(*stateDir)
	if err != nil {
		fmt.Fprintf(stderr, "basalt-manager: %v\n", err)
		return 1
	}
	defer st.Close()
	cfg.Store = st
	d, err := daemon.StartManagerDaemon(cfg)
	if err != nil {
		// The core names the recovery command with a placeholder for the
		// directory it cannot know: print it ready to run.
		fmt.Fprintf(stderr, "basalt-manager: %s\n", strings.ReplaceAll(err.Error(), "--state-dir DIR", "--state-dir "+*stateDir))
		return 1
	}
	defer d.Stop()
	return serveManager(admin.Single(d), *config, *socket, os.FileMode(mode), *metricsAddr, log, stderr, stop)
}

// serveManager serves the admin API and the metrics of src until
// SIGTERM/SIGINT (or stop), telling systemd it is ready, and applies the
// file at config again on SIGHUP.
func serveManager(src admin.Source, config, socket string, mode os.FileMode, metricsAddr string, log *slog.Logger, stderr io.Writer, stop <-chan struct{}) int {
	// Before the socket exists: once a client can see the manager, a
	// SIGHUP must not kill it.
	defer reloadOnHangup(config, src, log)()
	api, err := admin.ServeSource(src, socket, mode, log)
	if err != nil {
		fmt.Fprintf(stderr, "basalt-manager: %v\n", err)
		return 1
	}
	defer api.Close()
	if metricsAddr != "" {
		srv, addr, err := metrics.ServeMetrics(metrics.NewSourceMetrics(src), metricsAddr)
		if err != nil {
			fmt.Fprintf(stderr, "basalt-manager: %v\n", err)
			return 1
		}
		defer srv.Close()
		log.Info("serving metrics", "addr", addr)
	}
	// A manager that cannot persist reports it to systemd rather than
	// starving the watchdog: a restart would not make space.
	service.RunServiceStatus(log, stop, func() string {
		if d := src.Daemon(); d != nil {
			if _, err := d.PersistError(); err != nil {
				return "cannot persist state: " + err.Error()
			}
		}
		return ""
	})
	return 0
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
