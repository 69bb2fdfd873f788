package harness

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/basalt-ha/basalt/core/model"
	simcluster "github.com/basalt-ha/basalt/sim/cluster"
)

// Realization says how a simulator configuration becomes one real
// processes can run on this machine.
type Realization struct {
	// Scale multiplies every duration of the configuration (and of the
	// scenario driving it), so that minutes of cluster life take seconds:
	// 0.2 runs five times faster than written.
	Scale float64
	// Addrs is each host's agent address as the manager dials it (the
	// agent's own, or the proxy in front of it).
	Addrs map[string]string
	// OCFRoot holds the test resource agents (the repository's agents/ocf).
	OCFRoot string
	// KeepAgents keeps every resource's agent and parameters as written
	// (real OCF agents under OCFRoot, such as Debian's
	// ocf:heartbeat:Dummy) rather than making it a statefile resource.
	KeepAgents bool
	// HostsDir holds one directory per host for the PID fence agent.
	HostsDir string
	// FaultsDir holds one fault file per fence device (see
	// fence_basalt_pid's fault_file).
	FaultsDir string
}

// Floors under scaled durations: real processes on a loaded two-core CI
// machine need this much slack, whatever the scale. A heartbeat stalled a
// little longer than the dead timeout would fence a healthy host, which
// scenarios that expect nobody fenced would (rightly) report.
var floors = map[string]time.Duration{
	"heartbeat-interval": 250 * time.Millisecond,
	"dead-timeout":       2 * time.Second,
	"fence-timeout":      5 * time.Second,
	"timeout":            5 * time.Second,
	"start-timeout":      5 * time.Second,
	"stop-timeout":       5 * time.Second,
	"monitor-timeout":    5 * time.Second,
	"interval":           500 * time.Millisecond,
}

// Realize rewrites a cluster configuration written for the simulator into
// one for real processes: every resource becomes an ocf:basalt:statefile
// resource (its state file in the host's runtime directory), every fence
// device a fence_basalt_pid device wired to the hosts it names, every host
// gets its local address, and every duration is scaled (with floors). The
// configuration's structure (groups, domains, topology, thresholds) is
// kept exactly, so the real cluster makes the decisions the simulated one
// does. It returns the new file and its model, loaded and validated.
// With KeepAgents, the resources are kept as they are.
func Realize(name string, src []byte, r Realization) ([]byte, *model.Model, error) {
	if r.Scale <= 0 || r.Scale > 1 {
		return nil, nil, fmt.Errorf("realize %s: scale %v: want 0 < scale <= 1", name, r.Scale)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, nil, fmt.Errorf("realize %s: %w", name, err)
	}
	cluster, _ := doc["cluster"].(map[string]any)
	if cluster == nil {
		return nil, nil, fmt.Errorf("realize %s: no cluster section", name)
	}
	cluster["ocf-root"] = r.OCFRoot
	hosts, _ := doc["hosts"].([]any)
	for i, h := range hosts {
		hm, _ := h.(map[string]any)
		hn, _ := hm["name"].(string)
		addr, ok := r.Addrs[hn]
		if !ok {
			return nil, nil, fmt.Errorf("realize %s: hosts[%d] %q has no address", name, i, hn)
		}
		hm["address"] = addr
	}
	devs, _ := doc["fence-devices"].([]any)
	for _, d := range devs {
		dm, _ := d.(map[string]any)
		id, _ := dm["id"].(string)
		dm["agent"] = "fence_basalt_pid"
		dm["params"] = map[string]any{"hosts_dir": r.HostsDir, "fault_file": filepath.Join(r.FaultsDir, id)}
		// The PID fence agent's plug is the host's own directory, whatever
		// port the simulated device had the host on.
		plugs := map[string]any{}
		if hm, ok := dm["hosts"].(map[string]any); ok {
			for h := range hm {
				plugs[h] = h
			}
		}
		dm["hosts"] = plugs
	}
	rscs, _ := doc["resources"].([]any)
	if r.KeepAgents {
		rscs = nil
	}
	promotable := promotableResources(doc)
	for _, x := range rscs {
		rm, _ := x.(map[string]any)
		rm["agent"] = "ocf:basalt:statefile"
		// The state file defaults to the host's runtime directory, named
		// after the resource: what the harness watches as ground truth.
		// Only the statefile agent's own delay (a slow start or stop) is
		// kept.
		params, _ := rm["params"].(map[string]any)
		delete(rm, "params")
		kept := map[string]any{}
		if d, ok := params["delay"]; ok {
			kept["delay"] = d
		}
		if id, _ := rm["id"].(string); promotable[id] {
			// A promotable clone's instance publishes a score: each
			// instance (numbered by its host's place) the one the
			// simulator's would on its host's first boot, so that both
			// worlds promote the same instance.
			scores := make([]string, len(hosts))
			for i := range hosts {
				scores[i] = strconv.Itoa(simcluster.PromotionScore(i, 1, len(hosts)))
			}
			kept["promotion_score"] = strings.Join(scores, " ")
		}
		if len(kept) > 0 {
			rm["params"] = kept
		}
	}
	if err := scaleDurations(doc, "", r.Scale); err != nil {
		return nil, nil, fmt.Errorf("realize %s: %w", name, err)
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("realize %s: %w", name, err)
	}
	m, err := model.Load(name, out)
	if err != nil {
		return nil, nil, fmt.Errorf("realize %s: the realized configuration does not load: %w", name, err)
	}
	return out, m, nil
}

// promotableResources are the members of the document's promotable
// groups.
func promotableResources(doc map[string]any) map[string]bool {
	out := map[string]bool{}
	groups, _ := doc["groups"].([]any)
	for _, x := range groups {
		gm, _ := x.(map[string]any)
		pl, _ := gm["placement"].(map[string]any)
		if p, _ := pl["promotable"].(bool); !p {
			continue
		}
		members, _ := gm["members"].([]any)
		for _, m := range members {
			mm, _ := m.(map[string]any)
			if id, ok := mm["resource"].(string); ok {
				out[id] = true
			}
		}
	}
	return out
}

// scaleDurations walks the document and scales every duration-valued
// string, except in agent parameters (a parameter that looks like a
// duration means whatever the agent says it means).
func scaleDurations(v any, key string, scale float64) error {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "params" {
				continue
			}
			if s, ok := v[k].(string); ok {
				d, err := time.ParseDuration(s)
				if err != nil || !strings.ContainsAny(s, "hms") {
					continue
				}
				v[k] = ScaleDuration(k, d, scale).String()
				continue
			}
			if err := scaleDurations(v[k], k, scale); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range v {
			if err := scaleDurations(x, key, scale); err != nil {
				return err
			}
		}
	}
	return nil
}

// ScaleDuration scales one duration of the configuration named key, with
// the floor real processes need for that key.
func ScaleDuration(key string, d time.Duration, scale float64) time.Duration {
	if d == 0 {
		return 0
	}
	s := time.Duration(float64(d) * scale).Round(time.Millisecond)
	return max(s, floors[key])
}
