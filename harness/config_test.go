package harness_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/harness"
	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/live/api"
)

// debianOCFRoot is where Debian's resource-agents package installs.
const debianOCFRoot = "/usr/lib/ocf"

// dummyConfig is a two-host cluster of Debian's ocf:heartbeat:Dummy
// resources, one group each, all preferring h1: groups lists the groups
// (each of one resource of the same name with "r" for "g"), params their
// resources' parameters.
func dummyConfig(groups []string, params map[string]string) []byte {
	var b strings.Builder
	b.WriteString("cluster: {name: proc, heartbeat-interval: 300ms, dead-timeout: 3s, fence-timeout: 10s}\nhosts:\n")
	b.WriteString("  - {name: h1, address: \"127.0.0.1:1\"}\n  - {name: h2, address: \"127.0.0.1:2\"}\nfence-devices:\n")
	for _, h := range []string{"h1", "h2"} {
		fmt.Fprintf(&b, "  - {id: pid-%s, agent: fence_basalt_pid, hosts: {%s: %s}}\n", h, h, h)
	}
	b.WriteString("resources:\n")
	for _, g := range groups {
		r := "r" + strings.TrimPrefix(g, "g")
		p := ""
		if v, ok := params[r]; ok {
			p = ", params: {" + v + "}"
		}
		fmt.Fprintf(&b, "  - {id: %s, agent: \"ocf:heartbeat:Dummy\"%s, ops: {monitor: [{interval: 1s}]}}\n", r, p)
	}
	b.WriteString("groups:\n")
	for _, g := range groups {
		fmt.Fprintf(&b, "  - {id: %s, members: [{resource: r%s}], placement: {domain: {hosts: [{host: h1}, {host: h2}]}}}\n",
			g, strings.TrimPrefix(g, "g"))
	}
	return []byte(b.String())
}

// TestProcessConfigApply is issue 18's live case with the shipped binaries
// and Debian's Dummy agent: one configuration removes g1, changes r2's
// state file and adds g3. r1 stops and is forgotten; r2's old state file
// goes and the new one comes, never both at once (its old definition's
// stop returns before the new start is called, in the agent's own
// history); r3 starts; the report closes; a restarted manager runs the
// applied version and the cluster stays as it is.
func TestProcessConfigApply(t *testing.T) {
	if _, err := os.Stat(filepath.Join(debianOCFRoot, "resource.d", "heartbeat", "Dummy")); err != nil {
		t.Skipf("Debian's resource-agents is not installed: %v", err)
	}
	if testing.Short() {
		t.Skip("process tests build and run the daemons")
	}
	states := t.TempDir()
	oldState, newState := filepath.Join(states, "r2-old.state"), filepath.Join(states, "r2-new.state")
	before := dummyConfig([]string{"g1", "g2"}, map[string]string{"r2": "state: " + oldState})
	pc, err := harness.StartProcessCluster(harness.ProcessOptions{Name: "proc", Config: before, Dir: t.TempDir(),
		Bin: buildBinaries(t, ""), Repo: repo(), OCFRoot: debianOCFRoot, KeepAgents: true, Logf: t.Logf})
	require.NoError(t, err)
	t.Cleanup(pc.Stop)
	p := &procCluster{ProcessCluster: pc, t: t}
	dummy := func(r string) string { return filepath.Join(pc.ResourceDir("h1"), "Dummy-"+r+".state") }
	exists := func(path string) bool { _, err := os.Stat(path); return err == nil }
	c := api.NewClient(pc.Socket())
	p.poll("g1 and g2 running on h1", 30*time.Second, func() bool {
		v, err := c.Status()
		return err == nil && v.Healthy && exists(dummy("r1")) && exists(oldState)
	})

	next, err := pc.RealizeConfig(dummyConfig([]string{"g2", "g3"}, map[string]string{"r2": "state: " + newState}))
	require.NoError(t, err)
	applied := time.Now()
	a, err := c.ApplyConfig(api.ConfigRequest{Text: string(next), Source: "next.yaml"})
	require.NoError(t, err)
	require.Equal(t, 1, a.Version)
	require.Equal(t, []string{"+ group g3", "- group g1", "+ resource r3", "- resource r1", "~ resource r2"}, a.Change)

	twice := false
	p.poll("r1 gone, r2 on its new state file, r3 started, the report closed", 30*time.Second, func() bool {
		twice = twice || exists(oldState) && exists(newState)
		var rep api.ReportView
		closed := c.Do("GET", "/v1/reports/"+a.Report, nil, &rep) == nil && rep.State == api.ReportClosed
		return closed && !exists(dummy("r1")) && !exists(oldState) && exists(newState) && exists(dummy("r3"))
	})
	require.False(t, twice, "r2's old and new state files existed at once")
	var rep api.ReportView
	require.NoError(t, c.Do("GET", "/v1/reports/"+a.Report, nil, &rep))
	require.False(t, rep.Failed, "%+v", rep)

	// The agents' histories: r2's old stop returned before its new start
	// was called, and r1 was stopped, not left running.
	ops, err := pc.Ops()
	require.NoError(t, err)
	after := func(r, kind string) []check.Op {
		var out []check.Op
		for _, op := range ops {
			if op.Resource == r && op.Kind == kind && op.Call.After(applied) {
				out = append(out, op)
			}
		}
		return out
	}
	stops, starts := after("r2", "stop"), after("r2", "start")
	require.Len(t, stops, 1, "one stop of r2's old definition: %+v", stops)
	require.Len(t, starts, 1, "one start of its new one: %+v", starts)
	require.True(t, stops[0].Return.Before(starts[0].Call), "the stop returned (%s) before the start began (%s)", stops[0].Return, starts[0].Call)
	require.Len(t, after("r1", "stop"), 1)
	require.Len(t, after("r3", "start"), 1)
	evs, err := pc.Events()
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(evs, func(e api.Event) bool { return e.Kind == "orphan-removed" && e.Resource == "r1" }),
		"r1 was forgotten once stopped")

	// A restarted manager runs version 1, not its --config file.
	require.NoError(t, pc.RestartManager())
	c = api.NewClient(pc.Socket())
	p.poll("the restarted manager healthy", 30*time.Second, func() bool {
		v, err := c.Status()
		return err == nil && v.Healthy && len(v.Groups) == 2
	})
	v, err := c.Config()
	require.NoError(t, err)
	require.Equal(t, api.ConfigView{Version: 1, Text: string(next)}, v)
	rc, out := p.cli("config", "show")
	require.Equal(t, 0, rc, out)
	require.Equal(t, "# basalt configuration version 1\n"+string(next), out)
	st, err := c.Status()
	require.NoError(t, err)
	require.Equal(t, []string{"g2", "g3"}, []string{st.Groups[0].ID, st.Groups[1].ID})
	require.False(t, exists(dummy("r1")), "g1 did not come back")
	require.False(t, exists(oldState))
	require.True(t, exists(newState))
	ops, err = pc.Ops()
	require.NoError(t, err)
	require.Len(t, after("r2", "start"), 1, "r2 was not restarted by the new manager")
}
