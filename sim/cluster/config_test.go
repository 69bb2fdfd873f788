package cluster

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
)

// instances watches ground truth by instance: two instances of one
// resource (two hosts, or two definitions on one host) never active at
// once, and the order of their changes.
type instances struct {
	active  map[string]map[inst]bool
	bad     []string
	changes []Change
}

func (s *instances) observe(ch Change) {
	s.changes = append(s.changes, ch)
	if s.active[ch.Resource] == nil {
		s.active[ch.Resource] = map[inst]bool{}
	}
	in := inst{rsc: ch.Host, digest: ch.Digest}
	if !ch.Active {
		delete(s.active[ch.Resource], in)
		return
	}
	s.active[ch.Resource][in] = true
	if len(s.active[ch.Resource]) > 1 {
		s.bad = append(s.bad, ch.Resource)
	}
}

// A configuration change in the simulated world: a changed parameter
// restarts ost1 (the old definition stopped before the new one starts, on
// the same host), a group added starts, and a group removed stops and
// is forgotten, with nothing ever active twice.
func TestApplyConfigRestartsRemovesAndAdds(t *testing.T) {
	var lines []string
	c, s, text := bootPair(t, Options{Seed: 3, Trace: func(l string) { lines = append(lines, l) }})
	got, _ := c.RunningConfig()
	require.Equal(t, string(text), got, "the start-up file until a change")

	next, err := model.Edit("c.yaml", text, []model.EditOp{
		{Kind: model.EditSetParam, Resource: "ost1", Param: "state", Value: "/run/basalt/oss/ost1-new.state"},
		{Kind: model.EditAddGroup, Group: "fs1", As: "fs2"},
	})
	require.NoError(t, err)
	applied := len(s.changes)
	_, err = c.ApplyConfig(string(next))
	require.NoError(t, err)
	want, _ := c.RunningModel().Resource("ost1")
	settled := func() bool {
		mg := c.Manager()
		return mg != nil && mg.Idle() && c.Running("oss1", "ost1-fs2") &&
			len(c.Instances("oss1")) == 6 && c.Instances("oss1")[2] == Instance{"ost1", want.Digest()}
	}
	require.True(t, c.RunUntil(2*time.Minute, settled), "restarted and added: %v", c.Instances("oss1"))
	var order []string
	for _, ch := range s.changes[applied:] {
		if ch.Resource == "ost1" {
			order = append(order, ch.Cause+" "+inst{rsc: ch.Resource, digest: ch.Digest}.String())
		}
	}
	short := want.Digest()[:8]
	require.Equal(t, []string{"stop ost1", "start ost1#" + short}, order, "old stopped, then new started")
	traced := false
	for _, l := range lines {
		traced = traced || strings.HasSuffix(l, " truth oss1 ost1#"+short+" active=true (start)")
	}
	require.True(t, traced, "the trace names the new definition's instance")

	// Remove fs1: it stops, then is forgotten.
	next2, err := model.Edit("c.yaml", next, []model.EditOp{{Kind: model.EditRemoveGroup, Group: "fs1"}})
	require.NoError(t, err)
	_, err = c.ApplyConfig(string(next2))
	require.NoError(t, err)
	gone := func() bool {
		mg := c.Manager()
		_, orphan := mg.Model().Group("fs1")
		return mg.Idle() && !orphan && !c.Running("oss1", "pool1") && !c.Running("oss1", "ost1")
	}
	require.True(t, c.RunUntil(2*time.Minute, gone), "fs1 stopped and forgotten")
	require.True(t, c.Running("oss1", "pool1-fs2"), "fs2 runs on")
	require.Empty(t, s.bad, "a resource active twice")

	// A change of hosts is refused: the simulated hosts are fixed.
	_, err = c.ApplyConfig("cluster: {name: x, fencing: false}\nhosts: [{name: a, address: 127.0.0.1:1}]\n")
	require.ErrorContains(t, err, "hosts are fixed")
}

// TestApplyConfigReloadsInPlace: with the agents learning meta-data, a
// change of a parameter the simulated agent reloads (simproc.MetaData's
// sim_revision) reloads the running instance in place, with no stop, and
// the world's instance becomes the new definition's the instant the old
// one ends; a change of state, which the agent does not reload, restarts.
// Without learning, the same reloadable change restarts.
func TestApplyConfigReloadsInPlace(t *testing.T) {
	for _, learn := range []bool{true, false} {
		c, s, text := bootPair(t, Options{Seed: 5, LearnMetaData: learn})

		next, err := model.Edit("c.yaml", text, []model.EditOp{{Kind: model.EditSetParam, Resource: "ost1", Param: "sim_revision", Value: "2"}})
		require.NoError(t, err)
		applied := len(s.changes)
		_, err = c.ApplyConfig(string(next))
		require.NoError(t, err)
		want, _ := c.RunningModel().Resource("ost1")
		current := func() bool {
			mg := c.Manager()
			return mg.Idle() && slices.Contains(c.Instances("oss1"), Instance{"ost1", want.Digest()})
		}
		require.True(t, c.RunUntil(2*time.Minute, current), "learn=%v: %v", learn, c.Instances("oss1"))
		var causes []string
		for _, ch := range s.changes[applied:] {
			if ch.Resource == "ost1" || ch.Resource == "pool1" {
				causes = append(causes, ch.Resource+" "+ch.Cause)
			}
		}
		if learn {
			require.Equal(t, []string{"ost1 reload", "ost1 reload"}, causes, "reloaded in place: old instance out, new in, nothing stopped")
		} else {
			require.Contains(t, causes, "ost1 stop", "without meta-data every change restarts")
		}
		require.Empty(t, s.bad, "a resource active twice")
	}
}

// bootPair boots the failover pair of testdata/configs with opts (its
// Config and Observer set here) until ost1 runs on oss1 and the manager
// is idle: the world, the instances it observed and the file's text.
func bootPair(t *testing.T, opts Options) (*Cluster, *instances, []byte) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "configs", "failover-pair.yaml")
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	m, err := model.Load(path, text)
	require.NoError(t, err)
	s := &instances{active: map[string]map[inst]bool{}}
	opts.Config, opts.Observer = text, s.observe
	c := New(m, opts)
	c.Boot()
	require.True(t, c.RunUntil(time.Minute, func() bool { return c.Running("oss1", "ost1") && c.Manager().Idle() }))
	return c, s, text
}
