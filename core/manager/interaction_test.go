package manager

// Interaction tests in the style of etcd raft's: each file under
// testdata/interactions is a script of inputs to one manager (messages from
// hosts, timers firing, time passing, admin requests, a restart from the
// journal) and, under each input, the effects the manager returned, as the
// driver would carry them out. Regenerate the expected output with
//
//	go test ./core/manager -run TestInteractions -rewrite
//
// and read the diff: it is the change of behaviour.
//
// Commands (arguments are key=value; times are offsets from the start):
//
//	cluster name=pair             load testdata/clusters/<name>.yaml
//	start [epoch=N] [compact=N]   a manager starts from the persisted epoch
//	                              (or N) and the journal so far (compacting
//	                              it past N records)
//	restart                       the manager process dies and a new one
//	                              starts from what was persisted
//	hello host=h1 [epoch=N] [heartbeat=D] [attrs] [has-attrs] [boot=B]
//	                              an agent (re)connects, heartbeating at D
//	                              (default: the cluster's interval; 0: an
//	                              agent older than Welcome, that says none);
//	                              attrs: it takes the manager's attributes
//	                              (has-attrs: it holds a copy already), from
//	                              boot B of its host (default: boot0, then
//	                              boot1 after a boot command, and so on)
//	attr host=h1 name=N [value=V] [delete] [lifetime=reboot|forever]
//	     [target=h2] [req=N] [by=who] [admin] [members]
//	                              h1's agent forwards a tool's change of
//	                              attribute N of target (default h1) as
//	                              crm_attribute or crm_master would
//	                              (lifetime default reboot, req default 1,
//	                              by default the tool "crm_attribute");
//	                              admin: the operator's basalt host attr on
//	                              host h1 instead, printing its error;
//	                              members: crm_node's question instead
//	attrs                         every host's attributes in the store
//	connect host=h1 conn=N        the driver opens connection N to h1's
//	                              agent: commands go out on it from now on
//	disconnect host=h1 [conn=N] [end=reset]
//	                              the connection (N, or the one commands go
//	                              out on) ended: reset, refused or silent
//	                              (default; what HostDisconnected says)
//	dial-failed host=h1 end=refused
//	                              a redial of h1's agent failed so
//	heartbeat [host=h1] [epoch=N] [persist-error=E]
//	                              a heartbeat from one host, or every up one;
//	                              persist-error (none: clear) is what the
//	                              host cannot persist, in this heartbeat and
//	                              those that advance sends for it
//	result op=N rc=R [status=S] [reason=..] [from=h]
//	                              an agent (or another host: from) reports
//	                              a command's result
//	result resource=r host=h rc=R the same, naming the latest command
//	unsolicited host=h resource=r rc=R   a probe the agent ran on its own
//	fence-result op=N rc=R [timeout]     a fence agent's report
//	refused op=N [stale] [reason=..]     an agent refuses a command
//	answer [running=r@h,...] [promoted=r@h,...] [fail=r@h:action:rc,...] [max=N]
//	                              every up host answers every unanswered
//	                              command: probes "not running" (or
//	                              running, or promoted: rc 8), everything
//	                              else success (a monitor of a promoted
//	                              instance rc 8), fence status "off";
//	                              repeats until none is left
//	up [running=...] [attrs]      every up host says hello (attrs: taking
//	                              attributes, naming its boot), then answer;
//	                              prints only the resulting status
//	goodbye host=h1               the host's agent stops cleanly: it says
//	                              goodbye, then nothing (as crash) until boot
//	crash host=h1                 the host dies: it answers nothing more
//	boot host=h1                  the host is up again (it says hello itself
//	                              only when told to)
//	advance d=5s [nosend=h1]      time passes; due timers fire in order and
//	                              every joined, up host heartbeats (unless
//	                              its messages are lost: nosend)
//	jump d=30s                    time passes without any timer firing (the
//	                              manager process was paused)
//	fire timer=N                  one timer fires now, due or not
//	admin cmd=move target=g [host=h2] [for=1m] [flag=true] [by=who]
//	status                        the manager's view: hosts, resources,
//	                              failures, constraints, open reports
//	report id=r2-1                one report
//	constraints                   the moves and bans in force now
//	devices                       each fence device's last monitor per host
//	events                        the in-memory event log
//	power host=h1                 a power status query of h1's devices
//	query id=p1-1                 a power status query's readings
//	fence-history                 the fencer's finished requests
//	old-agents hosts=h1,...       those hosts' agents predate cancels that
//	                              name their setup: from their next hello
//	                              on they are named none (they cancel by key)
//	reloadable params=delay,...   the emulated agents reload those
//	                              parameters with reload-agent from now
//	                              on (every other parameter, and state,
//	                              forces a restart), and say so in their
//	                              results
//
// answer's fence status says off, or on once the driver has answered an
// "on" for that target more recently than an "off".

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/eventlog"
	"github.com/basalt-ha/basalt/core/invariant"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestInteractions(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "interactions", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no interaction scripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			h := &driver{}
			datadriven.RunTest(t, f, func(t *testing.T, d *datadriven.TestData) string {
				return h.run(t, d)
			})
		})
	}
}

// sent is a command the manager sent that the script may answer.
type sent struct {
	host     string
	exec     *proto.Exec
	fence    *proto.FenceExec
	answered bool
}

