package planner

import (
	"flag"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/basalt-ha/basalt/core/model"
)

var benchHuge = flag.Bool("bench-huge", false, "also benchmark the 1,000 hosts × 10,000 resources cluster")

// clusterSize is a benchmark cluster: hosts, and resources in groups of
// three.
type clusterSize struct{ hosts, resources int }

func (s clusterSize) String() string { return fmt.Sprintf("%dx%d", s.hosts, s.resources) }

var benchSizes = []clusterSize{{4, 12}, {16, 48}, {64, 192}, {256, 768}, {1000, 10000}}

// benchModel builds a cluster of groups of three (a root and two children,
// one monitor each), each preferring two hosts, spread round the hosts.
func benchModel(s clusterSize) *model.Model {
	m := &model.Model{Cluster: model.Cluster{Name: "bench", Fencing: true}}
	for i := range s.hosts {
		m.Hosts = append(m.Hosts, model.Host{Name: fmt.Sprintf("h%d", i)})
	}
	mon := []model.Monitor{{Interval: 10 * time.Second, Timeout: 5 * time.Second, OnFail: model.OnFailRestart}}
	for i := range s.resources {
		m.Resources = append(m.Resources, model.Resource{ID: fmt.Sprintf("r%d", i),
			Start: model.Op{OnFail: model.OnFailRestart}, Stop: model.Op{OnFail: model.OnFailFence}, Monitors: mon})
	}
	for gi := 0; gi*3 < s.resources; gi++ {
		g := model.Group{ID: fmt.Sprintf("g%d", gi), Placement: model.Placement{
			Domain: model.Domain{Failback: true, Hosts: []model.DomainHost{
				{Host: m.Hosts[gi%s.hosts].Name, Priority: 1}, {Host: m.Hosts[(gi+1)%s.hosts].Name, Priority: 2}}},
			Stickiness: 100, MigrationThreshold: 3, Recovery: model.RecoveryRestart,
			MultipleActive: model.MultipleStopUnexpected, MaxInstances: 1, TargetRole: model.RoleStarted, Managed: true}}
		root := m.Resources[gi*3].ID
		g.Members = append(g.Members, model.Member{Resource: root})
		for _, r := range m.Resources[gi*3+1 : min(gi*3+3, s.resources)] {
			g.Members = append(g.Members, model.Member{Resource: r.ID, Parent: root})
		}
		m.Groups = append(m.Groups, g)
	}
	m.Index()
	return m
}

// steadyInput is the manager's view of a steady cluster: every host online
// and probed, every group running and monitored on its preferred host,
// known stopped everywhere else.
func steadyInput(s clusterSize) Input {
	m := benchModel(s)
	in := Input{Model: m, Now: epoch, Observed: map[string]map[string]Observed{},
		Failures: map[string]map[string]Failure{}, Fatal: map[string]string{},
		Constraints: Constraints{Moves: map[string]Move{}, TargetRoles: map[string]model.Role{},
			Unmanaged: map[string]bool{}, Blocked: map[string]bool{}, FoundActive: map[string][]string{}}}
	for _, h := range m.Hosts {
		in.Hosts = append(in.Hosts, Host{Name: h.Name, State: Online})
	}
	for _, g := range m.Groups {
		home := g.Placement.Domain.Hosts[0].Host
		for _, r := range g.Resources() {
			byHost := make(map[string]Observed, len(m.Hosts))
			for _, h := range m.Hosts {
				byHost[h.Name] = Observed{State: Stopped}
			}
			byHost[home] = Observed{State: Running, Monitored: true}
			in.Observed[r] = byHost
		}
	}
	return in
}

// troubledInput is a steady cluster where one group in eight has a failed
// member (to restart in place, or away past the threshold) and one host in
// sixteen is lost, its groups to be placed elsewhere after the fence.
func troubledInput(s clusterSize) Input {
	in := steadyInput(s)
	for i := range in.Hosts {
		if i%16 == 5 {
			in.Hosts[i].State = Unclean
		}
	}
	for gi, g := range in.Model.Groups {
		if gi%8 != 3 {
			continue
		}
		home := g.Placement.Domain.Hosts[0].Host
		r := g.Resources()[len(g.Resources())-1]
		in.Observed[r][home] = Observed{State: Failed}
		in.Failures[r] = map[string]Failure{home: {Count: 1 + gi%4, Last: epoch.Add(-time.Minute), Op: FailedMonitor}}
	}
	return in
}

// BenchmarkPlan plans a steady cluster of each size once per iteration,
// with the digest of the observations the manager passes. The largest
// runs only with -bench-huge: its input alone is ten million observations,
// too much memory for every run of the package's benchmarks.
func BenchmarkPlan(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.String(), func(b *testing.B) { benchPlan(b, s, steadyInput) })
	}
}

// BenchmarkPlanTroubled plans clusters with failed members and a lost
// host: restarts, relocations, fences and placements to compute.
func BenchmarkPlanTroubled(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.String(), func(b *testing.B) { benchPlan(b, s, troubledInput) })
	}
}

func benchPlan(b *testing.B, s clusterSize, build func(clusterSize) Input) {
	if s.hosts >= 1000 && !*benchHuge {
		b.Skip("the 1,000-host cluster runs with -bench-huge")
	}
	in := build(s)
	in.Notable = notableOf(in) // as the manager keeps it
	runtime.GC()               // the input's garbage is not the plan's
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		Plan(in)
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N), "ns/run")
}
