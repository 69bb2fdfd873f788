// Package history is the operation history the ownership checker reads,
// as one record type for both drivers: the host agent machine emits a
// Started record when an operation's process starts and an Ended record
// when its end is handled (as Note effects); the simulator keeps them in
// memory and basalt-agent writes them as JSON lines (--op-history). Ops
// pairs them into the operations the judges take, so that an operation
// whose agent died before it ended (kill -9) is still there, with an
// unknown outcome: the agent it ran under may have acted before it died.
package history

import (
	"fmt"
	"slices"
	"time"
)

// Phase says which end of an operation a record is.
type Phase string

// Record phases.
const (
	// Started is written when the operation's process starts.
	Started Phase = "start"
	// Ended is written when its end has been handled, before its result
	// goes anywhere.
	Ended Phase = "end"
)

// Record kinds.
const (
	// Resource is a resource agent operation (probes and each run of a
	// recurring monitor included).
	Resource = "resource"
	// Fence is a fence agent run.
	Fence = "fence"
)

// Record is one line of an agent's operation history.
type Record struct {
	Phase Phase `json:"phase"`
	// Kind is Resource or Fence.
	Kind string `json:"kind"`
	Host string `json:"host"`
	// Resource is the resource's ID (resource operations).
	Resource string `json:"resource,omitempty"`
	// Device and Target are the fence device and the host it acts on.
	Device string `json:"device,omitempty"`
	Target string `json:"target,omitempty"`
	// Action is the OCF action or the fence action.
	Action string `json:"action"`
	// IntervalMS is a recurring monitor's interval; 0 for one-shot
	// operations, probes among them.
	IntervalMS int64 `json:"interval_ms,omitempty"`
	// Epoch is the manager epoch of the command the run belongs to (0 for
	// the probes a restarted agent runs before any manager speaks).
	Epoch uint64 `json:"epoch"`
	// Life numbers the agent's lives (restarts) and Run is the process's
	// number within its life: together they pair a Started record with
	// its Ended one.
	Life uint64 `json:"life"`
	Run  uint64 `json:"run"`
	// At is when the process started (Started) or when its end was
	// handled (Ended).
	At time.Time `json:"at"`
	// RC, Status and Killed are the outcome (Ended only): the rc
	// reported, the LRM's execution status, and whether the process was
	// killed rather than exiting by itself. A killed run's outcome is
	// unknown.
	RC     int    `json:"rc,omitempty"`
	Status string `json:"status,omitempty"`
	Killed bool   `json:"killed,omitempty"`
	// Orphan marks the end of an operation that an earlier life of the
	// agent left running, as the later life dealt with it (it killed the
	// process group, or found it gone).
	Orphan bool `json:"orphan,omitempty"`
}

// Note is the effect that asks a driver to add a record to the history.
// Drivers write it before they carry out any later effect, so that an
// operation's start is recorded before its process runs.
type Note struct {
	Record Record
}

// Describe implements effect.Effect.
func (n *Note) Describe() string {
	r := n.Record
	what := r.Resource
	if r.Kind == Fence {
		what = r.Device + ">" + r.Target
	}
	s := fmt.Sprintf("history %s %s %s %s life=%d run=%d", r.Phase, r.Host, what, r.Action, r.Life, r.Run)
	if r.Phase == Ended {
		s += fmt.Sprintf(" rc=%d killed=%t", r.RC, r.Killed)
	}
	return s
}

// Op is an operation as the judges see it. A zero Return means it never
// ended as far as anyone knows (its agent died): its outcome is unknown,
// as Knossos treats indeterminate operations.
type Op struct {
	Resource string // "" for a fence, which applies to every resource
	Host     string
	Kind     string // start, stop, monitor, fence
	Call     time.Time
	Return   time.Time
	RC       int
	Killed   bool
	// IntervalMS, Epoch and Status are carried over from the records.
	IntervalMS int64
	Epoch      uint64
	Status     string
	// Device and Target name a fence agent run (Kind is then the fence
	// action, and Resource empty).
	Device, Target string
	// Orphan: the operation was left running by a dead agent and ended
	// under a later life of it.
	Orphan bool
}

// Pending reports whether the operation never ended in the history.
func (o Op) Pending() bool { return o.Return.IsZero() }

// runKey names an agent run: the pairing key of its two records.
type runKey struct {
	host      string
	life, run uint64
}

// Ops pairs records into operations: each Started record with the Ended
// record of the same host, life and run, in the order of their Started
// records. A Started record without an end comes back pending (zero
// Return, Killed); an Ended record without a start (the start was lost
// with a torn line) is kept with Call equal to Return.
func Ops(recs []Record) []Op {
	var p Pairer
	for _, r := range recs {
		p.Add(r)
	}
	return p.Ops()
}

// Pairer pairs records into operations as they are written, as Ops pairs
// a whole list: after each Add, Ops is what Ops would make of the records
// added so far. The simulator pairs as it goes rather than keep every
// record of a seed only to pair them at its end.
type Pairer struct {
	// chunks hold the operations in order, opChunk to a chunk: a seed's
	// thousand operations of 200 bytes each were one slice, doubled
	// eight times and copied at each doubling, only to be copied once
	// more into the history at the seed's end (AppendOps).
	chunks [][]Op
	n      int
	// running are the operations whose Started record came and whose
	// Ended one has not, by index in the order of operations.
	running map[runKey]int
}

// opChunk is how many operations a chunk holds: 160 of 200 bytes fill
// the largest small-object size class, 32 KiB, but for 2%.
const opChunk = 160

// Add pairs one more record.
func (p *Pairer) Add(r Record) {
	if p.running == nil {
		p.running = map[runKey]int{}
	}
	k := runKey{r.Host, r.Life, r.Run}
	switch r.Phase {
	case Started:
		p.running[k] = p.n
		*p.grow() = Op{Resource: r.Resource, Host: r.Host, Kind: r.Action, Call: r.At, Killed: true,
			IntervalMS: r.IntervalMS, Epoch: r.Epoch, Device: r.Device, Target: r.Target}
	case Ended:
		i, ok := p.running[k]
		var o *Op
		if ok {
			o = &p.chunks[i/opChunk][i%opChunk]
		} else {
			o = p.grow()
			*o = Op{Resource: r.Resource, Host: r.Host, Kind: r.Action, Call: r.At,
				IntervalMS: r.IntervalMS, Epoch: r.Epoch, Device: r.Device, Target: r.Target}
		}
		delete(p.running, k)
		o.Return, o.RC, o.Killed, o.Status, o.Orphan = r.At, r.RC, r.Killed, r.Status, r.Orphan
		if r.Epoch != 0 {
			o.Epoch = r.Epoch
		}
	}
}

// grow adds a zero operation at the end and returns it.
func (p *Pairer) grow() *Op {
	if p.n%opChunk == 0 {
		p.chunks = append(p.chunks, make([]Op, 0, opChunk))
	}
	last := &p.chunks[len(p.chunks)-1]
	*last = append(*last, Op{})
	p.n++
	return &(*last)[len(*last)-1]
}

// Len is the number of operations so far.
func (p *Pairer) Len() int { return p.n }

// AppendOps appends the operations so far to dst, in the order Ops has
// them, and returns the extended slice: a caller that builds a history
// of its own copies them once, without Ops' copy.
func (p *Pairer) AppendOps(dst []Op) []Op {
	dst = slices.Grow(dst, p.n)
	for _, c := range p.chunks {
		dst = append(dst, c...)
	}
	return dst
}

// Ops are the operations so far, in the order of their first record, in
// a new slice.
func (p *Pairer) Ops() []Op { return p.AppendOps(nil) }
