package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/benbjohnson/clock"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/proc"
)

// DefaultPath is the PATH given to agents when the configuration sets none:
// shell agents need one, and nothing of the daemon's environment is
// inherited.
const DefaultPath = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

// maxPendingNotes bounds the results waiting for delivery to subscribers. A
// subscriber that stops reading must not grow the daemon without limit; past
// the bound results are dropped with an error log (they stay in history).
const maxPendingNotes = 65536

const driverSubscriber = "live"

// LRM runs the lrm state machine on real processes and the real clock. It
// serialises every input (API calls, timers, process exits) under one mutex
// and carries out the machine's effects in order. Results reach subscribers
// in the order the machine produced them, from one delivery goroutine.
type LRM struct {
	mu      sync.Mutex
	m       *lrm.LRM
	root    string
	clk     clock.Clock
	runner  proc.Runner
	log     *slog.Logger
	timers  *timerSet
	subs    map[string]func(lrm.Result)
	waiters map[lrm.CallID]chan lrm.Result
	pending []lrm.Result
	wake    chan struct{}
	closed  bool
	done    chan struct{}
}

// NewLRM starts an LRM driver. Close releases it.
func NewLRM(cfg lrm.Config, clk clock.Clock, runner proc.Runner, log *slog.Logger) (*LRM, error) {
	hasPath := false
	for _, kv := range cfg.ExtraEnv {
		hasPath = hasPath || strings.HasPrefix(kv, "PATH=")
	}
	if !hasPath {
		cfg.ExtraEnv = append(append([]string(nil), cfg.ExtraEnv...), DefaultPath)
	}
	m, err := lrm.New(cfg)
	if err != nil {
		return nil, err
	}
	m.Subscribe(driverSubscriber)
	d := &LRM{
		m: m, root: cfg.OCFRoot, clk: clk, runner: runner, log: log,
		timers:  newTimerSet(clk),
		subs:    map[string]func(lrm.Result){},
		waiters: map[lrm.CallID]chan lrm.Result{},
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	go d.deliver()
	return d, nil
}

// Close stops timers and result delivery. Running agents are not killed:
// they finish on their own and their results are discarded.
func (d *LRM) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.timers.stopAll()
	d.mu.Unlock()
	close(d.wake)
	<-d.done
}

