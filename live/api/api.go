// Package api is the manager's administrative API as its clients see it:
// the JSON types of each endpoint and a client for the unix socket. The
// admin CLI links this package alone, not the state machines behind it.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Command is an administrative request's verb, as the manager names it.
type Command string

// Administrative commands.
const (
	CmdStart       Command = "start"       // group: target role started
	CmdStop        Command = "stop"        // group: target role stopped
	CmdMove        Command = "move"        // group to Host, optionally for Lifetime
	CmdBan         Command = "ban"         // group off Host, optionally for Lifetime
	CmdClear       Command = "clear"       // group: drop its moves and bans
	CmdManage      Command = "manage"      // group: act on it again
	CmdUnmanage    Command = "unmanage"    // group: monitor only
	CmdCleanup     Command = "cleanup"     // resource or group: forget failures, re-probe
	CmdStandby     Command = "standby"     // host: move everything off it
	CmdUnstandby   Command = "unstandby"   // host: may run resources again
	CmdMaintenance Command = "maintenance" // cluster: Flag on or off
	CmdFence       Command = "fence"       // host: fence it now
	// CmdPowerOff is basalt power off: the operator's fence of a host.
	CmdPowerOff Command = "power-off"
	// CmdPowerOn is basalt power on: the host's fence devices run "on".
	CmdPowerOn Command = "power-on"
	// CmdConfirmDown is basalt host confirm-down: the operator states
	// that the host's power is off, and it is taken as fenced.
	CmdConfirmDown Command = "confirm-down"
)

// PowerStatusView is GET /v1/power/{host}: each of the host's fence
// devices asked for its power state (basalt power status), read-only.
type PowerStatusView struct {
	Host  string    `json:"host"`
	Asked time.Time `json:"asked"`
	// Done: every device answered, or will not (Lost says why); false
	// when the manager gave up waiting first.
	Done    bool               `json:"done"`
	Devices []PowerReadingView `json:"devices"`
}

// PowerReadingView is one device's answer to a power status query.
type PowerReadingView struct {
	Device string `json:"device"`
	// Executor is the host that ran the device's agent ("" when none
	// could).
	Executor string `json:"executor,omitempty"`
	// State is ON (rc 0), OFF (rc 2) or UNKNOWN (anything else, a
	// timeout, or no answer).
	State   string `json:"state"`
	RC      int    `json:"rc"`
	Timeout bool   `json:"timeout,omitempty"`
	Output  string `json:"output,omitempty"`
	// Lost is why no answer came, if none did (RC means nothing then).
	Lost string `json:"lost,omitempty"`
}

// ReportClosed is the state of a report whose actions are all done.
const ReportClosed = "CLOSED"

// Request is the JSON body of POST /v1/requests.
type Request struct {
	Command  string `json:"command"`
	Target   string `json:"target"`
	Host     string `json:"host,omitempty"`
	Lifetime string `json:"lifetime,omitempty"`
	Flag     bool   `json:"flag,omitempty"`
	// All is a request of every host (standby, unstandby) or every group
	// (start, clear, manage, cleanup) at once, with no target (basalt host
	// standby --all, basalt resource cleanup --all).
	All bool `json:"all,omitempty"`
}

// StatusView is GET /v1/status: what `basalt status` shows.
type StatusView struct {
	Cluster     string   `json:"cluster"`
	Epoch       uint64   `json:"epoch"`
	Deposed     bool     `json:"deposed"`
	Maintenance bool     `json:"maintenance"`
	Healthy     bool     `json:"healthy"`
	Problems    []string `json:"problems,omitempty"`
	// PersistError, when set, is why the manager cannot persist its state
	// (a full or failing state directory): it is not acting until it can.
	PersistError string       `json:"persist_error,omitempty"`
	Hosts        []HostView   `json:"hosts"`
	Groups       []GroupView  `json:"groups"`
	OpenReports  []ReportView `json:"open_reports,omitempty"`
	// Constraints are the administrators' moves and bans in force.
	Constraints []ConstraintView `json:"constraints,omitempty"`
	Events      []Event          `json:"recent_events,omitempty"`
	// Role is this manager's with high availability (RoleLeader or
	// RoleStandby); empty for a single manager. A standby's status holds
	// only Role, Managers and Problems: it knows nothing of the cluster.
	Role string `json:"role,omitempty"`
	// Managers are the manager replicas, with high availability.
	Managers []ManagerView `json:"managers,omitempty"`
	// Config is the running configuration, so that a saved status is a
	// whole state (basalt simulate --state reads it); a standby leaves it
	// out.
	Config *ConfigView `json:"config,omitempty"`
}

