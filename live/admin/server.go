// Package admin serves the manager's administrative API (package api holds
// its types and client) as JSON over HTTP on a unix socket.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/basalt-ha/basalt/core/fencer"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/live/daemon"
)

// Status builds the status view of a manager daemon: its state machine's
// snapshot, with the problems an operator must see spelled out.
func Status(d *daemon.ManagerDaemon) api.StatusView {
	var v api.StatusView
	d.View(func(m *manager.Manager) {
		// The model is read with the state, in one View: an applied
		// configuration never shows half old, half new.
		cm := m.Model()
		st := m.Status()
		evs := m.Events()
		v = api.StatusView{Cluster: cm.Cluster.Name, Epoch: st.Epoch, Deposed: st.Deposed, Maintenance: st.Maintenance}
		text, version := d.ViewConfig(m)
		v.Config = &api.ConfigView{Version: version, Text: text}
		attrs := m.Attributes()
		for _, h := range st.Hosts {
			hv := api.HostView{Name: h.Name, State: string(h.State), Standby: h.Standby, Pending: h.Pending, Fencing: h.Fencing,
				PersistError: h.PersistError, Attributes: attrViews(attrs[h.Name])}
			if !h.LastSeen.IsZero() {
				hv.LastSeen = h.LastSeen.UTC().Format(time.RFC3339)
			}
			v.Hosts = append(v.Hosts, hv)
			if h.State != planner.Online {
				v.Problems = append(v.Problems, fmt.Sprintf("host %s is %s", h.Name, h.State))
			}
			if h.Fencing != "" {
				v.Problems = append(v.Problems, fmt.Sprintf("host %s: fencing %s", h.Name, h.Fencing))
			}
			if h.PersistError != "" {
				v.Problems = append(v.Problems, fmt.Sprintf("host %s cannot persist its records (%s): its commands wait; it is not fenced for it", h.Name, h.PersistError))
			}
		}
		rs := map[string]manager.ResourceStatus{}
		for _, r := range st.Resources {
			rs[r.ID] = r
		}
		placed := map[string]planner.Placement{}
		for _, p := range st.Placements {
			placed[p.Group] = p
		}
		for gi := range cm.Groups {
			g := &cm.Groups[gi]
			gv := api.GroupView{ID: g.ID, Name: g.Name, Target: string(st.TargetRoles[g.ID]), Managed: st.Managed[g.ID],
				Placed: placed[g.ID].Hosts, Note: placed[g.ID].Note, Orphan: g.Orphan}
			if len(g.Placement.Domain.Hosts) > 0 {
				gv.Preferred = g.Placement.Domain.Hosts[0].Host
			}
			want := st.TargetRoles[g.ID]
			for _, id := range g.StartOrder() {
				r := rs[id]
				res, _ := cm.Resource(id)
				rv := api.ResourceView{ID: id, Name: res.Name, Depth: len(g.Ancestors(id)), States: map[string]string{},
					FailCount: map[string]int{}, Fatal: r.Fatal, Blocked: r.Blocked, Agent: res.Agent.String(), Params: maps.Clone(res.Params)}
				for h, o := range r.States {
					rv.States[h] = string(o.State)
					if o.State == planner.Running {
						rv.RunningOn = append(rv.RunningOn, h)
					}
				}
				sort.Strings(rv.RunningOn)
				rv.Roles, rv.PromotedOn = rolesOf(g, r.States)
				if pm := min(g.Placement.Clone.PromotedMax, len(rv.RunningOn)); g.Placement.Clone.Promotable && want == "started" && len(rv.PromotedOn) != pm {
					v.Problems = append(v.Problems, fmt.Sprintf("%s (%s) is promoted on %d hosts, wanted %d", id, res.Name, len(rv.PromotedOn), pm))
				}
				for h, f := range r.Fails {
					rv.FailCount[h] = f.Count
				}
				rv.Failures = failedActions(r, evs)
				if len(rv.RunningOn) > 0 && rv.RunningOn[0] != gv.Preferred {
					gv.FailedOver = true
				}
				if want == "started" && len(rv.RunningOn) != g.Placement.MaxInstances {
					v.Problems = append(v.Problems, fmt.Sprintf("%s (%s) runs on %d hosts, wanted %d", id, res.Name, len(rv.RunningOn), g.Placement.MaxInstances))
				}
				if r.Blocked || r.Fatal != "" {
					v.Problems = append(v.Problems, fmt.Sprintf("%s (%s) needs a cleanup", id, res.Name))
				}
				gv.Resources = append(gv.Resources, rv)
			}
			v.Groups = append(v.Groups, gv)
		}
		for _, r := range st.OpenReports {
			v.OpenReports = append(v.OpenReports, reportView(r))
		}
		for _, c := range m.Constraints(d.Now()) {
			cv := api.ConstraintView{Kind: c.Kind, Group: c.Group, Host: c.Host, Until: c.Until, By: c.By}
			if rep, ok := m.Report(c.By); ok {
				cv.Request = rep.Request
			}
			v.Constraints = append(v.Constraints, cv)
		}
		v.Events = events(evs[max(0, len(evs)-10):])
		if st.Deposed {
			v.Problems = append(v.Problems, "this manager was superseded by a newer one")
		}
		if !m.Idle() {
			v.Problems = append(v.Problems, "transition in progress")
		}
	})
	if since, err := d.PersistError(); err != nil {
		v.PersistError = err.Error()
		v.Problems = append([]string{fmt.Sprintf("the manager cannot persist its state since %s (%v): it is not acting, refuses requests and retries",
			since.UTC().Format(time.RFC3339), err)}, v.Problems...)
	}
	v.Healthy = len(v.Problems) == 0
	return v
}

