package model

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func defaultConfig(t *testing.T) []byte {
	t.Helper()
	text, err := os.ReadFile("../../sim/swarm/default-cluster.yaml")
	require.NoError(t, err)
	return text
}

func TestEditRemoveGroupTakesItsResources(t *testing.T) {
	text := defaultConfig(t)
	out, err := Edit("c.yaml", text, []EditOp{{Kind: EditRemoveGroup, Group: "mgs"}})
	require.NoError(t, err)
	old, _ := Load("c.yaml", text)
	m, err := Load("c.yaml", out)
	require.NoError(t, err)
	c := Diff(old, m)
	require.Equal(t, []string{"mgs"}, c.Groups.Removed)
	require.Equal(t, []string{"mgs", "mgt"}, c.Resources.Removed)
	require.Empty(t, c.Resources.Changed)
	require.Empty(t, c.Groups.Changed)
	require.Contains(t, string(out), "# The simulator's default cluster", "comments stay")
}

func TestEditAddGroupIsACopyOfItsOwn(t *testing.T) {
	text := defaultConfig(t)
	out, err := Edit("c.yaml", text, []EditOp{{Kind: EditAddGroup, Group: "web", As: "web2"}})
	require.NoError(t, err)
	old, _ := Load("c.yaml", text)
	m, err := Load("c.yaml", out)
	require.NoError(t, err)
	c := Diff(old, m)
	require.Equal(t, []string{"web2"}, c.Groups.Added)
	require.Equal(t, []string{"app-web2", "db-web2", "fs-web2", "vip-web2"}, c.Resources.Added)
	require.True(t, c.Resources.Changed == nil && c.Groups.Changed == nil)
	g, _ := m.Group("web2")
	require.Equal(t, []string{"vip-web2", "fs-web2", "db-web2", "app-web2"}, g.StartOrder())
	orig, _ := m.Group("web")
	require.Equal(t, orig.Placement, g.Placement)
	r, _ := m.Resource("db-web2")
	require.Equal(t, "/run/w/db.web2", r.Params["state"])
	require.Equal(t, "database (web2)", r.Name)
	o, _ := m.Resource("db")
	require.NotEqual(t, o.Digest(), r.Digest())

	_, err = Edit("c.yaml", out, []EditOp{{Kind: EditAddGroup, Group: "web", As: "web2"}})
	require.ErrorContains(t, err, "group web2 exists already")
}

func TestEditSetParamChangesOneDefinition(t *testing.T) {
	text := defaultConfig(t)
	out, err := Edit("c.yaml", text, []EditOp{{Kind: EditSetParam, Resource: "fs", Param: "state", Value: "/run/w/fs2"}})
	require.NoError(t, err)
	old, _ := Load("c.yaml", text)
	m, _ := Load("c.yaml", out)
	c := Diff(old, m)
	require.Equal(t, []string{"fs"}, c.Resources.Changed)
	require.Empty(t, c.Resources.Added)
	r, _ := m.Resource("fs")
	require.Equal(t, "/run/w/fs2", r.Params["state"])

	out, err = Edit("c.yaml", text, []EditOp{{Kind: EditSetParam, Resource: "fs", Param: "extra", Value: "1"}})
	require.NoError(t, err)
	m, _ = Load("c.yaml", out)
	r, _ = m.Resource("fs")
	require.Equal(t, map[string]string{"state": "/run/w/fs", "extra": "1"}, r.Params)
}

func TestEditSetMonitor(t *testing.T) {
	text := defaultConfig(t)
	out, err := Edit("c.yaml", text, []EditOp{{Kind: EditSetMonitor, Resource: "pool-a", Monitor: 1, Interval: 45 * time.Second, Timeout: 7 * time.Second}})
	require.NoError(t, err)
	m, _ := Load("c.yaml", out)
	r, _ := m.Resource("pool-a")
	require.Equal(t, 45*time.Second, r.Monitors[1].Interval)
	require.Equal(t, 7*time.Second, r.Monitors[1].Timeout)
	require.Equal(t, 10*time.Second, r.Monitors[0].Interval)
	require.Equal(t, 10, r.Monitors[1].Depth)
}

func TestEditRefusals(t *testing.T) {
	text := defaultConfig(t)
	for _, tc := range []struct {
		op   EditOp
		want string
	}{
		{EditOp{Kind: EditRemoveGroup, Group: "nope"}, `no groups entry with id "nope"`},
		{EditOp{Kind: EditSetParam, Resource: "nope", Param: "a"}, `no resources entry with id "nope"`},
		{EditOp{Kind: EditSetParam, Resource: "fs"}, "no parameter named"},
		{EditOp{Kind: EditSetMonitor, Resource: "fs", Monitor: 3}, "fs has no monitor number 3"},
		// Two monitors of one resource may not share an interval.
		{EditOp{Kind: EditSetMonitor, Resource: "pool-a", Monitor: 1, Interval: 10 * time.Second}, "does not load"},
		{EditOp{Kind: EditAddGroup, Group: "web"}, "needs an ID"},
		{EditOp{Kind: "rename"}, "unknown kind of edit"},
	} {
		_, err := Edit("c.yaml", text, []EditOp{tc.op})
		require.ErrorContains(t, err, tc.want, tc.op.String())
	}
	_, err := Edit("c.yaml", []byte("- a\n"), nil)
	require.ErrorContains(t, err, "not a configuration")
}

func TestEditSeveralInOrder(t *testing.T) {
	text := defaultConfig(t)
	out, err := Edit("c.yaml", text, []EditOp{
		{Kind: EditAddGroup, Group: "mgs", As: "mgs2"},
		{Kind: EditRemoveGroup, Group: "mgs"},
		{Kind: EditSetParam, Resource: "mgt-mgs2", Param: "state", Value: "/x"},
	})
	require.NoError(t, err)
	m, err := Load("c.yaml", out)
	require.NoError(t, err)
	_, ok := m.Group("mgs")
	require.False(t, ok)
	r, _ := m.Resource("mgt-mgs2")
	require.Equal(t, "/x", r.Params["state"])
	require.False(t, strings.Contains(string(out), "id: mgt,"))
}
