package admin

import (
	"testing"

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
