package swarm

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
)

// rolesWorld is a World that tells roles, from fixed facts: truth and the
// manager's view, resource → hosts.
type rolesWorld struct {
	m                          *model.Model
	running, says, prom, sayPr map[string][]string
}

func (w rolesWorld) Model() *model.Model { return w.m }
func (w rolesWorld) Running(h, r string) bool {
	return slices.Contains(w.running[r], h)
}
func (w rolesWorld) ManagerRuns(r string) []string { return w.says[r] }
func (w rolesWorld) Fenced(string) bool            { return false }
func (w rolesWorld) Promoted(h, r string) bool     { return slices.Contains(w.prom[r], h) }
func (w rolesWorld) ManagerPromoted(r string) []string {
	return w.sayPr[r]
}

// TestExpectClonesAndRoles: running-on holds only with exactly those hosts
// in truth and in the manager's view; promoted names one host, or "*" for
// exactly one, any, and the manager must agree; a world that cannot tell
// roles fails a promoted expectation rather than passing it.
func TestExpectClonesAndRoles(t *testing.T) {
	m, err := model.Load("c", []byte(`cluster: {name: c, fencing: false}
hosts: [{name: h1, address: "127.0.0.1:1"}, {name: h2, address: "127.0.0.1:2"}, {name: h3, address: "127.0.0.1:3"}]
resources: [{id: db, agent: "ocf:basalt:statefile"}]
groups: [{id: ms, members: [{resource: db}], placement: {promotable: true}}]
`))
	require.NoError(t, err)
	all := []string{"h1", "h2", "h3"}
	w := rolesWorld{m: m, running: map[string][]string{"db": all}, says: map[string][]string{"db": all},
		prom: map[string][]string{"db": {"h2"}}, sayPr: map[string][]string{"db": {"h2"}}}
	require.Empty(t, Expectation{RunningOn: map[string][]string{"ms": all}, Promoted: map[string]string{"ms": "h2"}}.Check(w))
	require.Empty(t, Expectation{Promoted: map[string]string{"ms": AnyHost}}.Check(w))
	require.Contains(t, Expectation{RunningOn: map[string][]string{"ms": {"h1", "h3"}}}.Check(w), "db should run on [h1 h3], runs on [h1 h2 h3]")
	require.Contains(t, Expectation{Promoted: map[string]string{"ms": "h1"}}.Check(w), "db should be promoted on h1 only, is on [h2]")

	w.prom = map[string][]string{"db": {"h1", "h2"}}
	require.Contains(t, Expectation{Promoted: map[string]string{"ms": AnyHost}}.Check(w), "db should be promoted on * only, is on [h1 h2]")
	w.prom = map[string][]string{"db": {"h1"}}
	require.NotEmpty(t, Expectation{Promoted: map[string]string{"ms": AnyHost}}.Check(w), "the manager says h2")
	w.prom = nil
	require.NotEmpty(t, Expectation{Promoted: map[string]string{"ms": AnyHost}}.Check(w), "promoted nowhere")

	var plain World = noRoles{w}
	require.Equal(t, "this world cannot tell roles", Expectation{Promoted: map[string]string{"ms": "h2"}}.Check(plain))
}

// noRoles hides a world's roles: its Promoted is not Roles'.
type noRoles struct{ rolesWorld }

func (noRoles) Promoted() {}
