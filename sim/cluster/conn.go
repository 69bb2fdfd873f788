package cluster

import (
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/proto"
)

// Connections. Each manager instance (a start, a restart, the replacement
// of a crashed or paused one, and the frozen one once it wakes) opens its
// own connection to each agent it can reach, as the live manager dials
// every host; the agent machine decides which one it obeys (core/agent,
// conn.go) and the manager addresses its commands to the connection it
// knows (core/manager, conn.go). Messages travel on a connection and are
// lost with it when it closes. A connection closes when either end's
// process dies, when the agent lets go of it (superseded, stale, replaced)
// and when a deposed manager lets go of its own; a manager whose connection
// closed redials after redialDelay, until it is deposed.

// redialDelay is how long a manager waits before dialling an agent again
// after a connection closed (the live manager backs off from 200ms).
const redialDelay = time.Second

// simConn is one connection between a manager instance and one life of a
// host's agent.
type simConn struct {
	id   effect.ConnID
	mi   *mgrInst
	h    *host
	gen  int // the agent life that accepted it
	open bool
	// lastToAgent and lastToManager are when the latest message each way
	// arrives: a connection delivers in order (transmit).
	lastToAgent, lastToManager time.Time
}

// ConnCoverage counts what the connection rule did in a run.
type ConnCoverage struct {
	// Opened counts connections opened.
	Opened int `json:"opened"`
	// Takeovers counts candidate connections promoted by an agent.
	Takeovers int `json:"takeovers"`
	// StaleRefused counts candidate connections an agent closed because
	// they carried a superseded manager's epoch.
	StaleRefused int `json:"stale_refused"`
	// DeposedClosed counts connections closed by a manager that learnt it
	// was superseded.
	DeposedClosed int `json:"deposed_closed"`
}

// ConnCoverage is what the connection rule did so far.
func (c *Cluster) ConnCoverage() ConnCoverage { return c.connCov }

// managers are the manager instances that are up, the current one last.
func (c *Cluster) managers() []*mgrInst {
	var out []*mgrInst
	for _, mi := range c.stale {
		if mi.up && mi != c.cur {
			out = append(out, mi)
		}
	}
	if c.cur != nil && c.cur.up {
		out = append(out, c.cur)
	}
	return out
}

// dial opens a connection from mi to h's agent if both can: mi is up,
// awake and not deposed, h's agent runs and mi has no connection to it
// yet. With the link cut either way the handshake fails and mi tries again
// later.
//
// A powered host whose agent is down refuses the dial (its kernel answers,
// nothing listens), and the manager hears so; a powered-off host or a cut
// link is silent. Either way the manager does not redial until something
// changes: the agent's start dials every manager that is up, which stands
// for the live manager's redial that succeeds (those refused meanwhile
// would only repeat the refusal).
func (c *Cluster) dial(mi *mgrInst, h *host) {
	if !mi.up || mi.paused || mi.m.Deposed() || !h.powered {
		return
	}
	for _, cn := range c.open {
		if cn.mi == mi && cn.h == h {
			return
		}
	}
	if c.cut[effect.Manager][h.name] || c.cut[h.name][effect.Manager] {
		c.redialLater(mi, h)
		return
	}
	if h.agent == nil {
		c.trace("dial manager epoch=%d -> %s refused", mi.m.Epoch(), h.name)
		c.applyManager(mi, mi.m.HostDialFailed(c.Q.Now(), h.name, manager.EndRefused))
		return
	}
	c.lastConn++
	cn := &simConn{id: c.lastConn, mi: mi, h: h, gen: h.gen, open: true}
	c.conns[cn.id] = cn
	c.open = append(c.open, cn)
	c.connCov.Opened++
	c.trace("conn %d opened: manager epoch=%d -> %s", cn.id, mi.m.Epoch(), h.name)
	c.applyManager(mi, mi.m.HostConnected(c.Q.Now(), h.name, cn.id))
	c.onHost(h, func() {
		if cn.open && h.gen == cn.gen && h.agent != nil {
			c.applyAgent(h, c.agentInput(h, true, func() []effect.Effect { return h.agent.Connected(c.Q.Now(), cn.id) }))
		}
	})
}

