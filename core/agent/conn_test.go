package agent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proto"
)

func closes(effs []effect.Effect) []effect.CloseConn { return only[effect.CloseConn](effs) }

func sendsOn(effs []effect.Effect) []effect.ConnID {
	var out []effect.ConnID
	for _, s := range only[*effect.Send](effs) {
		out = append(out, s.Conn)
	}
	return out
}

// A newer manager's connection takes over with its first command; the old
// connection is closed and the agent's results go to the new one.
func TestCandidateTakesOverWithItsFirstCommand(t *testing.T) {
	a := newAgent(t, 3) // obeys conn 1
	effs := a.Connected(t0, 2)
	require.Equal(t, []effect.ConnID{2}, sendsOn(effs), "the candidate is greeted, on its own connection")
	require.Empty(t, closes(effs))
	cur, cand := a.Conns()
	require.Equal(t, [2]effect.ConnID{1, 2}, [2]effect.ConnID{cur, cand})
	require.Empty(t, a.Receive(t0, 2, proto.Heartbeat{}), "only a command shows an epoch")

	effs = a.Receive(t0, 2, exec(4, 1, ocf.Start))
	require.Equal(t, []effect.CloseConn{{Conn: 1, Why: effect.CloseSuperseded}}, closes(effs))
	require.Contains(t, kinds(effs), "start-process")
	cur, cand = a.Conns()
	require.Equal(t, [2]effect.ConnID{2, 0}, [2]effect.ConnID{cur, cand})
	require.Empty(t, a.Receive(t0, 1, exec(4, 2, ocf.Stop)), "the old connection is no longer obeyed")
}

// A superseded manager's connection is refused at its first command, and
// the current one keeps the agent.
func TestStaleCandidateIsClosed(t *testing.T) {
	a := newAgent(t, 3)
	a.Connected(t0, 2)
	effs := a.Receive(t0, 2, exec(2, 1, ocf.Start))
	require.Equal(t, []effect.CloseConn{{Conn: 2, Why: effect.CloseStale}}, closes(effs))
	require.NotContains(t, kinds(effs), "start-process")
	cur, cand := a.Conns()
	require.Equal(t, [2]effect.ConnID{1, 0}, [2]effect.ConnID{cur, cand})
	effs = a.TimerFired(t0.Add(time.Minute), 1)
	require.Empty(t, closes(effs))
}

// A silent candidate takes over after two heartbeat intervals; so does
// the candidate when the current connection closes.
func TestCandidateTakesOverWhenSilentOrAlone(t *testing.T) {
	a := newAgent(t, 3)
	effs := a.Connected(t0, 2)
	var timer *effect.SetTimer
	for _, e := range effs {
		if st, ok := e.(*effect.SetTimer); ok {
			timer = st
		}
	}
	require.Equal(t, t0.Add(2*time.Second), timer.At)
	effs = a.TimerFired(timer.At, timer.ID)
	require.Equal(t, []effect.CloseConn{{Conn: 1, Why: effect.CloseSuperseded}}, closes(effs))
	cur, _ := a.Conns()
	require.Equal(t, effect.ConnID(2), cur)

	a.Connected(t0, 3)
	effs = a.Connected(t0, 4)
	require.Equal(t, []effect.CloseConn{{Conn: 3, Why: effect.CloseReplaced}}, closes(effs), "one candidate at a time")
	effs = a.Disconnected(t0, 2)
	require.Empty(t, closes(effs))
	cur, cand := a.Conns()
	require.Equal(t, [2]effect.ConnID{4, 0}, [2]effect.ConnID{cur, cand})
	require.Equal(t, []effect.ConnID{4}, sendsOn(a.TimerFired(t0.Add(time.Second), a.hbTimer)), "heartbeats follow")
}

// A newer manager taking the agent over is told to the manager it
// outranks, on that manager's connection and before it is closed, as a
// stale refusal: without it the old manager saw only its connection end
// and a refused redial once the agent restarted, took the healthy host for
// dead and fenced it in two heartbeats (seed 4579). A new connection of the
// same manager (same epoch) says nothing: nobody outranks it.
func TestOutrankedManagerIsToldBeforeItsConnectionGoes(t *testing.T) {
	a := newAgent(t, 3) // obeys conn 1, at epoch 3
	a.Connected(t0, 2)
	effs := a.Receive(t0, 2, exec(4, 1, ocf.Start))
	var told []proto.Refused
	closedAt, toldAt := -1, -1
	for i, e := range effs {
		switch x := e.(type) {
		case *effect.Send:
			if r, ok := x.Msg.(proto.Refused); ok && x.Conn == 1 {
				told, toldAt = append(told, r), i
			}
		case effect.CloseConn:
			if x.Conn == 1 {
				closedAt = i
			}
		}
	}
	require.Len(t, told, 1, "the outranked manager is told")
	require.True(t, told[0].Stale)
	require.Less(t, toldAt, closedAt, "told before its connection closes")

	b := newAgent(t, 3)
	b.Connected(t0, 2)
	effs = b.Receive(t0, 2, exec(3, 1, ocf.Start)) // the same manager's new connection
	require.Equal(t, []effect.CloseConn{{Conn: 1, Why: effect.CloseSuperseded}}, closes(effs))
	for _, s := range only[*effect.Send](effs) {
		_, refused := s.Msg.(proto.Refused)
		require.False(t, refused && s.Conn == 1, "nothing said to a manager nobody outranks")
	}
}

// A clean stop says goodbye to the candidate too: a replacement manager
// that had just connected heard nothing before, and judged the close and
// the refused redial that followed a dead agent (seed 10732).
func TestGoodbyeReachesTheCandidateToo(t *testing.T) {
	a := newAgent(t, 3) // obeys conn 1
	a.Connected(t0, 2)
	var to []effect.ConnID
	for _, s := range only[*effect.Send](a.Goodbye(t0)) {
		if _, ok := s.Msg.(proto.Goodbye); ok {
			to = append(to, s.Conn)
		}
	}
	require.Equal(t, []effect.ConnID{1, 2}, to)
}