// driver plays the simulator's part for one manager: it keeps its timers,
// what it persisted and the commands in flight, and prints effects.
type driver struct {
	m       *model.Model
	mg      *Manager
	now     time.Time
	epoch   proto.Epoch
	journal [][]byte
	timers  map[effect.TimerID]time.Time
	sent    map[proto.OpID]*sent
	down    map[string]bool
	// joined hosts have said hello and heartbeat while time advances,
	// until they crash.
	joined map[string]bool
	hb     uint64
	out    strings.Builder
	// verbose prints every move of a dead timer (start does).
	verbose bool
	// compact is the manager's CompactRecords (start compact=N).
	compact int

	// persistErr is what each host's heartbeats say it cannot persist.
	persistErr map[string]string
	// poweredOn: the last power action answered for the target was "on".
	poweredOn map[string]bool
	// defs are the digests of the definitions each host's agent keeps
	// (resource@host): the one of its last start, which every other
	// action runs with, as core/agent's definition.
	defs map[string]string
	// kept are those definitions themselves, for reloads.
	kept map[string]lrm.Resource
	// reloadable, once set (command reloadable params=...), names the
	// parameters the emulated agents reload with reload-agent; every other
	// parameter, and state, forces a restart.
	reloadable map[string]bool
	// promoted are the instances (resource@host) the emulated agents
	// hold promoted: a successful promote sets it, a demote or stop
	// clears it, and their monitors (and probes) answer rc 8 meanwhile.
	promoted map[string]bool
	// boots counts each host's boots (boot), which an agent that takes
	// attributes names in its hello (bootID).
	boots map[string]int
	// byKey names the hosts whose agents predate setup-named cancels and
	// numbered clone instances (command old-agents): their hellos say
	// neither CancelsBySetup nor Instances.
	byKey map[string]bool
}

// hello is what host's emulated agent greets with: a current agent's,
// unless old-agents named the host.
func (h *driver) hello(host string, epoch proto.Epoch, hb time.Duration) proto.Hello {
	return proto.Hello{Host: host, Epoch: epoch, Heartbeat: hb, CancelsBySetup: !h.byKey[host], Instances: !h.byKey[host], Meta: !h.byKey[host]}
}

// bootID is the boot a host's agent names in its hello: boot0 until the
// script boots it again.
func (h *driver) bootID(host string) string { return fmt.Sprintf("boot%d", h.boots[host]) }

func (h *driver) query(id string) {
	q, ok := h.mg.Query(id)
	if !ok {
		h.printf("no query %s", id)
		return
	}
	h.printf("query %s of %s asked at %s done=%t", q.ID, q.Host, h.rel(q.Asked), q.Done)
	for _, r := range q.Readings {
		line := fmt.Sprintf("  %s via %q: %s rc=%d done=%t", r.Device, r.Executor, r.State, r.RC, r.Done)
		if r.Timeout {
			line += " timeout"
		}
		if r.Lost != "" {
			line += " lost: " + r.Lost
		}
		h.printf("%s", line)
	}
}

func (h *driver) printf(format string, args ...any) { fmt.Fprintf(&h.out, format+"\n", args...) }

