package whatif

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

// pairState is the failover pair of testdata/configs (group fs1: pool1,
// ost0, ost1 on oss1 or oss2, oss1 preferred) with fs1 running on host
// on, both hosts online.
func pairState(t *testing.T, on string) State {
	rs := func(id string) ResourceState { return ResourceState{ID: id, RunningOn: []string{on}} }
	return State{Cluster: "oss-pair", Hosts: []HostState{{Name: "oss1", State: "online"}, {Name: "oss2", State: "online"}},
		Groups: []GroupState{{ID: "fs1", Target: "started", Managed: true, Placed: []string{on},
			Resources: []ResourceState{rs("pool1"), rs("ost0"), rs("ost1")}}},
		Config: &ConfigState{Text: readFile(t, "../../testdata/configs/failover-pair.yaml")}}
}

// steps lists a result's steps as "kind resource host result", in order.
func steps(r *Result) []string {
	var out []string
	for _, tr := range r.Transitions {
		for _, s := range tr.Steps {
			out = append(out, strings.Join(strings.Fields(s.Kind+" "+s.Resource+" "+s.Host+" "+strings.Fields(s.Result)[0]), " "))
		}
	}
	return out
}

// A state whose resources run on given hosts settles without moving them,
// also where the group is not on its preferred host (fs1 on oss2): the
// simulated manager probes, finds them there, and has nothing to do.
func TestSavedStateSettlesWithoutMoving(t *testing.T) {
	for _, on := range []string{"oss1", "oss2"} {
		r, err := Run(pairState(t, on), File{}, Events{})
		require.NoError(t, err)
		require.Empty(t, r.Warnings, on)
		require.Empty(t, r.Transitions, on)
		require.Equal(t, map[string][]string{"fs1": {on}}, r.GroupHosts(), on)
		require.Empty(t, r.Outcome.Fenced)
		require.Empty(t, r.Outcome.Violations)
	}
}

// A state the simulation cannot reproduce says so: a resource running on
// a host the state has offline is left out, and the difference listed.
func TestUnreproducibleStateWarns(t *testing.T) {
	st := pairState(t, "oss1")
	st.Hosts[1].State = "offline"
	st.Groups[0].Resources[1].RunningOn = []string{"oss2"}
	st.Groups[0].Resources[1].FailCount = map[string]int{"oss1": 2}
	r, err := Run(st, File{}, Events{})
	require.NoError(t, err)
	all := strings.Join(r.Warnings, "\n")
	require.Contains(t, all, "resource ost0 runs on oss2 in the state, a host not online in the state: left out")
	require.Contains(t, all, "resource ost0 has 2 failure(s) on oss1 in the state: the simulation starts with none")
	require.Contains(t, all, "the simulation could not reproduce the state exactly")
	require.Contains(t, all, "resource ost0: running on oss2 in the state, on oss1 in the simulation")
}

// --host-down of the host running the group: the manager declares it
// lost, fences it through its device, and only then starts the group
// elsewhere.
func TestHostDownFencesThenStartsElsewhere(t *testing.T) {
	r, err := Run(pairState(t, "oss1"), File{}, Events{HostDown: []string{"oss1"}})
	require.NoError(t, err)
	got := steps(r)
	require.Equal(t, "fence oss1 ok", got[0])
	require.Equal(t, []string{"start pool1 oss2 ok", "start ost0 oss2 ok", "start ost1 oss2 ok"}, got[len(got)-3:])
	fence := r.Transitions[0].Steps[0]
	require.Equal(t, []string{"pid-oss1"}, fence.Devices)
	require.Equal(t, "host lost", fence.Reason)
	last := r.Transitions[len(r.Transitions)-1]
	require.False(t, last.Steps[0].At < fence.End, "the group starts only once the fence is done")
	require.Equal(t, "oss1", r.FenceTarget())
	require.Equal(t, map[string][]string{"fs1": {"oss2"}}, r.GroupHosts())
	require.Empty(t, r.Outcome.Violations)
}

// --resource-fails: the monitor's failure makes the manager restart the
// resource where it runs (its migration threshold is 3).
func TestResourceFailsRestartsIt(t *testing.T) {
	r, err := Run(pairState(t, "oss1"), File{}, Events{ResourceFails: []ResourceOn{{Resource: "ost0", Host: "oss1"}}})
	require.NoError(t, err)
	require.Equal(t, []string{"stop ost0 oss1 ok", "start ost0 oss1 ok"}, steps(r))
	require.Equal(t, "restart after failure", r.Transitions[0].Steps[0].Reason)
	require.Equal(t, "failure", r.Events[0].Kind)
	require.Equal(t, map[string][]string{"fs1": {"oss1"}}, r.GroupHosts())
}

