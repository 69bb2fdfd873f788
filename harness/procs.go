package harness

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/history"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/live/daemon"
)

// BuildBinaries builds basalt, basalt-agent and basalt-manager from the
// repository at repo into dir/bin, with the given build tags (the canary
// tag gives the daemons their defect flags).
func BuildBinaries(repo, dir, tags string) (string, error) {
	bin := filepath.Join(dir, "bin")
	cmd := exec.Command("go", "build", "-tags", tags, "-o", bin+"/", "./cmd/basalt", "./cmd/basalt-agent", "./cmd/basalt-manager")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w: %s", err, out)
	}
	return bin, nil
}

// ProcessOptions configure a ProcessCluster.
type ProcessOptions struct {
	// Name names the configuration in errors.
	Name string
	// Config is a cluster configuration as written for the simulator; it
	// is realized (see Realize) for this machine.
	Config []byte
	// Scale multiplies every duration of the configuration (default 1).
	Scale float64
	// Dir is the cluster's working directory: configuration, certificates,
	// state directories, the hosts' runtime directories and every
	// process's log. The caller keeps it on failure.
	Dir string
	// Bin holds the built binaries (BuildBinaries); Repo is the repository
	// root, for the test agents.
	Bin, Repo string
	// Network is how the manager reaches the agents: NetLoopback (the
	// default), NetProxy or NetNetns.
	Network string
	// RebootAfter is how long a fenced host stays off before it boots
	// again, as a server whose BMC powers it back on; 0 keeps it off.
	RebootAfter time.Duration
	// ManagerArgs and AgentArgs are extra command-line flags (canaries).
	ManagerArgs, AgentArgs []string
	// FenceDir holds the fence agents the agents run (default the
	// repository's agents/fence).
	FenceDir string
	// OCFRoot holds the resource agents the agents run (default the
	// repository's agents/ocf); with KeepAgents the resources keep the
	// agents and parameters they are written with (Realization).
	OCFRoot    string
	KeepAgents bool
	// Prepare runs once the directories exist and before any process
	// starts: faults that must be in place from the first instant.
	Prepare func(pc *ProcessCluster) error
	// Logf receives the harness's own narration (t.Logf); nil for none.
	Logf func(format string, args ...any)
	// Replicas, when set, runs that many manager replicas on an etcd of
	// the harness's own instead of one manager (replicas.go); LeaseTTL is
	// their lease (default 2s).
	Replicas int
	LeaseTTL time.Duration
	// StateTmpfs, when set (a size such as "32m"), mounts a tmpfs of that
	// size on every state directory, the agents' and the managers', so
	// that disk-full faults can fill one (FillDisk). It needs root; where
	// mounting fails the directories stay on the common disk and those
	// faults are unsupported.
	StateTmpfs string
}

// process is one daemon the harness started.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited and been reaped
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// hostProc is the harness's view of one test host: a "machine" that is up
// or down, running an agent process (or not, after a crash of the agent
// alone).
type hostProc struct {
	agent *process
	// up: the machine is powered and booted. A down machine boots at
	// bootAt (never when zero).
	up     bool
	bootAt time.Time
	// agentDead: the agent died on a machine that is up; it is restarted
	// at restartAt (never when zero), as systemd would.
	agentDead bool
	restartAt time.Time
	paused    bool
	// fences is how many lines of the host's fence.log have been seen.
	fences int
}

// ProcessCluster runs the shipped binaries as separate processes: one
// basalt-manager and one basalt-agent per host, on 127.0.0.x addresses
// with their own ports, state directories and logs, with the state-file
// test resource agent and the PID fence agent. It plays the machines too:
// a fenced host is down until it reboots, a crashed one loses its runtime
// state. Every fault a scenario can name has a method here.
type ProcessCluster struct {
	// Dir, Bin, Repo: see ProcessOptions.
	Dir, Bin, Repo string
	// Hosts are the host names, in configuration order.
	Hosts []string
	// Model is the realized configuration the daemons run.
	Model *model.Model
	// Addrs are the agents' listen addresses.
	Addrs map[string]string
	// Links are the manager↔agent paths network faults act on, one per
	// host (none on NetLoopback).
	Links map[string]Link
	// FenceDir holds the fence agents the agents run.
	FenceDir string

	opts    ProcessOptions
	mu      sync.Mutex
	hosts   map[string]*hostProc
	mgr     *process
	mgrN    int    // managers started so far, for log and socket names
	sock    string // the current manager's admin socket
	stale   []*process
	fences  []check.Op
	marks   []check.Mark
	stopSup chan struct{}
	supDone chan struct{}
	stopped bool
	// impostors are the impostors in place, by the host they replace.
	impostors map[string]*Impostor
	// tmpfs lists the state directories mounted as small tmpfs of their
	// own (ProcessOptions.StateTmpfs), so that a disk can fill; tmpfsErr
	// is why they could not be; filled is each full node's fill file.
	tmpfs    []string
	tmpfsErr error
	filled   map[string]string
	// replicas are the manager replicas by name, etcd their etcd and
	// etcdURL its client address (ProcessOptions.Replicas).
	replicas map[string]*process
	etcd     *process
	etcdURL  string
	etcdArgs []string // its command line, to start it again
	// etcdProxies are each replica's path to etcd; election follows the
	// replicas' election, for the leadership judge.
	etcdProxies map[string]*Proxy
	election    *electionWatch
	// realization is how the configuration was realized (RealizeConfig).
	realization Realization
}