func (h *driver) run(t *testing.T, d *datadriven.TestData) (out string) {
	h.out.Reset()
	defer func() {
		if r := recover(); r != nil {
			if e, ok := invariant.Recovered(r); ok {
				h.printf("PANIC %s", e.Error())
				out = h.out.String()
				return
			}
			panic(r)
		}
	}()
	if d.Cmd != "cluster" && h.m == nil {
		d.Fatalf(t, "cluster first")
	}
	if h.mg == nil && !map[string]bool{"cluster": true, "start": true, "crash": true, "boot": true}[d.Cmd] {
		d.Fatalf(t, "start first")
	}
	switch d.Cmd {
	case "cluster":
		h.cluster(t, d)
	case "start", "restart":
		h.start(t, d)
	case "connect":
		var n int
		d.ScanArgs(t, "conn", &n)
		h.apply(h.mg.HostConnected(h.now, arg(t, d, "host", ""), effect.ConnID(n)))
	case "disconnect":
		host := arg(t, d, "host", "")
		conn := effect.ConnID(argInt(t, d, "conn", int(h.mg.HostConn(host))))
		h.apply(h.mg.HostConnEnded(h.now, host, conn, argEnd(t, d)))
	case "dial-failed":
		h.apply(h.mg.HostDialFailed(h.now, arg(t, d, "host", ""), argEnd(t, d)))
	case "hello":
		host := arg(t, d, "host", "")
		h.joined[host] = !h.down[host]
		hb := h.m.Cluster.HeartbeatInterval
		if d.HasArg("heartbeat") {
			hb = argDur(t, d, "heartbeat")
		}
		hello := h.hello(host, argEpoch(t, d, "epoch", 0), hb)
		if d.HasArg("knows") {
			hello.Lists, hello.Resources = true, splitList(arg(t, d, "knows", ""))
		}
		hello.Attrs, hello.HasAttrs = d.HasArg("attrs"), d.HasArg("has-attrs")
		if hello.Attrs {
			hello.Boot = arg(t, d, "boot", h.bootID(host))
		}
		h.deliver(hello)
	case "attr":
		h.attr(t, d)
	case "attrs":
		all := h.mg.Attributes()
		for _, host := range slices.Sorted(maps.Keys(all)) {
			h.printf("%s: %s", host, formatAttrs(all[host]))
		}
	case "heartbeat":
		h.heartbeat(t, d)
	case "result":
		h.result(t, d)
	case "unsolicited":
		h.deliver(proto.OpResult{Host: arg(t, d, "host", ""), Epoch: h.mg.Epoch(), Result: lrmResult(
			arg(t, d, "resource", ""), ocf.Monitor, 0, ocf.RC(argInt(t, d, "rc", 0)), lrm.Done, true)})
	case "fence-result":
		h.fenceResult(t, d)
	case "refused":
		op := proto.OpID(argInt(t, d, "op", 0))
		s := h.sent[op]
		host := arg(t, d, "host", "")
		if s != nil && host == "" {
			host = s.host
		}
		h.deliver(proto.Refused{Host: host, Epoch: proto.Epoch(argInt(t, d, "epoch", int(h.mg.Epoch()))), Op: op,
			Reason: arg(t, d, "reason", "refused"), Stale: d.HasArg("stale")})
	case "answer":
		h.answer(t, d)
	case "up":
		h.up(t, d)
	case "goodbye":
		host := arg(t, d, "host", "")
		h.deliver(proto.Goodbye{Host: host, Epoch: h.mg.Epoch()})
		h.setDown(host, true)
	case "crash":
		h.setDown(arg(t, d, "host", ""), true)
	case "boot":
		host := arg(t, d, "host", "")
		h.setDown(host, false)
		if h.boots == nil {
			h.boots = map[string]int{}
		}
		h.boots[host]++
	case "advance":
		h.advance(t, d)
	case "jump":
		h.now = h.now.Add(argDur(t, d, "d"))
		h.printf("now %s", h.rel(h.now))
	case "fire":
		id := effect.TimerID(argInt(t, d, "timer", 0))
		delete(h.timers, id)
		h.printf("timer #%d fires", id)
		h.apply(h.mg.TimerFired(h.now, id))
	case "admin":
		h.admin(t, d)
	case "old-agents":
		if h.byKey == nil {
			h.byKey = map[string]bool{}
		}
		for _, host := range splitList(arg(t, d, "hosts", "")) {
			h.byKey[host] = true
		}
	case "reloadable":
		h.reloadable = map[string]bool{}
		for _, p := range splitList(arg(t, d, "params", "")) {
			h.reloadable[p] = true
		}
	case "config":
		h.config(t, d)
	case "status":
		h.status()
	case "report":
		h.report(arg(t, d, "id", ""))
	case "devices":
		for _, c := range h.mg.DeviceChecks() {
			line := fmt.Sprintf("device %s from %s at %s: ok=%t rc=%d", c.Device, c.Host, h.rel(c.At), c.OK, c.RC)
			if c.Timeout {
				line += " timeout"
			}
			if c.Lost != "" {
				line += " lost: " + c.Lost
			}
			h.printf("%s", line)
		}
	case "constraints":
		for _, c := range h.mg.Constraints(h.now) {
			line := fmt.Sprintf("%s %s %s by=%s", c.Kind, c.Group, c.Host, c.By)
			if !c.Until.IsZero() {
				line += " until=" + h.rel(c.Until)
			}
			h.printf("%s", line)
		}
	case "events":
		for _, e := range h.mg.Events() {
			h.printf("%s", h.event(e))
		}
	case "power":
		id, effs, err := h.mg.PowerStatus(h.now, arg(t, d, "host", ""))
		if err != nil {
			h.printf("error: %v", err)
		} else {
			h.printf("query %s", id)
		}
		h.apply(effs)
	case "query":
		h.query(arg(t, d, "id", ""))
	case "fence-history":
		for _, e := range h.mg.FenceHistory() {
			h.printf("%s %s ok=%t origins=%v requested=%s completed=%s devices=%v: %s", e.Target, e.Action, e.OK, e.Origins,
				h.rel(e.Requested), h.rel(e.Completed), e.Devices, e.Reason)
		}
	default:
		d.Fatalf(t, "unknown command %q", d.Cmd)
	}
	if h.mg != nil {
		requireDigest(t, h.mg)
	}
	return h.out.String()
}

// argEnd is a connection's end (end=reset|refused|silent, default silent).
func argEnd(t *testing.T, d *datadriven.TestData) ConnEnd {
	for _, e := range []ConnEnd{EndSilent, EndReset, EndRefused} {
		if arg(t, d, "end", "silent") == e.String() {
			return e
		}
	}
	d.Fatalf(t, "end must be reset, refused or silent")
	return EndSilent
}

// requireDigest: the planner's digest of the observations names exactly
// the hosts whose entry is not plainly stopped, or missing where the
// resource is probed, for every resource, after whatever the manager did.
func requireDigest(t *testing.T, mg *Manager) {
	t.Helper()
	for _, r := range mg.m.Resources {
		want := map[string]bool{}
		for _, h := range mg.m.Hosts {
			if o, ok := mg.observed.get(r.ID, h.Name); ok && o.State != planner.Stopped || !ok && mg.m.Discovers(r.ID, h.Name) {
				want[h.Name] = true
			}
		}
		require.Equal(t, want, mg.observed.notable[r.ID], "the planner's digest of %s", r.ID)
	}
}

