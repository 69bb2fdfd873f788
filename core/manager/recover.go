package manager

import (
	"errors"
	"fmt"

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
func Recover(store storage.Store) (Recovered, error) {
	var rec Recovered
	if data, err := store.Read(EpochRecord); err == nil {
		if rec.Epoch, err = proto.DecodeEpoch(data); err != nil {
			return rec, fmt.Errorf("manager: %w", err)
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return rec, fmt.Errorf("manager: %w", err)
	}
	data, err := store.Read(EventLog)
	if errors.Is(err, storage.ErrNotFound) {
		return rec, nil
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
	return rec, nil
}
