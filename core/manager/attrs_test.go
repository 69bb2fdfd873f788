package manager

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/proto"
)

func startedManager(t *testing.T, cluster string) *Manager {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "clusters", cluster+".yaml"))
	require.NoError(t, err)
	m, err := model.Load(cluster+".yaml", data)
	require.NoError(t, err)
	mg := New(Config{Model: m})
	_, err = mg.Start(t0, 0, nil)
	require.NoError(t, err)
	return mg
}

// refusal is the Refused of the Attributes answering req among effs.
func refusal(t *testing.T, effs []effect.Effect, req uint64) string {
	t.Helper()
	for _, e := range effs {
		if s, ok := e.(*effect.Send); ok {
			if a, ok := s.Msg.(proto.Attributes); ok && a.Ack == req {
				return a.Refused
			}
		}
	}
	t.Fatalf("no answer to request %d in %v", req, effs)
	return ""
}

// The store's bounds hold against an agent that sets without end: a host
// holds at most MaxAttrsPerHost values and the cluster MaxAttrsInCluster,
// and the refusal says which bound and what to do; changing a value held
// is never refused by a bound. Values with control characters and values
// too long are refused.
func TestAttributeBounds(t *testing.T) {
	mg := startedManager(t, "single")
	set := func(host, name, value string, req uint64) string {
		return refusal(t, mg.Receive(t0, host, proto.AttrUpdate{Host: host, Req: req, Target: host, Name: name, Value: value,
			Lifetime: proto.AttrReboot}), req)
	}
	for i := 0; i < proto.MaxAttrsPerHost; i++ {
		require.Empty(t, set("h1", fmt.Sprintf("a%d", i), "1", uint64(i+1)))
	}
	require.Contains(t, set("h1", "one-more", "1", 100), "already holds 64 attributes")
	require.Empty(t, set("h1", "a0", "2", 101), "a value held may change")
	require.Len(t, mg.Attributes()["h1"], proto.MaxAttrsPerHost)

	require.Contains(t, set("h1", "a1", "tab\there", 102), "control character")
	require.Contains(t, set("h1", "a1", string(make([]byte, proto.MaxAttrValue+1)), 103), "above the limit")
	require.Contains(t, set("h1", "", "1", 104), "may not be empty")
	_, err := mg.AdminAttr(t0, AttrChange{Host: "h1", Name: "x y", Value: "1", Lifetime: proto.AttrForever, By: "op"})
	require.ErrorContains(t, err, "is not a letter")
}

// The cluster-wide bound: with hosts full, a new name anywhere is refused.
func TestAttributeClusterBound(t *testing.T) {
	mg := startedManager(t, "single")
	for h := 0; len(mg.attrs) == 0 || mg.attrs.total() < proto.MaxAttrsInCluster; h++ {
		// Two hosts cannot reach the cluster's bound alone: fill the
		// store as replay would, with hosts configured elsewhere.
		for i := 0; i < proto.MaxAttrsPerHost; i++ {
			mg.applyAttr(Event{Kind: "attribute-set", Host: fmt.Sprintf("gone%d", h),
				Attr: &AttrRecord{Name: fmt.Sprintf("a%d", i), Value: "1", Lifetime: proto.AttrForever}})
		}
	}
	_, err := mg.AdminAttr(t0, AttrChange{Host: "h1", Name: "x", Value: "1", Lifetime: proto.AttrForever, By: "op"})
	require.ErrorContains(t, err, "the cluster already holds 512 attributes")
}

// The planner sees each host's attributes, a transient value hiding a
// permanent one of the same name (Pacemaker's status over its nodes
// section); a change asks for a new plan.
func TestAttributesReachThePlanner(t *testing.T) {
	mg := startedManager(t, "single")
	for _, c := range []AttrChange{
		{Host: "h1", Name: "master-web", Value: "5", Lifetime: proto.AttrForever, By: "op"},
		{Host: "h1", Name: "master-web", Value: "10", Lifetime: proto.AttrReboot, By: "op"},
		{Host: "h2", Name: "site", Value: "b", Lifetime: proto.AttrForever, By: "op"},
	} {
		_, err := mg.AdminAttr(t0, c)
		require.NoError(t, err)
	}
	require.Equal(t, map[string]map[string]string{"h1": {"master-web": "10"}, "h2": {"site": "b"}}, mg.planInput(t0).Attributes)
	running := &transition{}
	mg.trans, mg.dirty = running, false
	_, changed := mg.changeAttr(t0, AttrChange{Host: "h2", Name: "site", Value: "c", Lifetime: proto.AttrForever, By: "op"})
	require.True(t, changed)
	require.True(t, running.stale && mg.dirty, "a changed attribute makes the transition stale and asks for a plan")
	running.stale, mg.dirty = false, false
	_, changed = mg.changeAttr(t0, AttrChange{Host: "h2", Name: "site", Value: "c", Lifetime: proto.AttrForever, By: "op"})
	require.False(t, changed)
	require.False(t, running.stale || mg.dirty, "the same value again changes nothing")
	mg.trans = nil
}

func TestPromotionAttr(t *testing.T) {
	for in, want := range map[string]string{"db": "master-db", "db:1": "master-db", "db:12": "master-db", "a:b": "master-a:b", "db:": "master-db:"} {
		require.Equal(t, want, proto.PromotionAttr(in), in)
	}
}

// A host the configuration no longer has takes its attributes with it,
// as crm_node -R does: they count against no bound and reach no agent.
func TestRemovedHostsAttributesGo(t *testing.T) {
	mg := startedManager(t, "change-base")
	for _, h := range []string{"h1", "h2"} {
		_, err := mg.AdminAttr(t0, AttrChange{Host: h, Name: "site", Value: h, Lifetime: proto.AttrForever, By: "op"})
		require.NoError(t, err)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "clusters", "change-no-h2.yaml"))
	require.NoError(t, err)
	next, err := model.Load("change-no-h2.yaml", data)
	require.NoError(t, err)
	mg.swapModel(t0, next)
	require.Equal(t, 1, mg.attrs.total())
	require.Equal(t, []AttrRecord{{Host: "h1", Name: "site", Value: "h1", Lifetime: proto.AttrForever, By: "op"}}, mg.snapshotAttrs())
}
