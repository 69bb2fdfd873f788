package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/live/transport"
)

// sendQueue bounds the messages waiting for one host's connection. The
// manager never blocks on a slow peer: past the bound messages are dropped,
// and the manager's own timeouts treat them as lost.
const sendQueue = 1024

// reconnect bounds the delay between connection attempts to an agent.
const (
	reconnectMin = 200 * time.Millisecond
	reconnectMax = 5 * time.Second
)

// reconnectCeiling bounds the redial backoff by half a heartbeat interval:
// a restarted agent must be reached again well inside the dead timeout.
// With a plain exponential backoff to 5 s, an agent restart of 1.8 s
// against a 3 s dead timeout was next dialled after the host had been
// declared lost, and the host was fenced. It also keeps fast failover
// fast: the manager judges an agent gone once its connection was reset and
// a redial refused (core/manager, suspect.go), and with a redial at most
// half a heartbeat after the reset the refusal comes within one heartbeat
// interval.
func reconnectCeiling(heartbeat time.Duration) time.Duration {
	return max(50*time.Millisecond, min(reconnectMax, heartbeat/2))
}

// ManagerDaemonConfig configures a ManagerDaemon.
type ManagerDaemonConfig struct {
	// Model is the start-up file's configuration: the manager's version 0,
	// which the configurations applied since (recorded in the event log)
	// replace.
	Model *model.Model
	// StartupConfig is the start-up file's text, so that the admin API
	// can show version 0 whole; the manager itself holds only the texts
	// applied after it.
	StartupConfig string
	Store         storage.Store
	// TLS returns the configuration for dialing a host (ManagerTLS); nil
	// only with Insecure.
	TLS      func(host string) (*tls.Config, error)
	Insecure bool
	Clock    clock.Clock
	Log      *slog.Logger
	// Canary, set only by builds with the canary tag, sees every batch of
	// the manager's effects before they are carried out: a known defect
	// (sim/canary) that the checkers must catch.
	Canary func(m *manager.Manager, now time.Time, effs []effect.Effect) []effect.Effect
	// MayAct, when set (manager high availability), is asked before every
	// batch of the machine's effects and every admin request: once it
	// says no (the lease no longer provably holds), the daemon carries
	// out nothing more, for good; the one that runs it stops it.
	MayAct func() bool
	// Replica names this manager among the replicas (manager high
	// availability; "" for a lone manager), for its leadership records.
	Replica string
	// Follower, when set, is the warm manager of a standby elected to
	// lead (manager.Follower): the daemon starts it rather than replaying
	// the whole log into a new one.
	Follower *manager.Follower
}

type hostLink struct {
	name string
	addr string
	// ctx ends this link alone (the host left the configuration, or its
	// address changed); it is a child of the daemon's linkCtx.
	ctx  context.Context
	stop context.CancelFunc
	// out holds the sends for this host; each names the connection it is
	// meant for, and the writer of a connection drops any other.
	out chan *effect.Send
}

