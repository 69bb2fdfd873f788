package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/sim/cluster"
	"github.com/basalt-ha/basalt/sim/faults"
)

// lanes gathers, from a replay's trace lines, what the timeline's host and
// manager lanes and its fence and admin marks show. The simulator keeps
// none of it as data (its Losses, Fences and Tenures are the judges'
// facts, and Tenures are etcd's view, not which manager acted); its trace
// says it all, line by line, as sim/cluster writes it:
//
//	host H agent started epoch=N | agent crashed | agent stopped cleanly |
//	  agent dies midway through ... | crashed | powered off (CAUSE) |
//	  paused | resumed (...)
//	manager log ERROR log ERROR "host lost" host=H why=WHY
//	manager log WARN log WARN "fencing requested" target=H origin=O action=A
//	fence device D powers off H
//	manager log WARN log WARN "fencing confirmed" target=H devices=[D] ...
//	manager log ERROR log ERROR "fencing failed" target=H ...
//	manager started epoch=N | manager crashed | manager epoch=N frozen |
//	  manager epoch=N thawed ... | manager epoch=N paused; ...
//	manager M started epoch=N (leadership R) | manager M epoch=N stops: WHY
//	replica M paused | replica M resumes ... | replica M crashed
//	store: M leads at revision R | store down | store up
//	admin REQUEST -> REPORT ERR
//	deliver H->manager conn=N hello ...
type lanes struct {
	hosts    []check.HostEvent
	managers []check.ManagerEvent
	marks    []check.Mark
	// state is each host's latest state, to tell a reboot from an agent's
	// restart; beforePause what a paused host returns to.
	state       map[string]string
	beforePause map[string]string
	// acting is the replica whose manager acts (replicas), and epoch the
	// acting manager's epoch.
	acting string
	epoch  uint64
	// adminAt holds the instants at which a manager took an admin request.
	adminAt map[time.Duration]bool
}

func newLanes() *lanes {
	return &lanes{state: map[string]string{}, beforePause: map[string]string{}, adminAt: map[time.Duration]bool{}}
}

// line reads one trace line ("DURATION text").
func (l *lanes) line(line string) {
	rel, text, ok := strings.Cut(line, " ")
	if !ok {
		return
	}
	d, err := time.ParseDuration(rel)
	if err != nil {
		return
	}
	at := cluster.Start.Add(d)
	switch {
	case strings.HasPrefix(text, "deliver "):
		// Only a hello matters: a lost host that answers again without a
		// fence (fencing off) is back.
		if from, rest, ok := strings.Cut(strings.TrimPrefix(text, "deliver "), "->manager "); ok && strings.Contains(rest, " hello") {
			if l.state[from] == check.HostLost {
				l.host(at, from, check.HostUp, "answers the manager again (hello)")
			}
		}
	case strings.HasPrefix(text, "host "):
		l.hostLine(at, strings.TrimPrefix(text, "host "))
	case strings.HasPrefix(text, "manager log "):
		l.managerLog(at, text)
	case strings.HasPrefix(text, "fence device "):
		// "fence device D powers off H"
		dev, target, ok := strings.Cut(strings.TrimPrefix(text, "fence device "), " powers off ")
		if ok {
			l.host(at, target, check.HostFenced, "powered off by fence device "+dev)
			l.mark(at, check.MarkFence, target, fmt.Sprintf("fence device %s powers off %s", dev, target))
		}
	case strings.HasPrefix(text, "manager ") || strings.HasPrefix(text, "replica ") || strings.HasPrefix(text, "store"):
		l.managerLine(at, text)
	case strings.HasPrefix(text, "admin "):
		req, answer, _ := strings.Cut(strings.TrimPrefix(text, "admin "), " -> ")
		id, errText, _ := strings.Cut(answer, " ")
		label := fmt.Sprintf("admin %s: report %s", req, id)
		if errText != "<nil>" {
			label = fmt.Sprintf("admin %s: refused: %s", req, strings.TrimSpace(errText))
		}
		l.adminAt[d] = true
		l.mark(at, check.MarkAdmin, "", label)
	}
}