func (h *driver) cluster(t *testing.T, d *datadriven.TestData) {
	name := arg(t, d, "name", "")
	path := filepath.Join("testdata", "clusters", name+".yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		d.Fatalf(t, "%v", err)
	}
	m, err := model.Load(path, data)
	if err != nil {
		d.Fatalf(t, "%v", err)
	}
	*h = driver{m: m, now: t0, timers: map[effect.TimerID]time.Time{}, sent: map[proto.OpID]*sent{}, down: map[string]bool{},
		joined: map[string]bool{}}
	h.printf("%d hosts, %d resources, %d groups", len(m.Hosts), len(m.Resources), len(m.Groups))
}

func (h *driver) start(t *testing.T, d *datadriven.TestData) {
	if d.Cmd == "restart" {
		h.printf("manager epoch %d dies", h.mg.Epoch())
	}
	// A new process: the old one's timers are gone. Commands it sent are
	// still with the agents, which answer them with the old epoch.
	h.timers = map[effect.TimerID]time.Time{}
	if d.HasArg("epoch") {
		h.epoch = argEpoch(t, d, "epoch", 0)
	}
	if d.HasArg("compact") {
		h.compact = argInt(t, d, "compact", 0)
	}
	h.mg = New(Config{Model: h.m, CompactRecords: h.compact})
	effs, err := h.mg.Start(h.now, h.epoch, h.journal)
	if err != nil {
		h.printf("error: %v", err)
		return
	}
	h.printf("replayed %d events; epoch %d", len(h.journal), h.mg.Epoch())
	h.verbose = true
	h.apply(effs)
	h.verbose = false
}

// up brings the cluster to rest: every up host says hello and answers
// everything (as answer does); only the resulting state is printed.
func (h *driver) up(t *testing.T, d *datadriven.TestData) {
	for _, ho := range h.m.Hosts {
		if !h.down[ho.Name] {
			h.joined[ho.Name] = true
			hello := h.hello(ho.Name, 0, h.m.Cluster.HeartbeatInterval)
			if d.HasArg("attrs") {
				hello.Attrs, hello.Boot = true, h.bootID(ho.Name)
			}
			h.apply(h.mg.Receive(h.now, ho.Name, hello))
		}
	}
	h.answer(t, d)
	h.out.Reset()
	h.status()
}

func (h *driver) heartbeat(t *testing.T, d *datadriven.TestData) {
	hosts := []string{arg(t, d, "host", "")}
	if hosts[0] == "" {
		hosts = nil
		for _, ho := range h.m.Hosts {
			if !h.down[ho.Name] {
				hosts = append(hosts, ho.Name)
			}
		}
	}
	for _, ho := range hosts {
		h.hb++
		epoch := proto.Epoch(argInt(t, d, "epoch", int(h.mg.Epoch())))
		if pe := arg(t, d, "persist-error", ""); pe != "" {
			if h.persistErr == nil {
				h.persistErr = map[string]string{}
			}
			h.persistErr[ho] = strings.TrimPrefix(pe, "none")
		}
		h.quiet(h.mg.Receive(h.now, ho, proto.Heartbeat{Host: ho, Epoch: epoch, Seq: h.hb, PersistError: h.persistErr[ho]}))
	}
}

// quiet applies the effects of a heartbeat, printing only what is more
// than moving the host's dead timer.
func (h *driver) quiet(effs []effect.Effect) {
	var rest []effect.Effect
	for _, e := range effs {
		if st, ok := e.(*effect.SetTimer); ok && h.mg.timers[st.ID].kind == deadTimer {
			h.timers[st.ID] = st.At
			continue
		}
		rest = append(rest, e)
	}
	h.apply(rest)
}

func (h *driver) result(t *testing.T, d *datadriven.TestData) {
	op := proto.OpID(argInt(t, d, "op", 0))
	if op == 0 {
		op = h.latest(arg(t, d, "resource", ""), arg(t, d, "host", ""))
	}
	s := h.sent[op]
	if s == nil || s.exec == nil {
		// A result for a command that was never sent: forged from the
		// arguments.
		s = &sent{host: arg(t, d, "host", "h1"), exec: &proto.Exec{Epoch: h.mg.Epoch(), Op: op,
			Resource: lrm.Resource{ID: arg(t, d, "resource", "")}, Request: lrm.OpRequest{Action: ocf.Start}}}
		h.printf("(op %d was never sent)", op)
	}
	status := lrm.Done
	switch arg(t, d, "status", "done") {
	case "timeout":
		status = lrm.Timeout
	case "not-installed":
		status = lrm.NotInstalled
	case "cancelled":
		status = lrm.Cancelled
	}
	host := arg(t, d, "from", s.host)
	res := lrmResult(s.exec.Resource.ID, s.exec.Request.Action, s.exec.Request.Interval, ocf.RC(argInt(t, d, "rc", 0)), status,
		s.exec.Request.Interval == 0 && s.exec.Request.Action == ocf.Monitor)
	res.ExitReason = arg(t, d, "reason", "")
	s.answered = true
	h.deliver(proto.OpResult{Host: host, Epoch: s.exec.Epoch, Op: op, Result: res})
}

func (h *driver) fenceResult(t *testing.T, d *datadriven.TestData) {
	op := proto.OpID(argInt(t, d, "op", 0))
	s := h.sent[op]
	if s == nil || s.fence == nil {
		h.printf("no fence command with op %d was sent", op)
		return
	}
	s.answered = true
	f := s.fence
	h.deliver(proto.FenceResult{Host: s.host, Epoch: f.Epoch, Op: op, Device: f.Device, Action: f.Action, Target: f.Target,
		RC: argInt(t, d, "rc", 0), Timeout: d.HasArg("timeout")})
}