// The roles of a manager with high availability (StatusView.Role).
const (
	RoleLeader  = "leader"
	RoleStandby = "standby"
)

// ManagerView is one manager replica, as etcd's election shows it.
type ManagerView struct {
	Name string `json:"name"`
	// Leader: this one leads (the oldest campaign of the election).
	Leader bool `json:"leader"`
	// Epoch is the revision of its campaign: the epoch it leads at, or
	// would if elected.
	Epoch uint64 `json:"epoch"`
	// LeaseLeft is how long its lease lives unless renewed, as etcd says.
	LeaseLeft string `json:"lease_left,omitempty"`
	// Self marks the manager that answered.
	Self bool `json:"self,omitempty"`
	// Following, on the standby that answered, is how many journal
	// records its warm manager has replayed (0: it has not read the
	// journal yet, and a takeover would replay all of it).
	Following int `json:"journal_records_followed,omitempty"`
}

// HostView is one host in the status.
type HostView struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	Standby  bool   `json:"standby,omitempty"`
	Pending  bool   `json:"pending,omitempty"`
	Fencing  string `json:"fencing,omitempty"`
	LastSeen string `json:"last_seen,omitempty"`
	// PersistError is what the host's agent cannot persist, if anything.
	PersistError string `json:"persist_error,omitempty"`
	// Attributes are the host's node attributes (crm_mon -A's "Node
	// Attributes"), sorted by name.
	Attributes []AttrView `json:"attributes,omitempty"`
}

// AttrView is one node attribute's value.
type AttrView struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Lifetime is "reboot" (until the host reboots, is fenced or lost)
	// or "forever".
	Lifetime string `json:"lifetime"`
}

// AttrRequest is basalt host attr's change (POST /v1/attrs): set Name on
// Host to Value, or delete it, for Lifetime ("forever" when empty, as
// crm_attribute --node sets).
type AttrRequest struct {
	Host     string `json:"host"`
	Name     string `json:"name"`
	Value    string `json:"value,omitempty"`
	Delete   bool   `json:"delete,omitempty"`
	Lifetime string `json:"lifetime,omitempty"`
}

// ConstraintView is a move or ban in force, as the status shows it
// (crm_mon's location constraints from crm_resource --move and --ban).
type ConstraintView struct {
	// Kind is "move" (the group prefers Host) or "ban" (it stays off it).
	Kind  string `json:"kind"`
	Group string `json:"group"`
	Host  string `json:"host"`
	// Until is when it ends; left out when it lasts until cleared.
	Until time.Time `json:"until,omitzero"`
	// By is the report of the request that set it, and Request that
	// request as typed, while the manager still holds its report.
	By      string `json:"by,omitempty"`
	Request string `json:"request,omitempty"`
}

// GroupView is one group in the status, its resources as a tree.
type GroupView struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Target     string   `json:"target_role"`
	Managed    bool     `json:"managed"`
	Placed     []string `json:"placed_on"`
	Preferred  string   `json:"preferred_host"`
	FailedOver bool     `json:"failed_over"`
	Note       string   `json:"note,omitempty"`
	// Orphan: the group is configured no more (removed from the file, or
	// found running at start-up and never configured); it is stopping,
	// and leaves the status once stopped everywhere.
	Orphan    bool           `json:"orphan,omitempty"`
	Resources []ResourceView `json:"resources"`
}

// ResourceView is one resource in the status.
type ResourceView struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Depth     int               `json:"depth"`
	RunningOn []string          `json:"running_on"`
	States    map[string]string `json:"states"`
	// Roles are, for a promotable clone's resource, each host's role
	// where it is active: "Promoted" or "Unpromoted" (States keeps
	// "running" for both, as before). PromotedOn lists the hosts where it
	// runs promoted, sorted.
	Roles      map[string]string `json:"roles,omitempty"`
	PromotedOn []string          `json:"promoted_on,omitempty"`
	FailCount  map[string]int    `json:"fail_counts,omitempty"`
	Fatal      string            `json:"fatal,omitempty"`
	Blocked    bool              `json:"blocked,omitempty"`
	// Agent is the resource's OCF agent, ocf:PROVIDER:TYPE.
	Agent string `json:"agent,omitempty"`
	// Params are the parameters the configuration gives the agent.
	Params map[string]string `json:"params,omitempty"`
	// Failures are its failed actions by host (crm_mon's "Failed
	// Resource Actions"), by host name.
	Failures []FailedAction `json:"failures,omitempty"`
}

