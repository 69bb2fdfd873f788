package manager

import (
	"fmt"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
)

// Leaderships in the event log, with manager replicas (Config.Replica):
// every leader records its start (manager-started, naming the replica and
// its epoch) and, when it hands over on purpose, its resignation. Only the
// leader writes to the log, and its writes are guarded on its leadership,
// so the last leadership record of the log is the previous leader's, and
// the time of the log's last record is the last time it was heard from.
// The next leader reads both when it takes over and records a takeover
// event with its cause: a resignation (and its reason), or a lease that
// ran out without one (the process died, froze past its lease, or lost
// etcd: the log cannot tell which, and the event says so).

// LeaderRecord is the last leadership the event log records: the replica,
// its epoch, whether it resigned and why, and (in a snapshot) when the log
// last heard from it.
type LeaderRecord struct {
	Manager  string    `json:"manager"`
	Epoch    uint64    `json:"epoch,omitempty"`
	Resigned bool      `json:"resigned,omitempty"`
	Why      string    `json:"why,omitempty"`
	LastAt   time.Time `json:"last_at,omitzero"`
	lastSeen time.Time // the log's last record, of any kind
}

// replayLeadership follows the leadership records of the log. Every
// record, of any kind, is the last leader's too, for the time it was last
// heard from.
func (mg *Manager) replayLeadership(e Event) {
	mg.lastLead.lastSeen = e.Time
	switch {
	case e.Kind == "manager-started" && e.Manager != "":
		mg.lastLead = LeaderRecord{Manager: e.Manager, Epoch: e.Epoch, lastSeen: e.Time}
	case e.Kind == "resigned" && e.Manager == mg.lastLead.Manager:
		mg.lastLead.Resigned, mg.lastLead.Why = true, e.Message
	}
}

// snapshotLeadership is the leadership record a snapshot keeps (nil when
// no replica ever led), with the last record's time, which the snapshot
// itself would otherwise stand for.
func (mg *Manager) snapshotLeadership() *LeaderRecord {
	if mg.lastLead.Manager == "" {
		return nil
	}
	l := mg.lastLead
	l.LastAt = l.lastSeen
	return &l
}

// restoreLeadership is the inverse of snapshotLeadership.
func (mg *Manager) restoreLeadership(l *LeaderRecord) {
	mg.lastLead = LeaderRecord{}
	if l != nil {
		mg.lastLead = *l
		mg.lastLead.lastSeen = l.LastAt
	}
}

// takeoverMessage says how this replica came to lead: whom it took over
// from and why, and how much of the log it replayed on taking over.
func (mg *Manager) takeoverMessage(now time.Time, replayedNow int) string {
	me, prev := mg.cfg.Replica, mg.lastLead
	var cause string
	switch {
	case prev.Manager == "":
		cause = fmt.Sprintf("%s leads at epoch %d: no replica led this cluster before", me, mg.epoch)
	case prev.Resigned:
		cause = fmt.Sprintf("%s took over at epoch %d from %s (epoch %d), which resigned: %s", me, mg.epoch, prev.Manager, prev.Epoch, prev.Why)
	case prev.Manager == me:
		cause = fmt.Sprintf("%s leads again at epoch %d; its leadership at epoch %d ended without a resignation "+
			"(the process restarted, froze past its lease, or lost etcd)", me, mg.epoch, prev.Epoch)
	default:
		cause = fmt.Sprintf("%s took over at epoch %d from %s (epoch %d), whose lease ran out without a resignation: "+
			"its process died, froze past its lease, or lost etcd", me, mg.epoch, prev.Manager, prev.Epoch)
	}
	if prev.Manager != "" && !prev.lastSeen.IsZero() && !prev.Resigned {
		cause += fmt.Sprintf("; its last record was written %s before", now.Sub(prev.lastSeen).Round(time.Millisecond))
	}
	return cause + fmt.Sprintf("; replayed %d event log records on taking over, %d while standing by",
		replayedNow, mg.replayed-replayedNow)
}

// Resign records that this leader hands its leadership over on purpose
// (why: an operator's stop, say), for the next leader's takeover event.
// The driver carries the record out before it resigns in etcd and stops
// the manager; a lone manager records nothing.
func (mg *Manager) Resign(now time.Time, why string) []effect.Effect {
	if !mg.started || mg.deposed || mg.cfg.Replica == "" {
		return nil
	}
	return mg.event(now, Event{Kind: "resigned", Manager: mg.cfg.Replica, Epoch: uint64(mg.epoch), Message: why})
}
