// Package scenarios holds named, scripted cluster scenarios after
// Pacemaker's cluster test suite and HALO's tests: a configuration, a
// timeline of faults and admin actions, and expectations (where each group
// runs by when, which hosts were fenced), judged with every checker on. The
// scenario files (*.yaml in this directory) run in the simulator over many
// seeds.
package scenarios

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/sim/faults"
	"github.com/basalt-ha/basalt/sim/swarm"
)

// Scenario is one loaded scenario.
type Scenario struct {
	Name        string
	Description string
	Model       *model.Model
	// Config is the configuration file the scenario names, as written:
	// the process harness realizes it for real processes.
	Config   []byte
	Seeds    int
	Duration time.Duration
	Steps    []faults.Fault
	Expect   []swarm.Expectation
	// Replicas, when set, runs that many manager replicas on etcd (the
	// simulator's, or a real one) instead of one manager: the manager
	// steps strike the leader.
	Replicas int
	// SimOnly marks a scenario that runs in the simulator only: it has a
	// step the cluster of real processes cannot take (a config-apply, for
	// which the process harness has no configuration change yet). The
	// process suites skip it, saying why.
	SimOnly bool
}

type file struct {
	Description string `yaml:"description"`
	// Config is a file in testdata/configs, or "default" for the
	// simulator's default cluster.
	Config   string `yaml:"config"`
	Seeds    int    `yaml:"seeds"`
	Replicas int    `yaml:"replicas"`
	SimOnly  bool   `yaml:"sim-only"`
	Duration string `yaml:"duration"`
	Steps    []struct {
		At       string `yaml:"at"`
		Kind     string `yaml:"kind"`
		Host     string `yaml:"host"`
		Peer     string `yaml:"peer"`
		Group    string `yaml:"group"`
		Resource string `yaml:"resource"`
		Device   string `yaml:"device"`
		Action   string `yaml:"action"`
		For      string `yaml:"for"`
		RC       int    `yaml:"rc"`
		Times    int    `yaml:"times"`
		// Edits are a config-apply's edits (model.EditOp).
		Edits []model.EditOp `yaml:"edits"`
	} `yaml:"steps"`
	Expect []struct {
		By        string              `yaml:"by"`
		Running   map[string]string   `yaml:"running"`
		RunningOn map[string][]string `yaml:"running-on"`
		Promoted  map[string]string   `yaml:"promoted"`
		Stopped   []string            `yaml:"stopped"`
		Down      []string            `yaml:"down"`
		Fenced    []string            `yaml:"fenced"`
		NotFenced []string            `yaml:"not-fenced"`
		Gone      []string            `yaml:"gone"`
		Current   []string            `yaml:"current"`
	} `yaml:"expect"`
}

// Load reads a scenario file. configs is the directory of configuration
// files.
func Load(path, configs string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	name := filepath.Base(path[:len(path)-len(filepath.Ext(path))])
	sc := &Scenario{Name: name, Description: f.Description, Seeds: f.Seeds, Replicas: f.Replicas, SimOnly: f.SimOnly}
	if f.Replicas < 0 {
		return nil, fmt.Errorf("scenario %s: replicas %d: want 0 (one manager) or more", name, f.Replicas)
	}
	if sc.Seeds == 0 {
		sc.Seeds = 20
	}
	if f.Description == "" {
		return nil, fmt.Errorf("scenario %s: a description is required", name)
	}
	if f.Config == "default" {
		sc.Config = swarm.DefaultConfig()
		sc.Model, err = swarm.DefaultModel()
	} else if sc.Config, err = os.ReadFile(filepath.Join(configs, f.Config)); err == nil {
		sc.Model, err = model.Load(f.Config, sc.Config)
	}
	if err != nil {
		return nil, fmt.Errorf("scenario %s: config: %w", name, err)
	}
	dur := func(s, what string) (time.Duration, error) {
		if s == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("scenario %s: %s %q: %w", name, what, s, err)
		}
		return d, nil
	}
	if sc.Duration, err = dur(f.Duration, "duration"); err != nil {
		return nil, err
	}
	for i, s := range f.Steps {
		at, err := dur(s.At, fmt.Sprintf("steps[%d].at", i))
		if err != nil {
			return nil, err
		}
		forD, err := dur(s.For, fmt.Sprintf("steps[%d].for", i))
		if err != nil {
			return nil, err
		}
		if err := sc.checkConfigStep(i, faults.Kind(s.Kind), s.Edits); err != nil {
			return nil, err
		}
		sc.Steps = append(sc.Steps, faults.Fault{At: at, Kind: faults.Kind(s.Kind), Host: s.Host, Peer: s.Peer, Group: s.Group,
			Resource: s.Resource, Device: s.Device, Action: s.Action, For: forD, RC: s.RC, Times: s.Times, Edits: s.Edits})
	}
	for i, e := range f.Expect {
		by, err := dur(e.By, fmt.Sprintf("expect[%d].by", i))
		if err != nil {
			return nil, err
		}
		sc.Expect = append(sc.Expect, swarm.Expectation{By: by, Running: e.Running, RunningOn: e.RunningOn, Promoted: e.Promoted, Stopped: e.Stopped, Down: e.Down,
			Fenced: e.Fenced, NotFenced: e.NotFenced, Gone: e.Gone, Current: e.Current})
		sc.Duration = max(sc.Duration, by)
	}
	plan := sc.Plan(1)
	data, err = plan.Encode()
	if err == nil {
		_, err = faults.Decode(data) // the same validation as any plan
	}
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", name, err)
	}
	return sc, nil
}

// checkConfigStep checks a config-apply step: it names its edits (a
// scenario is a script, not a draw), and runs in the simulator only.
func (sc *Scenario) checkConfigStep(i int, k faults.Kind, edits []model.EditOp) error {
	switch {
	case k != faults.ConfigApply && len(edits) > 0:
		return fmt.Errorf("scenario %s: steps[%d]: edits belong to a config-apply step, not %s", sc.Name, i, k)
	case k != faults.ConfigApply:
		return nil
	case len(edits) == 0:
		return fmt.Errorf("scenario %s: steps[%d]: a config-apply step names its edits", sc.Name, i)
	case !sc.SimOnly:
		return fmt.Errorf("scenario %s: steps[%d]: config-apply runs in the simulator only: mark the scenario sim-only", sc.Name, i)
	}
	return nil
}

// Plan is the scenario's scripted fault plan for one seed: the seed moves
// timings (latencies, agent run times, tie-breaks), never the script.
func (sc *Scenario) Plan(seed uint64) faults.Plan {
	return faults.Plan{Seed: seed, Scripted: true, Chaos: sc.Duration, Heal: time.Second, Faults: sc.Steps,
		Network: faults.Network{LatencyMin: time.Millisecond, LatencyMax: 10 * time.Millisecond}}
}

// Run runs the scenario in the simulator with one seed.
func (sc *Scenario) Run(seed uint64) swarm.Result {
	return swarm.RunPlan(swarm.Config{Model: sc.Model, Text: sc.Config, Expect: sc.Expect, Replicas: sc.Replicas}, sc.Plan(seed))
}

// RunCanary runs the scenario in the simulator with one seed and a known
// defect (see swarm.Canaries) switched on.
func (sc *Scenario) RunCanary(seed uint64, canary string) swarm.Result {
	return swarm.RunPlan(swarm.Config{Model: sc.Model, Text: sc.Config, Expect: sc.Expect, Canary: canary, Replicas: sc.Replicas}, sc.Plan(seed))
}