// WhyView is GET /v1/why/{group}: where the group is placed and each
// host's score broken into its parts, as Pacemaker's crm_simulate -s shows
// allocation scores.
type WhyView struct {
	Group string `json:"group"`
	// Why is the planner's own text: its decision and one line per host.
	Why string `json:"why"`
	// Placed are the hosts chosen, best first; none when it runs nowhere.
	Placed []string `json:"placed_on"`
	// Note says why the group gets no actions, when it gets none on
	// purpose (blocked, unmanaged, waiting for probes or fencing).
	Note string `json:"note,omitempty"`
	// Scores are every host the planner considered, in host order; none
	// when it did not score them (Note says why).
	Scores []HostScore `json:"scores"`
	// Promoted and Promotion are, for a promotable clone, the hosts whose
	// instance is (or is to be) promoted, and the planner's lines on each
	// instance's promotion score and why it is or is not promoted.
	Promoted  []string `json:"promoted_on,omitempty"`
	Promotion []string `json:"promotion,omitempty"`
}

// HostScore is one host's score for a group, with its parts.
type HostScore struct {
	Host string `json:"host"`
	// Allowed: the group may run there; the highest Total among the
	// allowed hosts wins. A host not allowed has no total (Pacemaker's
	// -INFINITY); its parts say why.
	Allowed bool `json:"allowed"`
	Total   int  `json:"total"`
	// Chosen: the planner placed the group there.
	Chosen bool        `json:"chosen,omitempty"`
	Parts  []ScorePart `json:"parts"`
}

// ScorePart is one term of a host's score, in words.
type ScorePart struct {
	What  string `json:"what"`
	Value int    `json:"value"`
	// NotAllowed: this part forbids the host whatever the rest
	// (-INFINITY); Value means nothing then.
	NotAllowed bool `json:"not_allowed,omitempty"`
}

// FailedAction is what failed last of a resource on one host, with its
// fail count.
type FailedAction struct {
	Host  string `json:"host"`
	Count int    `json:"count"`
	// Hard: the host is banned for the resource whatever the count (a
	// start failure, or an agent saying it cannot run there).
	Hard bool `json:"hard,omitempty"`
	// Op is the failed operation's kind: probe, start, stop or monitor.
	Op   string    `json:"op,omitempty"`
	Last time.Time `json:"last,omitzero"`
	// What is the failure as the agent reported it: the operation, its
	// status, rc and exit reason (empty once the event that told it has
	// left the manager's recent events).
	What string `json:"what,omitempty"`
}

// FenceHistoryEntry is one finished fence request, as GET
// /v1/fence-history shows it (oldest first): Pacemaker's stonith_admin
// --history.
type FenceHistoryEntry struct {
	Target string `json:"target"`
	Action string `json:"action"`
	// Origins are who asked: the manager's reasons or an admin request,
	// several when requests merged into one fencing.
	Origins   []string  `json:"origins"`
	Requested time.Time `json:"requested"`
	Completed time.Time `json:"completed"`
	OK        bool      `json:"ok"`
	// Reason is why it failed, or what confirmed it.
	Reason string `json:"reason,omitempty"`
	// Devices are the fence devices that fenced the target.
	Devices []string `json:"devices,omitempty"`
	// Executors are the hosts that ran the devices.
	Executors []string `json:"executors,omitempty"`
}

// FenceDeviceView is one configured fence device, as GET
// /v1/fence-devices shows it (stonith_admin --list-registered, with each
// device's last monitor).
type FenceDeviceView struct {
	ID    string `json:"id"`
	Agent string `json:"agent"`
	// Plugs maps each host the device can fence to its plug.
	Plugs map[string]string `json:"plugs"`
	// Checks are the device's last monitor from each host that ran one,
	// in host order; none before any host has joined.
	Checks []DeviceCheckView `json:"checks"`
}

