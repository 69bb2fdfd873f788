// Package daemon holds the two daemons as drivers of the core machines: the
// agent (LRM and fence execution) and the manager, each interpreting its
// machine's effects with real processes, files, sockets and the real clock.
package daemon

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/history"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/live/process"
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

	// history receives the operation history (AgentDaemonConfig.History);
	// nil when it is off. histFailed silences all but the first write
	// error: a full disk must not flood the log.
	history    io.Writer
	histFailed bool
	// pgid is the process group the runner reported for the process being
	// started (see startProcess).
	pgid int
	// held is what the agent asked for from a Persist that failed on: that
	// Persist and every effect after it, in order, carried out once the
	// store takes writes again (retryHeld), so that the agent never acts
	// on a record that is not durable. persistErr is why, nil while
	// nothing is held.
	held       []effect.Effect
	persistErr error
	// retrying is set while retryHeld runs; stop ends it with the daemon.
	retrying bool
	stop     chan struct{}

	// The attribute socket (attrsock.go): its path and listener ("", nil:
	// none), the host name crm_node -n answers, and the tools waiting for
	// the machine's answer, by request number.
	attrPath string
	attrL    net.Listener
	host     string
	attrWait map[uint64]chan agent.AttrAnswer
	lastAttr uint64
}

// orphanWait bounds the wait for an orphaned process group to be gone
// after its SIGKILL: a process in uninterruptible sleep (a hung mount)
// outlives it, and the agent then reports the resource as failed rather
// than wait for ever.
const orphanWait = 10 * time.Second

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
	// History, when set, receives the agent's operation history: one JSON
	// line (a history.Record) when each resource operation or fence agent
	// run starts and one when it ends, each line in one Write, so that the
	// process harness can check what really ran and when (ReadHistory).
	// Writes happen under the daemon's lock: give it a file (or anything
	// that does not block).
	History io.Writer
	// AttrSocket, when set, is the path of the unix socket the node
	// attribute tools (live/attrtools) ask the daemon on (attrsock.go).
	AttrSocket string
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
	inner, err := agent.Recover(cfg.Agent, cfg.Store)
	if err != nil {
		return nil, err
	}
	var a agent.Machine = inner
	if cfg.Wrap != nil {
		a = cfg.Wrap(inner)
	}
	d := &AgentDaemon{a: a, clk: cfg.Clock, runner: cfg.Runner, store: cfg.Store, log: cfg.Log, timers: newTimerSet(cfg.Clock),
		conns: map[effect.ConnID]*transport.Conn{}, history: cfg.History, stop: make(chan struct{}),
		host: cfg.Agent.Host, attrWait: map[uint64]chan agent.AttrAnswer{}}
	if r, ok := cfg.Runner.(interface{ OnStart(func(proc.ID, int)) }); ok {
		// Called on the goroutine that called Start, which holds d.mu.
		r.OnStart(func(_ proc.ID, pgid int) { d.pgid = pgid })
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
	if cfg.AttrSocket != "" {
		if d.attrL, err = listenAttrs(cfg.AttrSocket); err != nil {
			d.closeListeners()
			return nil, fmt.Errorf("agent %s: %w", cfg.Agent.Host, err)
		}
		d.attrPath = cfg.AttrSocket
	}
	d.mu.Lock()
	d.apply(d.a.Start(d.clk.Now()))
	d.apply(d.a.Resume(d.clk.Now()))
	d.mu.Unlock()
	d.wg.Add(1)
	go d.accept()
	if d.attrL != nil {
		d.wg.Add(1)
		go d.acceptAttrs(d.attrL)
	}
	cfg.Log.Info("agent started", "host", cfg.Agent.Host, "listen", d.Addr(), "epoch", uint64(a.Epoch()))
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

// HeartbeatInterval is the interval the agent heartbeats at: the cluster's
// once a manager has told it.
func (d *AgentDaemon) HeartbeatInterval() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.a.HeartbeatInterval()
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
	close(d.stop)
	d.timers.stopAll()
	for _, c := range d.conns {
		c.Close()
	}
	d.mu.Unlock()
	d.closeListeners()
	d.wg.Wait()
}

// StopCleanly is Stop after a goodbye: the manager the agent obeys hears
// that the host is restarting rather than lost (proto.Goodbye) and gives it
// a grace before it judges it. The goodbye is written before the
// connection closes, so TCP delivers it first. SIGTERM ends the daemon so;
// Stop alone is an abrupt end, as tests of an agent's death use it.
func (d *AgentDaemon) StopCleanly() {
	d.mu.Lock()
	if !d.closed {
		d.apply(d.a.Goodbye(d.clk.Now()))
	}
	d.mu.Unlock()
	d.Stop()
}