// StartProcessCluster realizes the configuration, starts every agent and
// the manager, and the machine supervisor. Stop ends them all.
func StartProcessCluster(o ProcessOptions) (*ProcessCluster, error) {
	if o.Scale == 0 {
		o.Scale = 1
	}
	if o.FenceDir == "" {
		o.FenceDir = filepath.Join(o.Repo, "agents", "fence")
	}
	if o.OCFRoot == "" {
		o.OCFRoot = filepath.Join(o.Repo, "agents", "ocf")
	}
	pc := &ProcessCluster{Dir: o.Dir, Bin: o.Bin, Repo: o.Repo, Addrs: map[string]string{}, Links: map[string]Link{},
		FenceDir: o.FenceDir, opts: o, hosts: map[string]*hostProc{}, stopSup: make(chan struct{}), supDone: make(chan struct{})}
	m, err := model.Load(o.Name, o.Config)
	if err != nil {
		return nil, fmt.Errorf("process cluster: %w", err)
	}
	if o.Network != NetLoopback && o.Network != NetProxy && o.Network != NetNetns {
		return nil, fmt.Errorf("process cluster: network %q: want %q, %q or %q", o.Network, NetLoopback, NetProxy, NetNetns)
	}
	dialed := map[string]string{}
	for i, h := range m.HostNames() {
		if err := pc.addHost(h, i, dialed); err != nil {
			pc.closeLinks()
			return nil, err
		}
	}
	for _, d := range []string{pc.faultsDir(), filepath.Join(o.Dir, "state")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			pc.closeLinks()
			return nil, fmt.Errorf("process cluster: %w", err)
		}
	}
	for _, node := range append(slices.Clip(pc.Hosts), effect.Manager) {
		if err := pc.mountState(pc.stateDirOf(node)); err != nil {
			pc.closeLinks()
			pc.unmountStates()
			return nil, err
		}
	}
	pc.realization = Realization{Scale: o.Scale, Addrs: dialed, OCFRoot: o.OCFRoot, KeepAgents: o.KeepAgents,
		HostsDir: filepath.Join(o.Dir, "hosts"), FaultsDir: pc.faultsDir()}
	cfg, rm, err := Realize(o.Name, o.Config, pc.realization)
	if err != nil {
		pc.closeLinks()
		return nil, err
	}
	pc.Model = rm
	if err := os.WriteFile(pc.ConfigPath(), cfg, 0o644); err != nil {
		pc.closeLinks()
		return nil, fmt.Errorf("process cluster: %w", err)
	}
	out, err := exec.Command(filepath.Join(o.Bin, "basalt"), "certs", "init", "--dir", filepath.Join(o.Dir, "certs"),
		"--hosts", strings.Join(pc.Hosts, ",")).CombinedOutput()
	if err != nil {
		pc.closeLinks()
		return nil, fmt.Errorf("process cluster: certs init: %w: %s", err, out)
	}
	if o.Prepare != nil {
		if err := o.Prepare(pc); err != nil {
			pc.closeLinks()
			return nil, fmt.Errorf("process cluster: prepare: %w", err)
		}
	}
	pc.mu.Lock()
	for _, h := range pc.Hosts {
		if err := pc.startAgent(h); err != nil {
			pc.mu.Unlock()
			pc.Stop()
			return nil, err
		}
	}
	if o.Replicas > 0 {
		err = pc.startReplicas()
	} else {
		err = pc.startManager()
	}
	pc.mu.Unlock()
	if err != nil {
		pc.Stop()
		return nil, err
	}
	go pc.supervise()
	return pc, nil
}

