// Package planner decides what the cluster should do next. Plan is a pure
// function, after Pacemaker's scheduler: the configuration, the observed
// state of every resource on every host, host states, failure history and
// administrative constraints go in; an ordered set of actions with their
// dependencies (a transition) comes out, together with where each group is
// placed and why. The manager carries the transition out and plans again
// whenever something changes.
package planner

import (
	"time"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
)

// HostState is what the manager believes of a host.
type HostState string

// Host states.
const (
	// Online: the host's agent answers.
	Online HostState = "online"
	// Offline: the host is known to run nothing (never joined, or fenced).
	Offline HostState = "offline"
	// Unclean: the host stopped answering while it may run resources; only
	// fencing makes it safe to start them elsewhere.
	Unclean HostState = "unclean"
)

// Host is one host's state as planning input.
type Host struct {
	Name  string
	State HostState
	// Standby hosts run nothing; their resources move away.
	Standby bool
	// Fencing: a fence of the host is pending or in flight (the manager's
	// request, a failed one waiting for its retry). Nothing starts there:
	// it would race the fence.
	Fencing bool
}

// RscState is the observed state of one resource on one host.
type RscState string

// Resource states.
const (
	// Unknown: not probed yet. Nothing may start anywhere until every
	// online host has answered, or the resource could run twice.
	Unknown RscState = "unknown"
	// Stopped: known not to run there.
	Stopped RscState = "stopped"
	// Running: running there.
	Running RscState = "running"
	// Failed: a monitor (or start) failed there; it may still be partly
	// running and must be stopped before it is started again anywhere.
	Failed RscState = "failed"
	// StopFailed: a stop failed or timed out; only fencing the host ends
	// it.
	StopFailed RscState = "stop-failed"
)

// Observed is one resource's state on one host.
type Observed struct {
	State RscState
	// Monitored is true when its recurring monitors are set up there.
	Monitored bool
	// Digest is the digest of the definition it runs with there, as its
	// agent last said (empty: not said). A running instance whose digest
	// is not the configured one's is restarted: stopped as it was
	// started, started as now configured.
	Digest string `json:",omitempty"`
	// ReloadAction, ForceRestart and RestartDigest are how that
	// definition reloads, as its agent said (lrm.Result's fields of the
	// same names; empty: it cannot reload). A changed definition whose
	// ForceRestart parameters keep their values (its restart digest is
	// RestartDigest) is reloaded there instead of restarted.
	ReloadAction  ocf.Action `json:",omitempty"`
	ForceRestart  []string   `json:",omitempty"`
	RestartDigest string     `json:",omitempty"`
	// Promoted: the instance is (or, failed or stop-failed, may still be)
	// in the promoted role of a promotable clone.
	Promoted bool `json:",omitempty"`
}

// FailedOp names the operation whose failure a Failure records.
type FailedOp string

// Failed operations.
const (
	FailedProbe   FailedOp = "probe"
	FailedStart   FailedOp = "start"
	FailedStop    FailedOp = "stop"
	FailedMonitor FailedOp = "monitor"
	// FailedReload: a reload failed; it is recovered by a restart, as
	// Pacemaker's reload's on-fail defaults to restart.
	FailedReload FailedOp = "reload"
	// FailedPromote and FailedDemote: a role change failed; the instance
	// may be in either role, and is recovered by a stop and a start.
	FailedPromote FailedOp = "promote"
	FailedDemote  FailedOp = "demote"
)

// Failure is a resource's failure history on one host: the facts the
// manager records. What to do about them (restart, relocate, ban, fence,
// block, stop, standby) is the planner's decision, by the model's on-fail
// policy of the operation that failed (see policy.go).
type Failure struct {
	// Count is the fail count (a failed stop is not counted: the fence or
	// the block answers it).
	Count int
	Last  time.Time
	// Hard bans the host for the resource whatever the count: a start
	// failure (Pacemaker's start-failure-is-fatal), or an agent saying it
	// cannot run there (rc 2, 4, 5).
	Hard bool
	// Op is the operation whose failure was recorded last; empty for
	// failures logged before the manager recorded it (no policy applies
	// then but restart).
	Op FailedOp
	// Monitor is the index of the failed monitor in the resource's
	// configuration (Op monitor).
	Monitor int
}

