package daemon

import (
	"github.com/benbjohnson/clock"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/storage"
)

// timerSet holds a live driver's timers under the machine's timer IDs. Its
// methods are called with the driver's lock held; fire runs on the clock's
// goroutine and takes that lock itself.
type timerSet struct {
	clk    clock.Clock
	timers map[effect.TimerID]*clock.Timer
}

func newTimerSet(clk clock.Clock) *timerSet {
	return &timerSet{clk: clk, timers: map[effect.TimerID]*clock.Timer{}}
}

// set arms (or moves) a timer.
func (s *timerSet) set(e *effect.SetTimer, fire func(effect.TimerID)) {
	s.cancel(e.ID)
	id := e.ID
	s.timers[id] = s.clk.AfterFunc(e.At.Sub(s.clk.Now()), func() { fire(id) })
}

// cancel disarms a timer; a machine ignores a timer that raced with this.
func (s *timerSet) cancel(id effect.TimerID) {
	if t, ok := s.timers[id]; ok {
		t.Stop()
		delete(s.timers, id)
	}
}

// fired forgets a timer that went off.
func (s *timerSet) fired(id effect.TimerID) { delete(s.timers, id) }

// stopAll disarms everything, when the driver stops.
func (s *timerSet) stopAll() {
	for id, t := range s.timers {
		t.Stop()
		delete(s.timers, id)
	}
}

// persist carries out a Persist effect on a store.
func persist(st storage.Store, e *effect.Persist) error {
	if e.Append {
		return st.Append(e.Name, e.Data)
	}
	return st.Write(e.Name, e.Data)
}
