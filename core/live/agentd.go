package live

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/benbjohnson/clock"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
)

// AgentDaemon runs the host agent state machine for real: the LRM on real
// processes, fence agents, the epoch in a state directory, and one mutual-TLS
// connection from the manager at a time (a newer one replaces an older one,
// as a restarted manager reconnects). Stopping it leaves resources running:
// an agent restart or upgrade must not disturb them.
type AgentDaemon struct {
	mu       sync.Mutex
	a        *agent.Agent
	clk      clock.Clock
	runner   proc.Runner
	store    storage.Store
	log      *slog.Logger
	timers   *timerSet
	conn     *Conn
	listener *Listener
	plain    net.Listener
	closed   bool
	wg       sync.WaitGroup
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
	a, err := agent.New(cfg.Agent, proto.Epoch(epoch))
	if err != nil {
		return nil, err
	}
	d := &AgentDaemon{a: a, clk: cfg.Clock, runner: cfg.Runner, store: cfg.Store, log: cfg.Log, timers: newTimerSet(cfg.Clock)}
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
		l, err := Listen(cfg.Listen, cfg.TLS)
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
	if d.conn != nil {
		d.conn.Close()
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
		var c *Conn
		var err error
		if d.plain != nil {
			var nc net.Conn
			nc, err = d.plain.Accept()
			if err == nil {
				c = newConn(nc)
			}
		} else {
			c, err = d.listener.Accept()
		}
		if errors.Is(err, ErrRefused) {
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
		if d.conn != nil {
			d.conn.Close()
		}
		d.conn = c
		d.log.Info("manager connected", "from", c.RemoteAddr())
		// Greet the (possibly new) manager: what the agent has seen.
		d.apply(d.a.Start(d.clk.Now()))
		d.mu.Unlock()
		d.wg.Add(1)
		go d.read(c)
	}
}

func (d *AgentDaemon) read(c *Conn) {
	defer d.wg.Done()
	for {
		msg, err := c.Recv()
		if err != nil {
			d.mu.Lock()
			if d.conn == c {
				d.conn = nil
				if !d.closed {
					d.log.Warn("manager connection lost", "err", err.Error())
				}
			}
			d.mu.Unlock()
			c.Close()
			return
		}
		d.mu.Lock()
		if !d.closed {
			d.apply(d.a.Receive(d.clk.Now(), msg))
		}
		d.mu.Unlock()
	}
}

// apply carries out effects in order. Called with d.mu held.
func (d *AgentDaemon) apply(effs []effect.Effect) {
	for _, e := range effs {
		switch e := e.(type) {
		case effect.Send:
			if d.conn == nil {
				continue // no manager: it will time out and retry
			}
			if err := d.conn.Send(e.Msg); err != nil {
				d.log.Warn("send to manager failed", "err", err.Error())
			}
		case effect.SetTimer:
			if !d.closed {
				d.timers.set(e, d.fire)
			}
		case effect.CancelTimer:
			d.timers.cancel(e.ID)
		case effect.StartProcess:
			err := d.runner.Start(e.ID, e.Spec, func(id proc.ID, x proc.Exit) {
				d.mu.Lock()
				defer d.mu.Unlock()
				if d.closed {
					return
				}
				d.apply(d.a.ProcessExited(d.clk.Now(), id, x))
			})
			if err != nil {
				d.apply(d.a.ProcessExited(d.clk.Now(), e.ID, proc.Exit{Code: -1, StartError: err.Error()}))
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

func (d *AgentDaemon) fire(id effect.TimerID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.timers.fired(id)
	d.apply(d.a.TimerFired(d.clk.Now(), id))
}