// failedActions are a resource's failures by host: its fail count and
// policy facts from the manager's records, and what failed from the latest
// failure event of that host in evs (its operation, status, rc and the
// agent's exit reason).
func failedActions(r manager.ResourceStatus, evs []manager.Event) []api.FailedAction {
	var out []api.FailedAction
	for h, f := range r.Fails {
		if f.Last.IsZero() {
			continue
		}
		fa := api.FailedAction{Host: h, Count: f.Count, Hard: f.Hard, Op: string(f.Op), Last: f.Last.UTC()}
		for i := len(evs) - 1; i >= 0; i-- {
			if e := evs[i]; e.Kind == "failure" && e.Resource == r.ID && e.Host == h {
				fa.What = e.Message
				break
			}
		}
		out = append(out, fa)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}

// Server serves the administrative API, JSON over HTTP on a unix
// socket (curl --unix-socket works).
type Server struct {
	srv  *http.Server
	l    net.Listener
	path string
}

// Serve listens on the unix socket at path (mode, e.g. 0600). A stale
// socket left by a crashed manager is replaced; one in use is an error, and
// so is anything at path that is not a socket (a mistyped --socket must not
// delete the operator's file).
func Serve(d *daemon.ManagerDaemon, path string, mode os.FileMode, log *slog.Logger) (*Server, error) {
	return ServeSource(Single(d), path, mode, log)
}

// Source is what the admin API serves: the manager daemon that acts, and
// with manager high availability the replicas of the cluster's manager.
type Source interface {
	// Daemon is the daemon that acts; nil while this manager stands by.
	Daemon() *daemon.ManagerDaemon
	// Managers lists the manager replicas (nil without high
	// availability).
	Managers() []api.ManagerView
}

// Single is the Source of a manager without high availability.
func Single(d *daemon.ManagerDaemon) Source { return single{d} }

type single struct{ d *daemon.ManagerDaemon }

func (s single) Daemon() *daemon.ManagerDaemon { return s.d }
func (s single) Managers() []api.ManagerView   { return nil }

// ServeSource is Serve for a Source: while it has no daemon (a standby),
// status says who leads and every other request is refused, naming the
// leader, with 503 (the leader answers it).
func ServeSource(src Source, path string, mode os.FileMode, log *slog.Logger) (*Server, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode().Type() != fs.ModeSocket {
		return nil, fmt.Errorf("admin socket %s: a %s is there, not a socket; refusing to replace it", path, fileKind(fi))
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("admin socket %s is in use by another manager", path)
	} else if errors.Is(err, syscall.ECONNREFUSED) {
		_ = os.Remove(path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	mux := http.NewServeMux()
	// handle routes a request to the acting daemon, or refuses it on a
	// standby.
	handle := func(pattern string, h func(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			d := src.Daemon()
			if d == nil {
				w.Header().Set("Retry-After", "1")
				fail(w, http.StatusServiceUnavailable, errors.New(StandbyRefusal(src.Managers())))
				return
			}
			h(w, r, d)
		})
	}
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		ms := src.Managers()
		if d := src.Daemon(); d != nil {
			v := Status(d)
			if ms != nil {
				v.Role, v.Managers = api.RoleLeader, ms
			}
			reply(w, http.StatusOK, v)
			return
		}
		reply(w, http.StatusOK, StandbyStatus(ms))
	})
	handle("GET /v1/events", serveEvents)
	handle("GET /v1/fence-history", serveFenceHistory)
	handle("GET /v1/fence-devices", serveFenceDevices)
	handle("GET /v1/why/{group}", serveWhy)
	handle("GET /v1/reports", serveReports)
	handle("GET /v1/reports/{id}", serveReport)
	handle("POST /v1/requests", serveRequest(log))
	handle("GET /v1/power/{host}", servePowerStatus)
	handle("GET /v1/attrs/{host}", serveAttrs)
	handle("POST /v1/attrs", serveSetAttr(log))
	handle("GET /v1/config", serveConfig)
	handle("POST /v1/config/preview", serveConfigPreview)
	handle("POST /v1/config/apply", serveConfigApply(log))
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ConnContext: withConn}, l: l, path: path}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// reply answers v as indented JSON with code.
func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// fail answers err's message with code.
func fail(w http.ResponseWriter, code int, err error) {
	reply(w, code, map[string]string{"error": err.Error()})
}