// latest is the newest command of this manager about a resource on a host.
func (h *driver) latest(rsc, host string) proto.OpID {
	var best proto.OpID
	for op, s := range h.sent {
		if s.exec != nil && s.exec.Epoch == h.mg.Epoch() && s.exec.Resource.ID == rsc && s.host == host && op > best {
			best = op
		}
	}
	return best
}

func lrmResult(rsc string, action ocf.Action, interval time.Duration, rc ocf.RC, status lrm.Status, probe bool) lrm.Result {
	out := ocf.Classify(action, rc, probe)
	if status != lrm.Done {
		out = ocf.SoftFailure
		if status == lrm.NotInstalled {
			out = ocf.HardFailure
		}
	}
	return lrm.Result{Resource: rsc, Action: action, Interval: interval, RC: rc, Status: status, Outcome: out}
}

// answer has every up host answer every unanswered command, in op order,
// until nothing is left.
func (h *driver) answer(t *testing.T, d *datadriven.TestData) {
	running := map[string]bool{}
	for _, x := range splitList(arg(t, d, "running", "")) {
		running[x] = true
	}
	fails := map[string]int{}
	for _, x := range splitList(arg(t, d, "fail", "")) {
		i := strings.LastIndex(x, ":")
		rc, err := strconv.Atoi(x[i+1:])
		if i < 0 || err != nil {
			d.Fatalf(t, "fail=%s: want resource@host:action:rc", x)
		}
		fails[x[:i]] = rc
	}
	if h.promoted == nil {
		h.promoted = map[string]bool{}
	}
	for _, x := range splitList(arg(t, d, "promoted", "")) {
		running[x], h.promoted[x] = true, true
	}
	limit := argInt(t, d, "max", 100)
	for n := 0; n < limit; n++ {
		op, s := h.next()
		if s == nil {
			return
		}
		s.answered = true
		if s.fence != nil {
			f := s.fence
			rc := 0
			switch f.Action {
			case proto.FenceStatus:
				if !h.poweredOn[f.Target] {
					rc = 2
				}
			case proto.FenceOn, proto.FenceOff:
				if h.poweredOn == nil {
					h.poweredOn = map[string]bool{}
				}
				h.poweredOn[f.Target] = f.Action == proto.FenceOn
			}
			h.printf("> %s answers op %d (fence %s %s): rc %d", s.host, op, f.Action, f.Device, rc)
			h.apply(h.mg.Receive(h.now, s.host, proto.FenceResult{Host: s.host, Epoch: f.Epoch, Op: op, Device: f.Device,
				Action: f.Action, Target: f.Target, RC: rc}))
			continue
		}
		x := s.exec
		probe := x.Request.Action == ocf.Monitor && x.Request.Interval == 0
		rc := ocf.OK
		key := x.Resource.ID + "@" + s.host
		if probe && !running[key] {
			rc = ocf.NotRunning
		}
		if x.Request.Action == ocf.Monitor && h.promoted[key] && (!probe || running[key]) {
			rc = ocf.RunningPromoted
		}
		if v, ok := fails[key+":"+actionName(x.Request)]; ok {
			rc = ocf.RC(v)
		}
		h.role(key, x.Request.Action, rc)
		h.printf("> %s answers op %d (%s %s): rc %d", s.host, op, actionName(x.Request), x.Resource.ID, int(rc))
		res := lrmResult(x.Resource.ID, x.Request.Action, x.Request.Interval, rc, lrm.Done, probe)
		res.Digest = h.digest(key, x, rc)
		h.reloadInfo(&res, key)
		h.apply(h.mg.Receive(h.now, s.host, proto.OpResult{Host: s.host, Epoch: x.Epoch, Op: op, Result: res}))
	}
}

// role keeps the emulated agent's role of an instance (key
// resource@host) as an action's rc leaves it.
func (h *driver) role(key string, action ocf.Action, rc ocf.RC) {
	switch {
	case action == ocf.Promote && rc == ocf.OK:
		h.promoted[key] = true
	case (action == ocf.Demote || action == ocf.Stop) && (rc == ocf.OK || rc == ocf.NotRunning):
		delete(h.promoted, key)
	}
}

// digest is the digest of the definition an agent runs x with on a host
// (key resource@host): a start's own, which it keeps if it succeeds, and
// the kept one for anything else.
func (h *driver) digest(key string, x *proto.Exec, rc ocf.RC) string {
	if h.defs == nil {
		h.defs = map[string]string{}
	}
	if h.kept == nil {
		h.kept = map[string]lrm.Resource{}
	}
	kept, ok := h.defs[key]
	takes := x.Request.Action == ocf.Start || x.Request.Action == ocf.Reload || x.Request.Action == ocf.ReloadAgent
	if takes || !ok {
		kept = x.Resource.Digest()
	}
	if takes && rc == ocf.OK {
		h.defs[key] = kept
		h.kept[key] = x.Resource
	}
	return kept
}

// reloadInfo says, as the emulated agent would, how the definition a
// result ran with reloads (command reloadable).
func (h *driver) reloadInfo(res *lrm.Result, key string) {
	def, ok := h.kept[key]
	if h.reloadable == nil || !ok || def.Digest() != res.Digest {
		return
	}
	force := []string{"state"}
	for _, k := range slices.Sorted(maps.Keys(def.Params)) {
		if !h.reloadable[k] && k != "state" {
			force = append(force, k)
		}
	}
	slices.Sort(force)
	res.ReloadAction, res.ForceRestart = ocf.ReloadAgent, force
	res.RestartDigest = ocf.RestartDigest(def.Agent, def.Params, force)
}

