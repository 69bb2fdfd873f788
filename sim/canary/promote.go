package canary

import (
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/core/proto"
)

// PromoteBeforeFenceName names the canary of a manager that promotes a new
// primary as soon as it asks for the old one's fence, not once the fence
// is confirmed.
const PromoteBeforeFenceName = "promote-before-fence"

// NeedsPromotable reports whether a canary can only show in a cluster with
// a promotable clone; a run without one gets the simulator's promotable
// cluster.
func NeedsPromotable(name string) bool { return name == PromoteBeforeFenceName }

// canaryOps numbers the promotes the canary sends, far from the manager's
// own operation IDs: their results are foreign to it and dropped.
const canaryOps proto.OpID = 1 << 62

// PromoteBeforeFence: with every fence the manager requests of a host where
// a promotable clone's instance runs promoted, it also sends a promote to
// an unpromoted instance of that clone on another online host, at once.
// The old primary may still run promoted until its host is off: two
// primaries, as a manager that promoted on the loss rather than on the
// confirmed fence would make them.
func PromoteBeforeFence(m *manager.Manager, now time.Time, effs []effect.Effect) []effect.Effect {
	out := effs
	n := 0
	for _, e := range effs {
		s, ok := e.(*effect.Send)
		if !ok {
			continue
		}
		f, ok := s.Msg.(proto.FenceExec)
		if !ok || f.Target == "" || (f.Action != proto.FenceOff && f.Action != proto.FenceReboot) {
			continue
		}
		promotes := earlyPromotes(m, now, f.Target, &n)
		out = append(out, promotes...)
	}
	return out
}

// earlyPromotes are the promotes the defect sends for a fence of target;
// n numbers them within the batch.
func earlyPromotes(m *manager.Manager, now time.Time, target string, n *int) []effect.Effect {
	mdl := m.Model()
	var effs []effect.Effect
	for _, g := range mdl.Groups {
		if !g.Placement.Clone.Promotable {
			continue
		}
		for _, rid := range g.Resources() {
			r, ok := mdl.Resource(rid)
			if !ok || !m.Observed(rid, target).Promoted {
				continue
			}
			for _, h := range mdl.HostNames() {
				o := m.Observed(rid, h)
				if h == target || m.HostState(h) != planner.Online || o.State != planner.Running || o.Promoted {
					continue
				}
				*n++
				// Numbered by virtual time, so that a seed replays alike:
				// far above the manager's own operation IDs.
				op := canaryOps + proto.OpID(now.UnixNano()%(1<<40))*16 + proto.OpID(*n%16)
				effs = append(effs, &effect.Send{To: h, Conn: m.HostConn(h), Msg: proto.Exec{Epoch: m.Epoch(), Op: op,
					Resource: lrm.Resource{ID: r.ID, Name: r.Name, Agent: r.Agent, Params: r.Params},
					Request:  lrm.OpRequest{Resource: r.ID, Action: ocf.Promote, Timeout: r.Start.Timeout}}})
				break // one new primary is enough to make two
			}
		}
	}
	return effs
}
