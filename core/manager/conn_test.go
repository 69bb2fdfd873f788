package manager

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

const threeHosts = `cluster: {name: c, heartbeat-interval: 1s, dead-timeout: 5s, fence-timeout: 30s}
hosts:
  - {name: h1, address: 127.0.0.1:7101}
  - {name: h2, address: 127.0.0.1:7102}
  - {name: h3, address: 127.0.0.1:7103}
fence-devices:
  - {id: pdu, agent: fence_x, hosts: {h1: "1", h2: "2", h3: "3"}}
resources:
  - {id: r, name: a resource, agent: "ocf:basalt:statefile"}
groups:
  - {id: g, members: [{resource: r}]}
`

func started(t *testing.T) *Manager {
	m, err := model.Load("c.yaml", []byte(threeHosts))
	require.NoError(t, err)
	mg := New(Config{Model: m})
	_, err = mg.Start(t0, 4, nil) // epoch 5
	require.NoError(t, err)
	return mg
}

func sends(effs []effect.Effect) []*effect.Send {
	var out []*effect.Send
	for _, e := range effs {
		if s, ok := e.(*effect.Send); ok {
			out = append(out, s)
		}
	}
	return out
}

// Commands go to the connection the manager knows for the host, and
// nowhere while it knows none.
func TestCommandsAreAddressedToTheHostsConnection(t *testing.T) {
	mg := started(t)
	mg.HostConnected(t0, "h1", 7)
	out := sends(mg.Receive(t0, "h1", proto.Hello{Host: "h1", Epoch: 5}))
	require.NotEmpty(t, out)
	for _, s := range out {
		require.Equal(t, effect.ConnID(7), s.Conn, "%s", s.Describe())
	}
	mg.HostDisconnected(t0, "h1", 6) // an older connection's end changes nothing
	require.Equal(t, effect.ConnID(7), mg.HostConn("h1"))
	mg.HostDisconnected(t0, "h1", 7)
	require.Zero(t, mg.HostConn("h1"))
	for _, s := range sends(mg.Receive(t0, "h1", proto.Hello{Host: "h1", Epoch: 5})) {
		require.Zero(t, s.Conn, "no connection: the driver drops it")
	}
}

// A message is believed only from the host its sender proved to be: h1
// cannot keep h2 alive nor claim a newer epoch in its name.
func TestMessagesClaimingAnotherHostAreRefused(t *testing.T) {
	mg := started(t)
	effs := mg.Receive(t0, "h1", proto.Hello{Host: "h2", Epoch: 5})
	require.Len(t, effs, 1)
	log := effs[0].(effect.Log)
	require.Contains(t, log.Describe(), "sender=h1")
	require.Contains(t, log.Describe(), "claimed=h2")
	require.Empty(t, mg.Receive(t0.Add(time.Second), "h1", proto.Heartbeat{Host: "h2", Epoch: 6})[1:])
	require.Equal(t, 2, mg.ForgedMessages())
	require.False(t, mg.Deposed())
	require.NotEqual(t, planner.Online, mg.HostState("h2"))
	require.Zero(t, mg.NewerManagerReports())
}

// One host alone cannot depose the manager; a majority of hosts can.
func TestAMajorityOfHostsDeposes(t *testing.T) {
	mg := started(t)
	mg.HostConnected(t0, "h1", 1)
	effs := mg.Receive(t0, "h1", proto.Hello{Host: "h1", Epoch: 6})
	require.False(t, mg.Deposed())
	require.Contains(t, effs, effect.Effect(effect.CloseConn{Conn: 1, Why: effect.CloseOutranked}),
		"a silent connection would be handed to this manager after two heartbeats")
	mg.Receive(t0, "h1", proto.Heartbeat{Host: "h1", Epoch: 6})
	require.False(t, mg.Deposed(), "the same host counts once")
	mg.HostConnected(t0, "h2", 2)
	effs = mg.Receive(t0, "h2", proto.Refused{Host: "h2", Epoch: 5, Op: 1, Stale: true})
	require.True(t, mg.Deposed())
	require.Contains(t, effs, effect.Effect(effect.CloseConn{Conn: 2, Why: effect.CloseDeposed}))
}

// A host's report of a newer manager lasts while the host says so: once it
// speaks our epoch again (a hello or heartbeat of its own), its report is
// withdrawn. Otherwise reports made at different times (a host's
// certificate misused for a moment, then another's) would add up to a
// majority that never existed at any one time.
func TestAReportOfANewerManagerIsWithdrawnWhenTheHostFollowsUsAgain(t *testing.T) {
	mg := started(t)
	mg.Receive(t0, "h1", proto.Heartbeat{Host: "h1", Epoch: 6, Seq: 1})
	require.Equal(t, 1, mg.NewerManagerReports())
	mg.Receive(t0, "h1", proto.Heartbeat{Host: "h1", Epoch: 5, Seq: 2})
	require.Zero(t, mg.NewerManagerReports(), "h1 follows this manager again")
	mg.Receive(t0, "h3", proto.Heartbeat{Host: "h3", Epoch: 6, Seq: 1})
	mg.Receive(t0, "h3", proto.Hello{Host: "h3", Epoch: 5})
	mg.Receive(t0, "h2", proto.Heartbeat{Host: "h2", Epoch: 6, Seq: 1})
	require.False(t, mg.Deposed(), "one host at a time is never a majority")
	require.Equal(t, 1, mg.NewerManagerReports())
}

// The answer to a hello is the cluster's timing, first, on the connection
// the hello came on.
func TestHelloIsAnsweredWithTheClustersHeartbeat(t *testing.T) {
	mg := started(t)
	mg.HostConnected(t0, "h1", 7)
	out := sends(mg.Receive(t0, "h1", proto.Hello{Host: "h1", Epoch: 5, Heartbeat: 4 * time.Second}))
	require.NotEmpty(t, out)
	require.Equal(t, &effect.Send{To: "h1", Conn: 7, Msg: proto.Welcome{Epoch: 5, HeartbeatInterval: time.Second, DeadTimeout: 5 * time.Second}}, out[0])
	for _, s := range sends(mg.Receive(t0, "h1", proto.Hello{Host: "h1", Epoch: 5})) {
		_, welcome := s.Msg.(proto.Welcome)
		require.False(t, welcome, "an agent older than Welcome is sent none")
	}
}