// addHost gives host h (number i) its address, link and runtime
// directory, and notes in dialed where the manager reaches it.
func (pc *ProcessCluster) addHost(h string, i int, dialed map[string]string) error {
	pc.Hosts = append(pc.Hosts, h)
	pc.hosts[h] = &hostProc{up: true}
	for _, d := range []string{pc.ResourceDir(h), pc.VarRunDir(h)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("process cluster: %w", err)
		}
	}
	if pc.opts.Network == NetNetns {
		l, err := NewNetnsLink()
		if err != nil {
			return fmt.Errorf("process cluster: host %s: %w", h, err)
		}
		pc.Links[h] = l
		pc.Addrs[h], dialed[h] = l.Addr(), l.Addr()
		return nil
	}
	// One loopback address per host, as one machine per host would have,
	// with a port the kernel says is free.
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", 2+i))
	if err != nil {
		return fmt.Errorf("process cluster: address for %s: %w", h, err)
	}
	pc.Addrs[h] = l.Addr().String()
	l.Close()
	dialed[h] = pc.Addrs[h]
	if pc.opts.Network == NetProxy {
		px, err := NewProxy(pc.Addrs[h])
		if err != nil {
			return err
		}
		pc.Links[h] = px
		dialed[h] = px.Addr()
	}
	return nil
}

// RealizeConfig realizes another configuration for this cluster, as its
// first one was (same addresses, fence devices, agents and scale): a file
// to apply to the running manager (basalt config apply).
func (pc *ProcessCluster) RealizeConfig(src []byte) ([]byte, error) {
	out, _, err := Realize(pc.opts.Name, src, pc.realization)
	return out, err
}

// ConfigPath is the realized configuration file.
func (pc *ProcessCluster) ConfigPath() string { return filepath.Join(pc.Dir, "cluster.yaml") }

// HostDir is a host's directory for the PID fence agent: agent.pid, power,
// fence.log and resources/.
func (pc *ProcessCluster) HostDir(h string) string { return filepath.Join(pc.Dir, "hosts", h) }

// ResourceDir is a host's runtime directory (HA_RSCTMP): the resources'
// state files, the ground truth of what runs there.
func (pc *ProcessCluster) ResourceDir(h string) string {
	return filepath.Join(pc.HostDir(h), "resources")
}

// VarRunDir is a host's HA_VARRUN (the host's /var/run): where agents such
// as Stateful keep their state files. Lost in a crash, as RAM is.
func (pc *ProcessCluster) VarRunDir(h string) string {
	return filepath.Join(pc.HostDir(h), "varrun")
}

// OpHistoryPath is where a host's agent records the operations it ran.
func (pc *ProcessCluster) OpHistoryPath(h string) string {
	return filepath.Join(pc.HostDir(h), "ops.jsonl")
}

func (pc *ProcessCluster) faultsDir() string { return filepath.Join(pc.Dir, "faults") }

// Socket is the admin socket of the current manager.
func (pc *ProcessCluster) Socket() string {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.sock
}

func (pc *ProcessCluster) logf(format string, args ...any) {
	if pc.opts.Logf != nil {
		pc.opts.Logf(format, args...)
	}
}

// Mark notes a moment for the timeline (a fault, an admin action).
func (pc *ProcessCluster) Mark(format string, args ...any) {
	label := fmt.Sprintf(format, args...)
	pc.mu.Lock()
	pc.marks = append(pc.marks, check.Mark{At: time.Now(), Label: label})
	pc.mu.Unlock()
	pc.logf("%s", label)
}

// Marks are the moments noted so far.
func (pc *ProcessCluster) Marks() []check.Mark {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return append([]check.Mark(nil), pc.marks...)
}