// Move asks for a group to run on a host.
type Move struct {
	Host string
	// Until ends the constraint; zero means never.
	Until time.Time
	// By is the report of the request that set it, for the status to say
	// who did; the planner does not read it.
	By string `json:",omitempty"`
}

// Ban keeps a group off a host.
type Ban struct {
	Group string
	Host  string
	Until time.Time
	// By is the report of the request that set it (see Move.By).
	By string `json:",omitempty"`
}

// Constraints are the administrator's and the manager's decisions that
// override placement.
type Constraints struct {
	Moves map[string]Move
	Bans  []Ban
	// TargetRoles overrides a group's configured target role.
	TargetRoles map[string]model.Role
	// Unmanaged groups are watched but never acted on.
	Unmanaged map[string]bool
	// Blocked resources are left alone, with their group, until an
	// administrator cleans them up. The planner derives blocks from
	// failures itself (on-fail=block); this set carries blocks decided
	// elsewhere (event logs written before the planner decided them).
	Blocked map[string]bool
	// Maintenance stops all resource actions cluster-wide.
	Maintenance bool
	// FoundActive maps a group whose multiple-active policy is stop-only
	// or block to the hosts it was found active on, until a cleanup of the
	// group forgets it.
	FoundActive map[string][]string
}

// Input is everything Plan looks at.
type Input struct {
	Model *model.Model
	Now   time.Time
	Hosts []Host
	// Observed maps resource → host → state. A missing entry is Unknown
	// on an online host that discovers the resource (Model.Discovers) and
	// Stopped on an offline one, or one that does not discover it.
	Observed map[string]map[string]Observed
	// Notable, when set, maps each resource to the hosts whose entry in
	// Observed is anything but a plain stopped (missing, or any other
	// state); hosts it leaves out must have a stopped entry, or no entry
	// and not discover the resource. The manager keeps it as it records
	// what it observes, so that a plan reads those entries instead of
	// every resource's on every host. Nil: Plan reads all of Observed.
	Notable map[string]map[string]bool
	// Failures maps resource → host → failure history.
	Failures map[string]map[string]Failure
	// Fatal maps a resource to the reason it can run nowhere (rc 6: the
	// configuration is wrong everywhere).
	Fatal       map[string]string
	Constraints Constraints
	// Attributes are the node attributes the manager holds, host → name →
	// value (crm_attribute's, attrd_updater's): promotion scores among
	// them, named as Pacemaker names them (master-<resource>). A host
	// missing has none.
	Attributes map[string]map[string]string
	// hostIdx maps a host's name to its index in Hosts, for one plan; nil
	// in an Input built elsewhere, which host then scans.
	hostIdx map[string]int
}

// indexHosts maps each host's name to its first index in hosts.
func indexHosts(hosts []Host) map[string]int {
	idx := make(map[string]int, len(hosts))
	for i, h := range hosts {
		if _, dup := idx[h.Name]; !dup {
			idx[h.Name] = i
		}
	}
	return idx
}

func (in *Input) host(name string) (Host, bool) {
	if in.hostIdx != nil {
		i, ok := in.hostIdx[name]
		if !ok {
			return Host{}, false
		}
		return in.Hosts[i], true
	}
	for _, h := range in.Hosts {
		if h.Name == name {
			return h, true
		}
	}
	return Host{}, false
}

// state returns a resource's observed state on a host.
func (in *Input) state(rsc, host string) Observed {
	if o, ok := in.Observed[rsc][host]; ok && o.State != "" {
		return o
	}
	if h, ok := in.host(host); ok {
		return in.missing(rsc, h)
	}
	return Observed{State: Stopped}
}

// missing is a resource's state on a host of in.Hosts without an entry
// for it in Observed.
func (in *Input) missing(rsc string, h Host) Observed {
	if (h.State == Online || h.State == Unclean) && in.Model.Discovers(rsc, h.Name) {
		return Observed{State: Unknown}
	}
	return Observed{State: Stopped}
}

// active reports whether a state means the resource may be running.
func active(s RscState) bool { return s == Running || s == Failed || s == StopFailed }
