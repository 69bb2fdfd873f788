package planner

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
)

var update = flag.Bool("update", false, "rewrite the golden .out files")

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// goldenCase is the input format of testdata/<case>.yaml. Times are
// offsets from a fixed epoch ("10m"), so cases read as stories.
type goldenCase struct {
	Description string `yaml:"description"`
	// Config names a file in core/planner/testdata or testdata/configs.
	Config string `yaml:"config"`
	Now    string `yaml:"now"`
	// Hosts: state ("online", "offline", "unclean"), with " standby"
	// appended for a host in standby and " fencing" for one with a fence
	// in flight. Hosts not listed are online.
	Hosts map[string]string `yaml:"hosts"`
	// Default is the state of every resource on every online host not
	// listed in Observed ("unknown" when empty).
	Default  string                       `yaml:"default"`
	Observed map[string]map[string]string `yaml:"observed"`
	Failures map[string]map[string]struct {
		Count int    `yaml:"count"`
		Ago   string `yaml:"ago"`
		Hard  bool   `yaml:"hard"`
		// Op is the operation that failed (probe, start, stop, monitor);
		// Monitor its index for a monitor.
		Op      string `yaml:"op"`
		Monitor int    `yaml:"monitor"`
	} `yaml:"failures"`
	Fatal map[string]string `yaml:"fatal"`
	// Attributes are node attributes, host -> name -> value (promotion
	// scores: master-<resource>).
	Attributes map[string]map[string]string `yaml:"attributes"`
	// Definitions gives, by resource and host, the definition an observed
	// instance runs with when it is not the configured one (agent and
	// params; the configured resource's when left out), and how its agent
	// said it reloads (reload: the action; force-restart: the parameters
	// that force a restart). Digests are computed from them.
	Definitions map[string]map[string]struct {
		Agent        string            `yaml:"agent"`
		Params       map[string]string `yaml:"params"`
		Reload       string            `yaml:"reload"`
		ForceRestart []string          `yaml:"force-restart"`
	} `yaml:"definitions"`
	// Orphans are groups of Config that a configuration change removed
	// while they may run (model.WithOrphans): they are to be stopped.
	Orphans     []string `yaml:"orphans"`
	Constraints struct {
		Moves map[string]struct {
			Host  string `yaml:"host"`
			Until string `yaml:"until"`
		} `yaml:"moves"`
		Bans []struct {
			Group string `yaml:"group"`
			Host  string `yaml:"host"`
			Until string `yaml:"until"`
		} `yaml:"bans"`
		TargetRoles map[string]string `yaml:"target-roles"`
		Unmanaged   map[string]bool   `yaml:"unmanaged"`
		Blocked     []string          `yaml:"blocked"`
		Maintenance bool              `yaml:"maintenance"`
		// FoundActive: group -> hosts, a recorded multiple-active finding.
		FoundActive map[string][]string `yaml:"found-active"`
	} `yaml:"constraints"`
}

func offset(t *testing.T, s string) time.Time {
	t.Helper()
	if s == "" {
		return time.Time{}
	}
	d, err := time.ParseDuration(s)
	require.NoError(t, err)
	return epoch.Add(d)
}

