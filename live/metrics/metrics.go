// Package metrics exports the manager's view as Prometheus metrics on an
// opt-in listener.
package metrics

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/live/admin"
	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/live/daemon"
)

// Metric names follow ClusterLabs' ha_cluster_exporter where a counterpart
// exists (ha_cluster_pacemaker_*), so existing dashboards carry over; the
// rest are basalt_*.
var (
	descResources = prometheus.NewDesc("ha_cluster_pacemaker_resources",
		"Resources by host and state (1 = the resource is in this state on this host).",
		[]string{"node", "resource", "group", "status", "managed"}, nil)
	descFailCount = prometheus.NewDesc("ha_cluster_pacemaker_fail_count",
		"Fail count of a resource on a host.", []string{"node", "resource"}, nil)
	descNodes = prometheus.NewDesc("ha_cluster_pacemaker_nodes",
		"Hosts by state (1 = the host is in this state).", []string{"node", "status"}, nil)
	descEpoch     = prometheus.NewDesc("basalt_manager_epoch", "The manager's epoch (fencing token).", nil, nil)
	descLeader    = prometheus.NewDesc("basalt_manager_leader", "1 while this manager replica leads (manager high availability).", nil, nil)
	descTakeovers = prometheus.NewDesc("basalt_manager_takeovers_total", "Times this manager replica was elected leader.", nil, nil)
	descRenew     = prometheus.NewDesc("basalt_manager_lease_renew_seconds",
		"Round trip of this replica's last lease keep-alive that etcd answered: how close it runs to its lease margin.", nil, nil)
	descRenewFail = prometheus.NewDesc("basalt_manager_lease_renew_failures_total",
		"Lease keep-alives of this replica that etcd did not answer.", nil, nil)
	descHealthy  = prometheus.NewDesc("basalt_cluster_healthy", "1 when every group runs as intended.", nil, nil)
	descFences   = prometheus.NewDesc("basalt_fence_operations", "Finished fence requests by target and result.", []string{"target", "result"}, nil)
	descOpenReps = prometheus.NewDesc("basalt_open_reports", "Administrative requests whose report is still OPEN.", nil, nil)
	descPersist  = prometheus.NewDesc("basalt_manager_persist_ok",
		"1 while the manager can persist its state; 0 while it cannot (a full state directory) and so is not acting.", nil, nil)
	descLastRC = prometheus.NewDesc("basalt_resource_last_rc",
		"The OCF return code of a resource's last operation of each action on a host, with the operation's status (done, timeout, error...; the rc means something only when done).",
		[]string{"node", "resource", "action", "status"}, nil)
	descConstraints = prometheus.NewDesc("basalt_constraints",
		"Administrators' moves (kind move: the group prefers the node) and bans (kind ban: it stays off the node) in force, by how many requests set each.",
		[]string{"kind", "group", "node"}, nil)
)

// Metrics exposes a manager daemon in the Prometheus text format.
type Metrics struct {
	src     admin.Source
	latency *prometheus.HistogramVec
	reg     *prometheus.Registry

	mu       sync.Mutex
	observed *daemon.ManagerDaemon // the daemon whose latencies are observed

	// rcMu guards lastRC apart from mu: the observer that writes it runs
	// under the daemon's lock, and daemon() holds mu while it takes that
	// lock to register the observer.
	rcMu   sync.Mutex
	lastRC map[rcKey]lastRC
}

// rcKey is one resource's action on one host.
type rcKey struct{ node, resource, action string }

// lastRC is the last result of an rcKey.
type lastRC struct {
	rc     int
	status string
}

// LeaseRenewals is what a Source with manager high availability also
// tells of its lease: the last keep-alive's round trip, and the
// keep-alives etcd did not answer.
type LeaseRenewals interface {
	LeaseRenewal() (time.Duration, uint64)
}

// Leaderships is what a Source with manager high availability also tells:
// how many times this replica was elected.
type Leaderships interface {
	Leaderships() uint64
}

// NewMetrics builds the collectors of d. Gauges are computed from the
// manager's status at each scrape, so they are never stale.
func NewMetrics(d *daemon.ManagerDaemon) *Metrics { return NewSourceMetrics(admin.Single(d)) }

