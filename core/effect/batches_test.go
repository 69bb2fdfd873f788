package effect

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBatchesReuseWhatWasReleasedOnce: a released slice comes back emptied
// and cleared for a batch it has room for; one released twice is kept
// once, so it is never handed out to two batches; a batch still held is
// never handed out.
func TestBatchesReuseWhatWasReleasedOnce(t *testing.T) {
	var b Batches
	held := append(b.Take(2), &KillProcess{ID: 1}, &KillProcess{ID: 2})
	done := append(b.Take(3), &CancelTimer{ID: 7})
	require.NotSame(t, &held[:1][0], &done[:1][0])

	b.Put(done)
	b.Put(done) // released twice
	require.Equal(t, 1, b.Spare())
	again := b.Take(2)
	require.Same(t, &done[:1][0], &again[:1][0], "the released slice serves the next batch")
	require.Empty(t, again)
	require.Nil(t, again[:1][0], "cleared: it keeps nothing it held alive")
	other := b.Take(2)
	require.NotSame(t, &again[:1][0], &other[:1][0], "handed out once only")
	require.NotSame(t, &held[:1][0], &other[:1][0])
	require.Equal(t, []Effect{&KillProcess{ID: 1}, &KillProcess{ID: 2}}, held, "a held batch is untouched")

	big := b.Take(maxSpareBatchCap + 1)
	b.Put(big)
	require.Zero(t, b.Spare(), "too big to keep")
	for range maxSpareBatches + 2 {
		b.Put(make([]Effect, 0, 4))
	}
	require.Equal(t, maxSpareBatches, b.Spare())
	b.Put(nil)
	require.Equal(t, maxSpareBatches, b.Spare())
}

// TestBatchesKeepNoSliceTooSmallToServe: a one-effect literal released is
// not kept, so that released slices of a useful size still find room (kept,
// eight of them filled the spares, and every batch after was new).
func TestBatchesKeepNoSliceTooSmallToServe(t *testing.T) {
	var b Batches
	for range maxSpareBatches {
		b.Put([]Effect{&CancelTimer{ID: 1}})
	}
	require.Zero(t, b.Spare(), "a slice of one effect fits no batch of two")
	useful := b.Take(2)
	b.Put(useful)
	again := b.Take(2)
	require.Same(t, &useful[:1][0], &again[:1][0])
}

// TestReleasedEffectsServeTheNextOnes: the effects of a released batch are
// handed out again, set to their new values, for the next effect of their
// kind; a batch released twice gives each back once; the effects of a batch
// still held are never handed out; and a nil Batches, whose machine's
// driver releases nothing, makes every effect new.
func TestReleasedEffectsServeTheNextOnes(t *testing.T) {
	var b Batches
	at := time.Unix(100, 0)
	timer := b.SetTimer(SetTimer{ID: 1, At: at})
	send := b.Send(Send{To: "h1", Conn: 3, Msg: nil})
	held := b.Persist(Persist{Name: "kept", Data: []byte("x")})
	done := append(b.Take(2), timer, send)
	b.Release(done)
	b.Release(done) // released twice: the first release emptied it

	again := b.SetTimer(SetTimer{ID: 2, At: at.Add(time.Second)})
	require.Same(t, timer, again, "the released timer serves the next one")
	require.Equal(t, SetTimer{ID: 2, At: at.Add(time.Second)}, *again, "set to its new value")
	require.NotSame(t, again, b.SetTimer(SetTimer{ID: 3}), "handed out once only")
	require.Same(t, send, b.Send(Send{To: "h2"}))
	require.NotSame(t, held, b.Persist(Persist{Name: "other"}), "a held effect is never handed out")
	require.Equal(t, Persist{Name: "kept", Data: []byte("x")}, *held, "nor touched")

	var none *Batches
	first, second := none.CancelTimer(CancelTimer{ID: 1}), none.CancelTimer(CancelTimer{ID: 1})
	require.NotSame(t, first, second)
	require.Equal(t, *first, *second)
}

// TestReleaseKeepsNothingAlive: a spare effect holds nothing of what it
// said (a message, a record's bytes), and spares are bounded.
func TestReleaseKeepsNothingAlive(t *testing.T) {
	var b Batches
	batch := make([]Effect, 0, maxSpareEffects+8)
	for range maxSpareEffects + 8 {
		batch = append(batch, b.Persist(Persist{Name: "log", Data: make([]byte, 1<<10), Append: true}))
	}
	b.Release(batch)
	require.Equal(t, maxSpareEffects, b.persists.Len())
	for _, p := range b.persists.free {
		require.Equal(t, Persist{}, *p)
	}
}