// serveEvents is GET /v1/events[?after=SEQ][&n=N]: the event log, oldest first.
func serveEvents(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
	q := r.URL.Query()
	// after=SEQ is what a follower asks: everything it has not seen,
	// however many came since its last poll (n alone could skip some).
	var after uint64
	if a := q.Get("after"); a != "" {
		var err error
		if after, err = strconv.ParseUint(a, 10, 64); err != nil {
			fail(w, http.StatusBadRequest, fmt.Errorf("after=%q: want an event sequence number", a))
			return
		}
	}
	var evs []api.Event
	d.View(func(m *manager.Manager) { evs = events(m.Events()) })
	// Sequence numbers grow along the log: the first one above after
	// starts what is asked.
	evs = evs[sort.Search(len(evs), func(i int) bool { return evs[i].Seq > after }):]
	if n, err := strconv.Atoi(q.Get("n")); err == nil && n > 0 && n < len(evs) {
		evs = evs[len(evs)-n:]
	}
	reply(w, http.StatusOK, evs)
}

// serveFenceHistory is GET /v1/fence-history: the finished fence requests.
func serveFenceHistory(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
	var out []api.FenceHistoryEntry
	d.View(func(m *manager.Manager) { out = fenceHistory(m.FenceHistory()) })
	reply(w, http.StatusOK, out)
}

// serveFenceDevices is GET /v1/fence-devices: every configured device,
// in configuration order, with its last monitor from each host.
func serveFenceDevices(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
	var checks []manager.DeviceCheck
	var devs []model.FenceDevice
	d.View(func(m *manager.Manager) { checks, devs = m.DeviceChecks(), m.Model().FenceDevices })
	out := []api.FenceDeviceView{}
	for _, dev := range devs {
		v := api.FenceDeviceView{ID: dev.ID, Agent: dev.Agent, Plugs: maps.Clone(dev.Plugs), Checks: []api.DeviceCheckView{}}
		for _, c := range checks {
			if c.Device == dev.ID {
				v.Checks = append(v.Checks, api.DeviceCheckView{Host: c.Host, At: c.At, OK: c.OK, RC: c.RC, Timeout: c.Timeout,
					Output: c.Output, Lost: c.Lost})
			}
		}
		out = append(out, v)
	}
	reply(w, http.StatusOK, out)
}

