package model

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func loadFile(t *testing.T, path string) *Model {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	m, err := Load(path, data)
	require.NoError(t, err)
	return m
}

func TestExamplesLoad(t *testing.T) {
	m := loadFile(t, "../../testdata/configs/failover-pair.yaml")
	require.Equal(t, "oss-pair", m.Cluster.Name)
	require.Len(t, m.Hosts, 2)
	g, ok := m.Group("fs1")
	require.True(t, ok)
	require.Equal(t, "pool1", g.Root())
	require.Equal(t, []string{"pool1", "ost0", "ost1"}, g.StartOrder())
	require.Equal(t, []string{"ost1", "ost0", "pool1"}, g.StopOrder())
	require.Equal(t, [][]string{{"pid-oss1"}}, m.FencingLevels("oss1"))
	r, _ := m.Resource("pool1")
	require.Len(t, r.Monitors, 2)
	require.Equal(t, 10, r.Monitors[1].Depth)
	require.Equal(t, OnFailFence, r.Stop.OnFail, "Pacemaker's default with fencing on")
	ost, _ := m.Resource("ost0")
	require.Equal(t, m.Cluster.StartTimeout, ost.Start.Timeout)
	require.True(t, g.Placement.Domain.Restricted)
	require.False(t, g.Placement.Domain.Failback)

	m = loadFile(t, "../../testdata/configs/three-host-domain.yaml")
	require.Equal(t, [][]string{{"ipmi-a"}, {"pdu1", "pdu2"}}, m.FencingLevels("a"))
	g, _ = m.Group("service")
	require.Equal(t, []string{"vip", "fs", "db"}, g.StartOrder())
	require.Equal(t, []string{"fs", "vip"}, g.Ancestors("db"))
	require.Equal(t, []string{"fs", "db"}, g.Descendants("vip"))
	p, _ := g.DomainPriority("c")
	require.Equal(t, 1, p)
	require.Contains(t, m.Summary(), "fenced by ipmi-a, then pdu1+pdu2")
}

func TestFastFailoverOff(t *testing.T) {
	m, err := Load("slow.yaml", []byte(`
cluster: {fencing: false, fast-failover: false}
hosts: [{name: a, address: "127.0.0.1:1"}, {name: b, address: "127.0.0.1:2"}]
resources: [{id: r, agent: "ocf:heartbeat:Dummy"}]
groups: [{id: g, members: [{resource: r}]}]
`))
	require.NoError(t, err)
	require.False(t, m.Cluster.FastFailover)
}

func TestDefaults(t *testing.T) {
	m, err := Load("min.yaml", []byte(`
cluster: {fencing: false}
hosts: [{name: a, address: "127.0.0.1:1"}, {name: b, address: "127.0.0.1:2"}]
resources: [{id: r, agent: "ocf:heartbeat:Dummy"}]
groups: [{id: g, members: [{resource: r}]}]
`))
	require.NoError(t, err)
	c := m.Cluster
	require.Equal(t, time.Second, c.HeartbeatInterval)
	require.Equal(t, 5*time.Second, c.DeadTimeout)
	require.Equal(t, 60*time.Second, c.FenceTimeout)
	require.Equal(t, "/usr/lib/ocf", c.OCFRoot)
	require.True(t, c.FastFailover, "a dead agent on a running host is judged without the dead timeout")
	r, _ := m.Resource("r")
	require.Equal(t, "r", r.Name)
	require.Equal(t, OnFailBlock, r.Stop.OnFail, "without fencing a failed stop can only block")
	require.Equal(t, OnFailRestart, r.Start.OnFail)
	g, _ := m.Group("g")
	p := g.Placement
	require.Equal(t, 3, p.MigrationThreshold)
	require.Equal(t, 1, p.MaxInstances)
	require.Equal(t, RoleStarted, p.TargetRole)
	require.Equal(t, RecoveryRestart, p.Recovery)
	require.True(t, p.Managed)
	require.False(t, p.Domain.Restricted, "the implicit domain is every host, unrestricted")
	require.Equal(t, []DomainHost{{"a", 1}, {"b", 2}}, p.Domain.Hosts)
	gid, ok := m.GroupOf("r")
	require.True(t, ok)
	require.Equal(t, "g", gid)
	require.Nil(t, m.FencingLevels("a"))
}

func TestErrorsAreAllReportedWithLines(t *testing.T) {
	_, err := Load("x.yaml", []byte("hosts:\n  - {name: a, address: bad}\n  - {name: a, address: \"127.0.0.1:1\"}\nresources: []\ngroups: []\n"))
	var errs *Errors
	require.ErrorAs(t, err, &errs)
	require.GreaterOrEqual(t, len(errs.List), 3, err.Error())
	for _, e := range errs.List {
		require.Positive(t, e.Line, e.Error())
	}
	require.Contains(t, err.Error(), `x.yaml:3: hosts[1].name: host "a" is defined twice (first on line 2)`)
}

func FuzzLoad(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{"../../testdata/configs/*.yaml", "../../testdata/configs/broken/*.yaml", "../planner/testdata/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, files...)
	}
	if len(seeds) < 12 {
		f.Fatalf("only %d seed configurations found", len(seeds))
	}
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Load("fuzz.yaml", data)
		if err != nil {
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.List) == 0 {
				t.Fatalf("error is not a non-empty *Errors: %v", err)
			}
			for _, e := range errs.List {
				if e.Line < 1 || e.File != "fuzz.yaml" {
					t.Fatalf("error without file and line: %#v", e)
				}
			}
			return
		}
		for _, g := range m.Groups {
			order := g.StartOrder()
			if len(order) != len(g.Members) {
				t.Fatalf("group %s: start order %v does not cover members %v", g.ID, order, g.Members)
			}
			seen := map[string]bool{}
			for _, r := range order {
				if seen[r] {
					t.Fatalf("group %s: %s twice in start order", g.ID, r)
				}
				seen[r] = true
			}
		}
	})
}