func loadCase(t *testing.T, path string) Input {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var c goldenCase
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&c), path)
	require.NotEmpty(t, c.Description, "%s: every case says what it shows", path)

	cfgPath := filepath.Join("testdata", c.Config)
	if _, err := os.Stat(cfgPath); err != nil {
		cfgPath = filepath.Join("..", "..", "testdata", "configs", c.Config)
	}
	cfg, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	m, err := model.Load(c.Config, cfg)
	require.NoError(t, err)
	if len(c.Orphans) > 0 {
		gone := map[string]bool{}
		for _, g := range c.Orphans {
			gone[g] = true
		}
		m = model.WithOrphans(m, m.WithoutGroups(gone), func(string) bool { return true })
	}

	in := Input{Model: m, Now: offset(t, c.Now), Observed: map[string]map[string]Observed{},
		Failures: map[string]map[string]Failure{}, Fatal: c.Fatal, Attributes: c.Attributes}
	if in.Now.IsZero() {
		in.Now = epoch
	}
	for _, h := range m.Hosts {
		spec := c.Hosts[h.Name]
		state, standby := HostState(strings.Fields(spec + " online")[0]), strings.Contains(spec, "standby")
		require.Contains(t, []HostState{Online, Offline, Unclean}, state, "host %s", h.Name)
		in.Hosts = append(in.Hosts, Host{Name: h.Name, State: state, Standby: standby, Fencing: strings.Contains(spec, "fencing")})
	}
	parse := func(s string) Observed {
		switch s {
		case "running":
			return Observed{State: Running, Monitored: true}
		case "running-unmonitored":
			return Observed{State: Running}
		case "stopped", "failed", "stop-failed", "unknown":
			return Observed{State: RscState(s)}
		case "promoted":
			return Observed{State: Running, Monitored: true, Promoted: true}
		case "promoted-unmonitored":
			return Observed{State: Running, Promoted: true}
		case "failed-promoted", "stop-failed-promoted":
			return Observed{State: RscState(strings.TrimSuffix(s, "-promoted")), Promoted: true}
		}
		t.Fatalf("%s: unknown resource state %q", path, s)
		return Observed{}
	}
	for _, r := range m.Resources {
		in.Observed[r.ID] = map[string]Observed{}
		for _, h := range in.Hosts {
			if s, ok := c.Observed[r.ID][h.Name]; ok {
				in.Observed[r.ID][h.Name] = parse(s)
			} else if c.Default != "" && h.State == Online {
				in.Observed[r.ID][h.Name] = parse(c.Default)
			}
		}
	}
	for id, hosts := range c.Definitions {
		rsc, ok := m.Resource(id)
		require.True(t, ok, "%s: definitions of unknown resource %s", path, id)
		for h, d := range hosts {
			ob, ok := in.Observed[id][h]
			require.True(t, ok, "%s: a definition of %s on %s, where it is not observed", path, id, h)
			agent, params := rsc.Agent, rsc.Params
			if d.Agent != "" {
				agent, err = ocf.ParseAgent(d.Agent)
				require.NoError(t, err)
			}
			if d.Params != nil {
				params = d.Params
			}
			ob.Digest = ocf.Digest(agent, params)
			if d.Reload != "" {
				ob.ReloadAction, ob.ForceRestart = ocf.Action(d.Reload), d.ForceRestart
				ob.RestartDigest = ocf.RestartDigest(agent, params, d.ForceRestart)
			}
			in.Observed[id][h] = ob
		}
	}
	for r, hosts := range c.Failures {
		in.Failures[r] = map[string]Failure{}
		for h, f := range hosts {
			ago, err := time.ParseDuration(f.Ago)
			require.NoError(t, err)
			in.Failures[r][h] = Failure{Count: f.Count, Last: in.Now.Add(-ago), Hard: f.Hard, Op: FailedOp(f.Op), Monitor: f.Monitor}
		}
	}
	k := &in.Constraints
	k.Moves = map[string]Move{}
	for g, mv := range c.Constraints.Moves {
		k.Moves[g] = Move{Host: mv.Host, Until: offset(t, mv.Until)}
	}
	for _, b := range c.Constraints.Bans {
		k.Bans = append(k.Bans, Ban{Group: b.Group, Host: b.Host, Until: offset(t, b.Until)})
	}
	k.TargetRoles = map[string]model.Role{}
	for g, r := range c.Constraints.TargetRoles {
		k.TargetRoles[g] = model.Role(r)
	}
	k.Unmanaged = c.Constraints.Unmanaged
	k.Blocked = map[string]bool{}
	for _, r := range c.Constraints.Blocked {
		k.Blocked[r] = true
	}
	k.Maintenance = c.Constraints.Maintenance
	k.FoundActive = c.Constraints.FoundActive
	return in
}

// TestGolden runs every testdata case and compares the transition
// with its golden .out file (go test ./core/planner -update rewrites them).
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join("testdata", "*.case.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(cases), 30, "the suite covers the scheduler's families")
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".case.yaml")
		t.Run(name, func(t *testing.T) {
			in := loadCase(t, path)
			tr := Plan(in)
			checkInvariants(t, in, tr)
			got := tr.String()
			again := Plan(in).String()
			require.Equal(t, got, again, "planning is deterministic")
			golden := strings.TrimSuffix(path, ".case.yaml") + ".out"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "no golden file: run go test ./core/planner -update and review it")
			require.Equal(t, string(want), got)
		})
	}
}