// serveWhy is GET /v1/why/{group}: why the group is placed where it is,
// each host's score broken into its parts (api.WhyView).
func serveWhy(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
	group := r.PathValue("group")
	var v api.WhyView
	var ok bool
	var noGroup error
	exists := false
	d.View(func(m *manager.Manager) {
		_, exists = m.Model().Group(group)
		var why string
		if why, ok = m.Why(group); !ok {
			noGroup = m.NoGroup(group)
			return
		}
		st := m.Status()
		fails := map[string]map[string]planner.Failure{}
		for _, rs := range st.Resources {
			fails[rs.ID] = rs.Fails
		}
		for _, pl := range st.Placements {
			if pl.Group == group {
				v = whyView(m.Model(), pl, why, fails, d.Now())
			}
		}
	})
	if !ok && exists {
		// A group the manager has not placed yet, not a wrong name.
		fail(w, http.StatusNotFound, fmt.Errorf("group %q: no placement planned yet; try again in a moment", group))
		return
	}
	if !ok {
		fail(w, http.StatusNotFound, noGroup)
		return
	}
	reply(w, http.StatusOK, v)
}

// serveReports is GET /v1/reports: every report the manager remembers,
// oldest first.
func serveReports(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
	out := []api.ReportView{}
	d.View(func(m *manager.Manager) {
		for _, rep := range m.Reports() {
			out = append(out, reportView(rep))
		}
	})
	reply(w, http.StatusOK, out)
}

// serveReport is GET /v1/reports/{id}[?wait=D]: a report, waited for until
// CLOSED at most wait (10 minutes).
func serveReport(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
	wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
	var rep manager.Report
	found := true
	awaitChange(r, d, time.Now().Add(min(wait, 10*time.Minute)), func() bool {
		d.View(func(m *manager.Manager) { rep, found = m.Report(r.PathValue("id")) })
		return !found || rep.State == manager.ReportClosed
	})
	switch {
	case r.Context().Err() != nil:
	case !found:
		fail(w, http.StatusNotFound, fmt.Errorf("no report %q", r.PathValue("id")))
	default:
		reply(w, http.StatusOK, reportView(rep))
	}
}

// awaitChange waits until done says so, the deadline passes or the
// request ends, asking done again whenever the daemon's state changes
// (never polling).
func awaitChange(r *http.Request, d *daemon.ManagerDaemon, deadline time.Time, done func() bool) {
	for {
		ch := d.Changed()
		if done() || !time.Now().Before(deadline) {
			return
		}
		select {
		case <-ch:
		case <-time.After(time.Until(deadline)):
		case <-r.Context().Done():
			return
		}
	}
}

// powerWaitSlack is added to the fence timeout to bound how long a power
// status answer waits: the manager itself gives up on a device a little
// before.
const powerWaitSlack = 15 * time.Second

// servePowerStatus is GET /v1/power/{host}: each of the host's fence
// devices asked for its power state now; answered when every device has
// (or will not), at most the fence timeout and a slack later.
func servePowerStatus(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
	id, err := d.PowerStatus(r.PathValue("host"))
	if refused(w, err) {
		return
	}
	var q manager.PowerQuery
	awaitChange(r, d, time.Now().Add(d.Model().Cluster.FenceTimeout+powerWaitSlack), func() bool {
		d.View(func(m *manager.Manager) { q, _ = m.Query(id) })
		return q.Done
	})
	if r.Context().Err() == nil {
		reply(w, http.StatusOK, powerView(q))
	}
}

// powerView is a power status query as the API shows it.
func powerView(q manager.PowerQuery) api.PowerStatusView {
	v := api.PowerStatusView{Host: q.Host, Asked: q.Asked, Done: q.Done, Devices: []api.PowerReadingView{}}
	for _, rd := range q.Readings {
		pr := api.PowerReadingView{Device: rd.Device, Executor: rd.Executor, State: rd.State, RC: rd.RC, Timeout: rd.Timeout,
			Output: rd.Output, Lost: rd.Lost}
		if !rd.Done {
			pr.Lost = "no answer yet when the manager stopped waiting"
		}
		v.Devices = append(v.Devices, pr)
	}
	return v
}