// ManagerDaemon runs the manager state machine for real: its epoch and
// event log in a state directory, a mutual-TLS connection to every agent
// (redialled when lost, until a newer manager deposes this one), timers on
// the real clock, and administrative requests from the API. Stopping it
// leaves every resource running.
type ManagerDaemon struct {
	mu     sync.Mutex
	m      *manager.Manager
	canary func(m *manager.Manager, now time.Time, effs []effect.Effect) []effect.Effect
	// startModel and startText are the start-up file (version 0): every
	// new machine starts on it and replays the configurations applied
	// since. What the daemon acts on is the machine's Model.
	startModel *model.Model
	startText  string
	// tlsFor dials a host (nil with insecure); linked is the model the
	// links were last made for (syncLinks).
	tlsFor func(host string) (*tls.Config, error)
	linked *model.Model
	clk    clock.Clock
	store  storage.Store
	log    *slog.Logger
	timers *timerSet
	links  map[string]*hostLink
	// conns are the open agent connections by the number the manager
	// machine knows them by; lastConn numbers them, never reusing one.
	conns    map[effect.ConnID]*transport.Conn
	lastConn effect.ConnID
	// linkCtx ends the agent connections and their redialling; it is
	// cancelled on Stop and, earlier, when the manager is deposed: a
	// deposed manager that redialled would make the agents drop the live
	// manager's connection for its own, again and again.
	linkCtx   context.Context
	stopLinks context.CancelFunc
	deposed   bool
	wg        sync.WaitGroup
	closed    bool
	// changed is closed and replaced whenever anything happens, so that
	// waiters (report --wait) can block on it rather than poll.
	changed chan struct{}
	// observe, when set (metrics), sees every message from the agents.
	observe func(msg any)
	// persistErr is why the manager cannot persist (nil while it can):
	// from the first failed Persist until a restart of the machine from
	// the store succeeds, the daemon does not act (no timers, no messages,
	// no admin requests). persistSince is when it began.
	persistErr   error
	persistSince time.Time
	// retrying is set while retryPersist runs, so that a failed retry
	// (whose Start fails to persist again) starts no second one.
	retrying bool
	// gen numbers the machine incarnations of this daemon: a timer armed
	// by a dropped machine must not fire into its successor, whose timer
	// IDs start afresh.
	gen uint64
	// mayAct is ManagerDaemonConfig.MayAct; notLeading is set the first
	// time it says no.
	mayAct     func() bool
	notLeading bool
	// replica is ManagerDaemonConfig.Replica.
	replica string
}

// ErrNotLeading is returned (wrapped) for an admin request to a manager
// whose leadership ended: the leader takes it. The admin API answers 503.
var ErrNotLeading = errors.New("this manager no longer leads")

// ErrCannotPersist is returned (wrapped) for an admin request while the
// manager cannot persist its state: nothing would be durable, so nothing
// is accepted. The admin API answers it with 503.
var ErrCannotPersist = errors.New("the manager cannot persist its state and is not acting")

// persistRetryMin and persistRetryMax bound the backoff of the restarts
// from the store after a persist failure: space usually comes back when an
// operator frees it, and a retry is cheap.
const (
	persistRetryMin = 100 * time.Millisecond
	persistRetryMax = 5 * time.Second
)

// StartManagerDaemon recovers the durable state (epoch, event log, a torn
// tail truncated with a warning, corruption refused), starts a new manager
// incarnation and connects to every agent.
func StartManagerDaemon(cfg ManagerDaemonConfig) (*ManagerDaemon, error) {
	if cfg.TLS == nil && !cfg.Insecure {
		return nil, fmt.Errorf("manager: mutual TLS is required (certificates from basalt certs init), or --insecure-dev")
	}
	rec, err := manager.Recover(cfg.Store)
	if err != nil {
		return nil, err
	}
	if rec.Torn != "" {
		cfg.Log.Warn("event log had a torn tail; truncated it", "what", rec.Torn, "valid_bytes", rec.Valid)
	}
	linkCtx, stopLinks := context.WithCancel(context.Background())
	d := &ManagerDaemon{
		canary: cfg.Canary, replica: cfg.Replica,
		startModel: cfg.Model, startText: cfg.StartupConfig, clk: cfg.Clock, store: cfg.Store, log: cfg.Log,
		timers: newTimerSet(cfg.Clock), links: map[string]*hostLink{}, conns: map[effect.ConnID]*transport.Conn{}, linkCtx: linkCtx, stopLinks: stopLinks,
		changed: make(chan struct{}), mayAct: cfg.MayAct,
	}
	if !cfg.Insecure {
		d.tlsFor = cfg.TLS
	}
	d.mu.Lock()
	m, effs, err := d.newMachine(cfg.Follower, rec)
	d.m = m
	if err != nil {
		d.mu.Unlock()
		stopLinks()
		return nil, fmt.Errorf("manager: %w", err)
	}
	d.apply(effs)
	// The links follow the running configuration, which replay may have
	// changed from the start-up file's.
	if err := d.syncLinks(); err != nil {
		d.mu.Unlock()
		// Stop, not just cancel: the timers Start armed must end with
		// the failed daemon.
		d.Stop()
		return nil, fmt.Errorf("manager: %w", err)
	}
	hosts := len(d.linked.Hosts)
	d.mu.Unlock()
	cfg.Log.Info("manager started", "epoch", uint64(d.m.Epoch()), "hosts", hosts, "replayed_events", len(rec.Records))
	return d, nil
}

