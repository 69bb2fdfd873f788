package daemon

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/live/attrtools"
	"github.com/basalt-ha/basalt/live/process"
)

func attrAgent(t *testing.T, sock string) (*AgentDaemon, error) {
	return StartAgentDaemon(AgentDaemonConfig{Agent: agent.Config{Host: "h1", HeartbeatInterval: time.Second,
		LRM: lrm.Config{OCFRoot: "/usr/lib/ocf"}}, Listen: "127.0.0.1:0", Insecure: true, Store: storage.NewMem(),
		Clock: clock.New(), Runner: process.NewRunner(), Log: quietLog(), AttrSocket: sock})
}

// The attribute socket without a manager: only its user may use it
// (0600); crm_node -n is answered by the daemon, a query from the empty
// copy, a change is queued (and the tool told so), crm_node's membership
// fails; a malformed request is answered with why. A socket an earlier
// daemon left is replaced, a file that is not one is not.
func TestAttrSocketWithoutAManager(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "run", "attrd.sock")
	d, err := attrAgent(t, sock)
	require.NoError(t, err)
	st, err := os.Stat(sock)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	got, err := d.AttrSocket()
	require.NoError(t, err)
	require.Equal(t, sock, got)

	ask := func(r attrtools.Request) attrtools.Answer {
		a, err := attrtools.Ask(sock, r, 10*time.Second)
		require.NoError(t, err)
		return a
	}
	require.Equal(t, attrtools.Answer{Host: "h1"}, ask(attrtools.Request{Op: attrtools.OpName}))
	require.Equal(t, attrtools.Answer{Host: "h1", Lifetime: "reboot"},
		ask(attrtools.Request{Op: attrtools.OpQuery, Name: "master-st", Lifetime: "reboot"}))
	require.Equal(t, attrtools.Answer{Host: "h1", Queued: true},
		ask(attrtools.Request{Op: attrtools.OpSet, Name: "master-st", Value: "5", Lifetime: "reboot", By: "crm_attribute (st)"}))
	require.Contains(t, ask(attrtools.Request{Op: attrtools.OpMembers}).Error, "no manager is connected")
	require.Contains(t, ask(attrtools.Request{Op: attrtools.OpSet, Name: "x y", Value: "1", Lifetime: "reboot"}).Error, "is not a letter")

	c, err := net.Dial("unix", sock)
	require.NoError(t, err)
	_, err = c.Write([]byte("not json\n"))
	require.NoError(t, err)
	buf := make([]byte, 256)
	n, _ := c.Read(buf)
	c.Close()
	require.Contains(t, string(buf[:n]), "bad request")

	d.Stop()
	// A crash leaves the socket file behind: simulate it.
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	d, err = attrAgent(t, sock)
	require.NoError(t, err, "a stale socket is replaced")
	d.Stop()

	other := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(other, []byte("keep me"), 0o644))
	_, err = attrAgent(t, other)
	require.ErrorContains(t, err, "a file that is not a socket is in the way")
	data, err := os.ReadFile(other)
	require.NoError(t, err)
	require.Equal(t, "keep me", string(data))
}

// The attribute socket with real daemons: a change is answered once the
// manager has recorded it, the other agent's copy answers a query for it,
// crm_node's members come from the manager, a refusal comes back with its
// reason; with the manager gone a change is queued, and reaches the next
// manager once it connects.
func TestAttrSocketThroughTheManager(t *testing.T) {
	lc := newLiveClusterOpts(t, []string{"h1", "h2"}, liveOptions{attrSockets: true})
	lc.await("g running on h1", func() bool { return lc.running("h1") })
	ask := func(h string, r attrtools.Request) attrtools.Answer {
		t.Helper()
		a, err := attrtools.Ask(lc.attrSocket(h), r, 30*time.Second)
		require.NoError(t, err)
		return a
	}
	stored := func(h string, a proto.Attribute) bool {
		ok := false
		lc.mgr.View(func(m *manager.Manager) { ok = slices.Contains(m.Attributes()[h], a) })
		return ok
	}
	score := proto.Attribute{Name: "master-pool", Value: "10", Lifetime: proto.AttrReboot}
	require.Equal(t, attrtools.Answer{Host: "h1"},
		ask("h1", attrtools.Request{Op: attrtools.OpSet, Name: "master-pool", Value: "10", Lifetime: "reboot", By: "crm_attribute (pool)"}))
	require.True(t, stored("h1", score), "recorded before the tool is answered")

	lc.await("h2's copy holds h1's score", func() bool {
		return ask("h2", attrtools.Request{Op: attrtools.OpQuery, Host: "h1", Name: "master-pool", Lifetime: "reboot"}).Found
	})
	require.Equal(t, []attrtools.Member{{Name: "h1", Online: true}, {Name: "h2", Online: true}},
		ask("h2", attrtools.Request{Op: attrtools.OpMembers}).Members)
	require.Contains(t, ask("h2", attrtools.Request{Op: attrtools.OpSet, Host: "h9", Name: "x", Value: "1", Lifetime: "reboot"}).Error,
		`no host "h9" is configured`)

	lc.mgr.Stop()
	lc.await("h1's agent has no manager", func() bool {
		a := ask("h1", attrtools.Request{Op: attrtools.OpSet, Name: "site", Value: "rack1", Lifetime: "forever"})
		return a.Queued
	})
	lc.startManager()
	lc.await("the queued change reaches the new manager", func() bool {
		return stored("h1", proto.Attribute{Name: "site", Value: "rack1", Lifetime: proto.AttrForever}) && stored("h1", score)
	})
}