// refused answers a request the daemon refused (err non-nil) and reports
// whether it did: 503 while the manager cannot act on it (it cannot
// persist, or no longer leads: not the request's fault, and not for ever,
// so the client may retry), 400 otherwise.
func refused(w http.ResponseWriter, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, daemon.ErrCannotPersist) || errors.Is(err, daemon.ErrNotLeading):
		w.Header().Set("Retry-After", "5")
		fail(w, http.StatusServiceUnavailable, err)
	default:
		fail(w, http.StatusBadRequest, err)
	}
	return true
}

// serveRequest is POST /v1/requests: an admin request, answered with its
// report's ID (202), refused with 400, or with 503 while the manager
// cannot act on it (it cannot persist, or no longer leads).
func serveRequest(log *slog.Logger) func(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
	return func(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
		req, code, err := decodeRequest(w, r)
		if err != nil {
			fail(w, code, err)
			return
		}
		mreq := manager.Request{Command: manager.Command(req.Command), Target: req.Target, Host: req.Host, Flag: req.Flag, All: req.All, By: peer(r)}
		if req.Lifetime != "" {
			lt, err := time.ParseDuration(req.Lifetime)
			if err != nil {
				fail(w, http.StatusBadRequest, fmt.Errorf("lifetime %q: %w", req.Lifetime, err))
				return
			}
			mreq.Lifetime = lt
		}
		id, err := d.Admin(mreq)
		if refused(w, err) {
			return
		}
		log.Info("admin request", "request", mreq.String(), "report", id, "by", mreq.By)
		reply(w, http.StatusAccepted, map[string]string{"report": id})
	}
}

// Close stops serving and removes the socket.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if fi, serr := os.Lstat(s.path); serr == nil && fi.Mode().Type() == fs.ModeSocket {
		_ = os.Remove(s.path)
	}
	return err
}

// maxRequestBody bounds an admin request's body: a request is a few short
// strings, and a client must not make the manager buffer without limit.
const maxRequestBody = 64 << 10

// decodeRequest reads exactly one JSON object with known fields from the
// body, and says which HTTP status a bad body deserves: too large is 413,
// anything else malformed (unknown fields, trailing data) is 400.
func decodeRequest(w http.ResponseWriter, r *http.Request) (api.Request, int, error) {
	var req api.Request
	code, err := decodeBody(w, r, maxRequestBody, &req)
	return req, code, err
}

// decodeBody decodes the body into v as decodeRequest does, the body
// bounded by limit bytes.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) (int, error) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// A second value, or anything but white space after the object, is
		// a client bug that must not be half-obeyed.
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("unexpected data after the JSON object")
			if errors.As(terr, new(*http.MaxBytesError)) {
				err = terr
			}
		}
	}
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, fmt.Errorf("request too large: the limit is %d bytes", tooLarge.Limit)
	default:
		return http.StatusBadRequest, fmt.Errorf("request body: %w", err)
	}
}

// fileKind names what a file is, for an error message.
func fileKind(fi fs.FileInfo) string {
	switch t := fi.Mode().Type(); {
	case t.IsRegular():
		return "regular file"
	case t&fs.ModeDir != 0:
		return "directory"
	case t&fs.ModeSymlink != 0:
		return "symbolic link"
	default:
		return "file of mode " + t.String()
	}
}

// reportView is a report as the API shows it.
func reportView(r manager.Report) api.ReportView {
	kind, _, _ := strings.Cut(r.Request, " ")
	return api.ReportView{ID: r.ID, Kind: kind, Request: r.Request, State: string(r.State), Created: r.Created, Closed: r.Closed, Failed: r.Failed, Results: r.Results, Order: r.Order}
}

// fenceHistory converts the fencer's history to the API's; its slices are
// copied, for the answer is encoded after the View that read them.
func fenceHistory(h []fencer.HistoryEntry) []api.FenceHistoryEntry {
	out := make([]api.FenceHistoryEntry, len(h))
	for i, e := range h {
		out[i] = api.FenceHistoryEntry{Target: e.Target, Action: string(e.Action), Origins: slices.Clone(e.Origins),
			Requested: e.Requested, Completed: e.Completed, OK: e.OK, Reason: e.Reason,
			Devices: slices.Clone(e.Devices), Executors: slices.Clone(e.Executors)}
	}
	return out
}