// syncLinks makes the links those of the running model's hosts: a link
// for each new host (or one whose address changed), and the link of each
// host gone closed, its connection with it. Called with d.mu held, after
// every batch of effects: only an applied configuration (or a restarted
// machine's replay) changes the hosts. A host whose TLS configuration
// cannot be made gets no link; the error says which.
func (d *ManagerDaemon) syncLinks() error {
	m := d.m.Model()
	if m == d.linked || d.closed {
		return nil
	}
	d.linked = m
	var errs []error
	for name, l := range d.links {
		if h, ok := m.Host(name); !ok || h.Address != l.addr {
			// Its reader ends once the writer closes the connection.
			l.stop()
			delete(d.links, name)
			d.log.Info("agent link closed: the host left the configuration or moved", "host", name, "addr", l.addr)
		}
	}
	for _, h := range m.Hosts {
		if _, ok := d.links[h.Name]; ok {
			continue
		}
		var tcfg *tls.Config
		if d.tlsFor != nil {
			var err error
			if tcfg, err = d.tlsFor(h.Name); err != nil {
				errs = append(errs, fmt.Errorf("host %s: %w", h.Name, err))
				continue
			}
		}
		ctx, stop := context.WithCancel(d.linkCtx)
		l := &hostLink{name: h.Name, addr: h.Address, ctx: ctx, stop: stop, out: make(chan *effect.Send, sendQueue)}
		d.links[h.Name] = l
		d.wg.Add(1)
		go d.link(l, tcfg)
	}
	return errors.Join(errs...)
}

// heartbeat is the running configuration's heartbeat interval.
func (d *ManagerDaemon) heartbeat() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m.Model().Cluster.HeartbeatInterval
}

// Stop disconnects from the agents and stops the timers. Nothing is stopped
// on the hosts: a restarted manager adopts what runs.
func (d *ManagerDaemon) Stop() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.timers.stopAll()
	d.mu.Unlock()
	d.stopLinks()
	d.wg.Wait()
}

// link keeps one agent connected: dial, read until the connection breaks,
// dial again with backoff. A writer goroutine drains the send queue. It
// ends, closing the connection, when the daemon stops or is deposed.
func (d *ManagerDaemon) link(l *hostLink, cfg *tls.Config) {
	defer d.wg.Done()
	ceiling := reconnectCeiling(d.heartbeat())
	backoff := min(reconnectMin, ceiling)
	for l.ctx.Err() == nil {
		var c *transport.Conn
		var err error
		if cfg == nil {
			var nc net.Conn
			nc, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(l.ctx, "tcp", l.addr)
			if err == nil {
				c = transport.NewConn(nc)
			}
		} else {
			ctx, cancel := context.WithTimeout(l.ctx, 5*time.Second)
			c, err = transport.Dial(ctx, l.addr, cfg)
			cancel()
		}
		if err != nil {
			d.dialFailed(l, err)
			select {
			case <-l.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, ceiling)
			continue
		}
		began := time.Now()
		d.serve(l, c)
		// A connection that ended at once (the agent greeted us with a
		// newer manager's epoch, say) is not redialled at once: the
		// backoff grows until connections last, up to the same ceiling,
		// since the agent may as well have restarted.
		if time.Since(began) > reconnectMax {
			ceiling = reconnectCeiling(d.heartbeat())
			backoff = min(reconnectMin, ceiling)
			continue
		}
		select {
		case <-l.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, ceiling)
	}
}

// dialFailed tells the manager machine how a dial of l's agent failed.
func (d *ManagerDaemon) dialFailed(l *hostLink, err error) {
	if l.ctx.Err() != nil {
		return
	}
	end := dialEnd(err)
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed && d.persistErr == nil && d.links[l.name] == l {
		d.apply(d.m.HostDialFailed(d.clk.Now(), l.name, end))
	}
}

