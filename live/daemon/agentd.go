// Package daemon holds the two daemons as drivers of the core machines: the
// agent (LRM and fence execution) and the manager, each interpreting its
// machine's effects with real processes, files, sockets and the real clock.
package daemon

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/live/transport"
)

// AgentDaemon runs the host agent state machine for real: the LRM on real
// processes, fence agents, the epoch in a state directory, and the mutual-TLS
// connections of managers. Which connection the agent obeys is the agent
// machine's decision (core/agent, conn.go); the daemon numbers connections,
// tells the machine of each one opened and closed, and carries out its
// sends and closes. Stopping it leaves resources running: an agent restart
// or upgrade must not disturb them.
type AgentDaemon struct {
	mu     sync.Mutex
	a      agent.Machine
	clk    clock.Clock
	runner proc.Runner
	store  storage.Store
	log    *slog.Logger
	timers *timerSet
	// conns are the open manager connections, by the number the machine
	// knows them by; lastConn numbers them, never reusing a number.
	conns    map[effect.ConnID]*transport.Conn
	lastConn effect.ConnID
	listener *transport.Listener
	plain    net.Listener
	closed   bool
	wg       sync.WaitGroup

	// Operation history (AgentDaemonConfig.History): history, runs and
	// monitorEpochs are nil when it is off.
	host    string
	history io.Writer
	// histFailed silences all but the first write error: a full disk
	// must not flood the log.
	histFailed bool
	// runs is what each running process is, noted when it starts: the
	// fence agents' call time is known nowhere else, and a resource
	// agent's run is found in the LRM by its operation at its end.
	runs map[proc.ID]procRun
	// life tells this run of the daemon from earlier ones in the history
	// file (the start time; process numbers start afresh in each).
	life int64
	// monitorEpochs is the epoch of the command that set up each
	// recurring monitor (by LRM call ID): the LRM reports a monitor's
	// unchanged runs to nobody, yet each one goes into the history.
	monitorEpochs map[lrm.CallID]proto.Epoch
}

// procRun is a running process as the operation history sees it.
type procRun struct {
	started time.Time
	// resource and key name the OCF operation; resource is empty for
	// other processes (fence agents).
	resource string
	key      lrm.OpKey
}

// AgentDaemonConfig configures an AgentDaemon.
type AgentDaemonConfig struct {
	Agent agent.Config
	// Listen is the address to accept the manager on.
	Listen string
	// TLS is the agent's TLS configuration (AgentTLS); nil only with
	// Insecure, which is for development on loopback.
	TLS      *tls.Config
	Insecure bool
	Store    storage.Store
	Clock    clock.Clock
	Runner   proc.Runner
	Log      *slog.Logger
	// History, when set, receives one JSON line (a HistoryRecord) per
	// finished resource operation and fence agent run, each line in one
	// Write, so that the process harness can check what really ran and
	// when. Writes happen under the daemon's lock: give it a file (or
	// anything that does not block).
	History io.Writer
	// Wrap, when set, wraps the agent machine at its input/effect
	// boundary. Only canary builds set it (a known defect, so that the
	// harness can show its checkers catch it).
	Wrap func(*agent.Agent) agent.Machine
}

