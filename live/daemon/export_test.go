package daemon

import "testing"

// NewLiveCluster lends the in-process cluster of cluster_test.go to the
// external tests of this directory (metrics_test.go).
func NewLiveCluster(t testing.TB, hosts []string) *LiveCluster { return newLiveCluster(t, hosts) }

// LiveCluster is liveCluster as the external tests see it.
type LiveCluster = liveCluster

// Manager is the cluster's manager daemon.
func (lc *liveCluster) Manager() *ManagerDaemon { return lc.mgr }

// Running reports whether the test group runs on host h.
func (lc *liveCluster) Running(h string) bool { return lc.running(h) }

// Await polls cond until it holds or the test's patience runs out.
func (lc *liveCluster) Await(what string, cond func() bool) { lc.await(what, cond) }
