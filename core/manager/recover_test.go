package manager

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
)

// startOnce runs one manager start against st, carrying out its
// persistence effects as a driver would.
func startOnce(t *testing.T, st storage.Store) *Manager {
	t.Helper()
	rec, err := Recover(st)
	require.NoError(t, err)
	mg := New(Config{Model: loadCluster(t, "single")})
	effs, err := mg.Start(t0, rec.Epoch, rec.Records)
	require.NoError(t, err)
	persist(t, st, effs)
	return mg
}

// Hardening item 5: a deleted epoch record beside an event log used to
// start a fresh manager at epoch 1 (refused for good by agents that had
// seen 4). Recover refuses, naming the file and the recovery command, and
// the recovery command's SetEpoch lets the next start take N+1.
func TestRecoverRefusesALogWithoutEpochRecord(t *testing.T) {
	st := storage.NewMem()
	for range 4 {
		startOnce(t, st)
	}
	require.NoError(t, st.Remove(EpochRecord))
	_, err := Recover(st)
	require.ErrorContains(t, err, `epoch record "manager-epoch" is missing`)
	require.ErrorContains(t, err, "basalt-manager epoch --state-dir DIR --set N")

	require.NoError(t, SetEpoch(st, 4))
	require.Equal(t, proto.Epoch(5), startOnce(t, st).Epoch())
}

// The converse: an epoch record past the first start with its log missing
// or empty is an error too; NewLog (basalt-manager epoch --new-log) starts
// one on purpose, and never replaces a log that holds records.
func TestRecoverRefusesAnEpochRecordWithoutLog(t *testing.T) {
	for _, lose := range []func(storage.Store) error{
		func(st storage.Store) error { return st.Remove(EventLog) },
		func(st storage.Store) error { return st.Truncate(EventLog, 0) },
	} {
		st := storage.NewMem()
		startOnce(t, st)
		startOnce(t, st)
		require.NoError(t, lose(st))
		_, err := Recover(st)
		require.ErrorContains(t, err, `event log "events" is missing or empty`)
		require.ErrorContains(t, err, "basalt-manager epoch --state-dir DIR --new-log")

		require.NoError(t, NewLog(st, t0))
		require.Equal(t, proto.Epoch(3), startOnce(t, st).Epoch())
		require.ErrorContains(t, NewLog(st, t0), "not replaced")
	}
}

// The one gap a crash leaves, between the first start's epoch record and
// its first event, is no error; a new directory neither.
func TestRecoverAllowsTheFirstStartsCrashWindow(t *testing.T) {
	st := storage.NewMem()
	_, err := Recover(st)
	require.NoError(t, err)
	require.NoError(t, st.Write(EpochRecord, proto.EncodeEpoch(1)))
	rec, err := Recover(st)
	require.NoError(t, err)
	require.Equal(t, proto.Epoch(1), rec.Epoch)
}

// The recovery command cannot write an epoch whose successor passes the
// ceiling.
func TestSetEpochRefusesTheCeiling(t *testing.T) {
	require.ErrorContains(t, SetEpoch(storage.NewMem(), proto.MaxEpoch), "ceiling")
}