// serve runs one connection to host l until it breaks: the manager machine
// learns of it (commands are addressed to it from then on) and of its end.
// What was queued for an earlier connection, perhaps for an earlier life of
// the agent, is addressed to that one and dropped here: delivered now it
// would act on beliefs the manager no longer holds (a healthy host fenced
// long after the request was moved elsewhere). The machine counts such
// sends as lost and re-sends what it still wants once the agent greets
// this connection.
func (d *ManagerDaemon) serve(l *hostLink, c *transport.Conn) {
	d.mu.Lock()
	d.lastConn++
	id := d.lastConn
	d.conns[id] = c
	if d.persistErr == nil {
		d.apply(d.m.HostConnected(d.clk.Now(), l.name, id))
	} else {
		// A machine restarted from the store learns of connections from
		// its start on: this one is closed then and redialled.
		d.log.Info("connected to agent while the manager cannot persist; not acting on it", "host", l.name)
	}
	d.mu.Unlock()
	d.log.Info("connected to agent", "host", l.name, "addr", l.addr, "conn", uint64(id))
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		d.write(l, id, c, stop)
	}()
	end := manager.EndSilent
	for {
		msg, err := c.Recv()
		if err != nil {
			if l.ctx.Err() == nil {
				end = readEnd(err)
				d.log.Warn("agent connection lost", "host", l.name, "err", err.Error(), "end", end.String())
			}
			break
		}
		d.mu.Lock()
		if d.links[l.name] != l {
			// The host left the configuration: what its agent says
			// now is no longer the manager's business.
			d.mu.Unlock()
			break
		}
		if !d.closed && d.persistErr == nil {
			if d.observe != nil {
				d.observe(msg)
			}
			// The sender is the host the TLS handshake proved: ManagerTLS
			// dials l.name as the server name, so the agent's certificate
			// must name it (with --insecure-dev, nothing is proved).
			d.apply(d.m.Receive(d.clk.Now(), l.name, msg))
		}
		d.mu.Unlock()
	}
	close(stop)
	c.Close()
	// The writer ends before the next connection's sends are queued, so
	// that it cannot take (and drop) one of them.
	<-done
	d.mu.Lock()
	if _, open := d.conns[id]; open {
		delete(d.conns, id)
		if !d.closed && d.persistErr == nil {
			d.apply(d.m.HostConnEnded(d.clk.Now(), l.name, id, end))
		}
	}
	d.mu.Unlock()
}

// write sends what is queued for connection id until stop, dropping what
// was meant for another connection.
func (d *ManagerDaemon) write(l *hostLink, id effect.ConnID, c *transport.Conn, stop chan struct{}) {
	dropped := 0
	for {
		select {
		case s := <-l.out:
			if s.Conn != id {
				if dropped++; dropped == 1 {
					d.log.Info("dropped a message meant for another connection", "host", l.name, "conn", uint64(id),
						"meant_for", uint64(s.Conn), "msg", s.Msg.Describe())
				}
				continue
			}
			if l.ctx.Err() != nil {
				// Stopped or no longer leading: a queued command must
				// not go out after (select picks a ready case at random).
				c.Close()
				return
			}
			if err := c.Send(s.Msg); err != nil {
				c.Close()
				return
			}
		case <-stop:
			return
		case <-l.ctx.Done():
			c.Close()
			return
		}
	}
}

// Admin serves an administrative request.
func (d *ManagerDaemon) Admin(req manager.Request) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.mayServe(); err != nil {
		return "", err
	}
	id, effs, err := d.m.Admin(d.clk.Now(), req)
	d.apply(effs)
	if d.persistErr != nil {
		// The request's record is not durable: it is not accepted.
		return "", fmt.Errorf("%w: %v", ErrCannotPersist, d.persistErr)
	}
	if d.notLeading {
		// The lease lapsed between the check and the effects, which
		// were dropped with the request's record.
		return "", ErrNotLeading
	}
	return id, err
}

