package model

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const changeBase = `
cluster: {name: c, fencing: false}
hosts: [{name: h1, address: 127.0.0.1:1}, {name: h2, address: 127.0.0.1:2}]
resources:
  - {id: a, agent: "ocf:heartbeat:Dummy"}
  - {id: b, agent: "ocf:heartbeat:Dummy"}
  - {id: c, agent: "ocf:heartbeat:Dummy"}
  - {id: d, agent: "ocf:heartbeat:Dummy", params: {state: /x}}
groups:
  - {id: g, members: [{resource: a}, {resource: b, parent: a}, {resource: c, parent: b}]}
  - {id: k, members: [{resource: d}]}
`

func mustLoad(t *testing.T, text string) *Model {
	t.Helper()
	m, err := Load("test", []byte(text))
	require.NoError(t, err)
	return m
}

// TestDiffNamesWhatChanged: a changed parameter is a changed resource, a
// moved line is no change, and removed and added IDs are listed.
func TestDiffNamesWhatChanged(t *testing.T) {
	old := mustLoad(t, changeBase)
	require.True(t, Diff(old, mustLoad(t, "\n\n"+changeBase)).Empty(), "lines moved, nothing changed")
	next := mustLoad(t, `
cluster: {name: c, fencing: false}
hosts: [{name: h1, address: 127.0.0.1:1}, {name: h2, address: 127.0.0.1:2}, {name: h3, address: 127.0.0.1:3}]
resources:
  - {id: d, agent: "ocf:heartbeat:Dummy", params: {state: /y}}
  - {id: e, agent: "ocf:heartbeat:Dummy"}
groups:
  - {id: k, members: [{resource: d}]}
  - {id: m, members: [{resource: e}]}
`)
	c := Diff(old, next)
	require.Equal(t, Delta{Added: []string{"h3"}}, c.Hosts)
	require.Equal(t, Delta{Added: []string{"e"}, Removed: []string{"a", "b", "c"}, Changed: []string{"d"}}, c.Resources)
	require.Equal(t, Delta{Added: []string{"m"}, Removed: []string{"g"}, Changed: []string{"k"}}, c.Groups,
		"k's default domain, every host, gained h3")
	r, _ := next.Resource("d")
	o, _ := old.Resource("d")
	require.NotEqual(t, o.Digest(), r.Digest(), "a changed parameter changes the digest")
	require.Contains(t, c.String(), "~ resource d\n")
}

// TestWithOrphansKeepsTheTreeOfWhatMayRun: a removed group keeps its tree
// for the members that may run, each under its nearest kept ancestor, so
// that they stop in dependency order; a resource removed from a group
// that stays becomes a group of its own; nothing known stopped is kept.
func TestWithOrphansKeepsTheTreeOfWhatMayRun(t *testing.T) {
	old := mustLoad(t, changeBase)
	next := mustLoad(t, `
cluster: {name: c, fencing: false}
hosts: [{name: h1, address: 127.0.0.1:1}, {name: h2, address: 127.0.0.1:2}]
resources:
  - {id: e, agent: "ocf:heartbeat:Dummy"}
groups:
  - {id: k, members: [{resource: e}]}
`)
	mayRun := map[string]bool{"a": true, "c": true, "d": true}
	eff := WithOrphans(old, next, func(r string) bool { return mayRun[r] })
	g, ok := eff.Group("g")
	require.True(t, ok)
	require.True(t, g.Orphan)
	require.Equal(t, RoleStopped, g.Placement.TargetRole)
	require.Equal(t, []Member{{Resource: "a"}, {Resource: "c", Parent: "a"}}, g.Members, "c hangs from a, b is gone")
	require.Equal(t, []string{"c", "a"}, g.StopOrder())
	od, ok := eff.Group(OrphanPrefix + "d")
	require.True(t, ok, "d left group k, which stays")
	require.Equal(t, []string{"d"}, od.Resources())
	_, ok = eff.Resource("b")
	require.False(t, ok, "b is known stopped: not kept")
	require.Len(t, next.Groups, 1, "next is not changed")
	require.True(t, Diff(eff, next).Groups.empty(), "orphan groups are not configuration")
}