// StartAgentDaemon restores the epoch, starts the agent machine and begins
// accepting the manager.
func StartAgentDaemon(cfg AgentDaemonConfig) (*AgentDaemon, error) {
	if cfg.TLS == nil && !cfg.Insecure {
		return nil, fmt.Errorf("agent %s: mutual TLS is required (certificates from basalt certs init), or --insecure-dev", cfg.Agent.Host)
	}
	var epoch uint64
	if data, err := cfg.Store.Read(agent.EpochRecord); err == nil {
		e, err := agent.DecodeEpoch(data)
		if err != nil {
			return nil, fmt.Errorf("agent %s: %w", cfg.Agent.Host, err)
		}
		epoch = uint64(e)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("agent %s: %w", cfg.Agent.Host, err)
	}
	inner, err := agent.New(cfg.Agent, proto.Epoch(epoch))
	if err != nil {
		return nil, err
	}
	var a agent.Machine = inner
	if cfg.Wrap != nil {
		a = cfg.Wrap(inner)
	}
	d := &AgentDaemon{a: a, clk: cfg.Clock, runner: cfg.Runner, store: cfg.Store, log: cfg.Log, timers: newTimerSet(cfg.Clock),
		host: cfg.Agent.Host, conns: map[effect.ConnID]*transport.Conn{}}
	if cfg.History != nil {
		d.history, d.runs, d.monitorEpochs = cfg.History, map[proc.ID]procRun{}, map[lrm.CallID]proto.Epoch{}
		d.life = time.Now().UnixNano() // wall time, not d.clk: a mock clock repeats across restarts
	}
	if cfg.Insecure {
		host, _, err := net.SplitHostPort(cfg.Listen)
		if err != nil || !net.ParseIP(host).IsLoopback() {
			return nil, fmt.Errorf("agent %s: --insecure-dev binds only to a loopback address, not %q", cfg.Agent.Host, cfg.Listen)
		}
		cfg.Log.Warn("INSECURE: no TLS; any local process can command this agent. For development only.", "listen", cfg.Listen)
		l, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("agent %s: %w", cfg.Agent.Host, err)
		}
		d.plain = l
	} else {
		l, err := transport.Listen(cfg.Listen, cfg.TLS)
		if err != nil {
			return nil, fmt.Errorf("agent %s: %w", cfg.Agent.Host, err)
		}
		d.listener = l
	}
	var restored []lrm.Resource
	if data, err := cfg.Store.Read(agent.ResourcesRecord); err == nil {
		if restored, err = agent.DecodeResources(data); err != nil {
			d.closeListeners()
			return nil, fmt.Errorf("agent %s: %w", cfg.Agent.Host, err)
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		d.closeListeners()
		return nil, fmt.Errorf("agent %s: %w", cfg.Agent.Host, err)
	}
	d.mu.Lock()
	d.apply(d.a.Start(d.clk.Now()))
	if len(restored) > 0 {
		d.apply(d.a.Restore(d.clk.Now(), restored))
	}
	d.mu.Unlock()
	d.wg.Add(1)
	go d.accept()
	cfg.Log.Info("agent started", "host", cfg.Agent.Host, "listen", d.Addr(), "epoch", epoch)
	return d, nil
}

// Addr is the address the agent listens on.
func (d *AgentDaemon) Addr() string {
	if d.plain != nil {
		return d.plain.Addr().String()
	}
	return d.listener.Addr()
}

// Epoch is the highest manager epoch accepted.
func (d *AgentDaemon) Epoch() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return uint64(d.a.Epoch())
}

// Stop closes the listener and the manager's connection and stops the
// heartbeat. Resources and agent processes already running are left alone.
func (d *AgentDaemon) Stop() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.timers.stopAll()
	for _, c := range d.conns {
		c.Close()
	}
	d.mu.Unlock()
	d.closeListeners()
	d.wg.Wait()
}

func (d *AgentDaemon) closeListeners() {
	if d.plain != nil {
		d.plain.Close()
	} else {
		d.listener.Close()
	}
}

func (d *AgentDaemon) accept() {
	defer d.wg.Done()
	for {
		var c *transport.Conn
		var err error
		if d.plain != nil {
			var nc net.Conn
			nc, err = d.plain.Accept()
			if err == nil {
				c = transport.NewConn(nc)
			}
		} else {
			c, err = d.listener.Accept()
		}
		if errors.Is(err, transport.ErrRefused) {
			d.log.Warn("refused a connection", "why", err.Error())
			continue
		}
		if err != nil {
			return // listener closed
		}
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			c.Close()
			return
		}
		d.lastConn++
		id := d.lastConn
		d.conns[id] = c
		d.log.Info("manager connection", "conn", uint64(id), "from", c.RemoteAddr())
		d.apply(d.a.Connected(d.clk.Now(), id))
		d.mu.Unlock()
		d.wg.Add(1)
		go d.read(id, c)
	}
}

