package agent

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
)

// TestInflightEncodingIsJSONs: the ops record's hand-written encoding of
// a running process is json.Marshal's, byte for byte, for every field
// zero or set, strings that need escaping, times in other zones, with
// nanoseconds, and of years json.Marshal refuses (nothing, as the
// agent recorded before; no clock of a host gives them).
func TestInflightEncodingIsJSONs(t *testing.T) {
	east := time.FixedZone("east", 5*3600+1800)
	times := []time.Time{{}, time.Unix(0, 0).UTC(), time.Unix(1700000000, 123456789).UTC(),
		time.Unix(1700000000, 120000000).In(east), time.Unix(1700000000, 120000000).UTC(), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Now()}
	strs := []string{"", "r1", "a b", `q"uote`, `back\slash`, "<&>", "tab\t", "é", "\u2028", "\xff", "~"}
	n := 0
	var cache callText
	for i, call := range times {
		for j, s := range strs {
			in := Inflight{Resource: s, Action: ocf.Action(strs[(j+1)%len(strs)]), Boot: strs[(j+i)%len(strs)], Call: call}
			if (i+j)%2 == 1 {
				in.IntervalMS, in.Life, in.Run, in.PGID, in.Epoch, in.TimeoutMS = 10000, 3, 1<<63, -4, 7, -1
			}
			want, _ := json.Marshal(&in) // nothing for a year it refuses, as before
			got := appendInflight(nil, &in)
			require.Equal(t, string(want), string(got), "%+v", in)
			// The same through the cached call time, which the
			// previous value left at another instant, zone or year.
			cached := appendInflightWith(nil, &in, &cache)
			require.Equal(t, string(want), string(cached), "cached: %+v", in)
			require.Equal(t, string(want), string(appendInflightWith(nil, &in, &cache)), "cached again: %+v", in)
			n++
		}
	}
	require.Greater(t, n, 50)
}

// TestInflightMaxBoundsTheEncoding: runningRecord sizes each process's
// buffer by inflightMax so that encoding it never grows the buffer; the
// longest plain encoding (every number at its widest, a nanosecond time
// with a zone) must fit.
func TestInflightMaxBoundsTheEncoding(t *testing.T) {
	zone := time.FixedZone("", -(23*3600 + 59*60))
	in := &Inflight{Resource: "r", Action: ocf.Monitor, IntervalMS: math.MinInt64, Life: math.MaxUint64,
		Run: math.MaxUint64, Boot: "b", PGID: math.MinInt, Call: time.Date(9999, 12, 31, 23, 59, 59, 123456789, zone),
		Epoch: math.MaxUint64, TimeoutMS: math.MinInt64}
	got := appendInflight(nil, in)
	require.LessOrEqual(t, len(got), inflightMax+len(in.Resource)+len(in.Action)+len(in.Boot), string(got))

	var r runningRecord
	r.set(1, in)
	require.Equal(t, string(got), string(encOf(&r, 1)))
	require.Equal(t, inflightMax+len(in.Resource)+len(in.Action)+len(in.Boot), cap(encOf(&r, 1)), "the buffer did not grow")
}

// TestTakenChangesStayAsTaken: the change lines an append hands out share
// the buffer that later lines go into, and no later line (nor a rebase's
// reset, nor a move to a new buffer) changes them; the encodings' length
// is kept right through starts and ends.
func TestTakenChangesStayAsTaken(t *testing.T) {
	var r runningRecord
	var taken [][]byte
	var copies []string
	for i := range 200 {
		id := proc.ID(i + 1)
		r.set(id, &Inflight{Resource: fmt.Sprintf("r%d", i), Action: "monitor", Life: 1, Run: uint64(id)})
		if i%3 == 0 {
			r.remove(id)
		}
		if i%7 == 0 {
			r.pending = r.pending[:0] // as a rebase drops the lines not persisted
		}
		if i%2 == 0 {
			d := r.takePending()
			require.Equal(t, len(d), cap(d), "an append to what was handed out must reach past nothing")
			taken, copies = append(taken, d), append(copies, string(d))
		}
	}
	sum := 0
	for _, enc := range r.encs {
		sum += len(enc)
	}
	require.Equal(t, sum, r.encBytes, "the running encodings' length, kept as they change")
	for i, d := range taken {
		if string(d) != copies[i] {
			t.Fatalf("append %d changed after it was handed out:\n%q\nwas\n%q", i, d, copies[i])
		}
	}
}

// TestInflightCallTextCache: a cached call time's text is reused only for
// the very same time.Time: the same instant in another zone, another
// instant, or a year json.Marshal refuses after one it takes, each encode
// as json.Marshal does.
func TestInflightCallTextCache(t *testing.T) {
	east := time.FixedZone("east", 5*3600+1800)
	at := time.Unix(1700000000, 120000000)
	times := []time.Time{at.UTC(), at.UTC(), at.In(east), at.UTC(), at.Add(time.Nanosecond).UTC(), {},
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), at.UTC(), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), at.In(east)}
	var cache callText
	for i, call := range times {
		in := Inflight{Resource: "r1", Action: ocf.Monitor, Life: 2, Run: 7, Call: call, TimeoutMS: 20000}
		want, _ := json.Marshal(&in)
		require.Equal(t, string(want), string(appendInflightWith(nil, &in, &cache)), "time %d: %s", i, call)
	}
}

// TestRunningRecordReusesItsChunkOnlyWhenAllIsBack: the change lines
// handed out for appends keep their bytes until the driver has released
// every one of them; then the next lines start at the chunk's beginning
// again, so that a simulation that releases its batches writes every
// line into one chunk instead of taking a new one every few dozen starts.
func TestRunningRecordReusesItsChunkOnlyWhenAllIsBack(t *testing.T) {
	var r runningRecord
	in := &Inflight{Resource: "r1", Action: ocf.Monitor, Life: 1, Call: time.Unix(1700000000, 0).UTC(), TimeoutMS: 20000}
	var out [][]byte
	var texts []string
	for i := range 3 {
		in.Run = uint64(i + 1)
		r.set(proc.ID(i+1), in)
		data := r.takePending()
		out, texts = append(out, data), append(texts, string(data))
	}
	r.returned()
	r.returned() // one still out: nothing may be written over
	in.Run = 9
	r.set(9, in)
	for i, data := range out {
		require.Equal(t, texts[i], string(data), "an append still out keeps its bytes")
	}
	next := r.takePending()
	r.returned()
	r.returned() // all back
	require.Zero(t, r.lent)
	r.set(10, in)
	require.Same(t, &r.chunk[:1][0], &r.pending[0], "the lines start over at the chunk's beginning")
	require.Equal(t, string(next), texts[0][:len(`{"run":`)]+string(encOf(&r, 9))+"}\n")
	r.returned() // more releases than appends count for nothing
	require.Zero(t, r.lent)
}

// encOf is the encoding r keeps of process id, nil if none.
func encOf(r *runningRecord, id proc.ID) []byte {
	if i, ok := slices.BinarySearch(r.ids, id); ok {
		return r.encs[i]
	}
	return nil
}