// checkInvariants asserts what must hold of every transition, whatever the
// golden file says.
func checkInvariants(t *testing.T, in Input, tr Transition) {
	t.Helper()
	byID := map[int]Action{}
	for i, a := range tr.Actions {
		require.Equal(t, i, a.ID)
		for _, d := range a.After {
			require.Less(t, d, a.ID, "%s depends on a later action", a)
		}
		byID[a.ID] = a
	}
	// A start never runs on a host that is not online, in standby, or
	// before every stop of its group elsewhere.
	for _, a := range tr.Actions {
		if a.Kind != Start {
			continue
		}
		h, _ := in.host(a.Host)
		require.Equal(t, Online, h.State, "%s on a host not online", a)
		require.False(t, h.Standby, "%s on a standby host", a)
		require.False(t, h.Fencing, "%s on a host whose fence is in flight", a)
		for _, b := range tr.Actions {
			require.False(t, b.Kind == Fence && b.Host == a.Host, "%s on a host this transition fences (%s)", a, b)
		}
		gid, _ := in.Model.GroupOf(a.Resource)
		g, _ := in.Model.Group(gid)
		deps := closure(byID, a.ID)
		for _, b := range tr.Actions {
			if b.Kind == Stop && b.Host != a.Host && contains(g.Resources(), b.Resource) {
				require.True(t, deps[b.ID], "%s does not wait for %s", a, b)
			}
			if b.Kind == Fence {
				for _, r := range g.Resources() {
					st := in.state(r, b.Host).State
					if active(st) || st == Unknown {
						require.True(t, deps[b.ID], "%s does not wait for %s", a, b)
					}
				}
			}
		}
		// Every ancestor, not only the parent, is started before it, or
		// runs there and is left running.
		for _, anc := range g.Ancestors(a.Resource) {
			started, stopped := false, false
			for d := range deps {
				started = started || byID[d].Kind == Start && byID[d].Resource == anc && byID[d].Host == a.Host
			}
			for _, b := range tr.Actions {
				stopped = stopped || b.Kind == Stop && b.Resource == anc && b.Host == a.Host
			}
			require.True(t, started || in.state(anc, a.Host).State == Running && !stopped,
				"%s does not wait for its ancestor %s to start", a, anc)
		}
	}
	checkPlacements(t, in, tr)
	checkProbes(t, in, tr)
	checkFences(t, in, tr)
	checkMultipleActive(t, in, tr)
	// A group held until a cleanup says so in its flag (what the swarm's
	// operator and status read) as in its note (what a person reads).
	for _, pl := range tr.Placements {
		require.Equal(t, strings.Contains(pl.Note, "clean it up"), pl.AwaitsCleanup, "%s: %q", pl.Group, pl.Note)
	}
}

// checkMultipleActive: a group found active on more hosts than it may run
// on is started nowhere unless its policy is stop-unexpected, and a
// blocked one gets no action at all; a recorded finding keeps stop-only
// and block groups so until a cleanup.
func checkMultipleActive(t *testing.T, in Input, tr Transition) {
	t.Helper()
	for _, pl := range tr.Placements {
		g, _ := in.Model.Group(pl.Group)
		_, recorded := in.Constraints.FoundActive[g.ID]
		policy := g.Placement.MultipleActive
		held := recorded && (policy == model.MultipleStopOnly || policy == model.MultipleBlock)
		if pl.FoundActive == nil && !held {
			continue
		}
		for _, a := range tr.Actions {
			if a.Resource == "" || !contains(g.Resources(), a.Resource) {
				continue
			}
			require.False(t, policy == model.MultipleBlock && a.Kind != Monitor, "%s for a group blocked by multiple-active", a)
			require.False(t, a.Kind == Start && policy != model.MultipleStopUnexpected,
				"%s for a group found active on %v (multiple-active=%s)", a, pl.FoundActive, policy)
		}
	}
}

// checkFences: an online host is fenced only for a reason its policies
// give: a failed stop whose on-fail is fence, or a failure there whose
// on-fail is fence. A failed stop whose policy blocks (block, standby, or
// fencing off) never fences on its own.
func checkFences(t *testing.T, in Input, tr Transition) {
	t.Helper()
	for _, a := range tr.Actions {
		if a.Kind != Fence {
			continue
		}
		require.True(t, in.Model.Cluster.Fencing, "%s with fencing off", a)
		if h, _ := in.host(a.Host); h.State != Online {
			continue
		}
		reason := false
		for _, r := range in.Model.Resources {
			f, failed := in.Failures[r.ID][a.Host]
			stopFenced := in.state(r.ID, a.Host).State == StopFailed &&
				OnFail(in.Model, r.ID, Failure{Op: FailedStop}) == model.OnFailFence
			reason = reason || stopFenced || failed && OnFail(in.Model, r.ID, f) == model.OnFailFence
		}
		require.True(t, reason, "%s, but no policy asks for it", a)
	}
}

