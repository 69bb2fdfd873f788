package cluster

import "github.com/basalt-ha/basalt/core/effect"

// timerTable maps a machine's timer IDs to their pending timers. Every
// timer is looked up when it is set, fired and cancelled, and the manager
// moves a host's dead timer at each heartbeat, so a simulated seed does
// several such lookups per event: with Go's map they were about 4% of a
// seed's time. This is open addressing with linear probing on a
// multiplicative hash of the ID, which needs no hashing call and keeps
// the keys beside their timers. Deletion shifts the entries of the probe
// run back (no tombstones), so a long simulation that sets and cancels
// millions of timers never degrades. The table grows to keep at most half
// of its slots used, which bounds probe runs; it never shrinks, as the
// number of timers pending at once is bounded by the machine.
type timerTable struct {
	slots []timerSlot // a power of two long, or empty
	n     int
}

// timerSlot is one place of the table; t is nil when it is free.
type timerSlot struct {
	id effect.TimerID
	t  *timer
}

// minTimerSlots is the first size of a table: a machine has a few timers
// per resource and host pending.
const minTimerSlots = 64

// home is the slot where id's probe run starts. Timer IDs count up, so the
// golden-ratio multiplier spreads consecutive IDs over the table.
func (tt *timerTable) home(id effect.TimerID) int {
	return int((uint64(id) * 0x9e3779b97f4a7c15) >> 32 & uint64(len(tt.slots)-1))
}

// get is the timer pending under id, or nil.
func (tt *timerTable) get(id effect.TimerID) *timer {
	if tt.n == 0 {
		return nil
	}
	mask := len(tt.slots) - 1
	for i := tt.home(id); ; i = (i + 1) & mask {
		s := &tt.slots[i]
		if s.t == nil {
			return nil
		}
		if s.id == id {
			return s.t
		}
	}
}

// put makes t the timer pending under its ID, replacing any other.
func (tt *timerTable) put(t *timer) {
	if 2*(tt.n+1) > len(tt.slots) {
		tt.grow()
	}
	mask := len(tt.slots) - 1
	for i := tt.home(t.id); ; i = (i + 1) & mask {
		s := &tt.slots[i]
		if s.t == nil {
			*s = timerSlot{t.id, t}
			tt.n++
			return
		}
		if s.id == t.id {
			s.t = t
			return
		}
	}
}

// grow doubles the table and places every entry again.
func (tt *timerTable) grow() {
	old := tt.slots
	tt.slots, tt.n = make([]timerSlot, max(minTimerSlots, 2*len(old))), 0
	for _, s := range old {
		if s.t != nil {
			tt.put(s.t)
		}
	}
}

// del removes the timer pending under id, if any. The entries after it in
// its probe run that could have been placed at its slot move back into
// it, so that every entry stays reachable from its home without a
// tombstone in the way.
func (tt *timerTable) del(id effect.TimerID) {
	if tt.n == 0 {
		return
	}
	mask := len(tt.slots) - 1
	i := tt.home(id)
	for ; tt.slots[i].id != id || tt.slots[i].t == nil; i = (i + 1) & mask {
		if tt.slots[i].t == nil {
			return
		}
	}
	for j := (i + 1) & mask; tt.slots[j].t != nil; j = (j + 1) & mask {
		// The entry at j may fill the hole at i unless its home lies
		// cyclically in (i, j]: then it would become unreachable.
		if h := tt.home(tt.slots[j].id); (j-h)&mask >= (j-i)&mask {
			tt.slots[i] = tt.slots[j]
			i = j
		}
	}
	tt.slots[i] = timerSlot{}
	tt.n--
}

// len is the number of pending timers.
func (tt *timerTable) len() int { return tt.n }

// all calls fn with every pending timer, in slot order.
func (tt *timerTable) all(fn func(t *timer)) {
	for _, s := range tt.slots {
		if s.t != nil {
			fn(s.t)
		}
	}
}

// clear removes every timer, keeping the slots for reuse.
func (tt *timerTable) clear() {
	clear(tt.slots)
	tt.n = 0
}
