// Package simproc is a scripted proc.Runner on virtual time: each agent run
// ends after a scripted duration with a scripted exit code, or hangs until it
// is killed. Unit tests of the state machines use it to play any agent
// behaviour, deterministically and without processes.
package simproc

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/sim/eventq"
)

// Script is how one agent run behaves.
type Script struct {
	// RC is the exit code.
	RC int
	// Duration is how long the run takes.
	Duration time.Duration
	// Hang makes the run never end by itself.
	Hang bool
	// Stdout and Stderr are the run's output ("ocf-exit-reason:..." lines
	// on Stderr become the exit reason).
	Stdout, Stderr string
	// Missing makes the run fail to start, as when the agent is absent.
	Missing bool
}

// Run records one process from start to end, for overlap checks.
type Run struct {
	ID       proc.ID
	Resource string
	// Instance is the run's OCF_RESOURCE_INSTANCE when it is not Resource
	// (a clone instance's "id:N").
	Instance string
	Action   string
	Start    time.Time
	End      time.Time
	Killed   bool
	Exit     proc.Exit
	// PGID is the run's process group (unique within the runner).
	PGID int
	// Orphan is set when the run's owner died before it ended (Abandon):
	// it ran on, and nobody heard of its end.
	Orphan bool
}

type key struct{ resource, action string }

type running struct {
	run    int // index in Runs
	exitAt eventq.ID
	onExit func(proc.ID, proc.Exit) // nil once abandoned
}

// Runner implements proc.Runner on an event queue.
type Runner struct {
	q       *eventq.Queue
	steady  map[key]Script
	once    map[key][]Script
	def     Script
	running map[proc.ID]*running
	// orphans are the abandoned runs still going, by process group.
	orphans map[int]*running
	onStart func(proc.ID, int)
	// Runs is every process started, in start order.
	Runs []Run
}

// New returns a runner whose runs succeed (rc 0) after def.Duration unless
// scripted otherwise.
func New(q *eventq.Queue, def Script) *Runner {
	return &Runner{q: q, steady: map[key]Script{}, once: map[key][]Script{}, def: def, running: map[proc.ID]*running{},
		orphans: map[int]*running{}}
}

// Set makes every run of action on resource behave as s ("" resource: any
// resource without its own script).
func (r *Runner) Set(resource, action string, s Script) { r.steady[key{resource, action}] = s }

// Once queues s for the next run of action on resource only; several Once
// calls play in order before the steady script resumes.
func (r *Runner) Once(resource, action string, s Script) {
	k := key{resource, action}
	r.once[k] = append(r.once[k], s)
}

func (r *Runner) script(resource, action string) Script {
	k := key{resource, action}
	if q := r.once[k]; len(q) > 0 {
		r.once[k] = q[1:]
		return q[0]
	}
	if s, ok := r.steady[k]; ok {
		return s
	}
	if s, ok := r.steady[key{"", action}]; ok {
		return s
	}
	return r.def
}

// scripted reports whether a script of the test's decides the next run
// of action on resource.
func (r *Runner) scripted(resource, action string) bool {
	_, own := r.steady[key{resource, action}]
	_, anyRsc := r.steady[key{"", action}]
	return own || anyRsc || len(r.once[key{resource, action}]) > 0
}

// MetaDataAction is the OCF action the runner answers with MetaData unless
// a script says otherwise.
const MetaDataAction = "meta-data"

// MetaData is the meta-data every simulated agent gives: the statefile
// agent's parameters (state, unique; fail_dir and delay), but with delay
// and fail_dir marked reloadable and OCF 1.1's reload-agent advertised (the
// shipped statefile agent keeps to the OCF 1.0 DTD that ocf-tester checks,
// so it does not), so that a changed delay reloads a simulated resource
// and a changed state restarts it. sim_revision, which the swarm's
// configuration changes set, reloads too.
func MetaData(agentType string) string {
	return `<?xml version="1.0"?>
<resource-agent name="` + agentType + `" version="1.0">
<version>1.1</version>
<shortdesc lang="en">simulated ` + agentType + `</shortdesc>
<parameters>
<parameter name="state" unique="1"><content type="string"/></parameter>
<parameter name="fail_dir" reloadable="1"><content type="string"/></parameter>
<parameter name="delay" reloadable="1"><content type="integer" default="0"/></parameter>
<parameter name="sim_revision" reloadable="1"><content type="string"/></parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/>
<action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s"/>
<action name="reload-agent" timeout="20s"/>
<action name="meta-data" timeout="5s"/>
</actions>
</resource-agent>
`
}