// events converts the manager's event log entries to the API's.
func events(evs []manager.Event) []api.Event {
	out := make([]api.Event, len(evs))
	for i, e := range evs {
		out[i] = api.Event{Seq: e.Seq, Time: e.Time, Kind: e.Kind, Host: e.Host, Group: e.Group, Resource: e.Resource,
			Name: e.Name, Report: e.Report, Message: e.Message, Until: e.Until, Count: e.Count, Flag: e.Flag, Role: e.Role,
			Manager: e.Manager}
	}
	return out
}

// StandbyStatus is the status a standby manager answers: who leads, and
// the one problem that this manager does not act.
func StandbyStatus(ms []api.ManagerView) api.StatusView {
	v := api.StatusView{Role: api.RoleStandby, Managers: ms}
	v.Problems = []string{StandbyRefusal(ms)}
	return v
}

// StandbyRefusal says that this manager stands by, and who leads.
func StandbyRefusal(ms []api.ManagerView) string {
	for _, m := range ms {
		if m.Leader {
			return fmt.Sprintf("this manager stands by: %s leads (epoch %d); ask it, or list every manager's socket in --socket", m.Name, m.Epoch)
		}
	}
	return "this manager stands by and no manager leads now (an election is under way, or etcd cannot be reached): nothing acts until one does"
}

// attrViews are one host's attributes as the API shows them.
func attrViews(as []proto.Attribute) []api.AttrView {
	var out []api.AttrView
	for _, a := range as {
		out = append(out, api.AttrView{Name: a.Name, Value: a.Value, Lifetime: string(a.Lifetime)})
	}
	return out
}

// serveAttrs is GET /v1/attrs/{host}: the host's node attributes.
func serveAttrs(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
	host := r.PathValue("host")
	var out []api.AttrView
	known := false
	d.View(func(m *manager.Manager) {
		_, known = m.Model().Host(host)
		out = attrViews(m.Attributes()[host])
	})
	if !known {
		fail(w, http.StatusNotFound, fmt.Errorf("no host %q is configured", host))
		return
	}
	if out == nil {
		out = []api.AttrView{}
	}
	reply(w, http.StatusOK, out)
}

// serveSetAttr is POST /v1/attrs: an operator's attribute change, answered
// with the host's attributes after it (200), refused with 400 (or 503
// while the manager cannot act).
func serveSetAttr(log *slog.Logger) func(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
	return func(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
		var req api.AttrRequest
		if code, err := decodeBody(w, r, maxRequestBody, &req); err != nil {
			fail(w, code, err)
			return
		}
		if req.Lifetime == "" {
			req.Lifetime = string(proto.AttrForever)
		}
		c := manager.AttrChange{Host: req.Host, Name: req.Name, Value: req.Value, Delete: req.Delete,
			Lifetime: proto.AttrLifetime(req.Lifetime), By: peer(r)}
		if c.By == "" {
			c.By = "the operator"
		}
		if refused(w, d.SetAttribute(c)) {
			return
		}
		log.Info("attribute change", "host", req.Host, "name", req.Name, "value", req.Value, "delete", req.Delete,
			"lifetime", req.Lifetime, "by", c.By)
		var out []api.AttrView
		d.View(func(m *manager.Manager) { out = attrViews(m.Attributes()[req.Host]) })
		if out == nil {
			out = []api.AttrView{}
		}
		reply(w, http.StatusOK, out)
	}
}

// rolesOf is, for a promotable clone's resource, each host's role where it
// is active (failed ones too: a failed promoted instance may still be
// promoted), and the hosts where it runs promoted, sorted; nothing for a
// resource of any other group.
func rolesOf(g *model.Group, states map[string]planner.Observed) (map[string]string, []string) {
	if !g.Placement.Clone.Promotable {
		return nil, nil
	}
	var roles map[string]string
	var promoted []string
	for h, o := range states {
		if o.State == planner.Stopped || o.State == planner.Unknown || o.State == "" {
			continue
		}
		if roles == nil {
			roles = map[string]string{}
		}
		roles[h] = "Unpromoted"
		if o.Promoted {
			roles[h] = "Promoted"
			if o.State == planner.Running {
				promoted = append(promoted, h)
			}
		}
	}
	sort.Strings(promoted)
	return roles, promoted
}
