package manager

import "github.com/basalt-ha/basalt/core/effect"

// Release hands back a batch of effects the driver has carried out, one
// the manager returned (or an intercept made of it), so that the manager
// builds later batches in it, and their effects in its effects, instead of
// allocating them (see effect.Batches): every sign of life from a host, a
// heartbeat a second per host, made a slice and a SetTimer for its dead
// timer's move. It is optional. The driver must not read the batch or its
// effects after releasing it, nor release one it still holds any part of.
func (mg *Manager) Release(effs []effect.Effect) { mg.batches.Release(effs) }
