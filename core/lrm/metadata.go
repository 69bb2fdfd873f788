package lrm

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/ocf"
)

// MetaDataTimeout bounds the LRM's own meta-data runs: real agents print
// a few KiB of XML at once.
const MetaDataTimeout = 30 * time.Second

// maxMetaEntries bounds the meta-data cache: one entry per agent type a
// host has started, a few dozen in practice.
const maxMetaEntries = 1024

// metaEntry is what the LRM learnt of one agent's meta-data: md, or nil
// when the agent would not give it (the agent then reloads nothing).
type metaEntry struct {
	md *ocf.MetaData
}

// learnFirst queues a run of the agent's meta-data action ahead of a
// start or reload whose agent the LRM knows nothing of yet, so that the
// start's success can record how its definition reloads (settle). The
// run is the LRM's own: it reaches no subscriber, and a failed one only
// means that the agent reloads nothing; the start after it runs either
// way. Every resource of a new agent type queues its own run until one
// ends, so that no start waits on another resource's queue.
func (l *LRM) learnFirst(now time.Time, r *resource, req OpRequest, effs []effect.Effect) []effect.Effect {
	switch req.Action {
	case ocf.Start, ocf.Reload, ocf.ReloadAgent:
	default:
		return effs
	}
	if !l.cfg.LearnMetaData {
		return effs
	}
	if _, known := l.meta[r.def.Agent]; known {
		return effs
	}
	for _, o := range r.queue {
		if o.learn {
			return effs // one is on its way in this queue already
		}
	}
	o := &op{req: OpRequest{Resource: r.def.ID, Action: ocf.MetaDataAction, Timeout: MetaDataTimeout}, learn: true, queuedAt: now}
	return l.enqueue(now, r, o, effs)
}

// learnt takes in the result of a meta-data run of the LRM's own.
func (l *LRM) learnt(r *resource, o *op, res Result, effs []effect.Effect) []effect.Effect {
	o.started = time.Time{}
	var md *ocf.MetaData
	var why string
	switch {
	case res.Status != Done:
		why = fmt.Sprintf("meta-data %s: %s", res.Status, res.ExitReason)
	case res.RC != ocf.OK:
		why = fmt.Sprintf("meta-data exited %d (%s): %s", int(res.RC), res.RC, res.ExitReason)
	default:
		var err error
		if md, err = ocf.ParseMetaData([]byte(res.Output)); err != nil {
			why = err.Error()
		}
	}
	agent := r.def.Agent
	if o.def != nil {
		agent = o.def.Agent
	}
	if len(l.meta) < maxMetaEntries {
		l.meta[agent] = metaEntry{md: md}
	}
	if md == nil {
		return l.appendLog(effs, slog.LevelInfo, r, "agent meta-data not available: its resources will be restarted, never reloaded",
			slog.String("agent", agent.String()), slog.String("why", why))
	}
	return l.appendLog(effs, slog.LevelDebug, r, "agent meta-data learnt", slog.String("agent", agent.String()))
}

// MetaData returns an agent's meta-data as the LRM learnt it; false when
// it has not (yet), or the agent would not give it.
func (l *LRM) MetaData(a ocf.Agent) (*ocf.MetaData, bool) {
	e, ok := l.meta[a]
	return e.md, ok && e.md != nil
}

// settle applies what a successful start or reload means for the
// resource's definition: a reload's new definition becomes the registered
// one, and the definition that now runs records how it reloads.
func (l *LRM) settle(r *resource, o *op, res Result, effs []effect.Effect) []effect.Effect {
	switch o.req.Action {
	case ocf.Start, ocf.Reload, ocf.ReloadAgent:
	default:
		return effs
	}
	if res.Status != Done || res.Failed() {
		return effs // a failed reload leaves the definition that ran before
	}
	if o.def != nil {
		r.setDef(o.def.clone())
		effs = l.appendLog(effs, slog.LevelInfo, r, "resource definition reloaded", slog.String("digest", r.digest()))
	}
	if res.Digest != r.digest() {
		return effs // re-registered since it started: not what runs
	}
	r.def.Reload = nil
	if rl := ocf.ReloadabilityOf(l.meta[r.def.Agent].md, r.def.Agent, r.def.Params); rl.CanReload() {
		r.def.Reload = &rl
	}
	return effs
}

// SubmitReload accepts a reload (or reload-agent) of a registered resource
// with a new definition: the agent runs with def's parameters, and def
// becomes the resource's definition once the reload succeeds. A failed
// reload leaves the definition the resource ran with, which its stop then
// uses. The agent cannot change: that is no reload.
func (l *LRM) SubmitReload(now time.Time, req OpRequest, def Resource) (CallID, []effect.Effect, error) {
	r, ok := l.rscs[req.Resource]
	if !ok {
		return 0, nil, fmt.Errorf("%s %s: %w", req.Action, req.Resource, ErrUnknownResource)
	}
	if req.Action != ocf.Reload && req.Action != ocf.ReloadAgent {
		return 0, nil, fmt.Errorf("%s %s (%s): not a reload", req.Action, r.def.ID, r.def.Name)
	}
	if err := validateRequest(req); err != nil {
		return 0, nil, fmt.Errorf("%s %s (%s): %w", req.Action, r.def.ID, r.def.Name, err)
	}
	if def.ID != r.def.ID || def.Agent != r.def.Agent {
		return 0, nil, fmt.Errorf("%s %s (%s): the new definition is of %s %s, not %s %s", req.Action, r.def.ID, r.def.Name,
			def.ID, def.Agent, r.def.ID, r.def.Agent)
	}
	if err := l.checkDefinition(def); err != nil {
		return 0, nil, err
	}
	if l.queued >= l.cfg.MaxQueued {
		return 0, nil, fmt.Errorf("%s %s (%s): %w (%d waiting)", req.Action, r.def.ID, r.def.Name, ErrQueueFull, l.queued)
	}
	if def.Name == "" {
		def.Name = r.def.Name
	}
	def = def.clone()
	def.Reload = nil
	effs := l.learnFirst(now, r, req, nil)
	l.nextCall++
	o := &op{call: l.nextCall, req: req, queuedAt: now, def: &def}
	effs = l.enqueue(now, r, o, effs)
	return o.call, effs, nil
}
