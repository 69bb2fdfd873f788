package lrm

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/basalt-ha/basalt/core/ocf"
)

// CallID identifies one accepted operation. A recurring operation keeps its
// call ID for every run, so that a subscriber can tell runs of the same
// monitor apart from a new request.
type CallID uint64

// Resource is what the LRM knows of one resource instance: it is told, never
// discovers. ID is the unique key (and the agent's OCF_RESOURCE_INSTANCE);
// Name is the human name every log line carries.
type Resource struct {
	ID     string
	Name   string
	Agent  ocf.Agent
	Params map[string]string
	// Reload says how this definition reloads, as the LRM learnt from the
	// agent's meta-data when it last started (or reloaded) it; nil: not
	// learnt, or the agent reloads nothing. The LRM keeps it, not the
	// caller: a definition sent without it keeps the one learnt, and a
	// changed definition drops it until its own start. It is persisted
	// with the definition, so that a restarted agent still reports it.
	Reload *ocf.Reloadability `json:",omitempty"`
	// Instance is the agent's OCF_RESOURCE_INSTANCE when it is not ID:
	// a clone's instance on one host, "ID:N", as Pacemaker numbers them
	// (crm_master strips the ":N"). Empty: ID.
	Instance string `json:",omitempty"`
	// Meta are the instance's meta attributes, OCF_RESKEY_CRM_meta_<name>
	// on every action it runs (a clone instance's clone, clone_max, ...,
	// as Pacemaker passes them). Like Instance, they come with the start.
	Meta map[string]string `json:",omitempty"`
}

// InstanceName is the agent's OCF_RESOURCE_INSTANCE: Instance, or ID.
func (r Resource) InstanceName() string {
	if r.Instance != "" {
		return r.Instance
	}
	return r.ID
}

// Digest identifies the definition as its agent sees it (ocf.Digest).
func (r Resource) Digest() string { return ocf.Digest(r.Agent, r.Params) }

func (r Resource) equal(o Resource) bool {
	if r.ID != o.ID || r.Name != o.Name || r.Agent != o.Agent || r.Instance != o.Instance || len(r.Params) != len(o.Params) ||
		!maps.Equal(r.Meta, o.Meta) {
		return false
	}
	for k, v := range r.Params {
		if ov, ok := o.Params[k]; !ok || ov != v {
			return false
		}
	}
	return true
}

func (r Resource) clone() Resource {
	c := r
	c.Params = make(map[string]string, len(r.Params))
	for k, v := range r.Params {
		c.Params[k] = v
	}
	c.Meta = maps.Clone(r.Meta)
	if r.Reload != nil {
		rl := *r.Reload
		rl.ForceRestart = slices.Clone(rl.ForceRestart)
		c.Reload = &rl
	}
	return c
}

// OpRequest asks for one operation on a registered resource.
type OpRequest struct {
	Resource string
	Action   ocf.Action
	// Interval > 0 makes the operation recurring (monitors only): it runs
	// again Interval after each run ends, until cancelled or the resource is
	// stopped.
	Interval time.Duration
	// Timeout bounds one run; past it the agent's process group is killed.
	Timeout time.Duration
	// Depth is the monitor depth (OCF_CHECK_LEVEL).
	Depth int
	// StartDelay postpones the first run of a recurring operation.
	StartDelay time.Duration
	// Meta are this one request's meta attributes, beside the resource's
	// (a notification's notify_type, notify_operation and lists); they
	// win over the resource's of the same name. A pointer, so that a
	// request stays comparable (identical recurring requests merge); nil
	// on every recurring one.
	Meta *Meta `json:",omitempty"`
}

// Meta maps a meta attribute's name to its value (ocf.EnvSpec.Meta).
type Meta map[string]string

// Key returns the operation's identity for merging and cancelling.
func (r OpRequest) Key() OpKey { return OpKey{Action: r.Action, Interval: r.Interval} }

// OpKey names an operation of a resource the way Pacemaker does
// (<action>_<interval>): there is at most one recurring operation per key.
type OpKey struct {
	Action   ocf.Action
	Interval time.Duration
}

// String renders the key as "monitor_10000" (interval in ms), Pacemaker's
// operation key shape, so that operators recognise it.
func (k OpKey) String() string {
	// Every run logs it: one allocation, no fmt.
	var buf [48]byte
	return string(k.Append(buf[:0]))
}

// Append appends String's text to b: for traces that build their lines
// into one reused buffer, without String's allocation.
func (k OpKey) Append(b []byte) []byte {
	b = append(append(b, k.Action...), '_')
	return strconv.AppendInt(b, k.Interval.Milliseconds(), 10)
}

// Status is the execution status of an operation, separate from the agent's
// rc: an rc only means something when Status is Done.
type Status int

