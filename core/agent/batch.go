package agent

import (
	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/history"
)

// Release hands back a batch of effects the driver has carried out, one
// the agent (or a machine wrapping it) returned, so that the agent and its
// LRM build later batches in it, and their effects in its effects, instead
// of allocating them (see effect.Batches). It is optional. The driver must
// not read the batch or its effects after releasing it, nor release one it
// still holds any part of: it copies what it keeps for later (a paused
// host's messages).
func (a *Agent) Release(effs []effect.Effect) {
	for _, e := range effs {
		switch e := e.(type) {
		case *history.Note:
			a.notes.Keep(e)
		case *effect.Persist:
			if e.Name == OpsRecord && e.Append {
				a.runEnc.returned()
			}
		}
	}
	a.batches.Release(effs) // clears effs: a second release finds no note
}

// note is the history note of r, a released one reused if there is one.
func (a *Agent) note(r history.Record) *history.Note { return a.notes.Reuse(history.Note{Record: r}) }