func (pc *ProcessCluster) spawn(name string, cmd *exec.Cmd) (*process, error) {
	f, err := os.OpenFile(filepath.Join(pc.Dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd.Stderr, cmd.Stdout = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// startAgent starts h's agent daemon. Called with pc.mu held.
func (pc *ProcessCluster) startAgent(h string) error {
	hd := pc.HostDir(h)
	args := append([]string{"serve", "--host", h, "--listen", pc.Addrs[h],
		"--certs", filepath.Join(pc.Dir, "certs"), "--state-dir", filepath.Join(pc.Dir, "state", h),
		"--ocf-root", pc.opts.OCFRoot, "--fence-agents", pc.FenceDir,
		"--rsc-tmp", pc.ResourceDir(h), "--var-run", pc.VarRunDir(h), "--pid-file", filepath.Join(hd, "agent.pid"),
		// No --heartbeat-interval, as the shipped unit: the manager tells
		// the agent the cluster's when it connects.
		"--op-history", pc.OpHistoryPath(h)}, pc.opts.AgentArgs...)
	cmd := exec.Command(filepath.Join(pc.Bin, "basalt-agent"), args...)
	if l, ok := pc.Links[h].(*NetnsLink); ok {
		// The host's own network: the agent, and the resource and fence
		// agents it runs, see only the veth to the manager.
		cmd = l.Command(filepath.Join(pc.Bin, "basalt-agent"), args...)
	}
	p, err := pc.spawn(h, cmd)
	if err != nil {
		return err
	}
	hp := pc.hosts[h]
	hp.agent, hp.agentDead, hp.restartAt, hp.paused = p, false, time.Time{}, false
	return nil
}

// startManager starts a manager on the current state directory. Called
// with pc.mu held.
func (pc *ProcessCluster) startManager() error {
	pc.mgrN++
	name := "manager"
	if pc.mgrN > 1 {
		name = fmt.Sprintf("manager-%d", pc.mgrN)
	}
	pc.sock = filepath.Join(pc.Dir, name+".sock")
	args := append([]string{"--config", pc.ConfigPath(), "--state-dir", pc.managerState(),
		"--certs", filepath.Join(pc.Dir, "certs"), "--socket", pc.sock}, pc.opts.ManagerArgs...)
	p, err := pc.spawn(name, exec.Command(filepath.Join(pc.Bin, "basalt-manager"), args...))
	if err != nil {
		return err
	}
	pc.mgr = p
	return nil
}

// managerState is the current manager's state directory: a replacement
// after a pause gets a copy of its own (see PauseManager).
func (pc *ProcessCluster) managerState() string {
	if len(pc.stale) == 0 {
		return filepath.Join(pc.Dir, "state", "manager")
	}
	return filepath.Join(pc.Dir, "state", fmt.Sprintf("manager-%d", len(pc.stale)+1))
}

// supervise plays the machines: it notices fences (fence.log grows), takes
// fenced hosts down and boots them after RebootAfter, and restarts agents
// whose crash had a restart time.
func (pc *ProcessCluster) supervise() {
	defer close(pc.supDone)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-pc.stopSup:
			return
		case <-tick.C:
		}
		pc.mu.Lock()
		now := time.Now()
		for _, h := range pc.Hosts {
			hp := pc.hosts[h]
			for _, at := range pc.newFences(h, hp) {
				pc.fences = append(pc.fences, check.Op{Host: h, Kind: "fence", Call: at, Return: now})
				pc.marks = append(pc.marks, check.Mark{At: at, Label: "fenced " + h})
				pc.logf("%s fenced", h)
				if hp.up {
					// The fence agent killed the agent and wiped the
					// runtime directory: the machine is off.
					hp.up, hp.agentDead, hp.paused = false, false, false
					hp.bootAt = time.Time{}
					if pc.opts.RebootAfter > 0 {
						hp.bootAt = now.Add(pc.opts.RebootAfter)
					}
				}
			}
			if hp.agent != nil && hp.agent.exited() {
				hp.agent = nil
				if hp.up && !hp.agentDead {
					// Neither a fence nor the harness: the agent died on
					// its own. It stays dead; the cluster will fence it.
					pc.logf("%s: agent exited unexpectedly", h)
					hp.agentDead = true
				}
			}
			switch {
			case !hp.up && !hp.bootAt.IsZero() && !now.Before(hp.bootAt):
				pc.boot(h)
			case hp.up && hp.agentDead && hp.agent == nil && !hp.restartAt.IsZero() && !now.Before(hp.restartAt):
				if err := pc.startAgent(h); err != nil {
					pc.logf("restart agent %s: %v", h, err)
				}
			}
		}
		pc.mu.Unlock()
	}
}

// newFences reads the lines of h's fence.log not seen yet and returns when
// each fence happened. Called with pc.mu held.
func (pc *ProcessCluster) newFences(h string, hp *hostProc) []time.Time {
	f, err := os.Open(filepath.Join(pc.HostDir(h), "fence.log"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []time.Time
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "off ") {
			continue
		}
		n++
		if n <= hp.fences {
			continue
		}
		at := time.Now()
		if s, err := strconv.ParseFloat(strings.TrimPrefix(line, "off "), 64); err == nil {
			at = time.Unix(0, int64(s*1e9))
		}
		out = append(out, at)
	}
	hp.fences = n
	return out
}

// boot powers a down host on: power "on", a fresh agent. Called with pc.mu
// held.
func (pc *ProcessCluster) boot(h string) {
	hp := pc.hosts[h]
	if err := os.WriteFile(filepath.Join(pc.HostDir(h), "power"), []byte("on\n"), 0o644); err != nil {
		pc.logf("boot %s: %v", h, err)
		return
	}
	hp.up, hp.bootAt = true, time.Time{}
	pc.marks = append(pc.marks, check.Mark{At: time.Now(), Label: "boot " + h})
	pc.logf("boot %s", h)
	if hp.agent != nil {
		return // a paused agent a lying fence never killed
	}
	if err := pc.startAgent(h); err != nil {
		pc.logf("boot %s: %v", h, err)
	}
}

// kill9 kills h's agent and waits for it to be reaped. Called with pc.mu
// held.
func (pc *ProcessCluster) kill9(h string) {
	hp := pc.hosts[h]
	if hp.agent == nil {
		return
	}
	_ = hp.agent.cmd.Process.Kill()
	<-hp.agent.done
	hp.agent, hp.paused = nil, false
}

// CrashAgent kills h's agent (kill -9); the resources keep running. It is
// restarted after restartAfter (0: not until the host is fenced and boots).
func (pc *ProcessCluster) CrashAgent(h string, restartAfter time.Duration) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	hp := pc.hosts[h]
	if !hp.up {
		return
	}
	pc.kill9(h)
	hp.agentDead, hp.restartAt = true, time.Time{}
	if restartAfter > 0 {
		hp.restartAt = time.Now().Add(restartAfter)
	}
}