// config applies a file of testdata/clusters (name=), or previews it
// (dry-run), as basalt config apply does.
func (h *driver) config(t *testing.T, d *datadriven.TestData) {
	data, err := os.ReadFile(filepath.Join("testdata", "clusters", arg(t, d, "name", "")+".yaml"))
	if err != nil {
		d.Fatalf(t, "%v", err)
	}
	if d.HasArg("dry-run") {
		p, err := h.mg.PreviewConfig(h.now, string(data))
		if err != nil {
			h.printf("error: %v", err)
			return
		}
		h.printf("version %d", p.Version)
		h.out.WriteString(p.Change.String())
		for _, line := range p.Lines() {
			h.printf("would %s", line)
		}
		return
	}
	id, effs, err := h.mg.Admin(h.now, Request{Command: CmdConfigApply, Config: string(data)})
	if err != nil {
		h.printf("error: %v", err)
		return
	}
	h.printf("report %s", id)
	h.m = h.mg.Model()
	h.apply(effs)
}

func (h *driver) next() (proto.OpID, *sent) {
	var ops []proto.OpID
	for op, s := range h.sent {
		if !s.answered && !h.down[s.host] {
			ops = append(ops, op)
		}
	}
	if len(ops) == 0 {
		return 0, nil
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i] < ops[j] })
	return ops[0], h.sent[ops[0]]
}

func (h *driver) setDown(host string, down bool) {
	h.down[host] = down
	if down {
		h.joined[host] = false
		h.printf("%s is down", host)
	} else {
		h.printf("%s is up", host)
	}
}

// advance lets time pass, firing due timers in order (ties by ID). Every
// joined host that is up sends a heartbeat at each heartbeat interval, as
// its agent would (only what a heartbeat changes beyond the host's dead
// timer is printed); nosend=h1,h2 silences hosts whose messages are lost.
func (h *driver) advance(t *testing.T, d *datadriven.TestData) {
	end := h.now.Add(argDur(t, d, "d"))
	silent := map[string]bool{}
	for _, x := range splitList(arg(t, d, "nosend", "")) {
		silent[x] = true
	}
	hb := h.m.Cluster.HeartbeatInterval
	nextBeat := t0.Add((h.now.Sub(t0)/hb + 1) * hb)
	for {
		id, at := h.nextTimer(end)
		if !nextBeat.After(end) && (id == 0 || !at.Before(nextBeat)) {
			h.now = nextBeat
			for _, ho := range h.m.Hosts {
				if h.joined[ho.Name] && !h.down[ho.Name] && !silent[ho.Name] {
					h.hb++
					h.quiet(h.mg.Receive(h.now, ho.Name, proto.Heartbeat{Host: ho.Name, Epoch: h.mg.Epoch(), Seq: h.hb,
						PersistError: h.persistErr[ho.Name]}))
				}
			}
			nextBeat = nextBeat.Add(hb)
			continue
		}
		if id == 0 {
			break
		}
		delete(h.timers, id)
		if at.After(h.now) {
			h.now = at // a timer due before a jump fires late, now
		}
		h.printf("%s: timer #%d fires (%s)", h.rel(h.now), id, h.mg.timers[id].kind)
		h.apply(h.mg.TimerFired(h.now, id))
	}
	h.now = end
	h.printf("now %s", h.rel(h.now))
}

// nextTimer is the earliest timer due by end (ties by ID).
func (h *driver) nextTimer(end time.Time) (effect.TimerID, time.Time) {
	var id effect.TimerID
	var at time.Time
	for tid, tat := range h.timers {
		if tat.After(end) {
			continue
		}
		if id == 0 || tat.Before(at) || tat.Equal(at) && tid < id {
			id, at = tid, tat
		}
	}
	return id, at
}

func (h *driver) admin(t *testing.T, d *datadriven.TestData) {
	req := Request{Command: Command(arg(t, d, "cmd", "")), Target: arg(t, d, "target", ""), Host: arg(t, d, "host", "")}
	if d.HasArg("for") {
		req.Lifetime = argDur(t, d, "for")
	}
	req.Flag = arg(t, d, "flag", "") == "true"
	req.By = arg(t, d, "by", "")
	req.All = d.HasArg("all")
	id, effs, err := h.mg.Admin(h.now, req)
	if err != nil {
		h.printf("error: %v", err)
	} else {
		h.printf("report %s", id)
	}
	h.apply(effs)
}

func (h *driver) deliver(msg effect.Message) {
	// The scripts speak only for real hosts: the authenticated sender is
	// the host the message names.
	from, _ := claimedHost(msg)
	h.apply(h.mg.Receive(h.now, from, msg))
}