// Running is the number of processes not yet ended.
func (r *Runner) Running() int { return len(r.running) }

// Start implements proc.Runner. The resource is read from the spec's
// OCF_RESOURCE_INSTANCE and the action from its first argument.
func (r *Runner) Start(id proc.ID, spec proc.Spec, onExit func(proc.ID, proc.Exit)) error {
	if _, dup := r.running[id]; dup {
		return fmt.Errorf("simproc: process %d already running", id)
	}
	action := ""
	if len(spec.Args) > 0 {
		action = spec.Args[0]
	}
	resource, instance := "", ""
	for _, kv := range spec.Env {
		if v, ok := strings.CutPrefix(kv, "OCF_RESOURCE_INSTANCE="); ok {
			resource, instance = v, v
			// A clone instance's "id:N" is the resource id's run.
			if i := strings.LastIndexByte(v, ':'); i > 0 && v[i+1:] != "" && strings.Trim(v[i+1:], "0123456789") == "" {
				resource = v[:i]
			}
		}
	}
	answer := action == MetaDataAction && !r.scripted(resource, action)
	s := r.script(resource, action)
	if answer {
		s.Stdout = MetaData(path.Base(spec.Path))
	}
	pgid := len(r.Runs) + 1
	if instance == resource {
		instance = ""
	}
	r.Runs = append(r.Runs, Run{ID: id, Resource: resource, Instance: instance, Action: action, Start: r.q.Now(), PGID: pgid})
	p := &running{run: len(r.Runs) - 1, onExit: onExit}
	r.running[id] = p
	if r.onStart != nil {
		r.onStart(id, pgid)
	}
	exit := proc.Exit{Code: s.RC, Stdout: []byte(s.Stdout), Stderr: []byte(s.Stderr)}
	if s.Missing {
		exit = proc.Exit{Code: -1, StartError: "no such file or directory", Missing: true}
	}
	if !s.Hang {
		p.exitAt = r.q.After(s.Duration, func() { r.finish(p, id, exit, false) })
	}
	return nil
}

// OnStart makes fn learn each run's process group as it starts, as the
// live runner's OnStart does.
func (r *Runner) OnStart(fn func(id proc.ID, pgid int)) { r.onStart = fn }

// Abandon is the death of the runner's owner (an agent killed with kill
// -9): its runs go on to their scripted end, which nobody hears of, and
// their IDs are free for the owner's next life. Only KillGroup reaches
// them.
func (r *Runner) Abandon() {
	for id, p := range r.running { // purity:unordered each run is detached on its own; nothing is emitted
		delete(r.running, id)
		p.onExit = nil
		r.Runs[p.run].Orphan = true
		r.orphans[r.Runs[p.run].PGID] = p
	}
}

// KillGroup kills an abandoned run by its process group; it reports
// whether one was still running.
func (r *Runner) KillGroup(pgid int) bool {
	p, ok := r.orphans[pgid]
	if !ok {
		return false
	}
	r.q.Cancel(p.exitAt)
	r.finish(p, 0, proc.Exit{Code: -1, Signal: "killed"}, true)
	return true
}

// Kill implements proc.Runner: the process ends at once, killed.
func (r *Runner) Kill(id proc.ID) error {
	p, ok := r.running[id]
	if !ok {
		return nil
	}
	r.q.Cancel(p.exitAt)
	r.q.After(0, func() { r.finish(p, id, proc.Exit{Code: -1, Signal: "killed"}, true) })
	return nil
}

// finish ends run p once: its owner hears of it unless it abandoned it.
func (r *Runner) finish(p *running, id proc.ID, exit proc.Exit, killed bool) {
	run := &r.Runs[p.run]
	if !run.End.IsZero() {
		return
	}
	run.End, run.Killed, run.Exit = r.q.Now(), killed, exit
	if p.onExit == nil {
		delete(r.orphans, run.PGID)
		return
	}
	delete(r.running, id)
	p.onExit(id, exit)
}
