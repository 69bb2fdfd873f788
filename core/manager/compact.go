package manager

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/eventlog"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
)

// Event log compaction, as etcd compacts its log: once the log passes a
// bound of records or bytes, the manager replaces it with one snapshot
// record of everything replay rebuilds (constraints, standby, maintenance,
// failures, fatal errors, reports, the sequence number and the latest
// events), so that recovery is the snapshot and the tail appended after
// it.
//
// Crash safety: the replacement is one effect.Persist without Append,
// which every driver carries out as Store.Write, atomic (the new content
// is written and fsynced beside the old, then renamed over it): after a
// crash the log is either the whole old log or the snapshot, never a
// mix, and both replay to the same state. Appends that follow go after
// the snapshot in the effects' order.
//
// Replay semantics stay those of the whole log because the snapshot is
// not taken from the live manager's state but from a shadow manager that
// has replayed exactly what was written (each record decoded as recovery
// decodes it): snapshot + tail replays to what the whole log replayed to.
// Only history is cut: the snapshot keeps the latest snapshotEvents events
// and closed reports (every open one), as a running manager keeps a
// bounded number of them too, and of those no more than snapshotHistory
// bytes each: a report of a large cluster's standby names every resource,
// and 128 of them would not fit in one record (eventlog.MaxRecord).

// Default compaction bounds (Config.CompactRecords, CompactBytes).
const (
	DefaultCompactRecords = 1000
	DefaultCompactBytes   = 256 << 10
	snapshotEvents        = 128
	snapshotClosedReports = 128
	snapshotHistory       = 192 << 10
)

// Snapshot is the durable state replay rebuilds, as one record.
type Snapshot struct {
	Moves       map[string]planner.Move               `json:"moves,omitempty"`
	Bans        []planner.Ban                         `json:"bans,omitempty"`
	TargetRoles map[string]model.Role                 `json:"target_roles,omitempty"`
	Unmanaged   map[string]bool                       `json:"unmanaged,omitempty"`
	Blocked     map[string]bool                       `json:"blocked,omitempty"`
	FoundActive map[string][]string                   `json:"found_active,omitempty"`
	Maintenance bool                                  `json:"maintenance,omitempty"`
	Standby     []string                              `json:"standby,omitempty"`
	Fatal       map[string]string                     `json:"fatal,omitempty"`
	Failures    map[string]map[string]planner.Failure `json:"failures,omitempty"`
	Reports     []Report                              `json:"reports,omitempty"`
	Events      []Event                               `json:"events,omitempty"`
	// Leader is the last leadership the log recorded (manager replicas).
	Leader *LeaderRecord `json:"leader,omitempty"`
	// Config and ConfigVersion are the running configuration, when one
	// was applied (config.go).
	Config        string `json:"config,omitempty"`
	ConfigVersion int    `json:"config_version,omitempty"`
	// Attributes are the hosts' node attributes, both lifetimes
	// (attrs.go).
	Attributes []AttrRecord `json:"attributes,omitempty"`
}

// logSize counts what the event log holds after its snapshot (the tail):
// the snapshot itself is not counted, or a large one would be rewritten
// at every input.
type logSize struct {
	records int
	bytes   int64
	// retryRecords and retryBytes defer the next snapshot after one that
	// could not be written (too large for a record): to when the tail has
	// doubled, not at every input, which would encode it over and over.
	retryRecords int
	retryBytes   int64
}

func (mg *Manager) compactBounds() (int, int64) {
	recs, bytes := mg.cfg.CompactRecords, mg.cfg.CompactBytes
	if recs <= 0 {
		recs = DefaultCompactRecords
	}
	if bytes <= 0 {
		bytes = DefaultCompactBytes
	}
	return recs, bytes
}

// appended counts a record appended to the log and keeps its payload for
// the shadow, which replays it, as recovery would read it, when it is next
// read. Decoding every record as it was written was a sixth of a
// simulated cluster's allocations, for a shadow read only when the log
// compacts, which a short run never reaches; what waits is bounded by the
// compaction bounds, since each compaction reads the shadow.
func (mg *Manager) appended(payload []byte, framed int) {
	mg.logSize.records++
	mg.logSize.bytes += int64(framed)
	if mg.shadow != nil {
		mg.shadowBehind = append(mg.shadowBehind, payload)
	}
}

// shadowNow is the shadow once it has replayed the records appended since
// it was last read.
func (mg *Manager) shadowNow() *Manager {
	for _, payload := range mg.shadowBehind {
		var e Event
		if err := json.Unmarshal(payload, &e); err == nil && mg.shadow != nil {
			mg.shadow.replay(e)
		}
	}
	clear(mg.shadowBehind)
	mg.shadowBehind = mg.shadowBehind[:0]
	return mg.shadow
}

