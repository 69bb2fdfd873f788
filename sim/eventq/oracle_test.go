package eventq

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// oracle is the order the queue promises, kept the slow way: every live
// event in a list, the next one found by scanning for the least (time,
// tie-break, insertion).
type oracle struct {
	live []oracleEvent
}

type oracleEvent struct {
	at  time.Time
	tie uint64
	seq int
	id  ID
}

func (o *oracle) min() int {
	m := -1
	for i, e := range o.live {
		if m < 0 || o.less(e, o.live[m]) {
			m = i
		}
	}
	return m
}

func (o *oracle) less(a, b oracleEvent) bool {
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	if a.tie != b.tie {
		return a.tie < b.tie
	}
	return a.seq < b.seq
}

func (o *oracle) drop(i int) { o.live = append(o.live[:i], o.live[i+1:]...) }

// oracleRun drives a queue and the oracle with the same random schedule:
// events at the current instant, within a bucket, across the wheel, far
// beyond it and beyond the range counted in nanoseconds, in the past, on
// bucket boundaries and at the very instant of another event; cancellations
// of live and of stale IDs; events that re-arm when they run; and runs up
// to instants that fall between events, so that the queue's cursor moves
// ahead of its clock.
type oracleRun struct {
	t     *testing.T
	r     *rand.Rand
	ties  *rand.Rand // replays the queue's tie-break draws
	q     *Queue
	o     oracle
	seq   int
	ran   int
	dead  []ID
	rearm bool
	crowd bool // half the events in one bucket, 100 ms ahead
}

func (x *oracleRun) delay() time.Duration {
	r := x.r
	if x.crowd && r.IntN(2) == 0 {
		return 100 * time.Millisecond
	}
	switch r.IntN(9) {
	case 0:
		return 0
	case 1:
		return time.Duration(r.IntN(5_000_000))
	case 2:
		return time.Duration(r.IntN(20_000)) * time.Millisecond
	case 3:
		return time.Duration(r.IntN(7200)) * time.Second
	case 4:
		return -time.Duration(r.IntN(1000)) * time.Millisecond
	case 5:
		return time.Duration(150+r.IntN(100)) * 365 * 24 * time.Hour
	case 6:
		return time.Duration(r.IntN(3*wheelSize)) << bucketShift
	case 7:
		if len(x.o.live) > 0 {
			return x.o.live[r.IntN(len(x.o.live))].at.Sub(x.q.Now())
		}
		return 0
	default:
		return time.Duration(r.IntN(300)) * time.Millisecond
	}
}

func (x *oracleRun) schedule() {
	at := x.q.Now().Add(x.delay())
	x.seq++
	seq := x.seq
	id := x.q.At(at, func() { x.fire(seq) })
	if at.Before(x.q.Now()) {
		at = x.q.Now()
	}
	var tie uint64
	if x.ties != nil {
		tie = x.ties.Uint64()
	}
	x.o.live = append(x.o.live, oracleEvent{at: at, tie: tie, seq: seq, id: id})
}

func (x *oracleRun) fire(seq int) {
	m := x.o.min()
	require.GreaterOrEqual(x.t, m, 0, "event %d ran with none due", seq)
	want := x.o.live[m]
	require.Equal(x.t, want.seq, seq, "event run out of order")
	require.True(x.t, want.at.Equal(x.q.Now()), "clock %s, event at %s", x.q.Now(), want.at)
	require.False(x.t, x.q.Pending(want.id))
	x.o.drop(m)
	x.dead = append(x.dead, want.id)
	x.ran++
	if x.rearm && x.r.IntN(3) == 0 {
		x.schedule()
	}
}

func (x *oracleRun) cancel() {
	if len(x.o.live) == 0 || x.r.IntN(8) == 0 {
		if len(x.dead) > 0 {
			x.q.Cancel(x.dead[x.r.IntN(len(x.dead))]) // stale: must do nothing
		}
		return
	}
	k := x.r.IntN(len(x.o.live))
	id := x.o.live[k].id
	require.True(x.t, x.q.Pending(id))
	x.q.Cancel(id)
	require.False(x.t, x.q.Pending(id))
	x.o.drop(k)
	x.dead = append(x.dead, id)
}

func (x *oracleRun) check() {
	require.Equal(x.t, len(x.o.live), x.q.Len())
	next, ok := x.q.Next()
	m := x.o.min()
	require.Equal(x.t, m >= 0, ok)
	if ok {
		require.True(x.t, x.o.live[m].at.Equal(next), "next %s, want %s", next, x.o.live[m].at)
	}
}

func (x *oracleRun) step() {
	before, due := x.ran, len(x.o.live) > 0
	require.Equal(x.t, due, x.q.Step())
	if due {
		require.Equal(x.t, before+1, x.ran, "one event per step")
	} else {
		require.Equal(x.t, before, x.ran)
	}
}

func (x *oracleRun) runUntil() {
	t := x.q.Now().Add(time.Duration(x.r.IntN(10_000)) * time.Millisecond)
	require.NoError(x.t, x.q.RunUntil(t, 1_000_000))
	require.True(x.t, x.q.Now().Equal(t))
	if m := x.o.min(); m >= 0 {
		require.True(x.t, x.o.live[m].at.After(t), "an event due by %s was left", t)
	}
}