// apply carries effects out and prints them.
func (h *driver) apply(effs []effect.Effect) {
	for _, e := range effs {
		switch e := e.(type) {
		case *effect.Send:
			h.send(e)
		case *effect.SetTimer:
			h.timers[e.ID] = e.At
			use, known := h.mg.timers[e.ID]
			if !known {
				h.printf("timer #%d at %s (cancelled in the same step)", e.ID, h.rel(e.At))
				continue
			}
			if use.kind == deadTimer && e.At.Equal(h.now.Add(h.m.Cluster.DeadTimeout)) && !h.verbose {
				continue // the usual move of a dead timer on a sign of life
			}
			what := use.kind.String()
			if use.host != "" {
				what += " " + use.host
			}
			if use.op != 0 {
				what = fmt.Sprintf("op %d", use.op)
			}
			h.printf("timer #%d at %s (%s)", e.ID, h.rel(e.At), what)
		case *effect.CancelTimer:
			delete(h.timers, e.ID)
			h.printf("timer #%d cancelled", e.ID)
		case *effect.Persist:
			h.persist(e)
		case effect.Log:
			if e.Level >= slog.LevelWarn {
				h.printf("log %s %s", e.Level, e.Msg)
			}
		default:
			h.printf("%s", e.Describe())
		}
	}
}

func (h *driver) send(e *effect.Send) {
	drop := ""
	if h.down[e.To] {
		drop = " (lost: host down)"
	}
	switch m := e.Msg.(type) {
	case proto.Exec:
		h.printf("send %s op %d: %s %s epoch %d%s%s", e.To, m.Op, actionName(m.Request), m.Resource.ID, m.Epoch, notifyVars(m), drop)
		if drop == "" {
			h.sent[m.Op] = &sent{host: e.To, exec: &m}
		}
	case proto.FenceExec:
		target := ""
		if m.Target != "" {
			target = " " + m.Target
		}
		h.printf("send %s op %d: fence %s%s with %s epoch %d%s", e.To, m.Op, m.Action, target, m.Device, m.Epoch, drop)
		if drop == "" {
			h.sent[m.Op] = &sent{host: e.To, fence: &m}
		}
	case proto.Attributes:
		line := fmt.Sprintf("send %s attributes epoch=%d", e.To, m.Epoch)
		if m.Ack != 0 {
			line += fmt.Sprintf(" ack=%d", m.Ack)
		}
		if m.Refused != "" {
			line += fmt.Sprintf(" refused=%q", m.Refused)
		}
		for _, host := range slices.Sorted(maps.Keys(m.Hosts)) {
			line += fmt.Sprintf(" %s{%s}", host, formatAttrs(m.Hosts[host]))
		}
		for _, mb := range m.Members {
			line += fmt.Sprintf(" member %s online=%t", mb.Name, mb.Online)
		}
		h.printf("%s%s", line, drop)
	case proto.Welcome:
		attrs := ""
		if m.Attrs {
			attrs = " (takes attributes)"
		}
		h.printf("send %s %s%s%s", e.To, m.Describe(), attrs, drop)
	default:
		h.printf("send %s %s%s", e.To, e.Msg.Describe(), drop)
	}
}

// notifyVars shows what a notify tells its instance: its type and
// operation, the lists it carries (hosts), and the instance's own clone
// meta attributes. Empty for every other command.
func notifyVars(m proto.Exec) string {
	if m.Request.Action != ocf.Notify || m.Request.Meta == nil {
		return ""
	}
	v := *m.Request.Meta
	s := fmt.Sprintf(" [%s-%s", v["notify_type"], v["notify_operation"])
	for _, l := range []string{"active", "promoted", "demote", "stop", "start", "promote"} {
		if u := strings.TrimSpace(v["notify_"+l+"_uname"]); u != "" {
			s += fmt.Sprintf(" %s=%s (%s)", l, strings.ReplaceAll(u, " ", ","), strings.ReplaceAll(v["notify_"+l+"_resource"], " ", ","))
		}
	}
	if len(m.Resource.Meta) > 0 {
		s += "; instance " + m.Resource.Instance
		for _, k := range slices.Sorted(maps.Keys(m.Resource.Meta)) {
			s += " " + k + "=" + m.Resource.Meta[k]
		}
	}
	return s + "]"
}

func actionName(r lrm.OpRequest) string {
	switch {
	case r.Action == ocf.Monitor && r.Interval == 0:
		return "probe"
	case r.Action == ocf.Monitor:
		return "monitor/" + r.Interval.String()
	}
	return string(r.Action)
}

func (h *driver) persist(e *effect.Persist) {
	switch e.Name {
	case EpochRecord:
		ep, err := DecodeEpoch(e.Data)
		if err != nil {
			h.printf("persist epoch: %v", err)
			return
		}
		h.epoch = ep
		h.printf("persist epoch %d", ep)
	case EventLog:
		dec, err := eventlog.Decode(e.Data)
		if err != nil || len(dec.Records) != 1 {
			h.printf("persist event: undecodable record")
			return
		}
		if !e.Append {
			// A compaction: the log is replaced by a snapshot.
			h.journal = [][]byte{dec.Records[0]}
			h.printf("compact event log: 1 snapshot record (%d bytes)", len(e.Data))
			return
		}
		h.journal = append(h.journal, dec.Records[0])
		var ev Event
		_ = json.Unmarshal(dec.Records[0], &ev)
		h.printf("%s", h.event(ev))
	default:
		h.printf("persist %s (%d bytes)", e.Name, len(e.Data))
	}
}