// redialLater makes mi dial h again after redialDelay (when it is awake).
func (c *Cluster) redialLater(mi *mgrInst, h *host) {
	c.Q.After(redialDelay, func() { c.onManager(mi, func() { c.dial(mi, h) }) })
}

// closeConn closes cn from the side by ("manager" or the host's name):
// the other side hears of it, and a manager that did not close it itself
// redials. end is what the manager's kernel tells of a close by the host:
// a reset when the host's kernel closed it (its agent exited, or let go of
// the connection) and its reset can reach the manager, else silent (the
// host lost its power; the link to the manager is cut).
func (c *Cluster) closeConn(cn *simConn, by, why string, end manager.ConnEnd) {
	if !cn.open {
		return
	}
	cn.open = false
	delete(c.conns, cn.id)
	for i, o := range c.open {
		if o == cn {
			c.open = append(c.open[:i:i], c.open[i+1:]...)
			break
		}
	}
	switch why {
	case effect.CloseStale:
		c.connCov.StaleRefused++
	case effect.CloseDeposed:
		c.connCov.DeposedClosed++
	}
	c.trace("conn %d closed by %s (%s)", cn.id, by, why)
	mi, h := cn.mi, cn.h
	if by != effect.Manager {
		c.onManager(mi, func() {
			if c.cut[h.name][effect.Manager] {
				end = manager.EndSilent
			}
			c.applyManager(mi, mi.m.HostConnEnded(c.Q.Now(), h.name, cn.id, end))
			c.redialLater(mi, h)
		})
	}
	if by != h.name {
		c.onHost(h, func() {
			if h.gen == cn.gen && h.agent != nil {
				c.applyAgent(h, c.agentInput(h, false, func() []effect.Effect { return h.agent.Disconnected(c.Q.Now(), cn.id) }))
			}
		})
	}
}

// closeManagerConns closes every connection of a manager process that died.
func (c *Cluster) closeManagerConns(mi *mgrInst) {
	for _, cn := range c.connsOf(func(cn *simConn) bool { return cn.mi == mi }) {
		c.closeConn(cn, effect.Manager, "manager down", manager.EndSilent)
	}
}

// closeHostConns closes every connection of an agent process that died;
// end says whether the host's kernel reset them or went down with it.
func (c *Cluster) closeHostConns(h *host, end manager.ConnEnd) {
	for _, cn := range c.connsOf(func(cn *simConn) bool { return cn.h == h }) {
		c.closeConn(cn, h.name, "agent down", end)
	}
}

func (c *Cluster) connsOf(match func(*simConn) bool) []*simConn {
	var out []*simConn
	for _, cn := range c.open {
		if match(cn) {
			out = append(out, cn)
		}
	}
	return out
}

// agentInput runs one input of h's agent, counting the candidate
// connections it promoted. With judged set (a connection's arrival or a
// message on it, not the candidate's silence timer), a change of the
// obeyed connection is recorded for the connection checker.
func (c *Cluster) agentInput(h *host, judged bool, input func() []effect.Effect) []effect.Effect {
	before, cand := h.agent.Conns()
	effs := input()
	cur, _ := h.agent.Conns()
	if cand != 0 && cur == cand {
		c.connCov.Takeovers++
	}
	if !judged || cur == before {
		return effs // the usual input: the agent obeys the connection it did
	}
	if owner := c.conns[cur]; owner != nil {
		// The rule is about leaving the connection the agent obeyed: the
		// first connection of an agent's life takes it from nobody (its
		// epoch is from an earlier life, and it cannot know the epoch of
		// a manager that has said nothing yet), so only a connection
		// obeyed until now, still open, counts as the accepted manager's.
		accepted := h.agent.Epoch()
		prev := c.conns[before]
		open := prev != nil && prev.open && prev.h == h && prev.gen == h.gen && prev.mi.m.Epoch() == accepted
		c.Handovers = append(c.Handovers, Handover{At: c.Q.Now(), Host: h.name, To: owner.mi.m.Epoch(), Accepted: accepted,
			AcceptedOpen: open})
	}
	return effs
}

// Handover is an agent giving its connection to another manager (see
// check.Handover, which the swarm builds from it).
type Handover struct {
	At           time.Time
	Host         string
	To, Accepted proto.Epoch
	AcceptedOpen bool
}
