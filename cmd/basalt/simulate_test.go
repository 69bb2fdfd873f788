package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/sim/whatif"
)

// savedState is a status as `basalt status -o json` saved it: the
// failover pair, fs1 running on oss1, with the running configuration.
const savedState = "testdata/simulate/state.json"

// The what-if's text output, golden: a host down (fence, then failover),
// a monitor failure (restart in place). Same flags, same output: the run
// is simulated from the seed.
func TestSimulateGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"simulate/host-down.txt", []string{"--host-down", "oss1"}},
		{"simulate/resource-fails.txt", []string{"--resource-fails", "ost0@oss1"}},
		{"simulate/nothing.txt", nil},
	} {
		rc, out, errOut := runCLI(append([]string{"simulate", "--state", savedState}, tc.args...)...)
		require.Equal(t, 0, rc, errOut)
		require.Empty(t, errOut)
		golden(t, tc.golden, out)
	}
}

// -o json is the same result as data; --html writes the timeline page.
func TestSimulateJSONAndHTML(t *testing.T) {
	page := filepath.Join(t.TempDir(), "whatif.html")
	rc, out, errOut := runCLI("simulate", "--state", savedState, "--host-down", "oss1", "-o", "json", "--html", page)
	require.Equal(t, 0, rc, errOut)
	var res whatif.Result
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, []string{"oss1"}, res.Outcome.Fenced)
	require.Equal(t, "fence", res.Transitions[0].Steps[0].Kind)
	require.Equal(t, []string{"pid-oss1"}, res.Transitions[0].Steps[0].Devices)
	require.Equal(t, map[string][]string{"fs1": {"oss2"}}, res.GroupHosts())
	html, err := os.ReadFile(page)
	require.NoError(t, err)
	require.Contains(t, string(html), "<svg")
	require.Contains(t, string(html), "host down oss1")
}

// Every mistake names itself: exit 2 for the command line's, 1 for a file
// that cannot be read or is not a status.
func TestSimulateMistakes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"cluster": "oss-pair", "hosts": [`), 0o644))
	noConfig := filepath.Join(dir, "noconfig.json")
	var st map[string]any
	data, err := os.ReadFile(savedState)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &st))
	delete(st, "config")
	data, err = json.Marshal(st)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(noConfig, data, 0o644))
	missing := filepath.Join(dir, "missing.json")
	cmd := "basalt simulate"
	for _, tc := range []struct {
		args []string
		rc   int
		want string
	}{
		{nil, 2, cmd + ": missing --state FILE or --live: the state to start from\n" + hint(cmd)},
		{[]string{"--state", savedState, "--live"}, 2, cmd + ": --state and --live both given: start from one state\n" + hint(cmd)},
		{[]string{"--state", savedState, "--host-down", "oss9"}, 2, cmd + ": --host-down oss9: unknown host (the hosts are oss1, oss2)\n" + hint(cmd)},
		{[]string{"--state", savedState, "--resource-fails", "ost0"}, 2, cmd + `: --resource-fails "ost0": want RESOURCE@HOST` + "\n" + hint(cmd)},
		{[]string{"--state", savedState, "--resource-fails", "ost9@oss1"}, 2, cmd + ": --resource-fails ost9@oss1: unknown resource ost9\n" + hint(cmd)},
		{[]string{"--state", savedState, "--resource-fails", "ost0@oss9"}, 2, cmd + ": --resource-fails ost0@oss9: unknown host oss9 (the hosts are oss1, oss2)\n" + hint(cmd)},
		{[]string{"--state", savedState, "--for", "0s"}, 2, cmd + ": --for 0s: want a duration above 0 and at most 24h0m0s\n" + hint(cmd)},
		{[]string{"--state", savedState, "--socket", "/x.sock"}, 2, cmd + ": --socket is --live's: a saved state is read from its file\n" + hint(cmd)},
		{[]string{"--state", savedState, "-o", "yaml"}, 2, cmd + `: -o/--output "yaml": want one of text, json` + "\n" + hint(cmd)},
		{[]string{"--state", missing}, 1, cmd + ": --state: open " + missing + ": no such file or directory\n"},
		{[]string{"--state", savedState, "--apply", missing}, 1, cmd + ": --apply: stat " + missing + ": no such file or directory\n"},
		{[]string{"--state", bad}, 1, cmd + ": " + bad + ": not a saved status (basalt status -o json): unexpected end of JSON input\n"},
		{[]string{"--state", noConfig}, 1, cmd + `: the state holds no configuration (its "config" is missing: the manager that saved it did not report it); give the cluster's configuration file with --config FILE` + "\n"},
	} {
		rc, out, errOut := runCLI(append([]string{"simulate"}, tc.args...)...)
		require.Equal(t, tc.rc, rc, "%v: %s", tc.args, errOut)
		require.Empty(t, out, "%v", tc.args)
		require.Equal(t, tc.want, errOut, "%v", tc.args)
	}
	// A state without its configuration runs with --config.
	rc, out, errOut := runCLI("simulate", "--state", noConfig, "--config", "../../testdata/configs/failover-pair.yaml", "--host-down", "oss1")
	require.Equal(t, 0, rc, errOut)
	golden(t, "simulate/host-down.txt", out)
}

