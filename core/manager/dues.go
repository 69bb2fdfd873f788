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
type dues []due

type due struct {
	at time.Time
	id effect.TimerID
}

func (d due) before(o due) bool { return d.at.Before(o.at) || d.at.Equal(o.at) && d.id < o.id }

// push notes that timer id is due at at.
func (h *dues) push(id effect.TimerID, at time.Time) {
	*h = append(*h, due{at: at, id: id})
	s := *h
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
func (h *dues) pop() {
	s := *h
	last := len(s) - 1
	s[0] = s[last]
	*h = s[:last]
	h.down(0)
}

// down moves the entry at i down to its place below.
func (h *dues) down(i int) {
	s := *h
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

// earliest is the earliest instant a timer of table is due at, zero when
// none is: the same as a walk over the table, since every instant set in
// the table was pushed.
func (h *dues) earliest(table map[effect.TimerID]timerUse) time.Time {
	if len(*h) > 64 && len(*h) > 2*len(table) {
		h.rebuild(table)
	}
	for len(*h) > 0 {
		top := (*h)[0]
		if use, ok := table[top.id]; ok && use.at.Equal(top.at) {
			return top.at
		}
		h.pop()
	}
	return time.Time{}
}

// rebuild keeps the live entries: those the table still has a timer due
// at, which are every timer of the table with an instant (each was
// pushed). It filters the heap rather than walk the table, for a map that
// once held every boot probe's timer keeps its size, and walking it costs
// that size however few timers are left. A timer set twice to one instant
// is in twice; should such copies be most of what is left, they go too.
func (h *dues) rebuild(table map[effect.TimerID]timerUse) {
	live := (*h)[:0]
	for _, d := range *h {
		if use, ok := table[d.id]; ok && !d.at.IsZero() && use.at.Equal(d.at) {
			live = append(live, d)
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
		*h = slices.CompactFunc(live, func(a, b due) bool { return a.id == b.id && a.at.Equal(b.at) })
		return
	}
	*h = live
	for i := len(live)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}