// ApplyConfig applies a new configuration (text, whole) as one request:
// what it changes and the transition planned for it are worked out under
// the same lock that applies it, so that the answer describes what was
// applied. A file that changes nothing is not applied (empty: no record,
// no report). by names who asked (manager.Request.By).
func (d *ManagerDaemon) ApplyConfig(text, by string) (p manager.ConfigPreview, report string, empty bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.mayServe(); err != nil {
		return p, "", false, err
	}
	now := d.clk.Now()
	if p, err = d.m.PreviewConfig(now, text); err != nil {
		return p, "", false, err
	}
	if p.Change.Empty() {
		return p, "", true, nil
	}
	id, effs, err := d.m.Admin(now, manager.Request{Command: manager.CmdConfigApply, Config: text, By: by})
	d.apply(effs)
	switch {
	case d.persistErr != nil:
		// The configuration's record is not durable: not applied.
		return p, "", false, fmt.Errorf("%w: %v", ErrCannotPersist, d.persistErr)
	case d.notLeading:
		return p, "", false, ErrNotLeading
	}
	return p, id, false, err
}

// PreviewConfig says what applying text would change and do, changing
// nothing (manager.Manager.PreviewConfig).
func (d *ManagerDaemon) PreviewConfig(text string) (manager.ConfigPreview, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m.PreviewConfig(d.clk.Now(), text)
}

// RunningConfig is the running configuration's text and version: the
// start-up file's text while no configuration was applied (version 0).
func (d *ManagerDaemon) RunningConfig() (text string, version int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ViewConfig(d.m)
}

// PowerStatus starts a power status query of host's fence devices (the
// manager's PowerStatus) and returns its ID; Query follows it. It is
// refused as an admin request is while the manager cannot act: the query
// runs fence agents on the hosts.
func (d *ManagerDaemon) PowerStatus(host string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.mayServe(); err != nil {
		return "", err
	}
	id, effs, err := d.m.PowerStatus(d.clk.Now(), host)
	d.apply(effs)
	return id, err
}

// SetAttribute makes an operator's node attribute change (basalt host
// attr).
func (d *ManagerDaemon) SetAttribute(c manager.AttrChange) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.mayServe(); err != nil {
		return err
	}
	effs, err := d.m.AdminAttr(d.clk.Now(), c)
	d.apply(effs)
	return err
}

// mayServe refuses a request while the daemon cannot act on it: it cannot
// persist, or it no longer leads. Called with d.mu held.
func (d *ManagerDaemon) mayServe() error {
	if d.persistErr != nil {
		return fmt.Errorf("%w: %v", ErrCannotPersist, d.persistErr)
	}
	if !d.leads() {
		return ErrNotLeading
	}
	return nil
}

// leads says whether the daemon may still act (always, without manager
// high availability). The first no is logged and final: the machine's
// memory runs ahead of what it may carry out, so it is never resumed.
// Called with d.mu held.
func (d *ManagerDaemon) leads() bool {
	if d.mayAct == nil {
		return true
	}
	if !d.notLeading && !d.mayAct() {
		d.notLeading = true
		d.timers.stopAll()
		d.stopLinks() // what is queued for the agents is not sent either
		d.log.Error("leadership no longer provably held: this manager stops acting", "epoch", uint64(d.m.Epoch()))
	}
	return !d.notLeading
}

// Leads reports whether the daemon may still act (see
// ManagerDaemonConfig.MayAct).
func (d *ManagerDaemon) Leads() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.leads()
}

// Now is the daemon's clock's time: what the manager's decisions are
// judged against (a constraint's lifetime, for one).
func (d *ManagerDaemon) Now() time.Time { return d.clk.Now() }

// PersistError returns since when and why the manager cannot persist its
// state, or a nil error while it can.
func (d *ManagerDaemon) PersistError() (since time.Time, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.persistSince, d.persistErr
}

// Observe makes fn see every message from the agents (metrics use it for
// operation latencies). fn runs under the daemon's lock and must not block.
func (d *ManagerDaemon) Observe(fn func(msg any)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.observe = fn
}

// Model is what the manager acts on now: the running configuration (the
// start-up file, or the one applied last) with its orphans. It changes
// when a configuration is applied: a caller that reads the manager too
// reads both in one View (m.Model()), so that they agree. Callers must not
// change it.
func (d *ManagerDaemon) Model() *model.Model {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m.Model()
}