// hostLine reads "host H ..." (the host's own life, as its power and
// agent saw it).
func (l *lanes) hostLine(at time.Time, text string) {
	h, what, ok := strings.Cut(text, " ")
	if !ok {
		return
	}
	switch {
	case strings.HasPrefix(what, "agent started"):
		switch l.state[h] {
		case check.HostDown, check.HostOff, check.HostFenced, check.HostFencing, check.HostLost:
			l.host(at, h, check.HostRebooted, "booted, agent started ("+strings.TrimPrefix(what, "agent started ")+")")
			return
		}
		l.host(at, h, check.HostUp, "agent started ("+strings.TrimPrefix(what, "agent started ")+")")
	case what == "agent crashed":
		l.host(at, h, check.HostAgentDown, "agent killed (kill -9)")
	case what == "agent stopped cleanly":
		l.host(at, h, check.HostAgentDown, "agent stopped cleanly (goodbye)")
	case strings.HasPrefix(what, "agent dies midway"):
		l.host(at, h, check.HostAgentDown, strings.TrimPrefix(what, "agent "))
	case what == "crashed":
		l.host(at, h, check.HostDown, "host crashed")
	case strings.HasPrefix(what, "powered off"):
		cause := strings.TrimSuffix(strings.TrimPrefix(what, "powered off ("), ")")
		if strings.HasPrefix(cause, "fenced by ") {
			l.host(at, h, check.HostFenced, "powered off, "+cause)
			return
		}
		l.host(at, h, check.HostOff, "powered off: "+cause)
	case what == "paused":
		l.beforePause[h] = l.state[h]
		l.host(at, h, check.HostPaused, "frozen (SIGSTOP)")
	case strings.HasPrefix(what, "resumed"):
		// Back to what it was, unless the manager's view of it changed
		// meanwhile (lost, fencing): that stays.
		if l.state[h] == check.HostPaused {
			prev := l.beforePause[h]
			if prev == "" {
				prev = check.HostUp
			}
			l.host(at, h, prev, "resumed after a pause "+strings.TrimPrefix(what, "resumed "))
		}
	}
}

// managerLog reads a manager's warning or error about a host: a loss and
// the fencing that follows.
func (l *lanes) managerLog(at time.Time, text string) {
	attr := func(key string) string {
		_, v, ok := strings.Cut(text, " "+key+"=")
		if !ok {
			return ""
		}
		if key == "why" || key == "reason" {
			return v // the last attribute, spaces and all
		}
		v, _, _ = strings.Cut(v, " ")
		return v
	}
	switch {
	case strings.Contains(text, `"host lost"`):
		h := attr("host")
		l.host(at, h, check.HostLost, "unclean: "+attr("why"))
	case strings.Contains(text, `"fencing requested"`):
		h := attr("target")
		l.host(at, h, check.HostFencing, fmt.Sprintf("fence requested by %s, action %s", attr("origin"), attr("action")))
		l.mark(at, check.MarkFence, h, fmt.Sprintf("fencing of %s requested by %s (action %s)", h, attr("origin"), attr("action")))
	case strings.Contains(text, `"fencing confirmed"`):
		h := attr("target")
		_, devs, _ := strings.Cut(text, " devices=")
		devs, _, _ = strings.Cut(devs, " reason=")
		l.host(at, h, check.HostFenced, "fence confirmed by "+devs)
		l.mark(at, check.MarkFence, h, fmt.Sprintf("fencing of %s confirmed (%s)", h, devs))
	case strings.Contains(text, `"fencing failed"`):
		h := attr("target")
		l.mark(at, check.MarkFence, h, fmt.Sprintf("fencing of %s FAILED: %s", h, attr("reason")))
	}
}

