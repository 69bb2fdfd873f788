package agent

import "github.com/basalt-ha/basalt/core/effect"

// Release hands back a batch of effects the driver has carried out, one
// the agent (or a machine wrapping it) returned, so that the agent and its
// LRM build later batches in it instead of allocating them (see
// effect.Batches). It is optional. The driver must not read the batch
// after releasing it, nor release one it still holds any part of.
func (a *Agent) Release(effs []effect.Effect) { a.batches.Release(effs) }
