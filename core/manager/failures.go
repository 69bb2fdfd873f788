package manager

import (
	"log/slog"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/planner"
)

// fail counts a failure of r on host (hard: the host is banned for it).
func (mg *Manager) fail(now time.Time, r *model.Resource, host string, hard bool) {
	if mg.failures[r.ID] == nil {
		mg.failures[r.ID] = map[string]planner.Failure{}
	}
	f := mg.failures[r.ID][host]
	f.Count++
	f.Last = now
	f.Hard = f.Hard || hard
	mg.failures[r.ID][host] = f
}

// failure applies an operation failure's consequences: fail counts, hard
// and fatal errors, and the on-fail and recovery policies.
func (mg *Manager) failure(now time.Time, r *model.Resource, host string, res lrm.Result, onFail model.OnFail) []effect.Effect {
	effs := []effect.Effect{mg.logRsc(slog.LevelWarn, r.ID, "operation failed", slog.String("host", host),
		slog.String("op", res.Key().String()), slog.String("result", describe(res)))}
	switch res.Outcome {
	case ocf.FatalFailure:
		mg.fatal[r.ID] = describe(res)
		return append(effs, mg.event(now, Event{Kind: "fatal", Resource: r.ID, Name: r.Name, Message: describe(res)})...)
	case ocf.HardFailure:
		mg.fail(now, r, host, true)
		return append(effs, mg.event(now, Event{Kind: "failure", Host: host, Resource: r.ID, Name: r.Name, Count: mg.failures[r.ID][host].Count,
			Flag: true, Message: describe(res)})...)
	}
	if onFail == model.OnFailIgnore {
		return effs
	}
	if res.Action != ocf.Start {
		mg.fail(now, r, host, false)
	}
	effs = append(effs, mg.event(now, Event{Kind: "failure", Host: host, Resource: r.ID, Name: r.Name,
		Count: mg.failures[r.ID][host].Count, Flag: mg.failures[r.ID][host].Hard, Message: res.Key().String() + ": " + describe(res)})...)
	return append(effs, mg.onFail(now, r, host, onFail)...)
}

// onFail applies the on-fail policy of a failed operation, and the group's
// recovery policy.
func (mg *Manager) onFail(now time.Time, r *model.Resource, host string, onFail model.OnFail) []effect.Effect {
	var effs []effect.Effect
	gid, _ := mg.m.GroupOf(r.ID)
	g, _ := mg.m.Group(gid)
	switch onFail {
	case model.OnFailBlock:
		mg.cons.Blocked[r.ID] = true
		effs = append(effs, mg.event(now, Event{Kind: "blocked", Resource: r.ID, Name: r.Name, Flag: true})...)
	case model.OnFailStop:
		mg.cons.TargetRoles[gid] = model.RoleStopped
		effs = append(effs, mg.event(now, Event{Kind: "target-role", Group: gid, Role: string(model.RoleStopped), Message: "on-fail=stop"})...)
	case model.OnFailFence:
		if mg.m.Cluster.Fencing {
			mg.observed[r.ID][host] = planner.Observed{State: planner.StopFailed} // forces the fence
		}
	case model.OnFailStandby:
		if hi := mg.hosts[host]; hi != nil && !hi.standby {
			hi.standby = true
			effs = append(effs, mg.event(now, Event{Kind: "standby", Host: host, Flag: true, Message: "on-fail=standby"})...)
		}
	}
	if g != nil && g.Placement.Recovery == model.RecoveryDisable {
		mg.cons.TargetRoles[gid] = model.RoleStopped
		effs = append(effs, mg.event(now, Event{Kind: "target-role", Group: gid, Role: string(model.RoleStopped), Message: "recovery=disable"})...)
	}
	return effs
}
