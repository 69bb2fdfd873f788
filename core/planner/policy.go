package planner

import (
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/basalt-ha/basalt/core/model"
)

// The failure policies: what the recorded failures (Input.Failures) mean
// for the plan, by the model's on-fail policy of the operation that failed
// and the group's recovery policy. Deciding here, not in the manager, keeps
// the whole decision in one pure function that golden files test, and
// keeps the manager's state to what it observed.
//
//	on-fail=restart  restart in place; relocate past the migration threshold
//	on-fail=ignore   the failure neither counts nor shows: running as before
//	on-fail=block    the group is left alone until a cleanup
//	on-fail=stop     the group is stopped everywhere until a cleanup
//	on-fail=fence    the host is fenced while the failed resource may run there
//	on-fail=standby  the host runs nothing until a cleanup
//	recovery=disable any failure of a member stops the group until a cleanup
//
// A failed stop leaves the resource in an unknown state on its host: it is
// fenced, unless the stop's policy is block or fencing is off, which block,
// or standby, which blocks the group and empties the host of the rest.

// OnFail returns the policy that applies to a failure: the on-fail of the
// operation that failed, restart when the failure does not say which.
func OnFail(m *model.Model, rsc string, f Failure) model.OnFail {
	r, ok := m.Resource(rsc)
	if !ok {
		return model.OnFailRestart
	}
	switch f.Op {
	case FailedStart:
		return r.Start.OnFail
	case FailedStop:
		// The loader refuses fence without fencing and the values that
		// cannot answer a failed stop; block stands for any it let by.
		switch {
		case r.Stop.OnFail == model.OnFailFence && m.Cluster.Fencing, r.Stop.OnFail == model.OnFailStandby:
			return r.Stop.OnFail
		}
		return model.OnFailBlock
	case FailedMonitor:
		if f.Monitor >= 0 && f.Monitor < len(r.Monitors) {
			return r.Monitors[f.Monitor].OnFail
		}
	}
	return model.OnFailRestart
}

// policies are the plan-wide consequences of the failures.
type policies struct {
	blocked map[string]string // resource -> why its group is left alone
	stopped map[string]string // group -> why it is stopped everywhere
	standby map[string]string // host -> why it runs nothing
	fence   map[string]string // host -> why it is fenced
	ignored map[string]map[string]bool
	// stopBlocks: resource -> host -> why, for a failed stop that blocks
	// (its on-fail is block, or fencing is off) while it stands there. It
	// blocks the group unless the host is fenced anyway: a fence proves the
	// resource stopped (see Plan).
	stopBlocks map[string]map[string]string
}

// derivePolicies reads every failure, in sorted order so that the reasons
// given are deterministic. Its maps are made as they get their first
// entry (a nil map reads as empty): most plans have no failure at all.
func derivePolicies(in *Input) policies {
	var pol policies
	if len(in.Constraints.Blocked) > 0 {
		pol.blocked = map[string]string{}
	}
	for r := range in.Constraints.Blocked {
		if in.Constraints.Blocked[r] {
			pol.blocked[r] = fmt.Sprintf("%s failed with on-fail=block; clean it up", r)
		}
	}
	for _, r := range sortedKeys(in.Failures) {
		for _, h := range sortedKeys(in.Failures[r]) {
			pol.apply(in, r, h, in.Failures[r][h])
		}
	}
	return pol
}

// apply derives the consequences of one failure of r on host h.
func (pol *policies) apply(in *Input, r, h string, f Failure) {
	if f.Op == "" {
		return
	}
	onFail := OnFail(in.Model, r, f)
	switch onFail {
	case model.OnFailIgnore:
		if pol.ignored == nil {
			pol.ignored = map[string]map[string]bool{}
		}
		if pol.ignored[r] == nil {
			pol.ignored[r] = map[string]bool{}
		}
		pol.ignored[r][h] = true
		return
	case model.OnFailBlock:
		if f.Op == FailedStop {
			pol.stopBlock(in, r, h, onFail)
			return
		}
		setFirst(&pol.blocked, r, fmt.Sprintf("%s failed with on-fail=block; clean it up", r))
	case model.OnFailStop:
		if gid, ok := in.Model.GroupOf(r); ok {
			setFirst(&pol.stopped, gid, fmt.Sprintf("on-fail=stop: %s %s failed on %s; clean it up", r, f.Op, h))
		}
	case model.OnFailFence:
		// A failed stop is fenced as such (see Plan); any other failure
		// while the resource may still run there asks for the fence.
		if f.Op != FailedStop && in.Model.Cluster.Fencing && active(in.rawState(r, h)) {
			setFirst(&pol.fence, h, fmt.Sprintf("on-fail=fence: %s %s failed", r, f.Op))
		}
	case model.OnFailStandby:
		if f.Op == FailedStop {
			// What the failed stop left is settled as by block (no fence,
			// nothing started elsewhere); everything else leaves the host.
			pol.stopBlock(in, r, h, onFail)
		}
		setFirst(&pol.standby, h, fmt.Sprintf("on-fail=standby: %s %s failed here; clean it up", r, f.Op))
	}
	if gid, ok := in.Model.GroupOf(r); ok && f.Op != FailedStop {
		// A failed stop is no failure of the service: the fence (or the
		// block) answers it, and once fenced the resource is stopped.
		if g, _ := in.Model.Group(gid); g.Placement.Recovery == model.RecoveryDisable {
			setFirst(&pol.stopped, gid, fmt.Sprintf("recovery=disable: %s failed on %s; clean it up", r, h))
		}
	}
}

