package agent

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

func sentUpdates(effs []effect.Effect) []proto.AttrUpdate {
	var out []proto.AttrUpdate
	for _, s := range only[*effect.Send](effs) {
		if u, ok := s.Msg.(proto.AttrUpdate); ok {
			out = append(out, u)
		}
	}
	return out
}

func welcomeAttrs(a *Agent, conn effect.ConnID) []effect.Effect {
	return a.Receive(t0, conn, proto.Welcome{HeartbeatInterval: a.hbEvery, DeadTimeout: 5 * a.hbEvery, Attrs: true})
}

// A change goes to a manager that takes attributes, and the tool is
// answered with the manager's answer, which brings the copy queries read.
func TestAttrChangeAnsweredOnTheManagersAck(t *testing.T) {
	a := newAgent(t, 0)
	welcomeAttrs(a, 1)
	effs := a.AttrRequest(t0, AttrRequest{ID: 41, Op: AttrSet, Name: "master-db", Value: "10", Lifetime: proto.AttrReboot, By: "crm_master (db)"})
	require.Empty(t, only[AttrAnswer](effs), "no answer before the manager's")
	ups := sentUpdates(effs)
	require.Equal(t, []proto.AttrUpdate{{Host: "h1", Req: 1, Target: "h1", Name: "master-db", Value: "10", Lifetime: proto.AttrReboot,
		By: "crm_master (db)"}}, ups)

	store := map[string][]proto.Attribute{"h1": {{Name: "master-db", Value: "10", Lifetime: proto.AttrReboot}}}
	effs = a.Receive(t0, 1, proto.Attributes{Ack: 1, Hosts: store})
	require.Equal(t, []AttrAnswer{{ID: 41, Host: "h1"}}, only[AttrAnswer](effs))

	q := only[AttrAnswer](a.AttrRequest(t0, AttrRequest{ID: 42, Op: AttrQuery, Name: "master-db"}))
	require.Equal(t, []AttrAnswer{{ID: 42, Host: "h1", Found: true, Value: "10", Lifetime: proto.AttrReboot}}, q)
	q = only[AttrAnswer](a.AttrRequest(t0, AttrRequest{ID: 43, Op: AttrQuery, Name: "master-db", Lifetime: proto.AttrForever}))
	require.Equal(t, []AttrAnswer{{ID: 43, Host: "h1", Lifetime: proto.AttrForever}}, q, "no permanent value of that name")
	q = only[AttrAnswer](a.AttrRequest(t0, AttrRequest{ID: 44, Op: AttrQuery, Host: "h2", Name: "master-db"}))
	require.Equal(t, []AttrAnswer{{ID: 44, Host: "h2"}}, q)

	effs = a.AttrRequest(t0, AttrRequest{ID: 45, Op: AttrSet, Name: "x", Value: "1", Lifetime: proto.AttrReboot})
	effs = a.Receive(t0, 1, proto.Attributes{Ack: sentUpdates(effs)[0].Req, Hosts: store, Refused: "no room"})
	require.Equal(t, "no room", only[AttrAnswer](effs)[0].Err)
	require.True(t, a.Hello().HasAttrs, "a hello after a copy says so")
}