func runOracle(t *testing.T, seed uint64, withTie bool, start time.Time, ops int) {
	x := &oracleRun{t: t, r: rand.New(rand.NewPCG(seed, 99)), rearm: true}
	var tie *rand.Rand
	if withTie {
		tie, x.ties = rand.New(rand.NewPCG(seed, 5)), rand.New(rand.NewPCG(seed, 5))
	}
	x.q = New(start, tie)
	for range ops {
		switch n := x.r.IntN(100); {
		case n < 45:
			x.schedule()
		case n < 65:
			x.cancel()
		case n < 90:
			x.step()
		case n < 95:
			x.runUntil()
		default:
			x.check()
		}
	}
	x.check()
	x.rearm = false
	for x.q.Step() {
	}
	require.Empty(t, x.o.live)
	require.Zero(t, x.q.Len())
	require.Equal(t, uint64(x.ran), x.q.Handled())
}

// TestMatchesOracle checks the queue against the order it promises on
// random schedules, with and without a tie-break, from a start on a whole
// second and from one between seconds (buckets count from the second).
func TestMatchesOracle(t *testing.T) {
	starts := []time.Time{t0, t0.Add(700 * time.Millisecond)}
	for seed := range uint64(24) {
		for _, withTie := range []bool{true, false} {
			t.Run(fmt.Sprintf("seed=%d/tie=%v", seed, withTie), func(t *testing.T) {
				runOracle(t, seed, withTie, starts[seed%2], 4000)
			})
		}
	}
}

// TestManyPendingMatchesOracle keeps thousands of timers pending while most
// are cancelled and re-armed, as a big cluster's heartbeats are, so that
// buckets hold many events each and the cursor wraps the wheel many times.
func TestManyPendingMatchesOracle(t *testing.T) {
	x := &oracleRun{t: t, r: rand.New(rand.NewPCG(11, 11)), ties: rand.New(rand.NewPCG(4, 4)), rearm: true}
	x.q = New(t0, rand.New(rand.NewPCG(4, 4)))
	for range 3000 {
		x.schedule()
	}
	for range 6000 {
		for range 3 {
			x.cancel()
			x.schedule()
		}
		x.step()
	}
	x.check()
	x.rearm = false
	for x.q.Step() {
	}
	require.Empty(t, x.o.live)
}

// TestFarFutureAndSameInstant checks the far heap's hand-over: events past
// the wheel and past the range counted in nanoseconds keep their order
// among themselves and against events scheduled later for earlier times.
func TestFarFutureAndSameInstant(t *testing.T) {
	q := New(t0, nil)
	var got []string
	add := func(d time.Duration, name string) { q.At(t0.Add(d), func() { got = append(got, name) }) }
	add(200*365*24*time.Hour, "200y-a")
	add(200*365*24*time.Hour, "200y-b")
	add(150*365*24*time.Hour+time.Nanosecond, "150y+1ns")
	add(150*365*24*time.Hour, "150y")
	add(time.Hour, "1h")
	add(18*time.Second, "18s")
	add(17*time.Second, "17s")
	add(0, "now")
	require.NoError(t, q.RunFor(17*time.Second+500*time.Millisecond, 10))
	add(0, "17.5s") // in the past: runs now, before what is due later
	add(time.Hour-time.Nanosecond, "1h-1ns")
	for q.Step() {
	}
	require.Equal(t, []string{"now", "17s", "17.5s", "18s", "1h-1ns", "1h", "150y", "150y+1ns", "200y-a", "200y-b"}, got)
}

// TestCancelStormStaysBounded cancels and re-arms a few timers many times
// at one instant, as a loop in one callback could, half of them into one
// bucket: every cancel frees its slot at once, so the queue's memory stays
// that of the timers pending, and the order afterwards is the oracle's.
func TestCancelStormStaysBounded(t *testing.T) {
	x := &oracleRun{t: t, r: rand.New(rand.NewPCG(5, 5)), ties: rand.New(rand.NewPCG(6, 6)), crowd: true}
	x.q = New(t0, rand.New(rand.NewPCG(6, 6)))
	const pending = 40
	for range pending {
		x.schedule()
	}
	for n := range 200_000 {
		k := x.r.IntN(len(x.o.live))
		x.q.Cancel(x.o.live[k].id)
		x.q.Cancel(x.o.live[k].id) // twice: the second must do nothing
		x.o.drop(k)
		x.schedule()
		if n%1000 == 0 {
			x.check()
		}
	}
	require.LessOrEqual(t, len(x.q.slots), pending)
	x.check()
	for x.q.Step() {
	}
	require.Empty(t, x.o.live)
	require.Zero(t, x.q.inWheel)
}

// TestEventOneWheelAhead schedules an event exactly one wheel's span past
// the cursor's bucket, the first that must wait in the far heap, asks for
// the next event (which moves the cursor to it) and then schedules earlier
// ones: they must still run first.
func TestEventOneWheelAhead(t *testing.T) {
	width := time.Duration(1) << bucketShift
	span := wheelSize * width
	for _, from := range []time.Duration{0, 3*span + 12345} {
		q := New(t0, nil)
		q.After(from, func() {}) // brings the cursor to from's bucket
		require.True(t, q.Step())
		base := t0.Add(from / width * width) // the start of the cursor's bucket
		var got []string
		q.At(base.Add(span), func() { got = append(got, "span") })
		next, ok := q.Next()
		require.True(t, ok)
		require.Equal(t, base.Add(span), next)
		q.After(time.Second, func() { got = append(got, "1s") })
		q.After(0, func() { got = append(got, "now") })
		for q.Step() {
		}
		require.Equal(t, []string{"now", "1s", "span"}, got, "from %s", from)
	}
}