// DeviceCheckView is a fence device's last monitor from one host.
type DeviceCheckView struct {
	Host string    `json:"host"`
	At   time.Time `json:"at"`
	// OK: the agent answered (exit 0 within its timeout).
	OK      bool   `json:"ok"`
	RC      int    `json:"rc"`
	Timeout bool   `json:"timeout,omitempty"`
	Output  string `json:"output,omitempty"`
	// Lost is why no answer came, if none did (RC means nothing then).
	Lost string `json:"lost,omitempty"`
}

// ReportView is a report as the API shows it.
type ReportView struct {
	ID string `json:"id"`
	// Kind is the request's command (move, ban, standby, fence...).
	Kind    string            `json:"kind,omitempty"`
	Request string            `json:"request"`
	State   string            `json:"state"`
	Created time.Time         `json:"created"`
	Closed  time.Time         `json:"closed,omitzero"`
	Failed  bool              `json:"failed"`
	Results map[string]string `json:"results,omitempty"`
	// Order lists the keys of Results as the report reads (a JSON
	// object's keys have no order): hosts, then each group's resources
	// in start order, then the verdict.
	Order []string `json:"order,omitempty"`
}

// Event is one entry of the manager's event log, as GET /v1/events and the
// status show it.
type Event struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	Host     string    `json:"host,omitempty"`
	Group    string    `json:"group,omitempty"`
	Resource string    `json:"resource,omitempty"`
	// Name is the resource's human name, so that the log reads on its own.
	Name    string    `json:"name,omitempty"`
	Report  string    `json:"report,omitempty"`
	Message string    `json:"message,omitempty"`
	Until   time.Time `json:"until,omitzero"`
	Count   int       `json:"count,omitempty"`
	Flag    bool      `json:"flag,omitempty"`
	Role    string    `json:"role,omitempty"`
	// Manager is the replica of a leadership event (takeover, resigned,
	// manager-started) with manager replicas.
	Manager string `json:"manager,omitempty"`
}

