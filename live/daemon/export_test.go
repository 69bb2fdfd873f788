package daemon

import (
	"crypto/tls"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/live/certs"
	"github.com/basalt-ha/basalt/live/store"
)

// NewLiveCluster lends the in-process cluster of cluster_test.go to the
// external tests of this directory (metrics_test.go).
func NewLiveCluster(t testing.TB, hosts []string) *LiveCluster { return newLiveCluster(t, hosts) }

// NewLiveClusterOf is NewLiveCluster with the given resources section (of
// pool and mnt, the members of group g).
func NewLiveClusterOf(t testing.TB, hosts []string, resources string) *LiveCluster {
	return newLiveClusterOf(t, hosts, false, resources, nil)
}

// NewLiveClusterWithAgents is NewLiveClusterOf with the OCF agents of
// ocfRoot and the fence agents of fenceDir (each "" for the repository's).
func NewLiveClusterWithAgents(t testing.TB, hosts []string, resources, ocfRoot, fenceDir string) *LiveCluster {
	return newLiveClusterOpts(t, hosts, liveOptions{resources: resources, ocfRoot: ocfRoot, fenceDir: fenceDir})
}

// LiveCluster is liveCluster as the external tests see it.
type LiveCluster = liveCluster

// Manager is the cluster's manager daemon.
func (lc *liveCluster) Manager() *ManagerDaemon { return lc.mgr }

// Running reports whether the test group runs on host h.
func (lc *liveCluster) Running(h string) bool { return lc.running(h) }

// Await polls cond until it holds or the test's patience runs out.
func (lc *liveCluster) Await(what string, cond func() bool) { lc.await(what, cond) }

// ManagerStore is the manager's state directory.
func (lc *liveCluster) ManagerStore() *store.Dir { return lc.mstore }

// RestartManagerOn stops the manager and starts a new one on st (a wrapper
// of ManagerStore that fails on demand, say).
func (lc *liveCluster) RestartManagerOn(st storage.Store) {
	lc.mgr.Stop()
	d, err := StartManagerDaemon(ManagerDaemonConfig{Model: lc.model, Store: st,
		TLS: func(h string) (*tls.Config, error) { return certs.ManagerTLS(lc.certs, h) }, Clock: clock.New(), Log: quietLog()})
	require.NoError(lc.t, err)
	lc.mgr = d
}

// AgentStore is host h's state directory.
func (lc *liveCluster) AgentStore(h string) *store.Dir { return lc.stores[h] }

// RestartAgentOn stops host h's agent and starts a new one on st.
func (lc *liveCluster) RestartAgentOn(h string, st storage.Store) {
	lc.agents[h].Stop()
	if lc.agentStore == nil {
		lc.agentStore = map[string]storage.Store{}
	}
	lc.agentStore[h] = st
	lc.startAgent(h)
}

// Agent is host h's agent daemon.
func (lc *liveCluster) Agent(h string) *AgentDaemon { return lc.agents[h] }

// ManagerConfig is the cluster manager's configuration but its store:
// manager replicas (live/ha) run with it.
func (lc *liveCluster) ManagerConfig() ManagerDaemonConfig {
	return ManagerDaemonConfig{Model: lc.model, TLS: func(h string) (*tls.Config, error) { return certs.ManagerTLS(lc.certs, h) },
		Clock: clock.New(), Log: quietLog()}
}

// RunningUnder reports whether the test group runs on host h, in truth and
// in d's view, with d idle.
func (lc *liveCluster) RunningUnder(d *ManagerDaemon, h string) bool { return lc.runningUnder(d, h) }

// ActiveHosts are the hosts where resource r's state file exists.
func (lc *liveCluster) ActiveHosts(r string) []string { return lc.activeHosts(r) }

// HostsDir is where the hosts' resource state files live.
func (lc *liveCluster) HostsDir() string { return lc.hostsDir }