// CrashHost stops h at once: its agent dies and its runtime directory (the
// resources, which lived in RAM) is lost; the disk (the agent's state
// directory) is kept. It boots after bootAfter (0: when fenced and
// rebooted, or powered on).
func (pc *ProcessCluster) CrashHost(h string, bootAfter time.Duration) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	hp := pc.hosts[h]
	if !hp.up {
		return
	}
	pc.kill9(h)
	for _, d := range []string{pc.ResourceDir(h), pc.VarRunDir(h)} {
		if err := wipe(d); err != nil {
			pc.logf("crash %s: %v", h, err)
		}
	}
	hp.up, hp.agentDead, hp.bootAt = false, false, time.Time{}
	if bootAfter > 0 {
		hp.bootAt = time.Now().Add(bootAfter)
	}
}

func wipe(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// Pause freezes h's agent (SIGSTOP).
func (pc *ProcessCluster) Pause(h string) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	hp := pc.hosts[h]
	if hp.agent != nil && !hp.paused {
		_ = hp.agent.cmd.Process.Signal(syscall.SIGSTOP)
		hp.paused = true
	}
}

// Resume thaws h's agent (SIGCONT), if a fence has not killed it meanwhile.
func (pc *ProcessCluster) Resume(h string) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	hp := pc.hosts[h]
	if hp.agent != nil && hp.paused {
		_ = hp.agent.cmd.Process.Signal(syscall.SIGCONT)
		hp.paused = false
	}
}

// PowerOn boots h now if it is down, and restarts its agent if the agent
// alone is dead: what an operator does after an incident.
func (pc *ProcessCluster) PowerOn(h string) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	hp := pc.hosts[h]
	switch {
	case !hp.up:
		pc.boot(h)
	case hp.agent == nil:
		if err := pc.startAgent(h); err != nil {
			pc.logf("power on %s: %v", h, err)
		}
	}
}

// StopAgent stops h's agent cleanly (SIGTERM); the resources keep running.
// StartAgent starts it again.
func (pc *ProcessCluster) StopAgent(h string) error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	hp := pc.hosts[h]
	if hp.agent == nil {
		return fmt.Errorf("stop agent %s: not running", h)
	}
	hp.agentDead = true // deliberately, until StartAgent
	_ = hp.agent.cmd.Process.Signal(syscall.SIGTERM)
	<-hp.agent.done
	hp.agent = nil
	return nil
}