// checkPlacements: what must hold of where groups are placed.
func checkPlacements(t *testing.T, in Input, tr Transition) {
	t.Helper()
	// No member is left running above an ancestor that is neither running
	// nor started where the group is placed.
	for _, pl := range tr.Placements {
		g, _ := in.Model.Group(pl.Group)
		for _, h := range pl.Hosts {
			for _, r := range g.StartOrder() {
				if in.state(r, h).State != Running || hasAction(tr, Stop, r, h) {
					continue
				}
				for _, anc := range g.Ancestors(r) {
					require.True(t, in.state(anc, h).State == Running && !hasAction(tr, Stop, anc, h),
						"%s is left running on %s above %s, which is not", r, h, anc)
				}
			}
		}
	}
	// A group is moved off a host where it runs only for a strictly better
	// one: every chosen host it does not run on outscores every allowed
	// host it runs on and leaves.
	for _, pl := range tr.Placements {
		g, _ := in.Model.Group(pl.Group)
		scores := placementScores(pl)
		for _, leave := range hostsOf(in) {
			sl, allowed := scores[leave]
			if !allowed || slices.Contains(pl.Hosts, leave) || in.state(g.Root(), leave).State != Running {
				continue
			}
			for _, to := range pl.Hosts {
				if in.state(g.Root(), to).State != Running {
					require.Greater(t, scores[to], sl, "%s moves from %s to %s, which is no better", pl.Group, leave, to)
				}
			}
		}
	}
}

// checkProbes: probes and starts never mix within one group.
func checkProbes(t *testing.T, in Input, tr Transition) {
	t.Helper()
	probed := map[string]bool{}
	for _, a := range tr.Actions {
		if a.Kind == Probe {
			gid, _ := in.Model.GroupOf(a.Resource)
			probed[gid] = true
		}
	}
	for _, a := range tr.Actions {
		if a.Kind == Start || a.Kind == Stop {
			gid, _ := in.Model.GroupOf(a.Resource)
			require.False(t, probed[gid], "%s while group %s is still being probed", a, gid)
		}
	}
}

// placementScores reads "host: score N (...)" lines back: the allowed
// hosts and their scores.
func placementScores(pl Placement) map[string]int {
	out := map[string]int{}
	for _, line := range pl.Scores {
		var h string
		var n int
		if _, err := fmt.Sscanf(line, "%s score %d", &h, &n); err == nil {
			out[strings.TrimSuffix(h, ":")] = n
		}
	}
	return out
}

func hostsOf(in Input) []string {
	var out []string
	for _, h := range in.Hosts {
		out = append(out, h.Name)
	}
	return out
}

func hasAction(tr Transition, k Kind, rsc, host string) bool {
	for _, a := range tr.Actions {
		if a.Kind == k && a.Resource == rsc && a.Host == host {
			return true
		}
	}
	return false
}

func closure(byID map[int]Action, id int) map[int]bool {
	seen := map[int]bool{}
	var walk func(int)
	walk = func(i int) {
		for _, d := range byID[i].After {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(id)
	return seen
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestWhyAndExpiry(t *testing.T) {
	in := loadCase(t, filepath.Join("testdata", "migration-threshold-relocates.case.yaml"))
	tr := Plan(in)
	why, ok := tr.Why("service")
	require.True(t, ok)
	require.Contains(t, why, "service runs on a")
	require.Contains(t, why, "c: excluded: db failed 2 times here (threshold 2)")
	_, ok = tr.Why("nope")
	require.False(t, ok)
	// The failures expire after the failure timeout: the plan must be
	// revisited then.
	exp := Expiry(in)
	require.False(t, exp.IsZero())
	require.True(t, exp.After(in.Now))
	keys := []string{}
	for k := range in.Failures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	require.Equal(t, in.Failures[keys[0]]["c"].Last.Add(5*time.Minute), exp, fmt.Sprint(keys))
	// Hard failures expire as well: the plan is revisited when they do.
	in = loadCase(t, filepath.Join("testdata", "hard-failure-not-yet-expired.case.yaml"))
	require.Equal(t, in.Now.Add(3*time.Minute), Expiry(in))
}