// read hands what arrives on connection id to the machine, and its end.
func (d *AgentDaemon) read(id effect.ConnID, c *transport.Conn) {
	defer d.wg.Done()
	defer c.Close()
	for {
		msg, err := c.Recv()
		d.mu.Lock()
		if err != nil {
			// A connection the machine closed itself is already forgotten.
			if _, open := d.conns[id]; open {
				delete(d.conns, id)
				if !d.closed {
					d.log.Warn("manager connection ended", "conn", uint64(id), "err", err.Error())
					d.apply(d.a.Disconnected(d.clk.Now(), id))
				}
			}
			d.mu.Unlock()
			return
		}
		if !d.closed {
			d.apply(d.a.Receive(d.clk.Now(), id, msg))
		}
		d.mu.Unlock()
	}
}

// apply carries out effects in order. Called with d.mu held.
func (d *AgentDaemon) apply(effs []effect.Effect) {
	for _, e := range effs {
		switch e := e.(type) {
		case effect.Send:
			d.noteEpoch(e.Msg)
			c := d.conns[e.Conn]
			if c == nil {
				continue // no manager on it: it will time out and retry
			}
			if err := c.Send(e.Msg); err != nil {
				d.log.Warn("send to manager failed", "conn", uint64(e.Conn), "err", err.Error())
			}
		case effect.CloseConn:
			if c := d.conns[e.Conn]; c != nil {
				delete(d.conns, e.Conn)
				c.Close()
				d.log.Info("closed a manager connection", "conn", uint64(e.Conn), "why", e.Why)
			}
		case effect.SetTimer:
			if !d.closed {
				d.timers.set(e, d.fire)
			}
		case effect.CancelTimer:
			d.timers.cancel(e.ID)
		case effect.StartProcess:
			d.noteStart(e)
			err := d.runner.Start(e.ID, e.Spec, func(id proc.ID, x proc.Exit) {
				d.mu.Lock()
				defer d.mu.Unlock()
				if d.closed {
					return
				}
				d.exited(id, x)
			})
			if err != nil {
				d.exited(e.ID, proc.Exit{Code: -1, StartError: err.Error()})
			}
		case effect.KillProcess:
			if err := d.runner.Kill(e.ID); err != nil {
				d.log.Error("kill process group", "err", err.Error())
			}
		case effect.Persist:
			if err := persist(d.store, e); err != nil {
				// Acting without the record would break the epoch rule
				// after a crash; stop instead.
				d.log.Error("cannot persist; agent stops acting", "record", e.Name, "err", err.Error())
				d.closed = true
				return
			}
		case effect.Log:
			d.log.LogAttrs(context.Background(), e.Level, e.Msg, e.Attrs...)
		default:
			d.log.Error("agent daemon: unknown effect", "effect", e.Describe())
		}
	}
}

// exited hands a process's end to the agent machine, recording it in the
// history before its result goes to the manager. Called with d.mu held.
func (d *AgentDaemon) exited(id proc.ID, x proc.Exit) {
	now := d.clk.Now()
	effs := d.a.ProcessExited(now, id, x)
	d.recordExit(id, x, now, effs)
	d.apply(effs)
}

func (d *AgentDaemon) fire(id effect.TimerID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.timers.fired(id)
	d.apply(d.a.TimerFired(d.clk.Now(), id))
}

// History record kinds.
const (
	// HistoryResource is a resource agent operation (probes and recurring
	// monitor runs included).
	HistoryResource = "resource"
	// HistoryFence is a fence agent run.
	HistoryFence = "fence"
)

