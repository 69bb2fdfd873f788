// Package whatif answers "what would the manager do if...": it builds a
// simulated cluster (sim/cluster) in a saved or live state, lets the real
// manager state machine settle in it, injects events (a host down, a
// monitor failure, a new configuration, seeded faults), and reports each
// transition the manager runs, step by step, and where everything ends up.
// It is basalt simulate's engine; it decides nothing itself, the core does.
//
// A state is what `basalt status -o json` prints. This package reads the
// part of it that it needs with its own types (the simulator may not
// import the admin API's package, which opens sockets): their JSON names
// are the API's, and cmd/basalt's tests check that a status round-trips.
package whatif

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// State is a cluster's state as a saved status holds it.
type State struct {
	Cluster     string `json:"cluster"`
	Maintenance bool   `json:"maintenance"`
	// Role is "standby" for a standby manager's status, which knows
	// nothing of the cluster.
	Role        string            `json:"role,omitempty"`
	Hosts       []HostState       `json:"hosts"`
	Groups      []GroupState      `json:"groups"`
	Constraints []ConstraintState `json:"constraints,omitempty"`
	// Config is the running configuration; nil in a status saved from a
	// manager that did not report it.
	Config *ConfigState `json:"config,omitempty"`
}

// HostState is one host: what the manager believed of it.
type HostState struct {
	Name string `json:"name"`
	// State is online, offline or unclean.
	State   string `json:"state"`
	Standby bool   `json:"standby,omitempty"`
	Fencing string `json:"fencing,omitempty"`
}

// GroupState is one group and its resources.
type GroupState struct {
	ID string `json:"id"`
	// Target is the group's target role: started or stopped.
	Target    string          `json:"target_role"`
	Managed   bool            `json:"managed"`
	Placed    []string        `json:"placed_on"`
	Orphan    bool            `json:"orphan,omitempty"`
	Resources []ResourceState `json:"resources"`
}

// ResourceState is one resource: where it runs and what failed.
type ResourceState struct {
	ID        string         `json:"id"`
	RunningOn []string       `json:"running_on"`
	FailCount map[string]int `json:"fail_counts,omitempty"`
	Fatal     string         `json:"fatal,omitempty"`
	Blocked   bool           `json:"blocked,omitempty"`
}

// ConstraintState is an administrator's move or ban in force.
type ConstraintState struct {
	Kind  string    `json:"kind"`
	Group string    `json:"group"`
	Host  string    `json:"host"`
	Until time.Time `json:"until,omitzero"`
}

// ConfigState is the running configuration.
type ConfigState struct {
	Version int    `json:"version"`
	Text    string `json:"text"`
}

// ParseState reads a saved status; name is where it came from, for the
// errors.
func ParseState(name string, data []byte) (State, error) {
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, fmt.Errorf("%s: not a saved status (basalt status -o json): %w", name, err)
	}
	if st.Role == "standby" {
		return State{}, fmt.Errorf("%s: the status of a standby manager, which knows nothing of the cluster: save the leader's", name)
	}
	if len(st.Hosts) == 0 {
		return State{}, fmt.Errorf("%s: not a saved status (basalt status -o json): it lists no hosts", name)
	}
	return st, nil
}

// errNoConfig is a state without its configuration and no file given.
var errNoConfig = errors.New("the state holds no configuration (its \"config\" is missing: the manager that saved it did not report it); " +
	"give the cluster's configuration file with --config FILE")
