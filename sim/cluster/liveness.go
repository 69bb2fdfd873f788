package cluster

import (
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// hostLostMsg is the message of the manager's log effect when it declares
// a host lost (core/manager, hostLost): the simulator watches for it to
// judge each declaration against what had reached the manager.
const hostLostMsg = "host lost"

// Loss is a manager instance declaring a host lost, with the ground truth
// beside it: when a sign of life from that host last reached the
// instance's end of a connection (read or still queued), zero if never,
// and when the host's agent was last killed while the host ran.
// check.CheckLosses judges it.
type Loss struct {
	At        time.Time
	Host      string
	Epoch     proto.Epoch
	LastHeard time.Time
	AgentDied time.Time
}

// Losses are the hosts declared lost so far, in order.
func (c *Cluster) Losses() []Loss { return c.losses }

// timerAt is the time a manager timer due at due is handled at: now,
// unless a canary says otherwise.
func (c *Cluster) timerAt(due time.Time) time.Time {
	if c.opts.ManagerTimerAt != nil {
		return c.opts.ManagerTimerAt(due, c.Q.Now())
	}
	return c.Q.Now()
}

// noteHeard records that a sign of life from host reached mi: a hello, or
// a heartbeat of an agent that has not seen a newer manager (whose
// heartbeats tell mi of its successor, not of the host's health to it).
func (c *Cluster) noteHeard(mi *mgrInst, host string, msg effect.Message) {
	switch m := msg.(type) {
	case proto.Hello:
		if m.Epoch > mi.m.Epoch() {
			return
		}
	case proto.Heartbeat:
		if m.Epoch > mi.m.Epoch() {
			return
		}
	default:
		return
	}
	mi.heard[host] = c.Q.Now()
}

// noteLoss records a declaration of loss among mi's log effects.
func (c *Cluster) noteLoss(mi *mgrInst, e effect.Log) {
	if e.Msg != hostLostMsg {
		return
	}
	for _, a := range e.Attrs {
		if a.Key == "host" {
			h := a.Value.String()
			var died time.Time
			if ho := c.hosts[h]; ho != nil {
				died = ho.agentDied
			}
			c.losses = append(c.losses, Loss{At: c.Q.Now(), Host: h, Epoch: mi.m.Epoch(), LastHeard: mi.heard[h], AgentDied: died})
		}
	}
}
