package effect

import (
	"testing"

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
