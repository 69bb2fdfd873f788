package manager

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/fencer"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

// Fence retry backoff, doubling from min to max: a failed fence blocks
// recovery and is retried, never guessed around.
const (
	fenceRetryMin = 5 * time.Second
	fenceRetryMax = 2 * time.Minute
)

// fenceState is a host's fencing as the manager follows it; the fencer
// runs the devices and levels.
type fenceState struct {
	active     bool // a request is with the fencer
	fails      int  // consecutive failed requests
	retryAt    time.Time
	retryTimer effect.TimerID // set while a failed fence waits for its retry
	failure    string         // why the last request failed
}

// requestFence asks the fencer to power host off.
func (mg *Manager) requestFence(now time.Time, hi *hostInfo, why, origin string) []effect.Effect {
	hi.fence.active = true
	effs := []effect.Effect{effect.Log{Level: slog.LevelWarn, Msg: "fencing host", Attrs: []slog.Attr{slog.String("host", hi.name), slog.String("why", why)}}}
	effs = mg.appendEvent(effs, now, Event{Kind: "fence-requested", Host: hi.name, Message: why})
	return append(effs, mg.fenceEffects(now, mg.fencer.Request(now, hi.name, proto.FenceOff, origin))...)
}

// fenceResult handles a fence agent's report: a step of a fence request
// (the fencer's), or one of the manager's own device checks.
func (mg *Manager) fenceResult(now time.Time, m proto.FenceResult) []effect.Effect {
	if mg.fencer.OwnsOp(m.Op) {
		return mg.fenceEffects(now, mg.fencer.Result(now, m))
	}
	p, ok := mg.ops.get(m.Op)
	if ok && p.query != "" && m.Action == proto.FenceStatus && p.host == m.Host {
		mg.ops.remove(m.Op)
		mg.powerRead(p, m)
		return []effect.Effect{mg.cancelTimer(p.timer)}
	}
	if !ok || m.Action != proto.FenceMonitor || p.resource != "" || p.query != "" || p.host != m.Host {
		return nil // late, repeated or foreign
	}
	mg.ops.remove(m.Op)
	mg.fencer.DeviceMonitored(m.Device, m.Host, m.RC == 0)
	mg.deviceChecked(DeviceCheck{Device: m.Device, Host: m.Host, At: now, RC: m.RC, Timeout: m.Timeout,
		OK: m.RC == 0 && !m.Timeout, Output: firstLine(m.Output)})
	return []effect.Effect{mg.cancelTimer(p.timer)}
}

// deviceChecked records a device monitor's outcome (DeviceChecks).
func (mg *Manager) deviceChecked(c DeviceCheck) {
	if mg.devChecks[c.Device] == nil {
		mg.devChecks[c.Device] = map[string]DeviceCheck{}
	}
	mg.devChecks[c.Device][c.Host] = c
}

// maxCheckOutput bounds the agent output a device check keeps.
const maxCheckOutput = 200

// firstLine is the first line of a fence agent's output, bounded: enough
// to say why a monitor failed.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > maxCheckOutput {
		s = strings.ToValidUTF8(s[:maxCheckOutput], "") + "..." // not cut inside a character
	}
	return s
}

// DeviceChecks returns each fence device's last monitor from each host,
// in configuration order of devices and hosts; a device no host has
// checked yet has none.
func (mg *Manager) DeviceChecks() []DeviceCheck {
	var out []DeviceCheck
	for _, d := range mg.m.FenceDevices {
		for _, h := range mg.m.Hosts {
			if c, ok := mg.devChecks[d.ID][h.Name]; ok {
				out = append(out, c)
			}
		}
	}
	return out
}

// fenceEffects passes the fencer's effects on and turns its Done effects
// into state changes. It never reconciles: it marks the transition stale,
// and the input's settle plans again.
func (mg *Manager) fenceEffects(now time.Time, effs []effect.Effect) []effect.Effect {
	out := make([]effect.Effect, 0, len(effs))
	for _, e := range effs {
		d, ok := e.(fencer.Done)
		if !ok {
			out = append(out, e)
			continue
		}
		hi := mg.hosts[d.Target]
		if hi == nil {
			continue
		}
		if d.Action == proto.FenceOn {
			out = append(out, mg.powerOnDone(now, d)...) // a power-on, not a fence
			mg.markStale()
			continue
		}
		out = append(out, mg.fenceDone(now, hi, d)...)
		mg.markStale()
	}
	return out
}

// fenceDone: a fence request ended. Success means the host is off; failure
// is retried with backoff, and recovery waits.
func (mg *Manager) fenceDone(now time.Time, hi *hostInfo, d fencer.Done) []effect.Effect {
	var out []effect.Effect
	hi.fence.active = false
	if d.OK {
		hi.fence.fails, hi.fence.failure = 0, ""
		mg.hostFenced(hi)
		how := fmt.Sprintf("by %v", d.Devices)
		if len(d.Devices) == 0 {
			how = d.Reason // the operator's confirmation
		}
		out = append(out, mg.event(now, Event{Kind: "fenced", Host: d.Target, Message: how})...)
		out = append(out, mg.endTransient(now, hi.name, "the host was fenced", nil)...)
	} else {
		hi.fence.fails++
		backoff := min(fenceRetryMin<<min(hi.fence.fails-1, 5), fenceRetryMax)
		hi.fence.retryAt = now.Add(backoff)
		hi.fence.failure = d.Reason
		if hi.fence.retryTimer != 0 {
			out = append(out, mg.cancelTimer(hi.fence.retryTimer))
		}
		hi.fence.retryTimer = mg.newTimer(timerUse{kind: fenceRetryTimer, host: hi.name})
		out = append(out, mg.batches.SetTimer(effect.SetTimer{ID: hi.fence.retryTimer, At: hi.fence.retryAt}))
		out = append(out, mg.event(now, Event{Kind: "fence-failed", Host: d.Target,
			Message: fmt.Sprintf("%s; retrying in %s", d.Reason, backoff)})...)
	}
	if idx, ok := mg.fenceAct[d.Target]; ok && mg.trans != nil && idx < len(mg.trans.state) {
		if d.OK {
			mg.trans.set(idx, succeeded)
		} else {
			mg.trans.set(idx, failed)
			mg.trans.stale = true
		}
		delete(mg.fenceAct, d.Target)
	}
	return out
}

// hostFenced: the host is confirmed off; nothing runs there, and nothing
// sent to it will be answered.
func (mg *Manager) hostFenced(hi *hostInfo) {
	mg.setHostState(hi, planner.Offline, false)
	hi.talking = false
	for _, r := range mg.m.Resources {
		mg.observed.forget(r.ID, hi.name)
	}
	for _, id := range mg.ops.onHost(hi.name) {
		if p, ok := mg.ops.get(id); ok {
			mg.ops.remove(id)
			if p.timer != 0 {
				delete(mg.timers, p.timer)
			}
			if p.query != "" {
				mg.powerLost(p, "its executor "+hi.name+" was fenced")
			}
			if !(p.recurring && p.answered) {
				mg.actionDone(p, false)
			}
		}
	}
	mg.setOnline()
}