// HistoryRecord is one operation in an agent's operation history
// (basalt-agent serve --op-history): a JSON object on a line of its own.
// Operations that never ran a process (refused, cancelled while queued) are
// not recorded. A resource operation is written twice: a call record
// (Phase "call") when its process starts and the full record when it ends,
// so that an operation cut short by the agent's own death (kill -9) is
// still in the history, with an unknown outcome, for the linearizability
// checker: the agent it ran under may have started the service before it
// died. ReadHistory pairs the two.
type HistoryRecord struct {
	// Kind is HistoryResource or HistoryFence.
	Kind string `json:"kind"`
	// Host is the agent's host.
	Host string `json:"host"`
	// Resource is the resource's ID (resource operations).
	Resource string `json:"resource,omitempty"`
	// Device and Target are the fence device and the host it acted on
	// (fence runs).
	Device string `json:"device,omitempty"`
	Target string `json:"target,omitempty"`
	// Action is the OCF action (start, stop, monitor, ...) or the fence
	// action (off, on, reboot, status, monitor).
	Action string `json:"action"`
	// IntervalMS is a recurring monitor's interval in milliseconds; 0 for
	// one-shot operations, probes among them.
	IntervalMS int64 `json:"interval_ms,omitempty"`
	// Call is when the process started; Return when its end was handled.
	Call   time.Time `json:"call"`
	Return time.Time `json:"return"`
	// RC is the rc reported to the manager: the agent's exit code when it
	// ran to its end (Status done), otherwise the stand-in the LRM or the
	// fence executor reports (1; 5 for a resource agent not installed).
	RC int `json:"rc"`
	// Status is the LRM's execution status (done, timeout, cancelled,
	// error, not-installed) of a resource operation.
	Status string `json:"status,omitempty"`
	// Killed is true when the process was killed (a timeout, or a signal
	// from elsewhere) rather than exiting by itself.
	Killed bool `json:"killed"`
	// Epoch is the manager epoch of the command the run belongs to (for a
	// recurring monitor, the command that set it up; 0 for the probes a
	// restarted agent runs before any manager speaks).
	Epoch uint64 `json:"epoch"`
	// Life tells the agent's lives (process starts) apart and Run is the
	// process's number within one life (resource operations; both 0 for
	// fence runs): together they pair a call record with its end.
	Life int64  `json:"life,omitempty"`
	Run  uint64 `json:"run,omitempty"`
	// Phase is "call" on the record written when the process starts, and
	// empty on the record of its end.
	Phase string `json:"phase,omitempty"`
	// Pending, set by ReadHistory only, marks an operation that started
	// and never ended in the history (its agent died): Return, RC and
	// Status are unknown.
	Pending bool `json:"-"`
}

// PhaseCall marks the record of an operation written when it starts.
const PhaseCall = "call"

// ReadHistory parses an operation history file. A last line without its
// newline that does not parse is ignored: the agent may have been killed
// while writing it, or be writing it now. Any other bad line is an error.
// Each operation comes back once: the ended ones as their end records, in
// file order, then those whose call record has no end (the agent died, or
// the operation is still running) as that call record marked Pending.
func ReadHistory(path string) ([]HistoryRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("operation history: %w", err)
	}
	lines := bytes.Split(data, []byte("\n"))
	var out []HistoryRecord
	// open holds the call records not ended yet.
	type runKey struct {
		life int64
		run  uint64
	}
	open := map[runKey]HistoryRecord{}
	var order []runKey // the keys of open, in call order
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r HistoryRecord
		if err := json.Unmarshal(line, &r); err != nil {
			if i == len(lines)-1 {
				break // torn last line
			}
			return nil, fmt.Errorf("operation history %s, line %d: %w", path, i+1, err)
		}
		k := runKey{r.Life, r.Run}
		switch {
		case r.Phase == PhaseCall:
			open[k] = r
			order = append(order, k)
		default:
			delete(open, k)
			out = append(out, r)
		}
	}
	for _, k := range order {
		if c, ok := open[k]; ok {
			c.Pending, c.Phase = true, ""
			out = append(out, c)
		}
	}
	return out, nil
}

