package manager

import (
	"slices"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
)

// dues is a min-heap of the instants timers were set to be due at, so that
// the earliest due timer (noticeClockJump asks at every input) is found
// without walking the whole timer table. An entry is stale once its timer
// is gone, fired or set again: earliest drops stale entries as they reach
// the top, and the heap is rebuilt from its own live entries when stale
// ones outnumber them. It is not container/heap because every timer set
// pushes, and that interface boxes each entry: an allocation per timer on
// the manager's hottest path.
//
// A timer moved later keeps its entry, which still bounds it from below
// (timerUse.queued says which entry is its own): every heartbeat moves its
// host's dead timer a heartbeat later, and pushing each move filled the
// heap with entries that earliest then popped one by one, 2% of a
// simulated seed. Its own entry is moved to the timer's instant only when
// it reaches the top, about once per dead timeout instead of once per
// heartbeat.
type dues struct {
	h []due
	// floor is valid with floorOK; with no timer it is noDue, which any
	// timer set lowers.
	floor   time.Time
	floorOK bool
}

// noDue is the floor when no timer is due: later than any instant set.
var noDue = time.Unix(1<<62, 0).UTC()

type due struct {
	at time.Time
	id effect.TimerID
}

func (d due) before(o due) bool { return d.at.Before(o.at) || d.at.Equal(o.at) && d.id < o.id }

// push notes that timer id is due at at.
func (d *dues) push(id effect.TimerID, at time.Time) {
	if at.Before(d.floor) {
		d.floor = at
	}
	d.h = append(d.h, due{at: at, id: id})
	s := d.h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if !s[i].before(s[parent]) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

// pop removes the top entry.
func (d *dues) pop() {
	s := d.h
	last := len(s) - 1
	s[0] = s[last]
	d.h = s[:last]
	d.down(0)
}

// down moves the entry at i down to its place below.
func (d *dues) down(i int) {
	s := d.h
	for {
		l, r, least := 2*i+1, 2*i+2, i
		if l < len(s) && s[l].before(s[least]) {
			least = l
		}
		if r < len(s) && s[r].before(s[least]) {
			least = r
		}
		if least == i {
			return
		}
		s[i], s[least] = s[least], s[i]
		i = least
	}
}

// set notes in the table that timer id is due at at (zero: not due),
// and keeps an entry of the heap at or before that instant.
func (d *dues) set(table map[effect.TimerID]timerUse, id effect.TimerID, use timerUse, at time.Time) {
	use.at = at
	if !at.IsZero() && (use.queued.IsZero() || at.Before(use.queued)) {
		d.push(id, at)
		use.queued = at
	}
	table[id] = use
}

// earliest is the earliest instant a timer of table is due at, zero when
// none is: the same as a walk over the table, since every timer due has an
// entry at or before its instant.
func (d *dues) earliest(table map[effect.TimerID]timerUse) time.Time {
	d.trim(table)
	for len(d.h) > 0 {
		top := d.h[0]
		use, ok := table[top.id]
		if ok && use.at.Equal(top.at) {
			d.floor, d.floorOK = top.at, true
			return top.at
		}
		d.pop()
		if ok && use.queued.Equal(top.at) {
			// The timer's own entry, below its instant since it was
			// moved later: it takes the instant now.
			use.queued = time.Time{}
			if !use.at.IsZero() {
				d.push(top.id, use.at)
				use.queued = use.at
			}
			table[top.id] = use
		}
	}
	d.floor, d.floorOK = noDue, true
	return time.Time{}
}

// lateAt reports whether a timer of table may be due before now: when not,
// earliest would be now or later, and is not looked up.
func (d *dues) lateAt(now time.Time) bool {
	return !d.floorOK || now.After(d.floor)
}

// trim rebuilds the heap when stale entries outnumber the live ones: at
// every look up, and after the timers an input set (a manager that is
// never late looks nothing up, and would keep every stale entry).
func (d *dues) trim(table map[effect.TimerID]timerUse) {
	if len(d.h) > 64 && len(d.h) > 2*len(table) {
		d.rebuild(table)
	}
}

// rebuild keeps the live entries: each timer's own entry while it is due
// (every timer due has one). It filters the heap rather than walk the
// table, for a map that once held every boot probe's timer keeps its size,
// and walking it costs that size however few timers are left. A timer set
// twice to one instant is in twice; should such copies be most of what is
// left, they go too.
func (d *dues) rebuild(table map[effect.TimerID]timerUse) {
	live := d.h[:0]
	for _, e := range d.h {
		use, ok := table[e.id]
		switch {
		case !ok || !use.queued.Equal(e.at):
		case !use.at.IsZero():
			live = append(live, e)
		default: // fired, its own entry gone: a later set pushes anew
			use.queued = time.Time{}
			table[e.id] = use
		}
	}
	if len(live) > 64 && len(live) > 2*len(table) {
		slices.SortFunc(live, func(a, b due) int { // sorted, the entries are a heap
			if a.before(b) {
				return -1
			}
			if b.before(a) {
				return 1
			}
			return 0
		})
		d.h = slices.CompactFunc(live, func(a, b due) bool { return a.id == b.id && a.at.Equal(b.at) })
		return
	}
	d.h = live
	for i := len(live)/2 - 1; i >= 0; i-- {
		d.down(i)
	}
}
