package manager

import (
	"time"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
)

// EpochRecord is the storage name of the manager's epoch.
const EpochRecord = "manager-epoch"

// EventLog is the storage name of the durable event log.
const EventLog = "events"

// Event is one entry of the manager's event log: what happened, to what,
// and when. Events that change durable decisions (constraints, failures,
// standby, maintenance) carry what replay needs to rebuild them.
type Event struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	Host     string    `json:"host,omitempty"`
	Group    string    `json:"group,omitempty"`
	Resource string    `json:"resource,omitempty"`
	// Name is the resource's human name, so that the log reads on its own.
	Name    string `json:"name,omitempty"`
	Report  string `json:"report,omitempty"`
	Message string `json:"message,omitempty"`
	// Until is a constraint's end; zero (no end) is left out of the log,
	// where omitempty would have written 0001-01-01T00:00:00Z.
	Until time.Time `json:"until,omitzero"`
	Count int       `json:"count,omitempty"`
	Flag  bool      `json:"flag,omitempty"`
	Role  string    `json:"role,omitempty"`
	// Op and Monitor name the operation of a failure (planner.FailedOp,
	// and the monitor's index), so that replay gives the planner the
	// facts its policies read.
	Op      string `json:"op,omitempty"`
	Monitor int    `json:"monitor,omitempty"`
	// Hosts are the hosts of a finding that names several (a group found
	// active on more hosts than it may run on).
	Hosts []string `json:"hosts,omitempty"`
	// Results are a closing report's results (report-closed, with Flag
	// its Failed), so that they survive a restart that replays the log
	// rather than a snapshot.
	Results map[string]string `json:"results,omitempty"`
	// Manager and Epoch name the replica and the epoch of a leadership
	// record (manager-started, takeover and resigned, with manager
	// replicas only).
	Manager string `json:"manager,omitempty"`
	Epoch   uint64 `json:"epoch,omitempty"`
	// Config is an applied configuration's text (config-applied, with
	// Count its version).
	Config string `json:"config,omitempty"`
	// Attr is the value of an attribute-set or attribute-deleted event
	// (attrs.go).
	Attr *AttrRecord `json:"attr,omitempty"`
	// Snapshot is the state a "snapshot" record stands for: the event
	// log's compaction (compact.go).
	Snapshot *Snapshot `json:"snapshot,omitempty"`
}

// ReportState is OPEN while a request's actions run, CLOSED when done.
type ReportState string

// Report states.
const (
	ReportOpen   ReportState = "OPEN"
	ReportClosed ReportState = "CLOSED"
)

// Report follows one administrative request to its end: the gCube
// Resource Manager's report, with a status per resource.
type Report struct {
	ID      string
	Request string
	State   ReportState
	Created time.Time
	Closed  time.Time
	// Groups are the groups the request concerns.
	Groups []string
	// Results holds, per resource, where it ended ("running on oss2",
	// "stopped") or why it failed; filled when the report closes.
	Results map[string]string
	// Failed is true when any resource did not end as requested.
	Failed bool
	// Order lists the keys of Results in the order a report reads: the
	// hosts it names as configured, then each group's resources in start
	// (dependency) order, then anything else (the verdict). Report fills
	// it from the model, so it is never persisted and follows the
	// configuration.
	Order []string `json:",omitempty"`
}

// Constraint is an administrator's move or ban, as status shows it.
type Constraint struct {
	// Kind is "move" (prefer Host) or "ban" (keep off Host).
	Kind  string
	Group string
	Host  string
	// Until is when it ends; zero: until cleared.
	Until time.Time
	// By is the report of the request that set it (empty for a snapshot
	// or log written before constraints named theirs).
	By string
}

// DeviceCheck is a fence device's monitor run from one host: whether the
// device answered (it fences nothing).
type DeviceCheck struct {
	Device string
	Host   string
	At     time.Time
	// OK: the agent exited 0 within its timeout.
	OK      bool
	RC      int
	Timeout bool
	// Output is the first line of the agent's output, bounded.
	Output string
	// Lost, when set, is why no result came (the host was lost, or the
	// command's time ran out); RC means nothing then.
	Lost string
}

// HostStatus is a host as status shows it.
type HostStatus struct {
	Name    string
	State   planner.HostState
	Standby bool
	// Pending is true until the host has been heard from since the
	// manager started.
	Pending bool
	// Fencing says a fence request is in progress or failing.
	Fencing string
	// LastSeen is the last heartbeat or message.
	LastSeen time.Time
	// PersistError is what the host's agent said it cannot persist ("" when
	// it can): it is reported, not fenced.
	PersistError string
}

// ResourceStatus is a resource as status shows it.
type ResourceStatus struct {
	ID      string
	Name    string
	Group   string
	Parent  string
	States  map[string]planner.Observed
	Fails   map[string]planner.Failure
	Fatal   string
	Blocked bool
}

// Status is a snapshot of the manager's view of the cluster.
type Status struct {
	Epoch       uint64
	Deposed     bool
	Maintenance bool
	Hosts       []HostStatus
	Resources   []ResourceStatus
	Placements  []planner.Placement
	// TargetRoles and Managed are each group's effective settings (the
	// configuration overridden by admin requests).
	TargetRoles map[string]model.Role
	Managed     map[string]bool
	Busy        bool
	OpenReports []Report
}