// Register makes a resource known. An agent path that escapes the OCF root
// through a symbolic link is refused here; a missing agent is accepted (a
// probe then reports it not installed, which is how a host without the
// software is recognised).
func (d *LRM) Register(r lrm.Resource) error {
	path, err := r.Agent.Path(d.root)
	if err != nil {
		return fmt.Errorf("register %s: %w", r.ID, err)
	}
	if _, err := ResolveUnder(d.root, path); err != nil {
		if _, statErr := os.Lstat(path); !errors.Is(statErr, fs.ErrNotExist) {
			return fmt.Errorf("register %s: %w", r.ID, err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	effs, err := d.m.Register(d.clk.Now(), r)
	d.apply(effs)
	return err
}

// Unregister forgets a resource.
func (d *LRM) Unregister(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	effs, err := d.m.Unregister(d.clk.Now(), id)
	d.apply(effs)
	return err
}

// Submit accepts an operation; its result goes to subscribers.
func (d *LRM) Submit(req lrm.OpRequest) (lrm.CallID, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	call, effs, err := d.m.Submit(d.clk.Now(), req)
	d.apply(effs)
	return call, err
}

// Exec runs a one-shot operation and waits for its result.
func (d *LRM) Exec(ctx context.Context, req lrm.OpRequest) (lrm.Result, error) {
	if req.Interval > 0 {
		return lrm.Result{}, fmt.Errorf("%s %s: Exec runs one-shot operations only", req.Action, req.Resource)
	}
	ch := make(chan lrm.Result, 1)
	d.mu.Lock()
	call, effs, err := d.m.Submit(d.clk.Now(), req)
	if err == nil {
		// Registered before the effects run, so the result cannot be missed.
		d.waiters[call] = ch
	}
	d.apply(effs)
	d.mu.Unlock()
	if err != nil {
		return lrm.Result{}, err
	}
	select {
	case res := <-ch:
		return res, nil
	case <-ctx.Done():
		d.mu.Lock()
		delete(d.waiters, call)
		d.mu.Unlock()
		return lrm.Result{}, fmt.Errorf("%s %s: waiting for call %d: %w", req.Action, req.Resource, call, ctx.Err())
	}
}

// Cancel stops a recurring operation.
func (d *LRM) Cancel(req lrm.OpRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	effs, err := d.m.Cancel(d.clk.Now(), req.Resource, req.Action, req.Interval)
	d.apply(effs)
	return err
}

// Subscribe calls fn with every result the machine notifies (every one-shot
// result; a recurring monitor's only when it changes). fn runs on the
// delivery goroutine and must not block for long.
func (d *LRM) Subscribe(name string, fn func(lrm.Result)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.subs[name] = fn
}

// Unsubscribe removes a subscriber.
func (d *LRM) Unsubscribe(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.subs, name)
}

// History returns what the LRM remembers of a resource.
func (d *LRM) History(id string) (lrm.History, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m.History(id)
}

// Stats returns the current load.
func (d *LRM) Stats() lrm.Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m.Stats()
}

// apply carries out effects in order. Called with d.mu held.
func (d *LRM) apply(effs []effect.Effect) {
	for _, e := range effs {
		switch e := e.(type) {
		case *effect.StartProcess:
			if err := d.runner.Start(e.ID, e.Spec, d.exited); err != nil {
				d.apply(d.m.ProcessExited(d.clk.Now(), e.ID, proc.Exit{Code: -1, StartError: err.Error()}))
			}
		case *effect.KillProcess:
			if err := d.runner.Kill(e.ID); err != nil {
				d.log.Error("kill agent process group", "process", e.ID, "err", err)
			}
		case *effect.SetTimer:
			if !d.closed {
				d.timers.set(e, d.fired)
			}
		case *effect.CancelTimer:
			d.timers.cancel(e.ID)
		case effect.Log:
			d.log.LogAttrs(context.Background(), e.Level, e.Msg, e.Attrs...)
		case *lrm.Notify:
			if ch, ok := d.waiters[e.Result.CallID]; ok && e.Result.Interval == 0 {
				delete(d.waiters, e.Result.CallID)
				ch <- e.Result // buffered, one result per waiter
			}
			if d.closed {
				continue
			}
			if len(d.pending) >= maxPendingNotes {
				d.log.Error("subscribers are not keeping up; result dropped from notifications",
					"resource", e.Result.Resource, "name", e.Result.Name, "result", e.Result.String())
				continue
			}
			d.pending = append(d.pending, e.Result)
			select {
			case d.wake <- struct{}{}:
			default:
			}
		default:
			d.log.Error("LRM driver: unknown effect", "effect", e.Describe())
		}
	}
}

func (d *LRM) exited(id proc.ID, exit proc.Exit) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.apply(d.m.ProcessExited(d.clk.Now(), id, exit))
}

func (d *LRM) fired(id effect.TimerID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.timers.fired(id)
	d.apply(d.m.TimerFired(d.clk.Now(), id))
}

// deliver hands results to subscribers outside the lock, in order, so that a
// subscriber may call back into the driver.
func (d *LRM) deliver() {
	defer close(d.done)
	for range d.wake {
		for {
			d.mu.Lock()
			if len(d.pending) == 0 {
				d.mu.Unlock()
				break
			}
			res := d.pending[0]
			d.pending = d.pending[1:]
			fns := make([]func(lrm.Result), 0, len(d.subs))
			for _, n := range slices.Sorted(maps.Keys(d.subs)) {
				fns = append(fns, d.subs[n])
			}
			d.mu.Unlock()
			for _, fn := range fns {
				fn(res)
			}
		}
	}
}
