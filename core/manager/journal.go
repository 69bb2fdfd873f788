package manager

import (
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/eventlog"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
)

// event appends to the event log (durably) and the in-memory list.
func (mg *Manager) event(now time.Time, e Event) []effect.Effect { return mg.appendEvent(nil, now, e) }

// appendEvent is event, its effect appended to effs: a batch of its own,
// copied into the caller's, was an allocation per event.
func (mg *Manager) appendEvent(effs []effect.Effect, now time.Time, e Event) []effect.Effect {
	mg.seq++
	e.Seq, e.Time = mg.seq, now
	mg.remember(e)
	data, err := mg.encodeEvent(e)
	if err != nil {
		return append(effs, effect.Log{Level: slog.LevelError, Msg: "encode event", Attrs: []slog.Attr{slog.String("err", err.Error())}})
	}
	rec, err := eventlog.Encode(data)
	if err != nil {
		return append(effs, effect.Log{Level: slog.LevelError, Msg: "encode event", Attrs: []slog.Attr{slog.String("err", err.Error())}})
	}
	// The record holds the payload: nobody writes to either, and the
	// encoder's buffer is the next event's.
	mg.appended(rec[eventlog.HeaderLen:], len(rec))
	return append(effs, mg.batches.Persist(effect.Persist{Name: EventLog, Data: rec, Append: true}))
}

// encodeEvent is json.Marshal(e), in a buffer the next event overwrites:
// the record framing it copies the bytes anyway, and Marshal's own copy
// of them was one more allocation per event. Encode writes Marshal's
// bytes (HTML escaped alike) and a newline after them.
func (mg *Manager) encodeEvent(e Event) ([]byte, error) {
	if mg.evEnc == nil {
		mg.evEnc = json.NewEncoder(&mg.evBuf)
	}
	mg.evBuf.Reset()
	if err := mg.evEnc.Encode(e); err != nil {
		return nil, err
	}
	b := mg.evBuf.Bytes()
	return b[:len(b)-1], nil
}

// remember keeps the most recent events in memory: the last maxEvents of
// mg.events (recentEvents). The slice grows to twice that before the old
// half goes, so that an event costs O(1), not a move of all the others.
func (mg *Manager) remember(e Event) {
	mg.events = append(mg.events, e)
	if len(mg.events) > 2*maxEvents {
		mg.events = slices.Delete(mg.events, 0, len(mg.events)-maxEvents)
	}
}

// roomForEvents grows the remembered events once for n more (as many as
// remember keeps): a replay remembers the whole log, and growing the list
// of these large values by doubling was most of what replaying cost.
func (mg *Manager) roomForEvents(n int) {
	if n = min(n, 2*maxEvents+1-len(mg.events)); n > 0 {
		mg.events = slices.Grow(mg.events, n)
	}
}

// recentEvents are the events remembered, the last maxEvents, oldest
// first; to read only.
func (mg *Manager) recentEvents() []Event { return mg.events[max(0, len(mg.events)-maxEvents):] }

// replay rebuilds durable decisions from one logged event. Events of kinds
// it does not know (or that name hosts and groups no longer configured)
// change nothing.
func (mg *Manager) replay(e Event) {
	mg.seq = max(mg.seq, e.Seq)
	if e.Kind == "snapshot" {
		if e.Snapshot != nil {
			mg.restore(e.Snapshot)
		}
		return
	}
	mg.remember(e)
	mg.replayLeadership(e)
	switch e.Kind {
	case "move":
		mg.cons.Moves[e.Group] = planner.Move{Host: e.Host, Until: e.Until, By: e.Report}
	case "ban":
		mg.cons.Bans = append(mg.cons.Bans, planner.Ban{Group: e.Group, Host: e.Host, Until: e.Until, By: e.Report})
	case "clear":
		delete(mg.cons.Moves, e.Group)
		mg.cons.Bans = slices.DeleteFunc(mg.cons.Bans, func(b planner.Ban) bool { return b.Group == e.Group })
	case "target-role":
		mg.cons.TargetRoles[e.Group] = model.Role(e.Role)
	case "managed":
		mg.cons.Unmanaged[e.Group] = !e.Flag
	case "standby", "unstandby":
		if hi := mg.hosts[e.Host]; hi != nil {
			hi.standby = e.Kind == "standby" && e.Flag
		}
	case "maintenance":
		mg.cons.Maintenance = e.Flag
	case "blocked": // written by managers that decided blocks themselves
		if e.Flag {
			mg.cons.Blocked[e.Resource] = true
		}
	case "fatal":
		mg.fatal[e.Resource] = e.Message
	case "found-active":
		if e.Flag { // a finding that holds the group until a cleanup
			mg.cons.FoundActive[e.Group] = e.Hosts
		}
	case "failure":
		if mg.failures[e.Resource] == nil {
			mg.failures[e.Resource] = map[string]planner.Failure{}
		}
		mg.failures[e.Resource][e.Host] = planner.Failure{Count: e.Count, Last: e.Time, Hard: e.Flag,
			Op: planner.FailedOp(e.Op), Monitor: e.Monitor}
	case "cleanup":
		mg.cleanup(e.Resource)
	case "report-opened", "report-closed":
		mg.replayReport(e)
	case "config-applied":
		mg.replayConfig(e)
	case "attribute-set", "attribute-deleted":
		mg.applyAttr(e)
	}
}

// replayReport follows a request's report across a restart.
func (mg *Manager) replayReport(e Event) {
	if e.Kind == "report-closed" {
		if rep := mg.reports[e.Report]; rep != nil {
			rep.State, rep.Closed = ReportClosed, e.Time
			// Logs written before the results were logged have none:
			// the report closes with the results it had.
			if e.Results != nil {
				rep.Results, rep.Failed = maps.Clone(e.Results), e.Flag
			}
		}
		return
	}
	rep := &Report{ID: e.Report, Request: e.Message, State: ReportOpen, Created: e.Time, Results: map[string]string{}}
	if e.Group != "" {
		rep.Groups = strings.Split(e.Group, ",")
	}
	if _, dup := mg.reports[e.Report]; !dup {
		mg.repOrder = append(mg.repOrder, e.Report)
	}
	mg.reports[e.Report] = rep
}

// cleanup forgets a resource's failures, as an administrator asked.
func (mg *Manager) cleanup(rsc string) {
	delete(mg.failures, rsc)
	delete(mg.fatal, rsc)
	delete(mg.cons.Blocked, rsc)
	if g, ok := mg.m.GroupOf(rsc); ok {
		delete(mg.cons.FoundActive, g)
		delete(mg.foundSeen, g)
	}
}

// logs reports whether the manager emits records of level
// (Config.LogLevel).
func (mg *Manager) logs(level slog.Level) bool { return level >= mg.minLevel }

// appendLog appends e to effs if the manager emits its level. (A record
// on a frequent path is not built at all below the level: see logs.)
func (mg *Manager) appendLog(effs []effect.Effect, e effect.Log) []effect.Effect {
	if !mg.logs(e.Level) {
		return effs
	}
	return append(effs, e)
}

// logRsc is a log line about a resource: it carries the human name.
func (mg *Manager) logRsc(level slog.Level, rsc string, msg string, attrs ...slog.Attr) effect.Log {
	name := rsc
	if r, ok := mg.m.Resource(rsc); ok {
		name = r.Name
	}
	all := make([]slog.Attr, 0, 2+len(attrs)) // one allocation, not a literal's and append's
	all = append(all, slog.String("resource", rsc), slog.String("name", name))
	return effect.Log{Level: level, Msg: msg, Attrs: append(all, attrs...)}
}