// stopBlock records a failed stop that blocks, while it still stands: once
// the host is fenced (the manager forgets what ran there) or a probe has
// said what it left behind, the failure record no longer blocks anything.
func (pol *policies) stopBlock(in *Input, r, h string, onFail model.OnFail) {
	if in.rawState(r, h) != StopFailed {
		return
	}
	why := fmt.Sprintf("stop of %s failed on %s with on-fail=%s; clean it up", r, h, onFail)
	if !in.Model.Cluster.Fencing {
		why = fmt.Sprintf("stop of %s failed on %s and fencing is off; clean it up", r, h)
	}
	if pol.stopBlocks == nil {
		pol.stopBlocks = map[string]map[string]string{}
	}
	if pol.stopBlocks[r] == nil {
		pol.stopBlocks[r] = map[string]string{}
	}
	pol.stopBlocks[r][h] = why
}

// settleStopBlocks turns the standing stop blocks into group blocks, but
// for the hosts fenced in this transition: the fence proves the resource
// stopped there, so it is recoverable elsewhere once the fence is
// confirmed (every start waits for it), without a cleanup.
func (pol *policies) settleStopBlocks(fenced map[string]int) {
	for _, r := range sortedKeys(pol.stopBlocks) {
		for _, h := range sortedKeys(pol.stopBlocks[r]) {
			if _, ok := fenced[h]; !ok {
				setFirst(&pol.blocked, r, pol.stopBlocks[r][h])
			}
		}
	}
}

// setFirst sets (*m)[k] to why unless k has an entry, making the map if
// it is nil.
func setFirst(m *map[string]string, k, why string) {
	if _, ok := (*m)[k]; ok {
		return
	}
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[k] = why
}

// Blocked returns why a resource (and its group) is left alone, "" when it
// is not: for status displays and reports.
func Blocked(in Input, rsc string) string { return Blocks(in)(rsc) }

// Blocks is Blocked for many resources of one input: it derives the
// policies once, where calling Blocked for each resource would derive them
// again each time.
func Blocks(in Input) func(rsc string) string {
	in.hostIdx = indexHosts(in.Hosts)
	pol := derivePolicies(&in)
	in = pol.effective(in)
	fenced := map[string]int{}
	for i, f := range fencesOf(&in, &pol, newIndex(&in)) {
		fenced[f.host] = i
	}
	pol.settleStopBlocks(fenced)
	return func(rsc string) string {
		if why := pol.blocked[rsc]; why != "" {
			return why
		}
		if gid, ok := in.Model.GroupOf(rsc); ok {
			g, _ := in.Model.Group(gid)
			if hosts, found := in.Constraints.FoundActive[gid]; found && g.Placement.MultipleActive == model.MultipleBlock {
				return fmt.Sprintf("found active on %s (multiple-active=block)", strings.Join(hosts, ", "))
			}
		}
		return ""
	}
}

// effective returns the input as the policies make the planner see it: an
// ignored failure is running as before, a resource on a host to be fenced
// for it is as good as stop-failed there (only the fence ends it), a host in
// standby by policy is in standby.
func (pol *policies) effective(in Input) Input {
	if len(pol.ignored) == 0 && len(pol.fence) == 0 && len(pol.standby) == 0 {
		return in
	}
	// Only an entry with a failure record can change: copy those
	// resources' entries, not the whole cluster's.
	obs := in.Observed
	copied := map[string]bool{}
	for r, byHost := range in.Failures { // purity:unordered each entry is rewritten on its own
		for h := range byHost { // purity:unordered as above
			o := in.Observed[r][h]
			switch {
			case o.State == Failed && pol.ignored[r][h]:
				o = Observed{State: Running, Monitored: true}
			case o.State == Failed && pol.fence[h] != "" && pol.fenceFor(in, r, h):
				o = Observed{State: StopFailed}
			default:
				continue
			}
			if !copied[r] {
				if len(copied) == 0 {
					obs = maps.Clone(in.Observed)
				}
				obs[r], copied[r] = maps.Clone(in.Observed[r]), true
			}
			obs[r][h] = o
		}
	}
	in.Observed = obs
	hosts := make([]Host, len(in.Hosts))
	for i, h := range in.Hosts {
		if pol.standby[h.Name] != "" {
			h.Standby = true
		}
		hosts[i] = h
	}
	in.Hosts = hosts
	return in
}

// fenceFor: r's own failure on h asks for the fence.
func (pol *policies) fenceFor(in Input, r, h string) bool {
	f, ok := in.Failures[r][h]
	return ok && OnFail(in.Model, r, f) == model.OnFailFence
}

// rawState is the recorded state, before policies.
func (in *Input) rawState(rsc, host string) RscState { return in.state(rsc, host).State }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