// Execution statuses.
const (
	// Pending: accepted, not finished.
	Pending Status = iota
	// Done: the agent ran and exited; RC is its exit code.
	Done
	// Cancelled: the operation was cancelled (explicitly, by a stop, or by
	// unregistering the resource) before it could report.
	Cancelled
	// Timeout: the agent did not finish within the timeout and its process
	// group was killed.
	Timeout
	// NotInstalled: the agent's executable does not exist on this host.
	NotInstalled
	// Error: the agent could not be run, or was killed by a signal the LRM
	// did not send.
	Error
)

var statusNames = [...]string{"pending", "done", "cancelled", "timeout", "not-installed", "error"}

// String returns the status name.
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Result is the end of one run of an operation.
type Result struct {
	CallID   CallID
	Resource string
	Name     string
	Action   ocf.Action
	Interval time.Duration
	Depth    int
	RC       ocf.RC
	Status   Status
	// Outcome is what RC means for this action (see ocf.Classify). A status
	// other than Done is always a failure of the matching severity.
	Outcome    ocf.Outcome
	ExitReason string
	// Output is the agent's stdout (bounded): the XML of meta-data, for one.
	Output string
	// Digest is the digest of the definition the run used (ocf.Digest):
	// what the manager compares with the configured one to tell a resource
	// that runs with an old definition.
	Digest string `json:",omitempty"`
	// ReloadAction, ForceRestart and RestartDigest tell how the definition
	// of Digest reloads (ocf.Reloadability), when the LRM knows: the
	// planner reloads instead of restarting a resource whose configured
	// definition differs from it in reloadable parameters only. Empty (a
	// result from an agent that predates reloads, too): it cannot reload.
	ReloadAction  ocf.Action `json:",omitempty"`
	ForceRestart  []string   `json:",omitempty"`
	RestartDigest string     `json:",omitempty"`
	QueuedAt      time.Time
	StartedAt     time.Time
	EndedAt       time.Time
}

// Reloadability is how the result's definition reloads (none when the
// result does not say).
func (r Result) Reloadability() ocf.Reloadability {
	return ocf.Reloadability{Action: r.ReloadAction, ForceRestart: r.ForceRestart, RestartDigest: r.RestartDigest}
}

// QueueTime is how long the run waited before its process started.
func (r Result) QueueTime() time.Duration {
	if r.StartedAt.IsZero() {
		return r.EndedAt.Sub(r.QueuedAt)
	}
	return r.StartedAt.Sub(r.QueuedAt)
}

// RunTime is how long the agent ran.
func (r Result) RunTime() time.Duration {
	if r.StartedAt.IsZero() {
		return 0
	}
	return r.EndedAt.Sub(r.StartedAt)
}

// Failed reports whether the run is a failure of any severity.
func (r Result) Failed() bool { return r.Outcome.Failed() }

// Key returns the operation key of the run.
func (r Result) Key() OpKey { return OpKey{Action: r.Action, Interval: r.Interval} }

// String renders the result on one line for logs and traces.
func (r Result) String() string {
	var buf [160]byte
	return string(r.Append(buf[:0]))
}

// Append appends String's text to b without fmt: the simulator traces
// every result it delivers. core/proto's describe test holds the fmt
// text it must match.
func (r Result) Append(b []byte) []byte {
	b = r.Key().Append(append(append(b, r.Resource...), ' '))
	b = append(append(append(b, " ("...), r.Name...), ") call="...)
	b = strconv.AppendUint(b, uint64(r.CallID), 10)
	b = append(append(b, " status="...), r.Status.String()...)
	b = strconv.AppendInt(append(b, " rc="...), int64(r.RC), 10)
	b = append(append(append(b, '('), r.RC.String()...), ')')
	b = append(append(b, " outcome="...), r.Outcome.String()...)
	if r.ExitReason != "" {
		b = strconv.AppendQuote(append(b, " reason="...), r.ExitReason)
	}
	return b
}

// OpRecord is one operation in a resource's history.
type OpRecord struct {
	CallID     CallID
	Key        OpKey
	Depth      int
	RC         ocf.RC
	Status     Status
	Outcome    ocf.Outcome
	ExitReason string
	QueuedAt   time.Time
	StartedAt  time.Time
	EndedAt    time.Time
	QueueTime  time.Duration
	RunTime    time.Duration
	// LastRCChange is when this operation key's result (rc or status) last
	// differed from its previous run: a monitor that has reported "running"
	// for a week keeps the time it first did.
	LastRCChange time.Time
}

// History is what the LRM remembers of one resource.
type History struct {
	Resource Resource
	// Last is the most recent completed run of any operation.
	Last *OpRecord
	// LastFailure is the most recent failed run.
	LastFailure *OpRecord
	// ByKey holds the latest run of each operation key, sorted by key.
	ByKey []OpRecord
	// Recent holds the last runs, oldest first, bounded by Config.HistoryLen.
	Recent []OpRecord
}

// Stats are the LRM's load figures.
type Stats struct {
	Resources int
	Running   int
	Queued    int
	Recurring int
}