// maybeCompact appends the compaction to an input's effects when the log
// has passed a bound.
func (mg *Manager) maybeCompact(effs []effect.Effect) []effect.Effect {
	recs, bytes := mg.compactBounds()
	recs, bytes = max(recs, mg.logSize.retryRecords), max(bytes, mg.logSize.retryBytes)
	if mg.shadow == nil || mg.logSize.records <= recs && mg.logSize.bytes <= bytes {
		return effs
	}
	shadow := mg.shadowNow()
	snap := shadow.snapshot()
	payload, err := json.Marshal(Event{Seq: shadow.seq, Kind: "snapshot", Snapshot: &snap})
	var framed []byte
	if err == nil {
		framed, err = eventlog.Encode(payload)
	}
	if err != nil {
		// Nothing is lost: the log goes on growing, whole.
		mg.logSize.retryRecords, mg.logSize.retryBytes = 2*mg.logSize.records, 2*mg.logSize.bytes
		return append(effs, effect.Log{Level: slog.LevelError, Msg: fmt.Sprintf(
			"event log not compacted (it keeps growing, whole; tried again when its tail of %d records, %d bytes, has doubled): %v",
			mg.logSize.records, mg.logSize.bytes, err)})
	}
	before := mg.logSize
	mg.logSize = logSize{}
	mg.shadow = mg.newShadow()
	mg.shadowBehind = append(mg.shadowBehind, payload)
	effs = append(effs, mg.batches.Persist(effect.Persist{Name: EventLog, Data: framed}))
	return mg.appendLog(effs, effect.Log{Level: slog.LevelInfo, Msg: fmt.Sprintf("event log compacted: %d records (%d bytes) replaced by a snapshot of %d bytes",
		before.records, before.bytes, len(framed))})
}

// newShadow is a manager that only replays.
func (mg *Manager) newShadow() *Manager { return New(mg.cfg) }

// snapshot renders what replay has rebuilt.
func (mg *Manager) snapshot() Snapshot {
	s := Snapshot{
		Moves: maps.Clone(mg.cons.Moves), Bans: slices.Clone(mg.cons.Bans), TargetRoles: maps.Clone(mg.cons.TargetRoles),
		Unmanaged: maps.Clone(mg.cons.Unmanaged), Blocked: maps.Clone(mg.cons.Blocked), Maintenance: mg.cons.Maintenance,
		FoundActive: maps.Clone(mg.cons.FoundActive),
		Fatal:       maps.Clone(mg.fatal), Failures: map[string]map[string]planner.Failure{},
		Leader: mg.snapshotLeadership(), Config: mg.configText, ConfigVersion: mg.configVersion,
		Attributes: mg.snapshotAttrs(),
	}
	for _, h := range mg.m.Hosts {
		if mg.hosts[h.Name].standby {
			s.Standby = append(s.Standby, h.Name)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(mg.failures)) {
		s.Failures[r] = maps.Clone(mg.failures[r])
	}
	closed, budget := 0, snapshotHistory
	for i := len(mg.repOrder) - 1; i >= 0; i-- {
		rep := mg.reports[mg.repOrder[i]]
		if rep == nil || rep.State == ReportClosed && (closed >= snapshotClosedReports || budget <= 0) {
			continue
		}
		if rep.State == ReportClosed {
			closed++
			budget -= encodedSize(rep)
			if budget < 0 {
				continue
			}
		}
		s.Reports = append(s.Reports, *rep)
	}
	slices.Reverse(s.Reports)
	s.Events = latestEvents(mg.recentEvents())
	return s
}

// latestEvents are the newest of events a snapshot keeps: snapshotEvents
// of them at most, of snapshotHistory bytes at most, in order.
func latestEvents(events []Event) []Event {
	first, budget := len(events), snapshotHistory
	for first > 0 && len(events)-first < snapshotEvents {
		if budget -= encodedSize(&events[first-1]); budget < 0 {
			break
		}
		first--
	}
	return slices.Clone(events[first:])
}

// encodedSize is the bytes v takes in a snapshot (0 if it cannot be
// encoded, which the snapshot's own encoding then reports).
func encodedSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

// restore replaces what replay has rebuilt with a snapshot's.
func (mg *Manager) restore(s *Snapshot) {
	if s.Config != "" {
		// First: the hosts below are the configuration's.
		mg.replayConfig(Event{Config: s.Config, Count: s.ConfigVersion})
	}
	mg.cons.Moves, mg.cons.Bans = orEmpty(s.Moves), s.Bans
	mg.cons.TargetRoles, mg.cons.Unmanaged, mg.cons.Blocked = orEmpty(s.TargetRoles), orEmpty(s.Unmanaged), orEmpty(s.Blocked)
	mg.cons.Maintenance, mg.cons.FoundActive = s.Maintenance, orEmpty(s.FoundActive)
	mg.fatal, mg.failures = orEmpty(s.Fatal), orEmpty(s.Failures)
	for _, h := range mg.m.Hosts {
		mg.hosts[h.Name].standby = slices.Contains(s.Standby, h.Name)
	}
	mg.reports, mg.repOrder = map[string]*Report{}, nil
	for i := range s.Reports {
		rep := s.Reports[i]
		if rep.Results == nil {
			rep.Results = map[string]string{}
		}
		mg.reports[rep.ID] = &rep
		mg.repOrder = append(mg.repOrder, rep.ID)
	}
	mg.events = nil
	for _, e := range s.Events {
		mg.remember(e)
	}
	mg.restoreLeadership(s.Leader)
	mg.restoreAttrs(s.Attributes)
}

// orEmpty keeps maps non-nil, as New makes them.
func orEmpty[M ~map[K]V, K comparable, V any](m M) M {
	if m == nil {
		return M{}
	}
	return m
}