func (h *driver) event(e Event) string {
	s := "event " + e.Kind
	for _, kv := range [][2]string{{"host", e.Host}, {"group", e.Group}, {"resource", e.Resource}, {"report", e.Report}, {"role", e.Role}} {
		if kv[1] != "" {
			s += " " + kv[0] + "=" + kv[1]
		}
	}
	if e.Count != 0 {
		s += fmt.Sprintf(" count=%d", e.Count)
	}
	if e.Flag {
		s += " flag=true"
	}
	if !e.Until.IsZero() {
		s += " until=" + h.rel(e.Until)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (h *driver) rel(at time.Time) string { return "+" + at.Sub(t0).String() }

func (h *driver) status() {
	h.m = h.mg.Model() // with its orphans, as they come and go
	s := h.mg.Status()
	h.printf("epoch %d deposed=%t maintenance=%t busy=%t", s.Epoch, s.Deposed, s.Maintenance, s.Busy)
	for _, ho := range s.Hosts {
		line := fmt.Sprintf("host %s %s", ho.Name, ho.State)
		if ho.Pending {
			line += " pending"
		}
		if ho.Standby {
			line += " standby"
		}
		if ho.Fencing != "" {
			line += " fencing " + ho.Fencing
		}
		h.printf("%s", line)
	}
	for _, r := range s.Resources {
		var parts []string
		for _, ho := range h.m.Hosts {
			if o, ok := r.States[ho.Name]; ok {
				p := ho.Name + "=" + string(o.State)
				if o.Promoted {
					p += "+promoted"
				}
				if o.Monitored {
					p += "+monitored"
				}
				parts = append(parts, p)
			}
			if f, ok := r.Fails[ho.Name]; ok {
				parts = append(parts, fmt.Sprintf("fails@%s=%d", ho.Name, f.Count))
				if f.Hard {
					parts[len(parts)-1] += "(hard)"
				}
			}
		}
		if r.Blocked {
			parts = append(parts, "blocked")
		}
		if r.Fatal != "" {
			parts = append(parts, "fatal: "+r.Fatal)
		}
		h.printf("resource %s: %s", r.ID, strings.Join(parts, " "))
	}
	for _, g := range h.m.Groups {
		line := fmt.Sprintf("group %s role=%s managed=%t", g.ID, s.TargetRoles[g.ID], s.Managed[g.ID])
		if mv, ok := h.mg.cons.Moves[g.ID]; ok {
			line += " move=" + mv.Host
		}
		for _, b := range h.mg.cons.Bans {
			if b.Group == g.ID {
				line += " ban=" + b.Host
			}
		}
		for _, p := range s.Placements {
			if p.Group == g.ID {
				line += " placed=" + strings.Join(p.Hosts, ",")
				if p.Note != "" {
					line += " (" + p.Note + ")"
				}
			}
		}
		h.printf("%s", line)
	}
	for _, r := range s.OpenReports {
		h.printf("open report %s: %s", r.ID, r.Request)
	}
}

func (h *driver) report(id string) {
	r, ok := h.mg.Report(id)
	if !ok {
		h.printf("no report %s", id)
		return
	}
	h.printf("report %s %s: %s (failed=%t)", r.ID, r.State, r.Request, r.Failed)
	for _, k := range r.Order {
		h.printf("  %s: %s", k, r.Results[k])
	}
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func arg(t *testing.T, d *datadriven.TestData, key, def string) string {
	for _, a := range d.CmdArgs {
		if a.Key == key {
			if len(a.Vals) == 0 {
				return ""
			}
			return strings.Join(a.Vals, ",")
		}
	}
	return def
}

func argInt(t *testing.T, d *datadriven.TestData, key string, def int) int {
	s := arg(t, d, key, "")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		d.Fatalf(t, "%s=%s: %v", key, s, err)
	}
	return n
}

// argEpoch reads an epoch, which may exceed an int.
func argEpoch(t *testing.T, d *datadriven.TestData, key string, def proto.Epoch) proto.Epoch {
	s := arg(t, d, key, "")
	if s == "" {
		return def
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		d.Fatalf(t, "%s=%s: %v", key, s, err)
	}
	return proto.Epoch(n)
}

func argDur(t *testing.T, d *datadriven.TestData, key string) time.Duration {
	v, err := time.ParseDuration(arg(t, d, key, "0s"))
	if err != nil {
		d.Fatalf(t, "%s: %v", key, err)
	}
	return v
}

// attr delivers an agent's attribute update, or makes an operator's.
func (h *driver) attr(t *testing.T, d *datadriven.TestData) {
	host := arg(t, d, "host", "")
	c := AttrChange{Host: arg(t, d, "target", host), Name: arg(t, d, "name", ""), Value: arg(t, d, "value", ""),
		Delete: d.HasArg("delete"), Lifetime: proto.AttrLifetime(arg(t, d, "lifetime", string(proto.AttrReboot))),
		By: arg(t, d, "by", "crm_attribute")}
	if d.HasArg("admin") {
		c.Host = host
		effs, err := h.mg.AdminAttr(h.now, c)
		if err != nil {
			h.printf("error: %v", err)
		}
		h.apply(effs)
		return
	}
	h.deliver(proto.AttrUpdate{Host: host, Req: uint64(argInt(t, d, "req", 1)), Target: c.Host, Name: c.Name, Value: c.Value,
		Delete: c.Delete, Lifetime: c.Lifetime, By: c.By, Members: d.HasArg("members")})
}

// formatAttrs renders one host's attributes on one line.
func formatAttrs(as []proto.Attribute) string {
	parts := make([]string, 0, len(as))
	for _, a := range as {
		parts = append(parts, fmt.Sprintf("%s=%s(%s)", a.Name, a.Value, a.Lifetime))
	}
	return strings.Join(parts, " ")
}