// The what-if reads every field it needs from a status as the API
// encodes it: its types and the API's agree on the JSON names.
func TestSimulateReadsTheAPIStatus(t *testing.T) {
	until := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	v := api.StatusView{Cluster: "c", Maintenance: true, Role: api.RoleLeader,
		Hosts: []api.HostView{{Name: "h1", State: "online", Standby: true, Fencing: "retrying"}},
		Groups: []api.GroupView{{ID: "g", Target: "stopped", Managed: false, Placed: []string{"h1"}, Orphan: true,
			Resources: []api.ResourceView{{ID: "r", RunningOn: []string{"h1"}, FailCount: map[string]int{"h1": 2}, Fatal: "f", Blocked: true}}}},
		Constraints: []api.ConstraintView{{Kind: "ban", Group: "g", Host: "h1", Until: until}},
		Config:      &api.ConfigView{Version: 4, Text: "cluster: {}"}}
	data, err := json.Marshal(v)
	require.NoError(t, err)
	st, err := whatif.ParseState("s", data)
	require.NoError(t, err)
	require.Equal(t, whatif.State{Cluster: "c", Maintenance: true, Role: api.RoleLeader,
		Hosts: []whatif.HostState{{Name: "h1", State: "online", Standby: true, Fencing: "retrying"}},
		Groups: []whatif.GroupState{{ID: "g", Target: "stopped", Managed: false, Placed: []string{"h1"}, Orphan: true,
			Resources: []whatif.ResourceState{{ID: "r", RunningOn: []string{"h1"}, FailCount: map[string]int{"h1": 2}, Fatal: "f", Blocked: true}}}},
		Constraints: []whatif.ConstraintState{{Kind: "ban", Group: "g", Host: "h1", Until: until}},
		Config:      &whatif.ConfigState{Version: 4, Text: "cluster: {}"}}, st)
}

// --live reads the manager's status once, and changes nothing there: the
// manager's event log is the same after.
func TestSimulateLive(t *testing.T) {
	sock := manager(t)
	before, err := api.NewClient(sock).Events(0, 0)
	require.NoError(t, err)
	rc, out, errOut := runCLI("simulate", "--live", "--socket", sock, "--config", "../../testdata/configs/failover-pair.yaml")
	require.Equal(t, 0, rc, errOut)
	require.Contains(t, out, "What if: cluster oss-pair")
	after, err := api.NewClient(sock).Events(0, 0)
	require.NoError(t, err)
	require.Equal(t, before, after)
}

// README's worked example is the golden output, as it is.
func TestSimulateREADMEExample(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join("testdata", "simulate", "host-down.txt"))
	require.NoError(t, err)
	require.Contains(t, string(readme), "```\n"+string(want)+"```\n", "README's example of basalt simulate --host-down oss1")
}