// ViewConfig is RunningConfig for the manager a View hands fn, so that a
// status reads the configuration and the state it produced together.
func (d *ManagerDaemon) ViewConfig(m *manager.Manager) (text string, version int) {
	text, version, _ = m.Config()
	if version == 0 {
		text = d.startText
	}
	return text, version
}

// View runs fn with the manager under the lock, for read-only queries
// (status, events, reports, why).
func (d *ManagerDaemon) View(fn func(m *manager.Manager)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fn(d.m)
}

// Changed returns a channel closed at the next change of the manager's
// state.
func (d *ManagerDaemon) Changed() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changed
}

// apply carries out effects in order. Called with d.mu held.
func (d *ManagerDaemon) apply(effs []effect.Effect) {
	defer func() {
		d.checkDeposed()
		if d.linked != nil { // once the start has made the first links
			if err := d.syncLinks(); err != nil {
				d.log.Error("cannot reach a host of the applied configuration", "err", err.Error())
			}
		}
		close(d.changed)
		d.changed = make(chan struct{})
	}()
	if d.canary != nil {
		effs = d.canary(d.m, d.clk.Now(), effs)
	}
	if d.persistErr != nil {
		return // a dropped machine's effects: it is not acting
	}
	if !d.leads() {
		return
	}
	for _, e := range effs {
		switch e := e.(type) {
		case *effect.Send:
			l := d.links[e.To]
			if l == nil {
				d.log.Error("send to unknown host", "host", e.To)
				continue
			}
			if e.Conn == 0 {
				continue // not connected: lost, as the machine expects
			}
			select {
			case l.out <- e:
			default:
				// Never a hole in a connection: one that cannot take a
				// message is closed (its reader tells the machine), and
				// the agent's hello on the next one settles what was lost.
				d.log.Warn("send queue full; closing the connection", "host", e.To, "msg", e.Msg.Describe())
				if c := d.conns[e.Conn]; c != nil {
					c.Close()
				}
			}
		case effect.CloseConn:
			if c := d.conns[e.Conn]; c != nil {
				delete(d.conns, e.Conn)
				c.Close()
			}
		case *effect.SetTimer:
			if !d.closed {
				gen := d.gen
				d.timers.set(e, func(id effect.TimerID) { d.fire(gen, id) })
			}
		case *effect.CancelTimer:
			d.timers.cancel(e.ID)
		case *effect.Persist:
			began := d.clk.Now()
			if err := persist(d.store, e); err != nil {
				d.cannotPersist(e.Name, err)
				return
			}
			d.slowPersist(e, d.clk.Now().Sub(began))
		case effect.Log:
			d.log.LogAttrs(context.Background(), e.Level, e.Msg, e.Attrs...)
		default:
			d.log.Error("manager daemon: unknown effect", "effect", e.Describe())
		}
	}
}

// slowPersistLog: a record that takes longer than this to make durable is
// logged. Everything the manager does in one step waits for its records
// (a host-lost event is fsynced before the fence it requests goes out), so
// a slow disk shows as a gap between two log lines that nothing else
// explains: one benchmark run had 2.5 s between "host lost" and "fencing
// host" and no line between them.
const slowPersistLog = 100 * time.Millisecond

// slowPersist logs a record that took took to persist, when that is long.
func (d *ManagerDaemon) slowPersist(e *effect.Persist, took time.Duration) {
	if took < slowPersistLog {
		return
	}
	d.log.Warn("persisting a record was slow: the manager waited for the disk", "record", e.Name,
		"bytes", len(e.Data), "took", took.String())
}

// checkDeposed lets go of the agents once the manager has learnt that a
// newer epoch exists (its reason says what the agents know and how to
// recover): the connections are closed and never redialled,
// since an agent takes the latest connection as its manager's and would
// drop the live manager's for ours. The admin API goes on answering (that
// this manager was superseded). Called with d.mu held.
func (d *ManagerDaemon) checkDeposed() {
	if d.deposed || !d.m.Deposed() {
		return
	}
	d.deposed = true
	d.stopLinks()
	// Nothing is left for the timers to do: a deposed manager ignores them.
	d.timers.stopAll()
	d.log.Error("manager deposed; closed the agent connections and stopped contacting agents",
		"epoch", uint64(d.m.Epoch()), "why", d.m.DeposedReason())
}

