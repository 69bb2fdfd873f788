package admin

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/live/api"
)

func pairModel(t *testing.T) *model.Model {
	path := filepath.Join("..", "..", "testdata", "configs", "failover-pair.yaml")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	m, err := model.Load(path, data)
	require.NoError(t, err)
	return m
}

// runningOn is the failover pair's group fs1 running, monitored, on host.
func runningOn(m *model.Model, host string) map[string]map[string]planner.Observed {
	obs := map[string]map[string]planner.Observed{}
	for _, r := range m.Groups[0].Resources() {
		obs[r] = map[string]planner.Observed{}
		for _, h := range m.HostNames() {
			st := planner.Stopped
			if h == host {
				st = planner.Running
			}
			obs[r][h] = planner.Observed{State: st, Monitored: true}
		}
	}
	return obs
}

func online(m *model.Model) []planner.Host {
	var out []planner.Host
	for _, h := range m.HostNames() {
		out = append(out, planner.Host{Name: h, State: planner.Online})
	}
	return out
}

// The parts of each allowed host's score, valued here, add up to the total
// the real planner computed, for every term it gives: the domain's
// preference, no failback, stickiness, a move. It fails when the planner's
// score terms change and live/admin's copy of them does not.
func TestWhyPartsAddUp(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		edit  func(g *model.Group)
		cons  planner.Constraints
		want  map[string]int
		parts int
	}{
		"move, stickiness, no failback, priorities": {
			edit: func(g *model.Group) {
				g.Placement.Stickiness = 150
				g.Placement.Domain.Failback = false
				g.Placement.Domain.Hosts[1].Priority = 3
			},
			cons: planner.Constraints{Moves: map[string]planner.Move{"fs1": {Host: "oss2"}}},
			want: map[string]int{"oss1": scoreDomainBase - scorePriority + scoreNoFailback + 150, "oss2": scoreDomainBase - 3*scorePriority + scoreMove},
		},
		"failback, outside an unrestricted domain": {
			edit: func(g *model.Group) {
				g.Placement.Domain.Failback = true
				g.Placement.Domain.Restricted = false
				g.Placement.Domain.Hosts = g.Placement.Domain.Hosts[:1]
			},
			want: map[string]int{"oss1": scoreDomainBase - scorePriority, "oss2": 0},
		},
	} {
		m := pairModel(t)
		tc.edit(&m.Groups[0])
		in := planner.Input{Model: m, Now: now, Hosts: online(m), Observed: runningOn(m, "oss1"), Constraints: tc.cons}
		tr := planner.Plan(in)
		text, ok := tr.Why("fs1")
		require.True(t, ok)
		v := whyView(m, tr.Placements[0], text, nil, now)
		require.Len(t, v.Scores, 2, name)
		for _, hs := range v.Scores {
			require.True(t, hs.Allowed, "%s: %s", name, hs.Host)
			require.Equal(t, tc.want[hs.Host], hs.Total, "%s: %s: %s", name, hs.Host, text)
			sum := 0
			for _, p := range hs.Parts {
				require.NotContains(t, p.What, "the rest of the planner's score", "%s: %s", name, hs.Host)
				sum += p.Value
			}
			require.Equal(t, hs.Total, sum, "%s: %s: the parts add up", name, hs.Host)
		}
	}
}

// A host excluded says by which rule, in words; a fail count below the
// threshold is shown with no penalty, one past the failure timeout as
// expired; a term this basalt does not know leaves the rest of the total
// as its own part rather than a wrong sum.
func TestWhyExclusionsAndFailCounts(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	m := pairModel(t)
	in := planner.Input{Model: m, Now: now, Hosts: online(m), Observed: runningOn(m, "oss1"),
		Constraints: planner.Constraints{Bans: []planner.Ban{{Group: "fs1", Host: "oss2"}}}}
	tr := planner.Plan(in)
	fails := map[string]map[string]planner.Failure{
		"pool1": {"oss1": {Count: 1, Last: now.Add(-time.Minute), Op: planner.FailedMonitor}},
		"ost0":  {"oss1": {Count: 2, Last: now.Add(-time.Hour), Op: planner.FailedMonitor}},
	}
	v := whyView(m, tr.Placements[0], "", fails, now)
	require.Equal(t, []string{"oss1"}, v.Placed)
	require.Equal(t, api.HostScore{Host: "oss1", Allowed: true, Chosen: true, Total: scoreDomainBase - scorePriority + scoreNoFailback, Parts: []api.ScorePart{
		{What: "preference of the failover domain: priority 1 (1000000, less 1000 per priority step)", Value: scoreDomainBase - scorePriority},
		{What: "runs here and failback is off: it stays where it runs", Value: scoreNoFailback},
		{What: "fail count of pool1 here: 1 of the migration threshold 3: no penalty until it is reached, then the host is banned"},
		{What: "fail count of ost0 here: 2, expired (failure-timeout 10m0s): no penalty"},
	}}, v.Scores[0])
	require.Equal(t, api.HostScore{Host: "oss2", Parts: []api.ScorePart{
		{What: "ban: banned by an administrator (basalt resource clear fs1 lifts it)", NotAllowed: true},
	}}, v.Scores[1])

	odd := whyView(m, planner.Placement{Group: "fs1", Scores: planner.Lines("oss1: score 1000042 (domain priority 0, frobnication)")}, "", nil, now)
	require.Equal(t, []api.ScorePart{
		{What: "preference of the failover domain: priority 0 (1000000, less 1000 per priority step)", Value: scoreDomainBase},
		{What: "frobnication"},
		{What: "the rest of the planner's score (a term this basalt does not know)", Value: 42},
	}, odd.Scores[0].Parts)
}