// String renders an event on one line, as `basalt events` prints it.
func (e Event) String() string {
	s := fmt.Sprintf("%s #%d %s", e.Time.UTC().Format(time.RFC3339), e.Seq, e.Kind)
	for _, kv := range [][2]string{{"host", e.Host}, {"group", e.Group}, {"resource", e.Resource}, {"name", e.Name}, {"report", e.Report}, {"manager", e.Manager}} {
		if kv[1] != "" {
			v := kv[1]
			if strings.ContainsAny(v, " \t\"") {
				v = strconv.Quote(v)
			}
			s += " " + kv[0] + "=" + v
		}
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Client talks to a manager's admin socket.
type Client struct {
	c      *http.Client
	socket string
	// err, when set, is every request's answer (LeaderClient found no
	// manager).
	err error
}

// UnreachableError is a request that got no answer from the manager: no
// socket at the path, nobody listening there, no permission, or the
// connection broken before the answer.
type UnreachableError struct {
	// Socket is the path tried.
	Socket string
	// Err is the cause, as the system reported it.
	Err error
}

// Error names the socket and the likely reasons, without the HTTP request
// the client made of it (an operator typed no URL).
func (e *UnreachableError) Error() string {
	why := "no answer: the manager may have stopped, or this is not its socket"
	switch {
	case errors.Is(e.Err, syscall.ENOENT):
		why = "no socket there: the manager is not running, or listens on another socket"
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		why = "nothing listens there: the manager is not running (the socket is a stale one), or listens on another socket"
	case errors.Is(e.Err, syscall.EACCES), errors.Is(e.Err, syscall.EPERM):
		why = "permission denied: the socket is its owner's only (mode 0600); run as the manager's user"
	case errors.Is(e.Err, syscall.ENOTSOCK):
		why = "that is not a socket"
	}
	return fmt.Sprintf("manager not reachable at %s: %s (%v)", e.Socket, why, e.Err)
}

// Unwrap returns the cause.
func (e *UnreachableError) Unwrap() error { return e.Err }

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	return &Client{socket: path, c: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}
}

// probeTimeout bounds LeaderClient's question to each socket.
const probeTimeout = 2 * time.Second

// LeaderClient returns a client of the manager that leads among the admin
// sockets in paths (manager high availability: each replica serves one),
// so that an operator never needs to know which one leads. Without a
// leader among them it returns the first that answers (a standby: its
// status and refusals say why nothing leads); when none answers, a client
// whose every request fails with an UnreachableError naming every socket.
// One path is used as it is.
func LeaderClient(paths []string) *Client {
	if len(paths) == 1 {
		return NewClient(paths[0])
	}
	var first *Client
	var errs []string
	for _, p := range paths {
		c := NewClient(p)
		// A frozen manager accepts on its socket and never answers: the
		// probe must not wait for it.
		v, err := NewClientTimeout(p, probeTimeout).Status()
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if v.Role != RoleStandby {
			return c
		}
		if first == nil {
			first = c
		}
	}
	if first != nil {
		return first
	}
	all := strings.Join(paths, ",")
	return &Client{socket: all, err: &UnreachableError{Socket: all, Err: errors.New(strings.Join(errs, "; "))}}
}

// NewClientTimeout is NewClient with every request bounded by timeout: a
// manager frozen (SIGSTOP) still accepts on its socket, and never answers.
func NewClientTimeout(path string, timeout time.Duration) *Client {
	c := NewClient(path)
	c.c.Timeout = timeout
	return c
}

// Status returns the cluster's status (GET /v1/status).
func (a *Client) Status() (StatusView, error) {
	var v StatusView
	err := a.Do("GET", "/v1/status", nil, &v)
	return v, err
}

// Events returns the events with a sequence number above after (0: from
// the oldest kept), the n latest of them when n > 0, oldest first.
func (a *Client) Events(after uint64, n int) ([]Event, error) {
	q := url.Values{}
	if after > 0 {
		q.Set("after", strconv.FormatUint(after, 10))
	}
	if n > 0 {
		q.Set("n", strconv.Itoa(n))
	}
	path := "/v1/events"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var evs []Event
	err := a.Do("GET", path, nil, &evs)
	return evs, err
}

// Reports returns every report the manager remembers, oldest first (GET
// /v1/reports).
func (a *Client) Reports() ([]ReportView, error) {
	var reps []ReportView
	err := a.Do("GET", "/v1/reports", nil, &reps)
	return reps, err
}

// FenceDevices returns the configured fence devices with their last
// monitors (GET /v1/fence-devices).
func (a *Client) FenceDevices() ([]FenceDeviceView, error) {
	var ds []FenceDeviceView
	err := a.Do("GET", "/v1/fence-devices", nil, &ds)
	return ds, err
}

// FenceHistory returns the finished fence requests the manager remembers,
// oldest first (GET /v1/fence-history).
func (a *Client) FenceHistory() ([]FenceHistoryEntry, error) {
	var h []FenceHistoryEntry
	err := a.Do("GET", "/v1/fence-history", nil, &h)
	return h, err
}

// PowerStatus asks the manager for host's power state from each of its
// fence devices (GET /v1/power/{host}): the devices run now, so the answer
// takes up to the fence timeout.
func (a *Client) PowerStatus(host string) (PowerStatusView, error) {
	var v PowerStatusView
	err := a.Do("GET", "/v1/power/"+url.PathEscape(host), nil, &v)
	return v, err
}

// Attributes returns host's node attributes (GET /v1/attrs/{host}).
func (a *Client) Attributes(host string) ([]AttrView, error) {
	var v []AttrView
	err := a.Do("GET", "/v1/attrs/"+url.PathEscape(host), nil, &v)
	return v, err
}

// SetAttribute makes an attribute change (POST /v1/attrs) and returns the
// host's attributes after it.
func (a *Client) SetAttribute(r AttrRequest) ([]AttrView, error) {
	var v []AttrView
	err := a.Do("POST", "/v1/attrs", r, &v)
	return v, err
}

// Do performs a request and decodes the JSON answer into out; an error
// answer becomes an error carrying the manager's message.
func (a *Client) Do(method, path string, body any, out any) error {
	if a.err != nil {
		return a.err
	}
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = strings.NewReader(string(data))
	}
	req, err := http.NewRequest(method, "http://basalt"+path, rd)
	if err != nil {
		return err
	}
	resp, err := a.c.Do(req)
	if err != nil {
		// The *url.Error would lead with `Get "http://basalt/v1/..."`, and
		// the *net.OpError repeat the socket path: the cause is the rest.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var oe *net.OpError
		if errors.As(err, &oe) {
			err = oe.Err
			var se *os.SyscallError
			if errors.As(err, &se) {
				err = se.Err
			}
		}
		return &UnreachableError{Socket: a.socket, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("manager answered %s", resp.Status)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