// managerLine reads the manager's and the replicas' lives.
func (l *lanes) managerLine(at time.Time, text string) {
	var epoch uint64
	var name string
	switch {
	case scan(text, "manager started epoch=%d", &epoch):
		l.acting, l.epoch = "", epoch
		l.manager(at, "", epoch, check.ManagerActing, "")
	case text == "manager crashed":
		l.manager(at, "", 0, check.ManagerDown, fmt.Sprintf("epoch %d crashed (kill -9)", l.epoch))
	case scan(text, "manager epoch=%d frozen", &epoch):
		l.manager(at, "", epoch, check.ManagerFrozen, "stopped (SIGSTOP), no replacement")
	case scan(text, "manager epoch=%d thawed", &epoch):
		l.manager(at, "", epoch, check.ManagerActing, "thawed: "+afterWord(text, "thawed"))
	case scan(text, "manager epoch=%d paused", &epoch):
		l.manager(at, "", epoch, check.ManagerFrozen, "paused; a replacement starts")
	case scan(text, "manager %s started epoch=%d", &name, &epoch):
		l.acting, l.epoch = name, epoch
		l.manager(at, name, epoch, check.ManagerActing, "elected: "+strings.Trim(afterWord(text, fmt.Sprintf("epoch=%d", epoch)), "()"))
	case scan(text, "manager %s epoch=%d stops:", &name, &epoch):
		if name == l.acting {
			l.acting = ""
			l.manager(at, "", 0, check.ManagerNone, fmt.Sprintf("%s (epoch %d) stopped: %s", name, epoch, afterWord(text, "stops:")))
		}
	case scan(text, "replica %s paused", &name):
		if name == l.acting {
			l.manager(at, name, l.epoch, check.ManagerFrozen, "the leader is stopped (SIGSTOP)")
		}
	case scan(text, "replica %s resumes", &name):
		if name == l.acting {
			l.manager(at, name, l.epoch, check.ManagerActing, "resumed: "+afterWord(text, "resumes"))
		}
	case scan(text, "replica %s crashed", &name):
		if name == l.acting {
			l.acting = ""
			l.manager(at, "", 0, check.ManagerNone, fmt.Sprintf("leader %s (epoch %d) crashed (kill -9)", name, l.epoch))
		}
	}
}

// scan is fmt.Sscanf that reports whether the whole format matched (the
// text may go on after it): every operand read, every literal word too.
func scan(text, format string, args ...any) bool {
	n, err := fmt.Sscanf(text, format, args...)
	return err == nil && n == len(args)
}

// afterWord is what follows word in text, trimmed.
func afterWord(text, word string) string {
	_, rest, _ := strings.Cut(text, word)
	return strings.TrimSpace(rest)
}

func (l *lanes) host(at time.Time, h, state, detail string) {
	if h == "" {
		return
	}
	l.state[h] = state
	l.hosts = append(l.hosts, check.HostEvent{At: at, Host: h, State: state, Detail: detail})
}

func (l *lanes) manager(at time.Time, replica string, epoch uint64, state, detail string) {
	l.managers = append(l.managers, check.ManagerEvent{At: at, Replica: replica, Epoch: epoch, State: state, Detail: detail})
}

func (l *lanes) mark(at time.Time, kind, host, label string) {
	l.marks = append(l.marks, check.Mark{At: at, Kind: kind, Host: host, Label: label})
}

// planMarks are the plan's faults as marks. An admin request of the plan
// that a manager took is marked from the trace, with its answer; one that
// none took (the manager down or frozen, no leader) is marked here.
func (l *lanes) planMarks(plan faults.Plan) []check.Mark {
	var out []check.Mark
	for _, f := range plan.Faults {
		if strings.HasPrefix(string(f.Kind), "admin-") {
			if !l.adminAt[f.At] {
				out = append(out, check.Mark{At: cluster.Start.Add(f.At), Kind: check.MarkAdmin, Host: f.Host,
					Label: f.String() + ": no manager took it (down, frozen, or no leader)"})
			}
			continue
		}
		out = append(out, check.Mark{At: cluster.Start.Add(f.At), Kind: check.MarkFault, Host: f.Host, Label: f.String()})
	}
	return out
}