// RestartAgent stops h's agent cleanly (SIGTERM: it says goodbye to the
// manager) and has it started again after restartAfter (0: not until the
// host is fenced and boots), as systemd's restart would.
func (pc *ProcessCluster) RestartAgent(h string, restartAfter time.Duration) error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	hp := pc.hosts[h]
	if !hp.up || hp.agent == nil || hp.paused {
		return nil // nothing to stop, or stopped (SIGSTOP) and deaf to SIGTERM: as in the simulator
	}
	_ = hp.agent.cmd.Process.Signal(syscall.SIGTERM)
	<-hp.agent.done
	hp.agent = nil
	hp.agentDead, hp.restartAt = true, time.Time{}
	if restartAfter > 0 {
		hp.restartAt = time.Now().Add(restartAfter)
	}
	return nil
}

// StartAgent starts h's agent if it is not running.
func (pc *ProcessCluster) StartAgent(h string) error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.hosts[h].agent != nil {
		return nil
	}
	return pc.startAgent(h)
}

// AgentPID is the pid of h's agent (0 when it is not running).
func (pc *ProcessCluster) AgentPID(h string) int {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if a := pc.hosts[h].agent; a != nil {
		return a.cmd.Process.Pid
	}
	return 0
}

// Up reports whether h is powered and booted.
func (pc *ProcessCluster) Up(h string) bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.hosts[h].up
}

// CrashManager kills the manager (kill -9); StartManager brings it back on
// the same state directory.
func (pc *ProcessCluster) CrashManager() {
	if pc.opts.Replicas > 0 {
		pc.crashLeader()
		return
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.mgr != nil {
		_ = pc.mgr.cmd.Process.Kill()
		<-pc.mgr.done
		pc.mgr = nil
	}
}

// RestartManager stops the manager cleanly (SIGTERM) and starts it again.
func (pc *ProcessCluster) RestartManager() error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.mgr != nil {
		_ = pc.mgr.cmd.Process.Signal(syscall.SIGTERM)
		<-pc.mgr.done
		pc.mgr = nil
	}
	return pc.startManager()
}

