package manager

import (
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// Connections and senders.
//
// The manager addresses every command to the connection it knows for the
// host (HostConnected), so that the driver delivers it on that connection
// or not at all: a command meant for an earlier connection — an earlier
// life of the agent, perhaps — must never reach the agent over a later one
// (a fence request queued while a host was down, delivered when it came
// back, once fenced a healthy host). While no connection is up, commands
// go nowhere; they count as lost, and the manager re-sends what it still
// wants once the agent greets the new connection.
//
// Every message arrives with the sender the transport proved (the host
// named by the agent's certificate; in the simulator, the host whose agent
// sent it). A message that claims to come from another host is refused:
// one compromised host must not keep another alive, nor speak of epochs in
// its name.

// HostConnected tells the manager that the driver opened connection conn
// to host's agent. Commands to host are addressed to it from now on.
func (mg *Manager) HostConnected(now time.Time, host string, conn effect.ConnID) []effect.Effect {
	if _, ok := mg.hosts[host]; !ok {
		return []effect.Effect{effect.Log{Level: slog.LevelWarn, Msg: "connection to an unknown host", Attrs: []slog.Attr{slog.String("host", host)}}}
	}
	if mg.conns == nil {
		mg.conns = map[string]effect.ConnID{}
	}
	mg.conns[host] = conn
	return nil
}

// HostDisconnected tells the manager that connection conn to host closed,
// the driver cannot say how (HostConnEnded with EndSilent, suspect.go).
// Commands to host go nowhere until the next connection.
func (mg *Manager) HostDisconnected(now time.Time, host string, conn effect.ConnID) []effect.Effect {
	return mg.HostConnEnded(now, host, conn, EndSilent)
}

// HostConn is the connection commands to host are addressed to (0: none).
func (mg *Manager) HostConn(host string) effect.ConnID { return mg.conns[host] }

// connTo addresses a command to host.
func (mg *Manager) connTo(host string) effect.ConnID { return mg.conns[host] }

// ForgedMessages counts the messages refused because they claimed to come
// from a host other than their authenticated sender.
func (mg *Manager) ForgedMessages() int { return mg.forgedMsgs }

// refuseForged reports whether msg, from the authenticated sender from,
// claims another host; if so it is counted and logged with both names.
func (mg *Manager) refuseForged(from string, msg effect.Message) ([]effect.Effect, bool) {
	claimed, ok := claimedHost(msg)
	if !ok || claimed == from {
		return nil, false
	}
	mg.forgedMsgs++
	return []effect.Effect{effect.Log{Level: slog.LevelWarn, Msg: "refused a message claiming another host than its sender",
		Attrs: []slog.Attr{slog.String("sender", from), slog.String("claimed", claimed), slog.String("msg", msg.Describe())}}}, true
}

// claimedHost is the host a message from an agent says it comes from.
func claimedHost(msg effect.Message) (string, bool) {
	switch m := msg.(type) {
	case proto.Hello:
		return m.Host, true
	case proto.Goodbye:
		return m.Host, true
	case proto.Heartbeat:
		return m.Host, true
	case proto.OpResult:
		return m.Host, true
	case proto.FenceResult:
		return m.Host, true
	case proto.Refused:
		return m.Host, true
	case proto.AttrUpdate:
		return m.Host, true
	}
	return "", false
}

// Standing down.
//
// A manager stands down (is deposed) when hosts tell it a newer manager
// exists: an agent greets it, or heartbeats, with a higher epoch than its
// own, or refuses its command as stale. One host alone is not believed:
// its certificate proves who it is, not what it says, and a compromised
// host that could depose the manager at will could leave the cluster
// without one. So the manager stands down once a strict majority of the
// configured hosts, each counted once by its proven name, have reported a
// newer manager. Until then it goes on, which is safe: an agent that has
// seen the newer epoch refuses the older one's commands whatever the
// older one believes. It does not take such a host's greeting as a sign
// of life, and closes that connection at once, so that its silence cannot
// make the agent hand it the connection (the candidate rule promotes a
// silent newcomer after two heartbeats).
//
// The alternative, a proof that a newer manager exists (its signed
// command, forwarded by the agent), would let a single honest host depose
// at once, but needs manager signatures on every command; a majority needs
// nothing new on the wire.

// newerManager notes that host reported a newer manager (seen is its
// epoch; 0 when a stale refusal says so), and stands down once a majority
// of hosts have. hello: the report was the greeting on a new connection.
func (mg *Manager) newerManager(now time.Time, host string, seen proto.Epoch, hello bool) []effect.Effect {
	if mg.newer == nil {
		mg.newer = map[string]proto.Epoch{}
	}
	mg.newer[host] = max(mg.newer[host], seen)
	if 2*len(mg.newer) > len(mg.m.Hosts) {
		return mg.depose(now, host)
	}
	effs := []effect.Effect{effect.Log{Level: slog.LevelWarn, Msg: "a host reports a newer manager; this one stands down when a majority of hosts do",
		Attrs: []slog.Attr{slog.String("host", host), slog.Uint64("seen", uint64(seen)), slog.Uint64("epoch", uint64(mg.epoch)),
			slog.Int("reporting", len(mg.newer)), slog.Int("hosts", len(mg.m.Hosts))}}}
	if c := mg.conns[host]; hello && c != 0 {
		delete(mg.conns, host)
		effs = append(effs, effect.CloseConn{Conn: c, Why: effect.CloseOutranked})
	}
	return effs
}

// followsUs withdraws host's report of a newer manager: it has just shown
// an epoch no newer than ours in a message of its own. Agents never lower
// their epoch, so the earlier report was not its state: its certificate was
// misused by an impostor, or it raised its epoch in memory without being
// able to record it (a full disk) and restarted. Counting such reports
// made at different times would add up to a majority that never was.
func (mg *Manager) followsUs(host string) {
	if _, ok := mg.newer[host]; ok {
		delete(mg.newer, host)
		mg.wake() // the starts held for the report may go (ready)
	}
}

// NewerManagerReports is how many hosts have reported a newer manager.
func (mg *Manager) NewerManagerReports() int { return len(mg.newer) }

// letGo closes every connection of a deposed manager: an agent gets its
// heartbeats and results from whichever manager it obeys, and this one must
// not be it.
func (mg *Manager) letGo() []effect.Effect {
	var effs []effect.Effect
	for _, h := range slices.Sorted(maps.Keys(mg.conns)) {
		effs = append(effs, effect.CloseConn{Conn: mg.conns[h], Why: effect.CloseDeposed})
	}
	mg.conns = nil
	return effs
}