func (d *ManagerDaemon) fire(gen uint64, id effect.TimerID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.persistErr != nil || gen != d.gen {
		return
	}
	d.timers.fired(id)
	d.apply(d.m.TimerFired(d.clk.Now(), id))
}

// cannotPersist is the manager's answer to a failed Persist of record name:
// the epoch and the log must be durable before it acts on them, so it stops
// acting at once. Its machine is dropped (its memory may be ahead of what
// is durable) and restarted from the store, as after any manager restart,
// once a retry succeeds: a full disk is waited out, not fatal. Called with
// d.mu held.
func (d *ManagerDaemon) cannotPersist(name string, err error) {
	d.log.Error("cannot persist; manager stops acting until its state directory takes writes again",
		"record", name, "err", err.Error())
	if !d.retrying {
		d.persistSince = d.clk.Now()
	}
	d.persistErr = err
	d.timers.stopAll()
	d.gen++
	if d.closed || d.deposed || d.retrying || d.notLeading {
		return
	}
	d.retrying = true
	d.wg.Add(1)
	go d.retryPersist()
}

// retryPersist restarts the machine from the store with a bounded backoff
// until it succeeds or the daemon stops.
func (d *ManagerDaemon) retryPersist() {
	defer d.wg.Done()
	backoff := persistRetryMin
	for {
		select {
		case <-d.linkCtx.Done():
			return
		case <-d.clk.After(backoff):
		}
		d.mu.Lock()
		err := d.restartMachine()
		if err == nil {
			d.retrying = false
		}
		d.mu.Unlock()
		if err == nil {
			return
		}
		d.log.Warn("manager still cannot persist; retrying", "err", err.Error(), "next_in", backoff.String())
		backoff = min(2*backoff, persistRetryMax)
	}
}

// newMachine is a new manager machine started on rec: the follower's
// warm one when there is one, else a new one replaying the whole log.
func (d *ManagerDaemon) newMachine(f *manager.Follower, rec manager.Recovered) (*manager.Manager, []effect.Effect, error) {
	if f != nil {
		return f.Lead(d.clk.Now(), rec.Epoch, rec.Records)
	}
	m := manager.New(manager.Config{Model: d.startModel, Replica: d.replica})
	effs, err := m.Start(d.clk.Now(), rec.Epoch, rec.Records)
	return m, effs, err
}

// Resign records in the event log that this leader hands over on purpose
// (why), for its successor's takeover event, before the replica resigns
// in etcd and stops the daemon. It does nothing once the daemon cannot
// act.
func (d *ManagerDaemon) Resign(why string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.persistErr != nil || !d.leads() {
		return
	}
	d.apply(d.m.Resign(d.clk.Now(), why))
}

// restartMachine runs the boot path again: recovery from the store, a new
// machine, its Start (which persists a new epoch: the agents accept it and
// the machine adopts what runs). The connections of the dropped machine are
// closed, so that every agent is redialled and greets the new one. Called
// with d.mu held.
func (d *ManagerDaemon) restartMachine() error {
	if d.closed {
		return nil
	}
	if !d.leads() {
		return ErrNotLeading
	}
	rec, err := manager.Recover(d.store)
	if err != nil {
		return err
	}
	if rec.Torn != "" {
		d.log.Warn("event log had a torn tail; truncated it", "what", rec.Torn, "valid_bytes", rec.Valid)
	}
	m, effs, err := d.newMachine(nil, rec)
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	for id, c := range d.conns {
		delete(d.conns, id)
		c.Close()
	}
	prev := d.persistErr
	d.m, d.persistErr = m, nil
	d.apply(effs)
	if d.persistErr != nil {
		return d.persistErr
	}
	d.log.Info("manager persists again; restarted from its state directory", "epoch", uint64(d.m.Epoch()),
		"replayed_events", len(rec.Records), "was", prev.Error(), "down_for", d.clk.Since(d.persistSince).String())
	return nil
}
