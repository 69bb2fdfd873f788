package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/benbjohnson/clock"
	"github.com/spf13/pflag"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/live/attrtools"
	"github.com/basalt-ha/basalt/live/certs"
	"github.com/basalt-ha/basalt/live/daemon"
	"github.com/basalt-ha/basalt/live/process"
	"github.com/basalt-ha/basalt/live/service"
	"github.com/basalt-ha/basalt/live/store"
)

// canaryFlags are the known defects a canary build can switch on (for the
// process harness to show its checkers catch them); in a release build they
// are always off.
type canaryFlags struct {
	ignoreEpoch bool
	// wrap installs the defects switched on around the agent machine
	// (nil in a release build: the defects are not even linked in).
	wrap func(*agent.Agent) agent.Machine
}

// registerCanary is set only in builds with the canary tag (canary.go): it
// adds the defect flags to fs, bound to the result.
var registerCanary func(fs *pflag.FlagSet) *canaryFlags

// serve runs the agent daemon until SIGTERM/SIGINT. Resources are left
// running when it stops: restarting or upgrading the agent must not
// disturb them.
func serve(args []string, _, stderr io.Writer) int {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.String("host", "", "this host's name in the cluster configuration (required)")
	listen := fs.String("listen", "", "address to accept the manager on, host:port (required)")
	certDir := fs.String("certs", "/etc/basalt/certs", "directory from basalt certs init")
	stateDir := fs.String("state-dir", "/var/lib/basalt/agent", "where the agent keeps the manager epoch it has seen")
	ocfRoot := fs.String("ocf-root", defaultOCFRoot(), "OCF root")
	fenceDir := fs.String("fence-agents", "/usr/sbin", "directory of fence agents")
	rscTmp := fs.String("rsc-tmp", "", "resource agents' runtime directory (HA_RSCTMP); default: the agents' own")
	varRun := fs.String("var-run", "", "resource agents' state directory (HA_VARRUN, where Stateful keeps its state file); default: the agents' own")
	attrSocket := fs.String("attr-socket", "", "unix socket of the node attribute tools (crm_attribute, crm_master, attrd_updater, crm_node); default: STATE-DIR/attrd.sock")
	toolsDir := fs.String("tools-dir", "", "directory of the node attribute tools, first on the agents' PATH and their HA_SBIN_DIR; default: STATE-DIR/tools")
	pidFile := fs.String("pid-file", "", "write this process's pid here (the PID fence agent reads it)")
	heartbeat := fs.Duration("heartbeat-interval", agent.DefaultHeartbeatInterval,
		"heartbeat interval until the manager tells the cluster's heartbeat-interval (at every connection); no need to set it")
	maxProcs := fs.Int("max-concurrent", lrm.DefaultMaxConcurrent, "agent processes run at once")
	insecure := fs.Bool("insecure-dev", false, "no TLS; binds only to loopback (development only)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	maxJump := fs.Uint64("max-epoch-jump", uint64(proto.DefaultMaxEpochJump), "refuse a manager epoch more than this above the stored one (an etcd revision may jump by every write between elections)")
	opHistory := fs.String("op-history", "", "append one JSON line when each resource operation and fence run starts and one when it ends to this file (for the process harness); off when empty")
	canary := &canaryFlags{}
	if registerCanary != nil {
		canary = registerCanary(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		// ContinueOnError leaves reporting to us: an unknown flag (a
		// canary flag given to a release build, say) must say so.
		fmt.Fprintf(stderr, "basalt-agent serve: %v\n", err)
		return 2
	}
	if *host == "" || *listen == "" {
		fmt.Fprintln(stderr, "basalt-agent serve: --host and --listen are required")
		return 2
	}
	var handler slog.Handler = slog.NewTextHandler(stderr, nil)
	if *logFormat == "json" {
		handler = slog.NewJSONHandler(stderr, nil)
	} else if *logFormat != "text" {
		fmt.Fprintf(stderr, "basalt-agent serve: --log-format %q: want text or json\n", *logFormat)
		return 2
	}
	log := slog.New(handler).With("host", *host)
	// Loud, so that nobody mistakes a canary for a working agent.
	if canary.ignoreEpoch {
		log.Error("CANARY BUILD: this agent ignores manager epochs and obeys superseded managers")
	}
	if *pidFile != "" {
		if err := os.WriteFile(*pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			fmt.Fprintf(stderr, "basalt-agent serve: %v\n", err)
			return 1
		}
	}
	store, err := store.OpenDir(*stateDir)
	if err != nil {
		fmt.Fprintf(stderr, "basalt-agent serve: %v\n", err)
		return 1
	}
	defer store.Close()
	// Agents and fence agents run with these paths, from their own
	// directories: a relative one given here means the current directory.
	for _, p := range []struct {
		flag string
		v    *string
	}{{"--ocf-root", ocfRoot}, {"--fence-agents", fenceDir}} {
		abs, err := filepath.Abs(*p.v)
		if err != nil {
			fmt.Fprintf(stderr, "basalt-agent serve: %s: %v\n", p.flag, err)
			return 2
		}
		*p.v = abs
	}
	env, socket, err := agentEnv(*stateDir, *rscTmp, *varRun, *attrSocket, *toolsDir)
	if err != nil {
		fmt.Fprintf(stderr, "basalt-agent serve: %v\n", err)
		return 2
	}
	var tcfg *tls.Config
	if !*insecure {
		if tcfg, err = certs.AgentTLS(*certDir, *host); err != nil {
			fmt.Fprintf(stderr, "basalt-agent serve: %v\n", err)
			return 1
		}
	}
	cfg := daemon.AgentDaemonConfig{
		Agent: agent.Config{Host: *host, HeartbeatInterval: *heartbeat, FenceAgentDir: *fenceDir, FenceEnv: []string{daemon.DefaultPath},
			LRM: lrm.Config{OCFRoot: *ocfRoot, MaxConcurrent: *maxProcs, ExtraEnv: env, LearnMetaData: true}, Boot: process.BootID(),
			MaxEpochJump: proto.Epoch(*maxJump)},
		Wrap:       canary.wrap,
		AttrSocket: socket,
		Listen:     *listen, TLS: tcfg, Insecure: *insecure, Store: store, Clock: clock.New(), Runner: process.NewRunner(), Log: log,
	}
	if *opHistory != "" {
		// Appended to, never truncated: a restarted agent continues the
		// same history.
		f, err := os.OpenFile(*opHistory, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "basalt-agent serve: --op-history: %v\n", err)
			return 1
		}
		// Closed after the daemon stops (defers run last first): a stopped
		// daemon writes nothing more.
		defer f.Close()
		cfg.History = f
	}
	d, err := daemon.StartAgentDaemon(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "basalt-agent serve: %v\n", err)
		return 1
	}
	defer d.Stop()
	// Like the manager, an agent that cannot persist says so to systemd
	// and keeps feeding the watchdog: a restart would not make space.
	service.RunServiceStatus(log, nil, func() string {
		if err := d.PersistError(); err != nil {
			return "cannot persist state: " + err.Error()
		}
		return ""
	})
	// A clean stop (SIGTERM, a restart by systemd) says goodbye first, so
	// that the manager waits for the agent's return instead of fencing.
	d.StopCleanly()
	return 0
}