// StartManager starts the manager if none is running.
func (pc *ProcessCluster) StartManager() error {
	if pc.opts.Replicas > 0 {
		return pc.restartReplicas()
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.mgr != nil && !pc.mgr.exited() {
		return nil
	}
	return pc.startManager()
}

// ErrNoManager is PauseManager's error when no manager runs (it was
// crashed and not started again).
var ErrNoManager = errors.New("no manager is running")

// PauseManager freezes the manager (SIGSTOP) and starts a replacement, as
// a standby manager taking over would: on a copy of the frozen one's state
// (the epoch and the event log, as shared storage would hold them), so it
// starts with a higher epoch. ResumeStaleManagers wakes the frozen one,
// which then acts on stale beliefs until an agent's epoch guard refuses
// it.
func (pc *ProcessCluster) PauseManager() error {
	if pc.opts.Replicas > 0 {
		return pc.pauseLeader()
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.mgr == nil {
		return fmt.Errorf("pause manager: %w", ErrNoManager)
	}
	_ = pc.mgr.cmd.Process.Signal(syscall.SIGSTOP)
	from := pc.managerState()
	pc.stale = append(pc.stale, pc.mgr)
	pc.mgr = nil
	if err := pc.mountState(pc.managerState()); err != nil {
		return fmt.Errorf("pause manager: %w", err)
	}
	if err := copyDir(from, pc.managerState()); err != nil {
		return fmt.Errorf("pause manager: %w", err)
	}
	return pc.startManager()
}

// FreezeManager stops the manager (SIGSTOP) with nothing to replace it:
// the agents' heartbeats wait in its sockets until ThawManager.
func (pc *ProcessCluster) FreezeManager() error {
	if pc.opts.Replicas > 0 {
		return pc.pauseLeader()
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.mgr == nil {
		return fmt.Errorf("freeze manager: %w", ErrNoManager)
	}
	_ = pc.mgr.cmd.Process.Signal(syscall.SIGSTOP)
	return nil
}

// ThawManager resumes a frozen manager (SIGCONT); a running one ignores it.
func (pc *ProcessCluster) ThawManager() {
	if pc.opts.Replicas > 0 {
		pc.resumeReplicas()
		return
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.mgr != nil {
		_ = pc.mgr.cmd.Process.Signal(syscall.SIGCONT)
	}
}

// ResumeStaleManagers wakes every frozen manager (SIGCONT).
func (pc *ProcessCluster) ResumeStaleManagers() {
	if pc.opts.Replicas > 0 {
		pc.resumeReplicas()
		return
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, p := range pc.stale {
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
	}
}

func copyDir(from, to string) error {
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	for _, e := range entries {
		// A disk-full fault's fill file is the old disk's, not its state.
		if !e.Type().IsRegular() || e.Name() == fillName {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// KillResource makes a resource die on h: its state file goes, and its
// next monitor finds it not running.
func (pc *ProcessCluster) KillResource(h, rsc string) error {
	err := os.Remove(filepath.Join(pc.ResourceDir(h), stateFile(rsc)))
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	// A clone's instance keeps its file under its numbered name (id:N).
	entries, _ := os.ReadDir(pc.ResourceDir(h))
	for _, e := range entries {
		if r, ok := strings.CutPrefix(e.Name(), "statefile-"); ok && strings.HasSuffix(r, ".state") &&
			r != rsc+".state" && resourceOf(strings.TrimSuffix(r, ".state")) == rsc {
			if rerr := os.Remove(filepath.Join(pc.ResourceDir(h), e.Name())); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				err = rerr
			}
		}
	}
	return err
}

func stateFile(rsc string) string { return "statefile-" + rsc + ".state" }

// FailResource makes the next times runs (0: every run) of action of rsc
// on h fail with rc, or hang until killed.
func (pc *ProcessCluster) FailResource(h, rsc, action string, rc, times int, hang bool) error {
	name, content := ".fail-"+action, strconv.Itoa(rc)+"\n"
	if times > 0 {
		content += strconv.Itoa(times) + "\n"
	}
	if hang {
		name, content = ".hang-"+action, ""
		if times > 0 {
			content = strconv.Itoa(times) + "\n"
		}
	}
	return os.WriteFile(filepath.Join(pc.ResourceDir(h), stateFile(rsc)+name), []byte(content), 0o644)
}

// ClearResourceFaults removes every failure marker on every host.
func (pc *ProcessCluster) ClearResourceFaults() {
	for _, h := range pc.Hosts {
		entries, _ := os.ReadDir(pc.ResourceDir(h))
		for _, e := range entries {
			if strings.Contains(e.Name(), ".state.fail-") || strings.Contains(e.Name(), ".state.hang-") {
				_ = os.Remove(filepath.Join(pc.ResourceDir(h), e.Name()))
			}
		}
	}
}

// FailDevice breaks a fence device: kind is fail, hang or lie.
func (pc *ProcessCluster) FailDevice(device, kind string) error {
	return os.WriteFile(filepath.Join(pc.faultsDir(), device), []byte(kind+"\n"), 0o644)
}

// ClearDeviceFault repairs a fence device.
func (pc *ProcessCluster) ClearDeviceFault(device string) {
	_ = os.Remove(filepath.Join(pc.faultsDir(), device))
}

// ClearDeviceFaults repairs every fence device.
func (pc *ProcessCluster) ClearDeviceFaults() { _ = wipe(pc.faultsDir()) }

// Heal lifts every fault: the network, frozen agents and managers, broken
// resources and devices; it powers every host on. Admin constraints stay.
func (pc *ProcessCluster) Heal() {
	for h, l := range pc.Links {
		if err := l.Heal(); err != nil {
			pc.logf("heal link of %s: %v", h, err)
		}
	}
	pc.ClearResourceFaults()
	pc.ClearDeviceFaults()
	pc.healEtcd()
	pc.ThawManager()
	pc.endImpostors()
	pc.emptyDisks()
	pc.ResumeStaleManagers()
	for _, h := range pc.Hosts {
		pc.Resume(h)
		pc.PowerOn(h)
	}
	if err := pc.StartManager(); err != nil {
		pc.logf("heal: %v", err)
	}
}

// adminClient is a client of the manager, or with replicas of the one
// that leads (Socket lists every replica's socket).
func (pc *ProcessCluster) adminClient() *api.Client {
	return api.LeaderClient(strings.Split(pc.Socket(), ","))
}

// Admin sends an administrative request to the current manager.
func (pc *ProcessCluster) Admin(req api.Request) error {
	var out any
	if err := pc.adminClient().Do("POST", "/v1/requests", req, &out); err != nil {
		return fmt.Errorf("%s %s: %w", req.Command, req.Target, err)
	}
	return nil
}

// Status is the current manager's status view.
func (pc *ProcessCluster) Status() (api.StatusView, error) {
	var v api.StatusView
	err := pc.adminClient().Do("GET", "/v1/status", nil, &v)
	return v, err
}

// Events are the current manager's events (basalt events), oldest first.
func (pc *ProcessCluster) Events() ([]api.Event, error) { return pc.adminClient().Events(0, 0) }

// StateFiles lists h's runtime directory.
func (pc *ProcessCluster) StateFiles(h string) []string {
	entries, _ := os.ReadDir(pc.ResourceDir(h))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// Running reports whether rsc runs on h in truth: its state file exists
// (a clone instance's is named after its numbered instance, id:N).
func (pc *ProcessCluster) Running(h, rsc string) bool { return pc.hasStateFile(h, rsc, ".state") }

// Promoted reports whether rsc runs promoted on h in truth: its state
// file and the statefile agent's role marker beside it exist.
func (pc *ProcessCluster) Promoted(h, rsc string) bool {
	return pc.hasStateFile(h, rsc, ".state.promoted") && pc.Running(h, rsc)
}

// hasStateFile reports whether h's runtime directory holds the statefile
// agent's file of rsc (or of an instance of it) ending in suffix.
func (pc *ProcessCluster) hasStateFile(h, rsc, suffix string) bool {
	for _, f := range pc.StateFiles(h) {
		if r, ok := strings.CutPrefix(f, "statefile-"); ok && strings.HasSuffix(r, suffix) && resourceOf(strings.TrimSuffix(r, suffix)) == rsc {
			return true
		}
	}
	return false
}

// Fences are the fences seen so far, from the hosts' fence logs.
func (pc *ProcessCluster) Fences() []check.Op {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return append([]check.Op(nil), pc.fences...)
}

// Ops is the operation history of every agent (from their --op-history
// files) and every fence, sorted by call time: the input of CheckOwnership.
func (pc *ProcessCluster) Ops() ([]check.Op, error) {
	ops := pc.Fences()
	for _, h := range pc.Hosts {
		recs, err := daemon.ReadHistory(pc.OpHistoryPath(h))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", h, err)
		}
		for _, op := range history.Ops(recs) {
			if op.Resource == "" {
				continue // fence runs: the fence as the target's power log saw it counts
			}
			// An operation cut short by its agent's death is pending: it
			// may have acted, and no one heard how it ended.
			ops = append(ops, op)
		}
	}
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Call.Before(ops[j].Call) })
	return ops, nil
}

// Stop ends every process the cluster started (SIGTERM, then kill -9 for
// frozen ones) and removes its links. It leaves the directory as it is.
func (pc *ProcessCluster) Stop() {
	pc.mu.Lock()
	if pc.stopped {
		pc.mu.Unlock()
		return
	}
	pc.stopped = true
	pc.mu.Unlock()
	select {
	case <-pc.supDone:
	default:
		close(pc.stopSup)
		// The supervisor may not have started if start-up failed.
		select {
		case <-pc.supDone:
		case <-time.After(time.Second):
		}
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	var all []*process
	if pc.mgr != nil {
		all = append(all, pc.mgr)
	}
	all = append(all, pc.stale...)
	replicas, _ := pc.replicaProcs()
	all = append(all, replicas...)
	for _, h := range pc.Hosts {
		if a := pc.hosts[h].agent; a != nil {
			all = append(all, a)
		}
	}
	for _, p := range all {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
	}
	for _, p := range all {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	pc.stopEtcd()
	pc.mu.Unlock()
	pc.endImpostors()
	pc.mu.Lock()
	pc.closeLinks()
	pc.unmountStates()
}

func (pc *ProcessCluster) closeLinks() {
	for h, l := range pc.Links {
		if err := l.Close(); err != nil {
			pc.logf("close link of %s: %v", h, err)
		}
	}
}

// Logs are the names of the log files in Dir, every process's.
func (pc *ProcessCluster) Logs() []string {
	names, _ := filepath.Glob(filepath.Join(pc.Dir, "*.log"))
	sort.Strings(names)
	return names
}

// Builds builds the binaries once per set of build tags, for a test binary
// that starts many clusters; Dir (a temporary directory the caller
// removes) holds them.
type Builds struct {
	Repo, Dir string
	m         sync.Map // tags → *buildOnce
}

type buildOnce struct {
	once sync.Once
	bin  string
	err  error
}

// Get returns the directory of the binaries built with tags.
func (b *Builds) Get(tags string) (string, error) {
	v, _ := b.m.LoadOrStore(tags, &buildOnce{})
	o := v.(*buildOnce)
	o.once.Do(func() {
		dir, err := os.MkdirTemp(b.Dir, "bin-")
		if err != nil {
			o.err = err
			return
		}
		o.bin, o.err = BuildBinaries(b.Repo, dir, tags)
	})
	return o.bin, o.err
}