// Without a manager that takes attributes, changes wait in order, the
// tool answered at once that its change is queued; the queue goes out once
// a manager welcomes the agent as one that takes them. Past the bound a
// change is refused. Changes sent on a connection that closes before their
// answer are sent again on the next.
func TestAttrChangesQueueWhileNoManagerTakesThem(t *testing.T) {
	a := newAgent(t, 0)
	a.Receive(t0, 1, proto.Welcome{HeartbeatInterval: a.hbEvery, DeadTimeout: 5 * a.hbEvery}) // an older manager
	for i := 0; i < MaxPendingAttrs; i++ {
		effs := a.AttrRequest(t0, AttrRequest{ID: uint64(i + 1), Op: AttrSet, Name: fmt.Sprintf("a%d", i), Value: "1", Lifetime: proto.AttrReboot})
		require.Equal(t, []AttrAnswer{{ID: uint64(i + 1), Host: "h1", Queued: true}}, only[AttrAnswer](effs))
		require.Empty(t, sentUpdates(effs), "an older manager is sent nothing")
	}
	full := only[AttrAnswer](a.AttrRequest(t0, AttrRequest{ID: 99, Op: AttrSet, Name: "b", Value: "1", Lifetime: proto.AttrReboot}))
	require.Contains(t, full[0].Err, "already wait for the manager")

	a.Disconnected(t0, 1)
	a.Connected(t0, 2)
	ups := sentUpdates(welcomeAttrs(a, 2))
	require.Len(t, ups, MaxPendingAttrs)
	require.Equal(t, "a0", ups[0].Name)
	require.Equal(t, fmt.Sprintf("a%d", MaxPendingAttrs-1), ups[MaxPendingAttrs-1].Name)

	for _, u := range ups[:10] {
		require.Empty(t, only[AttrAnswer](a.Receive(t0, 2, proto.Attributes{Ack: u.Req})), "queued changes were answered already")
	}
	a.Disconnected(t0, 2)
	a.Connected(t0, 3)
	again := sentUpdates(welcomeAttrs(a, 3))
	require.Len(t, again, MaxPendingAttrs-10, "the unanswered ones go again")
	require.Equal(t, "a10", again[0].Name)
}

// What the manager would refuse for its form alone is refused at once,
// and so is crm_node's question with no manager to answer it; a question
// in flight when the connection closes fails.
func TestAttrRequestsRefusedLocally(t *testing.T) {
	a := newAgent(t, 0)
	for _, r := range []AttrRequest{
		{Op: AttrSet, Name: "bad name", Value: "1", Lifetime: proto.AttrReboot},
		{Op: AttrSet, Name: "x", Value: "1", Lifetime: "tomorrow"},
		{Op: AttrSet, Name: "x", Value: "a\nb", Lifetime: proto.AttrReboot},
		{Op: AttrQuery, Name: ""},
		{Op: "teleport", Name: "x"},
		{Op: AttrMembers},
	} {
		ans := only[AttrAnswer](a.AttrRequest(t0, r))
		require.Len(t, ans, 1, "%+v", r)
		require.NotEmpty(t, ans[0].Err, "%+v", r)
	}
	welcomeAttrs(a, 1)
	effs := a.AttrRequest(t0, AttrRequest{ID: 7, Op: AttrMembers})
	require.True(t, sentUpdates(effs)[0].Members)
	ans := only[AttrAnswer](a.Disconnected(t0, 1))
	require.Equal(t, uint64(7), ans[0].ID)
	require.Contains(t, ans[0].Err, "closed before it answered")

	a.Connected(t0, 2)
	welcomeAttrs(a, 2)
	effs = a.AttrRequest(t0, AttrRequest{ID: 8, Op: AttrMembers})
	members := []proto.Member{{Name: "h1", Online: true}, {Name: "h2"}}
	ans = only[AttrAnswer](a.Receive(t0, 2, proto.Attributes{Ack: sentUpdates(effs)[0].Req, Members: members}))
	require.Equal(t, members, ans[0].Members)
}

// A candidate connection's attributes are not taken, nor a superseded
// manager's.
func TestAttributesOnlyFromTheObeyedManager(t *testing.T) {
	a := newAgent(t, 5)
	a.Connected(t0, 2) // a candidate
	a.Receive(t0, 2, proto.Attributes{Epoch: 5, Hosts: map[string][]proto.Attribute{"h1": {{Name: "x", Value: "1", Lifetime: proto.AttrReboot}}}})
	a.Receive(t0, 1, proto.Attributes{Epoch: 4, Hosts: map[string][]proto.Attribute{"h1": {{Name: "y", Value: "1", Lifetime: proto.AttrReboot}}}})
	copyOf, have := a.Attributes()
	require.False(t, have)
	require.Empty(t, copyOf)
}