func (d *AgentDaemon) closeListeners() {
	if d.plain != nil {
		d.plain.Close()
	} else {
		d.listener.Close()
	}
	if d.attrL != nil {
		d.attrL.Close()
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

// apply carries out effects in order. While something is held (a Persist
// failed), effects are carried out up to the first Persist of the batch and
// the rest is held behind what already is: heartbeats go on, nothing that
// needs a record happens before the record. Called with d.mu held.
func (d *AgentDaemon) apply(effs []effect.Effect) {
	for i, e := range effs {
		if _, ok := e.(*effect.Persist); ok && len(d.held) > 0 {
			d.held = append(d.held, effs[i:]...)
			return
		}
		if !d.do(e) {
			d.hold(effs[i:])
			return
		}
	}
}

// do carries out one effect; false for a Persist that failed.
func (d *AgentDaemon) do(e effect.Effect) bool {
	switch e := e.(type) {
	case *effect.Send:
		c := d.conns[e.Conn]
		if c == nil {
			return true // no manager on it: it will time out and retry
		}
		if err := c.Send(e.Msg); err != nil {
			// A connection that lost one message must not carry the next:
			// the manager would wait out a result that never comes. Closed,
			// it ends (read tells the machine) and the manager redials.
			d.log.Warn("send to manager failed; closing the connection", "conn", uint64(e.Conn), "err", err.Error())
			c.Close()
		}
	case effect.CloseConn:
		if c := d.conns[e.Conn]; c != nil {
			delete(d.conns, e.Conn)
			c.Close()
			d.log.Info("closed a manager connection", "conn", uint64(e.Conn), "why", e.Why)
		}
	case *effect.SetTimer:
		if !d.closed {
			d.timers.set(e, d.fire)
		}
	case *effect.CancelTimer:
		d.timers.cancel(e.ID)
	case *effect.StartProcess:
		d.startProcess(e)
	case agent.KillOrphan:
		d.killOrphan(e)
	case *history.Note:
		d.writeHistory(e.Record)
	case agent.AttrAnswer:
		d.attrAnswered(e)
	case *effect.KillProcess:
		if err := d.runner.Kill(e.ID); err != nil {
			d.log.Error("kill process group", "err", err.Error())
		}
	case *effect.Persist:
		if err := persist(d.store, e); err != nil {
			d.persistErr = err
			return false
		}
	case effect.Log:
		d.log.LogAttrs(context.Background(), e.Level, e.Msg, e.Attrs...)
	default:
		d.log.Error("agent daemon: unknown effect", "effect", e.Describe())
	}
	return true
}

// hold keeps effs (a failed Persist first) for later: acting without the
// record would break the epoch rule (or lose an operation) after a crash.
// The agent is told, so that its heartbeats say so, and the store is
// retried until it takes writes again. Called with d.mu held.
func (d *AgentDaemon) hold(effs []effect.Effect) {
	d.held = append(effs, d.held...)
	if d.retrying || d.closed {
		return
	}
	d.retrying = true
	d.log.Error("cannot persist; holding the agent's effects until the state directory takes writes again", "err", d.persistErr.Error())
	p := effs[0].(*effect.Persist)
	d.apply(d.a.PersistFailed(d.clk.Now(), p.Name, d.persistErr.Error()))
	d.wg.Add(1)
	go d.retryHeld()
}

// retryHeld carries out the held effects, with a bounded backoff, until
// they are done or the daemon stops.
func (d *AgentDaemon) retryHeld() {
	defer d.wg.Done()
	backoff := persistRetryMin
	for {
		select {
		case <-d.stop:
			return
		case <-d.clk.After(backoff):
		}
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return
		}
		held := d.held
		d.held = nil
		d.apply(held)
		done := len(d.held) == 0
		if done {
			d.persistErr, d.retrying = nil, false
			d.log.Info("persists again; carried out the held effects", "effects", len(held))
			d.apply(d.a.PersistRecovered(d.clk.Now()))
		}
		d.mu.Unlock()
		if done {
			return
		}
		backoff = min(2*backoff, persistRetryMax)
	}
}

// PersistError is why the agent cannot persist, nil while it can.
func (d *AgentDaemon) PersistError() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.persistErr
}

// startProcess runs a process and tells the agent its process group at
// once, so that it is durable before anything else happens. Called with
// d.mu held.
func (d *AgentDaemon) startProcess(e *effect.StartProcess) {
	d.pgid = 0
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
		return
	}
	if d.pgid > 0 {
		d.apply(d.a.ProcessStarted(d.clk.Now(), e.ID, d.pgid))
	}
}

// exited hands a process's end to the agent machine. Called with d.mu
// held.
func (d *AgentDaemon) exited(id proc.ID, x proc.Exit) {
	d.apply(d.a.ProcessExited(d.clk.Now(), id, x))
}

// killOrphan kills a process group an earlier life of the agent left
// running and reports, once it is gone or the wait is over, to the agent.
// The wait runs off the lock: the agent goes on meanwhile. Called with
// d.mu held.
func (d *AgentDaemon) killOrphan(k agent.KillOrphan) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		gone, err := process.KillGroup(k.PGID, orphanWait)
		if err != nil {
			d.log.Error("kill orphaned process group", "resource", k.Resource, "pgid", k.PGID, "err", err.Error())
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if !d.closed {
			d.apply(d.a.OrphanEnded(d.clk.Now(), k.Life, k.Run, gone))
		}
	}()
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

// writeHistory appends one record as one line, in a single Write so that
// a reader sees whole lines but, at worst, the last. Called with d.mu held.
func (d *AgentDaemon) writeHistory(r history.Record) {
	if d.history == nil {
		return
	}
	data, err := json.Marshal(r)
	if err == nil {
		_, err = d.history.Write(append(data, '\n'))
	}
	if err != nil && !d.histFailed {
		d.histFailed = true
		d.log.Error("cannot write the operation history; further errors are not logged", "err", err.Error())
	}
}