// NewSourceMetrics builds the collectors of a Source: with manager high
// availability, of whichever daemon acts at each scrape, and the replica's
// leadership.
func NewSourceMetrics(src admin.Source) *Metrics {
	m := &Metrics{src: src, reg: prometheus.NewRegistry(), lastRC: map[rcKey]lastRC{},
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "basalt_operation_duration_seconds", Help: "Run time of resource agent operations, by action.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}, []string{"action"})}
	m.reg.MustRegister(m, m.latency)
	m.daemon()
	return m
}

// daemon is the daemon that acts (nil on a standby), its latencies
// observed from the first scrape that sees it.
func (m *Metrics) daemon() *daemon.ManagerDaemon {
	d := m.src.Daemon()
	m.mu.Lock()
	defer m.mu.Unlock()
	if d != nil && d != m.observed {
		m.observed = d
		d.Observe(func(msg any) {
			r, ok := msg.(proto.OpResult)
			if !ok {
				return
			}
			if !r.Result.StartedAt.IsZero() {
				m.latency.WithLabelValues(string(r.Result.Action)).Observe(r.Result.RunTime().Seconds())
			}
			if r.Result.Resource != "" && r.Result.Action != "" {
				m.rcMu.Lock()
				m.lastRC[rcKey{r.Host, r.Result.Resource, string(r.Result.Action)}] = lastRC{int(r.Result.RC), r.Result.Status.String()}
				m.rcMu.Unlock()
			}
		})
	}
	return d
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descResources, descFailCount, descNodes, descEpoch, descHealthy, descFences, descOpenReps, descPersist,
		descLeader, descTakeovers, descRenew, descRenewFail, descLastRC, descConstraints} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	d := m.daemon()
	if l, ok := m.src.(Leaderships); ok {
		leads := 0.0
		if d != nil {
			leads = 1
		}
		ch <- prometheus.MustNewConstMetric(descLeader, prometheus.GaugeValue, leads)
		ch <- prometheus.MustNewConstMetric(descTakeovers, prometheus.CounterValue, float64(l.Leaderships()))
	}
	if l, ok := m.src.(LeaseRenewals); ok {
		latency, failures := l.LeaseRenewal()
		ch <- prometheus.MustNewConstMetric(descRenew, prometheus.GaugeValue, latency.Seconds())
		ch <- prometheus.MustNewConstMetric(descRenewFail, prometheus.CounterValue, float64(failures))
	}
	if d == nil {
		return // a standby knows nothing of the cluster
	}
	v := admin.Status(d)
	var fences map[[2]string]int
	d.View(func(mg *manager.Manager) {
		fences = map[[2]string]int{}
		for _, h := range mg.FenceHistory() {
			res := "success"
			if !h.OK {
				res = "failure"
			}
			fences[[2]string{h.Target, res}]++
		}
	})
	m.rcMu.Lock()
	rcs := maps.Clone(m.lastRC)
	m.rcMu.Unlock()
	emitCluster(ch, v, fences, rcs)
}

// emitCluster writes the cluster's metrics from a status, the fence
// history's counts by target and result, and the last rc of each
// resource's actions.
func emitCluster(ch chan<- prometheus.Metric, v api.StatusView, fences map[[2]string]int, rcs map[rcKey]lastRC) {
	ch <- prometheus.MustNewConstMetric(descEpoch, prometheus.GaugeValue, float64(v.Epoch))
	healthy := 0.0
	if v.Healthy {
		healthy = 1
	}
	ch <- prometheus.MustNewConstMetric(descHealthy, prometheus.GaugeValue, healthy)
	ch <- prometheus.MustNewConstMetric(descOpenReps, prometheus.GaugeValue, float64(len(v.OpenReports)))
	persistOK := 1.0
	if v.PersistError != "" {
		persistOK = 0
	}
	ch <- prometheus.MustNewConstMetric(descPersist, prometheus.GaugeValue, persistOK)
	for _, h := range v.Hosts {
		for _, st := range []string{string(planner.Online), string(planner.Offline), string(planner.Unclean), "standby"} {
			val := 0.0
			if st == h.State || st == "standby" && h.Standby {
				val = 1
			}
			ch <- prometheus.MustNewConstMetric(descNodes, prometheus.GaugeValue, val, h.Name, st)
		}
	}
	for _, g := range v.Groups {
		for _, r := range g.Resources {
			hosts := make([]string, 0, len(r.States))
			for h := range r.States {
				hosts = append(hosts, h)
			}
			sort.Strings(hosts)
			for _, h := range hosts {
				ch <- prometheus.MustNewConstMetric(descResources, prometheus.GaugeValue, 1, h, r.ID, g.ID, r.States[h], fmt.Sprint(g.Managed))
			}
			for h, n := range r.FailCount {
				ch <- prometheus.MustNewConstMetric(descFailCount, prometheus.GaugeValue, float64(n), h, r.ID)
			}
		}
	}
	for k, n := range fences {
		ch <- prometheus.MustNewConstMetric(descFences, prometheus.CounterValue, float64(n), k[0], k[1])
	}
	for k, r := range rcs {
		ch <- prometheus.MustNewConstMetric(descLastRC, prometheus.GaugeValue, float64(r.rc), k.node, k.resource, k.action, r.status)
	}
	// Counted, for a group may be banned twice from one node (two ban
	// requests), and a series may be collected only once.
	cons := map[[3]string]int{}
	for _, c := range v.Constraints {
		cons[[3]string{c.Kind, c.Group, c.Host}]++
	}
	for k, n := range cons {
		ch <- prometheus.MustNewConstMetric(descConstraints, prometheus.GaugeValue, float64(n), k[0], k[1], k[2])
	}
}

// ServeMetrics serves /metrics on addr until the returned server is
// closed.
func ServeMetrics(m *Metrics, addr string) (*http.Server, string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return srv, l.Addr().String(), nil
}
