package coordinator

import (
	"fmt"
	"time"

	"github.com/basalt-ha/basalt/core/proto"
)

// The machine's effects. The first four are requests to the store, which
// the driver carries out and answers with the matching input; Lead and
// Demote are for the manager that embeds the machine.

// RequestLease asks the store for a lease of TTL. The driver answers with
// LeaseGranted or LeaseRefused, naming Req.
type RequestLease struct {
	Req RequestID
	TTL time.Duration
}

// Describe implements effect.Effect.
func (e RequestLease) Describe() string {
	return fmt.Sprintf("coord request-lease req=%d ttl=%s", e.Req, e.TTL)
}

// KeepAlive asks the store to renew Lease. The driver answers with
// KeepAliveAnswered, or LeaseLost when the store no longer knows it; an
// answer that never comes is the expiry timer's business.
type KeepAlive struct {
	Req   RequestID
	Lease LeaseID
}

// Describe implements effect.Effect.
func (e KeepAlive) Describe() string {
	return fmt.Sprintf("coord keep-alive req=%d lease=%x", e.Req, e.Lease)
}

// Campaign asks the store to put this manager's election key, attached to
// Lease, and to say (Elected) once it is the oldest live key under the
// election prefix: the store's election, as etcd's concurrency package
// runs it.
type Campaign struct {
	Lease LeaseID
	Name  string
}

// Describe implements effect.Effect.
func (e Campaign) Describe() string {
	return fmt.Sprintf("coord campaign lease=%x name=%s", e.Lease, e.Name)
}

// Revoke gives Lease up: the election key goes with it, so that a standby
// is elected at once rather than after the TTL. Best effort: a store that
// cannot be reached expires the lease by itself.
type Revoke struct {
	Lease LeaseID
}

// Describe implements effect.Effect.
func (e Revoke) Describe() string { return fmt.Sprintf("coord revoke lease=%x", e.Lease) }

// Lead says this manager leads, at Epoch: it may act, guarding every
// write to the store on Epoch, until a Demote.
type Lead struct {
	Epoch proto.Epoch
}

// Describe implements effect.Effect.
func (e Lead) Describe() string { return fmt.Sprintf("coord lead epoch=%d", e.Epoch) }

// Demote says this manager no longer leads (it led at Epoch): it stops
// acting at once, before anything else it would do.
type Demote struct {
	Epoch proto.Epoch
	Why   string
}

// Describe implements effect.Effect.
func (e Demote) Describe() string { return fmt.Sprintf("coord demote epoch=%d why=%q", e.Epoch, e.Why) }
