package model

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/proto"
)

// TestCloneDefaults: a clone runs on every host it may run on, one
// promoted by default when promotable; a plain group stays one instance.
func TestCloneDefaults(t *testing.T) {
	for _, c := range []struct {
		name, placement     string
		instances, promoted int
		promotable          bool
	}{
		{"plain group", "{}", 1, 1, false},
		{"clone", "{clone: true}", 2, 1, false},
		{"promotable", "{promotable: true}", 2, 1, true},
		{"promotable, two promoted", "{promotable: true, promoted-max: 2}", 2, 2, true},
		{"clone-max alone", "{clone-max: 2}", 2, 1, false},
		{"restricted domain of one", "{clone: true, domain: {hosts: [{host: a}]}}", 1, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := Load("t.yaml", []byte(doc(map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: " + c.placement + "}\n"})))
			require.NoError(t, err)
			pl := m.Groups[0].Placement
			require.Equal(t, c.instances, pl.MaxInstances)
			require.Equal(t, c.promotable, pl.Clone.Promotable)
			require.Equal(t, c.promoted, pl.Clone.PromotedMax)
			require.Equal(t, 1, pl.Clone.NodeMax)
		})
	}
}

// TestMaxInstancesAlias: the old name still works, with a warning, and
// cannot be given beside the new one.
func TestMaxInstancesAlias(t *testing.T) {
	m, err := Load("t.yaml", []byte(doc(map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {max-instances: 2}}\n"})))
	require.NoError(t, err)
	require.Equal(t, 2, m.Groups[0].Placement.MaxInstances)
	require.Len(t, m.Warnings, 1)
	require.Contains(t, m.Warnings[0].Error(), "groups[0].placement.max-instances: max-instances is deprecated: call it clone-max")

	errs := loadErrors(t, doc(map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {max-instances: 2, clone-max: 2}}\n"}))
	require.Contains(t, errs.Error(), "groups[0].placement.max-instances: max-instances is the older name of clone-max: give only clone-max")
}

// TestCloneRules: the promotable keys and monitor roles are checked.
func TestCloneRules(t *testing.T) {
	roleRsc := "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {monitor: [{interval: 10s, role: promoted}]}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"
	for _, c := range []struct {
		name string
		over map[string]string
		want string
	}{
		{"promoted-max without promotable", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {clone: true, promoted-max: 1}}\n"},
			"groups[0].placement.promoted-max: only a promotable group has promoted instances"},
		{"promoted-max above clone-max", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {promotable: true, clone-max: 1, promoted-max: 2}}\n"},
			"groups[0].placement.promoted-max: 2 is outside 1..1"},
		{"two instances per host", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {clone: true, clone-node-max: 2}}\n"},
			"groups[0].placement.clone-node-max: 2 is not supported: Basalt runs at most one instance of a clone per host"},
		{"two promoted per host", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {promotable: true, promoted-node-max: 2}}\n"},
			"groups[0].placement.promoted-node-max: 2 is not supported"},
		{"no instance per host", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {clone: true, clone-node-max: 0}}\n"},
			"groups[0].placement.clone-node-max: 0 is not supported"},
		{"role outside a promotable group", map[string]string{"resources": roleRsc},
			`resources[0].ops.monitor[0].role: resource "r1" is not in a promotable group: its monitors have no role`},
		{"unknown role", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {monitor: [{interval: 10s, role: master}]}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n",
			"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {promotable: true}}\n"},
			`resources[0].ops.monitor[0].role: "master" is not a role (promoted, unpromoted)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Contains(t, loadErrors(t, doc(c.over)).Error(), c.want)
		})
	}
	m, err := Load("t.yaml", []byte(doc(map[string]string{"resources": roleRsc,
		"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {promotable: true}}\n"})))
	require.NoError(t, err)
	require.True(t, m.Resources[0].Monitors[0].ForPromoted())
}

func TestPromotionAttribute(t *testing.T) {
	require.Equal(t, "master-pg", PromotionAttribute("pg"))
	require.Equal(t, "master-pg", PromotionAttribute("pg:2"))
	require.Equal(t, "master-a:b", PromotionAttribute("a:b:0"))
	require.Equal(t, "master-a:b", PromotionAttribute("a:b"), "only a numeric suffix is an instance's")
	for _, id := range []string{"db", "db:1", "x:y", "x:12"} {
		require.Equal(t, proto.PromotionAttr(id), PromotionAttribute(id), "the manager and the agents' tools name it alike")
	}
}

// TestNotifyTimeout: a notification's timeout is ops.notify's, the
// start's when not given; its failures are always ignored.
func TestNotifyTimeout(t *testing.T) {
	m, err := Load("t.yaml", []byte(doc(map[string]string{"resources": "resources:\n" +
		"  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {start: {timeout: 40s}}}\n" +
		"  - {id: r2, agent: \"ocf:heartbeat:Dummy\", ops: {notify: {timeout: 5s}}}\n"})))
	require.NoError(t, err)
	r1, _ := m.Resource("r1")
	r2, _ := m.Resource("r2")
	require.Equal(t, 40*time.Second, r1.Notify.Timeout)
	require.Equal(t, 5*time.Second, r2.Notify.Timeout)
	require.Equal(t, OnFailIgnore, r2.Notify.OnFail)
}
