package ocf

import (
	"slices"
	"strconv"
	"strings"
)

// Reloadability is what an agent's meta-data says about reloading one
// definition instead of restarting it (Pacemaker's op-restart-digest): the
// action that reloads, the parameters whose change forces a restart
// anyway, and the digest of those parameters' values. A definition whose
// restart digest matches the running one's differs from it in reloadable
// parameters only.
type Reloadability struct {
	// Action is ReloadAgent (OCF 1.1), Reload (the legacy usage), or ""
	// when the agent cannot reload.
	Action Action `json:",omitempty"`
	// ForceRestart lists, sorted, every parameter whose change needs a
	// restart: each declared parameter the meta-data does not mark
	// reloadable, and each configured parameter it does not declare (an
	// unknown parameter proves nothing reloadable).
	ForceRestart []string `json:",omitempty"`
	// RestartDigest is RestartDigest(agent, params, ForceRestart).
	RestartDigest string `json:",omitempty"`
}

// CanReload reports whether the agent reloads at all.
func (r Reloadability) CanReload() bool { return r.Action != "" }

// ReloadabilityOf computes a definition's Reloadability from its agent's
// meta-data, after Pacemaker: an agent that advertises reload-agent
// reloads the parameters marked reloadable="1"; one that advertises only
// reload and does not claim OCF 1.1 or later reloads its non-unique
// parameters (Pacemaker's deprecated usage, still supported for such
// agents); any other agent reloads nothing. A nil md (the meta-data could
// not be had) reloads nothing.
func ReloadabilityOf(md *MetaData, a Agent, params map[string]string) Reloadability {
	if md == nil {
		return Reloadability{}
	}
	var reloadable func(Parameter) bool
	var action Action
	switch _, agentReload := md.Action(ReloadAgent); {
	case agentReload:
		action, reloadable = ReloadAgent, func(p Parameter) bool { return p.Reloadable }
	case hasAction(md, Reload) && !claimsOCF11(md.Version):
		action, reloadable = Reload, func(p Parameter) bool { return !p.Unique }
	default:
		return Reloadability{}
	}
	force := map[string]bool{}
	for _, p := range md.Parameters {
		if !reloadable(p) {
			force[p.Name] = true
		}
	}
	for k := range params { // purity:unordered a set, sorted below
		if _, declared := md.Parameter(k); !declared {
			force[k] = true
		}
	}
	names := make([]string, 0, len(force))
	for n := range force { // purity:unordered sorted below
		names = append(names, n)
	}
	slices.Sort(names)
	return Reloadability{Action: action, ForceRestart: names, RestartDigest: RestartDigest(a, params, names)}
}

// RestartDigest is the digest (Digest) of params restricted to the names
// in force: what must stay equal for a change to be reloadable.
func RestartDigest(a Agent, params map[string]string, force []string) string {
	kept := make(map[string]string, len(force))
	for _, n := range force {
		if v, ok := params[n]; ok {
			kept[n] = v
		}
	}
	return Digest(a, kept)
}

func hasAction(md *MetaData, name Action) bool {
	_, ok := md.Action(name)
	return ok
}

// claimsOCF11 reports whether a meta-data <version> (the OCF API version
// the agent claims) is 1.1 or later.
func claimsOCF11(v string) bool {
	major, minor, _ := strings.Cut(strings.TrimSpace(v), ".")
	maj, err := strconv.Atoi(major)
	if err != nil {
		return false
	}
	mnr, _ := strconv.Atoi(minor)
	return maj > 1 || (maj == 1 && mnr >= 1)
}