// agentEnv is the environment every resource agent runs with, beyond its
// parameters: PATH with the node attribute tools first (and HA_SBIN_DIR
// naming their directory, which Stateful calls crm_attribute from), the
// attribute socket they ask the daemon on, and HA_RSCTMP and HA_VARRUN
// when given. It links the tools (to this executable, which answers to
// their names) and returns the socket's path.
func agentEnv(stateDir, rscTmp, varRun, socket, tools string) ([]string, string, error) {
	abs := func(flag, p string) (string, error) {
		a, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("%s: %w", flag, err)
		}
		return a, nil
	}
	var err error
	if socket == "" {
		socket = filepath.Join(stateDir, "attrd.sock")
	}
	if tools == "" {
		tools = filepath.Join(stateDir, "tools")
	}
	if socket, err = abs("--attr-socket", socket); err != nil {
		return nil, "", err
	}
	if tools, err = abs("--tools-dir", tools); err != nil {
		return nil, "", err
	}
	if err := linkTools(tools); err != nil {
		return nil, "", err
	}
	env := []string{"PATH=" + tools + ":" + strings.TrimPrefix(daemon.DefaultPath, "PATH="), "HA_SBIN_DIR=" + tools,
		attrtools.SocketEnv + "=" + socket}
	for _, d := range []struct{ flag, v, name string }{{"--rsc-tmp", rscTmp, "HA_RSCTMP"}, {"--var-run", varRun, "HA_VARRUN"}} {
		if d.v == "" {
			continue
		}
		p, err := abs(d.flag, d.v)
		if err != nil {
			return nil, "", err
		}
		if d.name == "HA_VARRUN" {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return nil, "", fmt.Errorf("%s: %w", d.flag, err)
			}
			p += "/" // ocf-directories' HA_VARRUN ends with one
		}
		env = append(env, d.name+"="+p)
	}
	return env, socket, nil
}

// linkTools makes dir hold the node attribute tools, each a symbolic link
// to this executable (main dispatches on the name it was run as). Links
// that point elsewhere (an older binary's path) are replaced.
func linkTools(dir string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("node attribute tools: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("node attribute tools: %w", err)
	}
	for _, t := range attrtools.Tools {
		p := filepath.Join(dir, t)
		if cur, err := os.Readlink(p); err == nil && cur == self {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("node attribute tools: %w", err)
		}
		if err := os.Symlink(self, p); err != nil {
			return fmt.Errorf("node attribute tools: %w", err)
		}
	}
	return nil
}
