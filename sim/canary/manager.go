// Package canary holds the known defects that the checkers must catch.
// None of them lives in a production type: each is a wrapper at a
// machine's input/effect boundary, which rewrites what the machine asked
// for and feeds back what a broken world would have answered (manager.go),
// or hands the machine doctored inputs (agent.go). The simulator installs
// them by name; the live daemons only in builds with the canary tag
// (cmd/basalt-manager/canary.go, cmd/basalt-agent/canary.go), so that a
// release build carries no defect.
package canary

import (
	"fmt"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proto"
)

// Intercept rewrites one batch of the manager's effects, feeding inputs
// back to it where the defect answers in place of the world; it returns
// what the driver carries out.
type Intercept func(m *manager.Manager, now time.Time, effs []effect.Effect) []effect.Effect

// Manager canary names.
const (
	SkipFenceName = "skip-fence"
	NoProbeName   = "no-probe"
)

// ForManager returns the intercept of a manager canary; nil (and no
// error) for "" and for canaries that are not the manager's.
func ForManager(name string) (Intercept, error) {
	switch name {
	case SkipFenceName:
		return SkipFence, nil
	case NoProbeName:
		return NoProbe, nil
	case PromoteBeforeFenceName:
		return PromoteBeforeFence, nil
	case "", IgnoreEpochName, ObeyEveryConnectionName, NoOrphanKillName, NoClockJumpGraceName, IgnoreLeaseName:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown canary %q", name)
}

// maxFeedback bounds how many answers one batch may feed back (each answer
// may cause further requests): a defect must not hang its driver.
const maxFeedback = 64

// SkipFence believes every fence at once: the power-off request still goes
// out, but the manager is told at once that it succeeded, and the status
// check that should confirm it is answered "off" without being asked. The
// lost host's groups start elsewhere while it may still run them.
func SkipFence(m *manager.Manager, now time.Time, effs []effect.Effect) []effect.Effect {
	return feedback(m, now, effs, func(e effect.Effect) (bool, effect.Message) {
		s, ok := e.(*effect.Send)
		if !ok {
			return true, nil
		}
		f, ok := s.Msg.(proto.FenceExec)
		if !ok || f.Target == "" {
			return true, nil
		}
		answer := proto.FenceResult{Host: s.To, Epoch: f.Epoch, Op: f.Op, Device: f.Device, Action: f.Action, Target: f.Target}
		switch f.Action {
		case proto.FenceOff, proto.FenceReboot:
			return true, answer // the real fence still happens, later
		case proto.FenceStatus:
			answer.RC = 2 // "off"
			return false, answer
		}
		return true, nil
	})
}

// NoProbe never asks what runs where: every probe is answered "not
// running" without being sent, so a resource still running on a host (after
// a manager restart, or on a host that came back) is started again
// elsewhere.
func NoProbe(m *manager.Manager, now time.Time, effs []effect.Effect) []effect.Effect {
	return feedback(m, now, effs, func(e effect.Effect) (bool, effect.Message) {
		s, ok := e.(*effect.Send)
		if !ok {
			return true, nil
		}
		x, ok := s.Msg.(proto.Exec)
		if !ok || x.Request.Action != ocf.Monitor || x.Request.Interval != 0 {
			return true, nil
		}
		return false, proto.OpResult{Host: s.To, Epoch: x.Epoch, Op: x.Op, Result: lrm.Result{
			Resource: x.Resource.ID, Name: x.Resource.Name, Action: ocf.Monitor, RC: ocf.NotRunning, Status: lrm.Done,
			Outcome: ocf.Classify(ocf.Monitor, ocf.NotRunning, true), QueuedAt: now, StartedAt: now, EndedAt: now}}
	})
}

// answer is what a defect feeds back in place of a host.
type answer struct {
	from string
	msg  effect.Message
}

// feedback applies a defect to a batch: rule says for each effect whether
// it is kept and what answer, if any, is fed back to the manager. Answers
// are fed after the batch, each as an input of its own, and their effects
// go through the same rule.
func feedback(m *manager.Manager, now time.Time, effs []effect.Effect, rule func(effect.Effect) (bool, effect.Message)) []effect.Effect {
	var out []effect.Effect
	queue := [][]effect.Effect{effs}
	for fed := 0; len(queue) > 0; {
		batch := queue[0]
		queue = queue[1:]
		var answers []answer
		for _, e := range batch {
			keep, msg := rule(e)
			if keep {
				out = append(out, e)
			}
			if msg != nil {
				// Only a Send is ever answered: the answer comes from the
				// host it was sent to, as the world's would.
				answers = append(answers, answer{from: e.(*effect.Send).To, msg: msg})
			}
		}
		for _, a := range answers {
			if fed++; fed > maxFeedback {
				return out
			}
			queue = append(queue, m.Receive(now, a.from, a.msg))
		}
	}
	return out
}
