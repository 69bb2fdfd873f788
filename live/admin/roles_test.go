package admin

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
)

// The status shows a promotable clone's roles: Promoted where the instance
// runs (or failed) promoted, Unpromoted where it runs otherwise, nothing
// where it is stopped; and no roles at all for another group.
func TestStatusRoles(t *testing.T) {
	states := map[string]planner.Observed{
		"a": {State: planner.Running, Promoted: true},
		"b": {State: planner.Running},
		"c": {State: planner.Stopped},
		"d": {State: planner.Failed, Promoted: true},
	}
	g := &model.Group{Placement: model.Placement{Clone: model.Clone{Promotable: true, PromotedMax: 1}}}
	roles, promoted := rolesOf(g, states)
	require.Equal(t, map[string]string{"a": "Promoted", "b": "Unpromoted", "d": "Promoted"}, roles)
	require.Equal(t, []string{"a"}, promoted, "only a running promoted instance is promoted on")

	roles, promoted = rolesOf(&model.Group{}, states)
	require.Nil(t, roles)
	require.Nil(t, promoted)
}

// basalt resource why tells a promotable clone's promotion: the hosts
// promoted and each instance's score.
func TestWhyShowsPromotion(t *testing.T) {
	m, err := model.Load("p.yaml", []byte(`
cluster: {name: p, fencing: false}
hosts: [{name: a, address: "127.0.0.1:1"}, {name: b, address: "127.0.0.1:2"}]
resources: [{id: db, agent: "ocf:basalt:statefile"}]
groups: [{id: db, members: [{resource: db}], placement: {promotable: true}}]
`))
	require.NoError(t, err)
	obs := map[string]map[string]planner.Observed{"db": {"a": {State: planner.Running}, "b": {State: planner.Running}}}
	tr := planner.Plan(planner.Input{Model: m, Now: time.Unix(0, 0), Hosts: online(m), Observed: obs,
		Attributes: map[string]map[string]string{"b": {"master-db": "7"}}})
	text, _ := tr.Why("db")
	v := whyView(m, tr.Placements[0], text, nil, time.Unix(0, 0))
	require.Equal(t, []string{"b"}, v.Promoted)
	require.Equal(t, []string{"a: no promotion score", "b: score 7, to be promoted"}, v.Promotion)
	require.Contains(t, v.Why, "promotion: b: score 7, to be promoted")
}
