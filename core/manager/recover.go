package manager

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/basalt-ha/basalt/core/eventlog"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
)

// Recovered is what a manager's durable state holds at boot: what Start
// takes.
type Recovered struct {
	// Epoch is the last persisted epoch (0 on a new cluster).
	Epoch proto.Epoch
	// Records are the event log's records, in order.
	Records [][]byte
	// Torn describes a torn tail that was cut off ("" when there was
	// none): a crash in the middle of an append, to be logged.
	Torn string
	// Valid is the length the event log was truncated to, with Torn.
	Valid int64
}

// Recover reads a manager's durable state for Start, the one boot path
// both drivers take: the epoch record, and the event log with a torn tail
// truncated (a crash mid-append loses only that record, which was never
// acted on). A damaged log is refused rather than replayed in part.
//
// The two records vouch for each other (checkPair): an event log without
// an epoch record, or an epoch record past the first start without an
// event log, is an error naming the file and the recovery command, never
// a fresh start.
func Recover(store storage.Store) (Recovered, error) {
	rec, hasEpoch, err := readEpoch(store)
	if err != nil {
		return rec, err
	}
	data, err := store.Read(EventLog)
	if errors.Is(err, storage.ErrNotFound) {
		return rec, checkPair(rec, hasEpoch)
	}
	if err != nil {
		return rec, fmt.Errorf("manager: %w", err)
	}
	d, err := eventlog.Decode(data)
	if err != nil {
		return rec, fmt.Errorf("manager: event log: %w (refusing to start on a damaged log; move it aside to start afresh)", err)
	}
	if d.Torn != "" {
		if err := store.Truncate(EventLog, d.Valid); err != nil {
			return rec, fmt.Errorf("manager: truncate torn event log: %w", err)
		}
		rec.Torn, rec.Valid = d.Torn, d.Valid
	}
	rec.Records = d.Records
	return rec, checkPair(rec, hasEpoch)
}

// readEpoch reads the epoch record, reporting whether there is one.
func readEpoch(store storage.Store) (Recovered, bool, error) {
	var rec Recovered
	data, err := store.Read(EpochRecord)
	if errors.Is(err, storage.ErrNotFound) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, fmt.Errorf("manager: %w", err)
	}
	if rec.Epoch, err = proto.DecodeEpoch(data); err != nil {
		return rec, false, fmt.Errorf("manager: %w (file %q of the state directory)", err, EpochRecord)
	}
	return rec, true, nil
}

// checkPair: every start persists the epoch, then logs manager-started,
// before anything else, so a log always has an epoch record beside it,
// and an epoch past 1 always has a log with records. The one gap a crash
// can leave is between the two writes of the very first start (epoch 1, no
// log yet), which is harmless and allowed. Anything else means a file was
// deleted or lost, and starting afresh would be wrong: epoch 1 would be
// refused by agents that have seen more (or, worse, accepted with
// forgotten bans, moves and fail counts).
func checkPair(rec Recovered, hasEpoch bool) error {
	switch {
	case !hasEpoch && len(rec.Records) > 0:
		return fmt.Errorf("manager: the event log %q holds %d records but the epoch record %q is missing from the state directory "+
			"(deleted or lost): refusing to start afresh at epoch 1, which agents that have seen a later epoch refuse. "+
			"Find the epoch the agents hold (basalt-agent epoch --state-dir DIR --show on a host) and, with no other manager running, "+
			"run basalt-manager epoch --state-dir DIR --set N", EventLog, len(rec.Records), EpochRecord)
	case hasEpoch && rec.Epoch > 1 && len(rec.Records) == 0:
		return fmt.Errorf("manager: the epoch record %q says %d but the event log %q is missing or empty (deleted or lost): "+
			"refusing to start with its bans, moves, fail counts and reports forgotten. Restore it from a backup, or, to start "+
			"on purpose without them, run basalt-manager epoch --state-dir DIR --new-log", EpochRecord, rec.Epoch, EventLog)
	}
	return nil
}

// NewLog starts an event log on purpose where one was lost (the recovery
// command basalt-manager epoch --new-log): a single record saying so, so
// that Recover accepts the directory again. It refuses to replace a log
// that holds records.
func NewLog(store storage.Store, now time.Time) error {
	if data, err := store.Read(EventLog); err == nil && len(data) > 0 {
		return fmt.Errorf("manager: the event log %q exists (%d bytes): not replaced", EventLog, len(data))
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("manager: %w", err)
	}
	payload, err := json.Marshal(Event{Time: now, Kind: "log-started-afresh", Message: "the event log was lost; started afresh by basalt-manager epoch --new-log"})
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	framed, err := eventlog.Encode(payload)
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	return store.Write(EventLog, framed)
}

// SetEpoch writes the manager's epoch record (the recovery command
// basalt-manager epoch --set): the next start takes epoch+1. It refuses
// an epoch at or past the ceiling, whose successor no agent accepts.
func SetEpoch(store storage.Store, epoch proto.Epoch) error {
	if err := checkStartEpoch(epoch); err != nil {
		return err
	}
	return store.Write(EpochRecord, proto.EncodeEpoch(epoch))
}