// noteStart remembers when a process started and, for a resource agent,
// which operation it runs: the OCF environment names the instance and the
// interval, the first argument the action. Called with d.mu held.
func (d *AgentDaemon) noteStart(e effect.StartProcess) {
	if d.history == nil {
		return
	}
	run := procRun{started: d.clk.Now()}
	var instance, interval string
	for _, kv := range e.Spec.Env {
		if v, ok := strings.CutPrefix(kv, "OCF_RESOURCE_INSTANCE="); ok {
			instance = v
		} else if v, ok := strings.CutPrefix(kv, "OCF_RESKEY_CRM_meta_interval="); ok {
			interval = v
		}
	}
	if instance != "" && len(e.Spec.Args) > 0 {
		ms, err := strconv.ParseInt(interval, 10, 64)
		if err == nil {
			run.resource = instance
			run.key = lrm.OpKey{Action: ocf.Action(e.Spec.Args[0]), Interval: time.Duration(ms) * time.Millisecond}
		}
	}
	d.runs[e.ID] = run
	if run.resource != "" {
		d.writeHistory(HistoryRecord{Kind: HistoryResource, Host: d.host, Resource: run.resource, Action: string(run.key.Action),
			IntervalMS: run.key.Interval.Milliseconds(), Call: run.started, Epoch: uint64(d.a.Epoch()), Life: d.life, Run: uint64(e.ID), Phase: PhaseCall})
	}
}

// noteEpoch follows which command each recurring monitor answers, from the
// results sent for it. Called with d.mu held.
func (d *AgentDaemon) noteEpoch(msg effect.Message) {
	m, ok := msg.(proto.OpResult)
	if !ok || d.history == nil {
		return
	}
	if m.Result.Interval > 0 && m.Result.Status != lrm.Cancelled {
		d.monitorEpochs[m.Result.CallID] = m.Epoch
	} else {
		delete(d.monitorEpochs, m.Result.CallID) // it ran for the last time
	}
}

// recordExit writes the history record of the process that ended, from the
// effects its end produced. Called with d.mu held.
func (d *AgentDaemon) recordExit(id proc.ID, x proc.Exit, now time.Time, effs []effect.Effect) {
	if d.history == nil {
		return
	}
	run, ok := d.runs[id]
	delete(d.runs, id)
	if !ok {
		return
	}
	signalled := x.Signal != ""
	if run.resource == "" {
		for _, e := range effs {
			if s, ok := e.(effect.Send); ok {
				if m, ok := s.Msg.(proto.FenceResult); ok {
					d.writeHistory(HistoryRecord{Kind: HistoryFence, Host: d.host, Device: m.Device, Action: string(m.Action),
						Target: m.Target, Call: run.started, Return: now, RC: m.RC, Killed: m.Timeout || signalled, Epoch: uint64(m.Epoch)})
					return
				}
			}
		}
		return
	}
	// A recurring monitor's run that changed nothing is reported to no
	// one, so the result is taken from the LRM, which just recorded it.
	res, ok := d.a.LRM().LastResult(run.resource, run.key)
	if !ok || !res.EndedAt.Equal(now) {
		return // the resource was unregistered meanwhile: nothing was reported
	}
	epoch, known := d.monitorEpochs[res.CallID]
	for _, e := range effs {
		if s, ok := e.(effect.Send); ok {
			if m, ok := s.Msg.(proto.OpResult); ok && m.Result.CallID == res.CallID {
				epoch, known = m.Epoch, true
			}
		}
	}
	if !known {
		epoch = d.a.Epoch()
	}
	d.writeHistory(HistoryRecord{Kind: HistoryResource, Host: d.host, Resource: res.Resource, Action: string(res.Action),
		IntervalMS: res.Interval.Milliseconds(), Call: res.StartedAt, Return: res.EndedAt, RC: int(res.RC),
		Status: res.Status.String(), Killed: res.Status == lrm.Timeout || signalled, Epoch: uint64(epoch), Life: d.life, Run: uint64(id)})
}

// writeHistory appends one record as one line, in a single Write so that
// a reader sees whole lines but, at worst, the last. Called with d.mu held.
func (d *AgentDaemon) writeHistory(r HistoryRecord) {
	data, err := json.Marshal(r)
	if err == nil {
		_, err = d.history.Write(append(data, '\n'))
	}
	if err != nil && !d.histFailed {
		d.histFailed = true
		d.log.Error("cannot write the operation history; further errors are not logged", "err", err.Error())
	}
}
