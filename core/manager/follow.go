package manager

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// Follower is a standby replica's warm manager: it replays the leader's
// event log as the log grows, so that the standby, once elected, starts
// from what it has already rebuilt and replays only the records written
// since it last looked, rather than the whole log.
//
// A warm start is a cold one whose replay was done earlier: the manager
// Lead returns went through the same replay, record for record, as Start
// would have put it through, so both start in the same state (the tests
// compare them). The follower tells an appended log from a rewritten one
// (a compaction, or a log started afresh) by the first and last records it
// replayed: the log is only appended to between rewrites, and a rewrite
// starts with a new snapshot. A rewritten log is replayed afresh.
type Follower struct {
	cfg Config
	mg  *Manager // replayed, not started; nil once Lead handed it over
	// first and last are copies of the first and the last record mg
	// replayed (mg.replayed counts them).
	first, last []byte
	resets      int
}

// ErrFollowerSpent is returned by a follower whose manager was handed
// over by Lead: a standby follows with a new one.
var ErrFollowerSpent = errors.New("manager follower: its manager leads already; follow with a new one")

// NewFollower returns a follower that has replayed nothing.
func NewFollower(cfg Config) *Follower { return &Follower{cfg: cfg, mg: New(cfg)} }

// Follow brings the replay up to the event log as it is now (its records'
// payloads, as eventlog.Decode returns them) and returns how many records
// it replayed. A record that does not decode changes nothing and is an
// error; the next call tries again.
func (f *Follower) Follow(records [][]byte) (int, error) {
	if f.mg == nil {
		return 0, ErrFollowerSpent
	}
	if !f.extends(records) {
		f.mg, f.first, f.last = New(f.cfg), nil, nil
		f.resets++
	}
	n := f.mg.replayed
	tail := records[n:]
	if len(tail) == 0 {
		return 0, nil
	}
	if err := f.mg.replayRecords(tail); err != nil {
		return 0, fmt.Errorf("manager follower: %w", err)
	}
	if n == 0 {
		f.first = bytes.Clone(records[0])
	}
	f.last = bytes.Clone(records[len(records)-1])
	return len(tail), nil
}

// extends reports whether records are the log already replayed, with
// perhaps more appended.
func (f *Follower) extends(records [][]byte) bool {
	n := f.mg.replayed
	if n == 0 {
		return true
	}
	return len(records) >= n && bytes.Equal(records[0], f.first) && bytes.Equal(records[n-1], f.last)
}

// Replayed is how many records the follower's manager has replayed (0
// once Lead handed it over), and how many times it started over on a
// rewritten log.
func (f *Follower) Replayed() (records, resets int) {
	if f.mg == nil {
		return 0, f.resets
	}
	return f.mg.replayed, f.resets
}

// Lead starts the followed manager as the leader, as Start starts a
// manager on the same log: it catches up with records first (the log as
// the new leader reads it), then begins the incarnation after persisted.
// The follower is spent afterwards.
func (f *Follower) Lead(now time.Time, persisted proto.Epoch, records [][]byte) (*Manager, []effect.Effect, error) {
	if f.mg == nil {
		return nil, nil, ErrFollowerSpent
	}
	if err := checkStartEpoch(persisted); err != nil {
		return nil, nil, err
	}
	n, err := f.Follow(records)
	if err != nil {
		return nil, nil, err
	}
	mg := f.mg
	f.mg = nil
	return mg, mg.begin(now, persisted, n), nil
}
