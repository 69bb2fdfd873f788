package daemon

import (
	"crypto/tls"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/live/certs"
	"github.com/basalt-ha/basalt/live/store"
)

// msgCounter counts, per host, the hellos (one per accepted connection: an
// agent greets every manager that connects) and heartbeats a manager
// daemon receives. It is the daemon's observe hook, so it runs under the
// daemon's lock; its own mutex is for the test goroutine reading it.
type msgCounter struct {
	mu     sync.Mutex
	hellos map[string]int
	beats  map[string]int
}

func watchMessages(d *ManagerDaemon) *msgCounter {
	c := &msgCounter{hellos: map[string]int{}, beats: map[string]int{}}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.observe = func(msg any) {
		c.mu.Lock()
		defer c.mu.Unlock()
		switch m := msg.(type) {
		case proto.Hello:
			c.hellos[m.Host]++
		case proto.Heartbeat:
			c.beats[m.Host]++
		}
	}
	return c
}

func (c *msgCounter) snapshot() (hellos, beats map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	hellos, beats = map[string]int{}, map[string]int{}
	for h, n := range c.hellos {
		hellos[h] = n
	}
	for h, n := range c.beats {
		beats[h] = n
	}
	return hellos, beats
}

// TestDeposedManagerStopsContactingAgents: a manager that finds a newer one
// has taken over (the agents report a higher epoch) must let go. Were it to
// keep redialling, every agent would drop the live manager's connection in
// favour of its own, again and again, and the cluster would be left without
// a manager that can hold a connection.
func TestDeposedManagerStopsContactingAgents(t *testing.T) {
	hosts := []string{"h1", "h2"}
	lc := newLiveCluster(t, hosts)
	lc.await("group running on h1", func() bool { return lc.running("h1") })
	old := lc.mgr
	oldMsgs := watchMessages(old)
	var epoch uint64
	old.View(func(m *manager.Manager) { epoch = uint64(m.Epoch()) })

	// A replacement with its own state directory one epoch ahead, as after
	// a failover of the manager while the old one was paused: both run at
	// once, and the old one keeps its connections until it learns.
	st, err := store.OpenDir(filepath.Join(lc.dir, "state", "manager2"))
	require.NoError(t, err)
	require.NoError(t, st.Write(manager.EpochRecord, []byte(strconv.FormatUint(epoch, 10))))
	next, err := StartManagerDaemon(ManagerDaemonConfig{Model: lc.model, Store: st,
		TLS: func(h string) (*tls.Config, error) { return certs.ManagerTLS(lc.certs, h) }, Clock: clock.New(), Log: quietLog()})
	require.NoError(t, err)
	newMsgs := watchMessages(next)
	lc.mgr = next // the cluster's helpers (running, await) now look at the new manager
	t.Cleanup(old.Stop)

	lc.await("the new manager took over and deposed the old one", func() bool {
		deposed := false
		old.View(func(m *manager.Manager) { deposed = m.Deposed() })
		for _, h := range hosts {
			if lc.agents[h].Epoch() != epoch+1 {
				return false
			}
		}
		return deposed && lc.running("h1")
	})

	// heartbeats waits until the new manager has had n more heartbeats
	// from every host than in since. Heartbeats reach only the manager
	// holding the agent's connection, so this is a wait on the new
	// manager holding it, bounded rather than a sleep.
	heartbeats := func(n int, since map[string]int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, beats := newMsgs.snapshot()
			done := true
			for _, h := range hosts {
				done = done && beats[h] >= since[h]+n
			}
			if done {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the new manager did not get %d heartbeats from every host within 30s (had %v, from %v)", n, beats, since)
			}
			select {
			case <-next.Changed():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	// Let a connection the old manager may have had in flight when it was
	// deposed settle: the new manager then holds every agent.
	_, beats := newMsgs.snapshot()
	heartbeats(2, beats)

	newHellos, beats := newMsgs.snapshot()
	oldHellos, _ := oldMsgs.snapshot()
	heartbeats(8, beats) // 8 heartbeat intervals (250ms each)
	after, _ := newMsgs.snapshot()
	require.Equal(t, newHellos, after, "the new manager's connections were never replaced")
	afterOld, _ := oldMsgs.snapshot()
	require.Equal(t, oldHellos, afterOld, "the deposed manager did not connect again")
	require.True(t, lc.running("h1"))
	require.Equal(t, []string{"h1"}, lc.activeHosts("pool"))
}