// --apply of a configuration without a group stops that group, through
// the core's config-apply path, and the change is previewed.
func TestApplyRemovingAGroupStopsIt(t *testing.T) {
	st := pairState(t, "oss1")
	st.Config.Text = readFile(t, "testdata/two-groups.yaml")
	st.Groups = append(st.Groups, GroupState{ID: "fs2", Target: "started", Managed: true,
		Resources: []ResourceState{{ID: "ost2", RunningOn: []string{"oss2"}}}})
	r, err := Run(st, File{}, Events{Apply: File{Name: "pair.yaml", Text: readFile(t, "../../testdata/configs/failover-pair.yaml")}})
	require.NoError(t, err)
	require.Empty(t, r.Warnings)
	require.Contains(t, r.Preview, "- group fs2")
	require.Equal(t, []string{"stop ost2 oss2 ok"}, steps(r))
	require.Equal(t, []string{"oss1"}, r.GroupHosts()["fs1"])
	require.Empty(t, r.GroupHosts()["fs2"])
}

// --faults draws a plan from the seed and prints it; the same seed gives
// the same run. Seed 7's plan restarts the manager (pause-manager at
// +7s, crash-manager at +1m6s) before oss2 is lost at +1m40s: the
// restarted manager's transitions, numbered from 1 again, are followed
// too, the fence of oss2 among them.
func TestSeededFaultsReplay(t *testing.T) {
	run := func() string {
		r, err := Run(pairState(t, "oss1"), File{}, Events{Faults: true, Seed: 7, For: 3 * time.Minute})
		require.NoError(t, err)
		require.Contains(t, r.Faults, "+1m6.314s crash-manager for 18.842s")
		require.Contains(t, steps(r), "fence oss2 ok")
		require.Less(t, r.Transitions[0].At, 10*time.Second, "the replacement manager's first transition, at +7.126s")
		var b strings.Builder
		require.NoError(t, r.WriteText(&b))
		return b.String()
	}
	require.Equal(t, run(), run())
}

// Every mistake names what is wrong.
func TestMistakesSayWhich(t *testing.T) {
	st := pairState(t, "oss1")
	_, err := Run(st, File{}, Events{HostDown: []string{"oss9"}})
	require.EqualError(t, err, "--host-down oss9: unknown host (the hosts are oss1, oss2)")
	_, err = Run(st, File{}, Events{ResourceFails: []ResourceOn{{Resource: "nope", Host: "oss1"}}})
	require.EqualError(t, err, "--resource-fails nope@oss1: unknown resource nope")
	_, err = ParseResourceOn("ost0")
	require.EqualError(t, err, `"ost0": want RESOURCE@HOST`)
	st.Config = nil
	_, err = Run(st, File{}, Events{})
	require.ErrorContains(t, err, "the state holds no configuration")
	require.ErrorContains(t, err, "--config FILE")
	_, err = ParseState("state.json", []byte("{"))
	require.ErrorContains(t, err, "state.json: not a saved status (basalt status -o json)")
	_, err = ParseState("s.json", []byte(`{"role":"standby"}`))
	require.ErrorContains(t, err, "s.json: the status of a standby manager")
}

// The administrators' settings of the state are requested again: with
// oss2 in standby, or fs1 banned from it, or maintenance on, the group
// whose host dies has nowhere to go (or is left alone); the state
// reproduces without a warning.
func TestSettingsOfTheStateHold(t *testing.T) {
	for name, tc := range map[string]struct {
		set    func(*State)
		fenced []string
	}{
		"standby":     {func(st *State) { st.Hosts[1].Standby = true }, []string{"oss1"}},
		"ban":         {func(st *State) { st.Constraints = []ConstraintState{{Kind: "ban", Group: "fs1", Host: "oss2"}} }, []string{"oss1"}},
		"maintenance": {func(st *State) { st.Maintenance = true }, []string{"oss1"}},
		"unmanaged":   {func(st *State) { st.Groups[0].Managed = false }, []string{"oss1"}},
	} {
		st := pairState(t, "oss1")
		tc.set(&st)
		r, err := Run(st, File{}, Events{HostDown: []string{"oss1"}})
		require.NoError(t, err, name)
		require.Empty(t, r.Warnings, name)
		require.Equal(t, tc.fenced, r.Outcome.Fenced, name)
		require.Empty(t, r.GroupHosts()["fs1"], "%s: fs1 has nowhere to go", name)
		for _, s := range steps(r) {
			require.NotContains(t, s, "start", name)
		}
	}
}
