package manager

import (
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/invariant"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proto"
)

var garbageSeeds = flag.Int("garbage-seeds", 50, "seeds of TestArbitraryInputNeverBreaksAnInvariant")

// TestArbitraryInputNeverBreaksAnInvariant throws seeded garbage at a
// manager: messages from known and unknown hosts naming ops it did and did
// not send, with any epoch and rc; timers it did and did not set; admin
// requests valid and not; attribute updates of any host, name, value and
// lifetime; connections reset, refused or silent. Nothing may panic: bad
// input is dropped or answered with an error, and the manager's own invariants hold.
func TestArbitraryInputNeverBreaksAnInvariant(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "clusters", "pair.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load("pair.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= uint64(*garbageSeeds); seed++ {
		runGarbage(t, m, seed)
	}
}

func runGarbage(t *testing.T, m *model.Model, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	mg := New(Config{Model: m})
	now := t0
	effs, err := mg.Start(now, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sentOps []proto.OpID
	var timers []effect.TimerID
	note := func(effs []effect.Effect) {
		for _, e := range effs {
			switch e := e.(type) {
			case *effect.SetTimer:
				timers = append(timers, e.ID)
			case *effect.Send:
				switch x := e.Msg.(type) {
				case proto.Exec:
					sentOps = append(sentOps, x.Op)
				case proto.FenceExec:
					sentOps = append(sentOps, x.Op)
				}
			}
		}
	}
	note(effs)
	hosts := []string{"h1", "h2", "h9", ""}
	rscs := []string{"fs", "ip", "nosuch", ""}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	op := func() proto.OpID {
		if len(sentOps) > 0 && rng.IntN(4) > 0 {
			return sentOps[rng.IntN(len(sentOps))]
		}
		return proto.OpID(rng.IntN(50))
	}
	epoch := func() proto.Epoch { return proto.Epoch(rng.IntN(3)) + mg.Epoch() - 1 }
	defer func() {
		if r := recover(); r != nil {
			if e, ok := invariant.Recovered(r); ok {
				t.Fatalf("seed %d: %s", seed, e.Error())
			}
			t.Fatalf("seed %d: panic: %v", seed, r)
		}
	}()
	for step := 0; step < 400 && !mg.Deposed(); step++ {
		now = now.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
		// The sender the transport proved is mostly the host the message
		// names; now and then a forgery.
		h, from := pick(hosts), ""
		if from = h; rng.IntN(10) == 0 {
			from = pick(hosts)
		}
		switch rng.IntN(10) {
		case 0:
			note(mg.Receive(now, from, proto.Hello{Host: h, Attrs: rng.IntN(2) == 0, HasAttrs: rng.IntN(2) == 0,
				Boot: pick([]string{"", "b1", "b2"})}))
		case 1, 2:
			note(mg.Receive(now, from, proto.Heartbeat{Host: h, Epoch: mg.Epoch()}))
		case 3:
			action := []ocf.Action{ocf.Start, ocf.Stop, ocf.Monitor}[rng.IntN(3)]
			rc := ocf.RC([]int{0, 1, 5, 6, 7}[rng.IntN(5)])
			res := lrm.Result{Resource: pick(rscs), Action: action, RC: rc, Status: lrm.Status(rng.IntN(6)),
				Outcome: ocf.Classify(action, rc, rng.IntN(2) == 0)}
			note(mg.Receive(now, from, proto.OpResult{Host: h, Epoch: epoch(), Op: op(), Result: res}))
		case 4:
			act := []proto.FenceAction{proto.FenceOff, proto.FenceStatus, proto.FenceMonitor}[rng.IntN(3)]
			note(mg.Receive(now, from, proto.FenceResult{Host: h, Epoch: epoch(), Op: op(), Action: act,
				Device: "pdu1", Target: pick(hosts), RC: rng.IntN(3)}))
		case 5:
			note(mg.Receive(now, from, proto.Refused{Host: h, Epoch: epoch(), Op: op(), Reason: "x", Stale: rng.IntN(20) == 0}))
		case 6:
			id := effect.TimerID(rng.IntN(60))
			if len(timers) > 0 && rng.IntN(3) > 0 {
				id = timers[rng.IntN(len(timers))]
			}
			note(mg.TimerFired(now, id))
		case 7:
			cmds := []Command{CmdStart, CmdStop, CmdMove, CmdBan, CmdClear, CmdCleanup, CmdStandby, CmdUnstandby,
				CmdMaintenance, CmdFence, CmdManage, CmdUnmanage, "bogus"}
			req := Request{Command: cmds[rng.IntN(len(cmds))], Target: pick([]string{"svc", "fs", "h1", "h2", "nosuch"}),
				Host: pick(hosts), Lifetime: time.Duration(rng.IntN(3)-1) * time.Minute, Flag: rng.IntN(2) == 0}
			_, effs, _ := mg.Admin(now, req)
			note(effs)
		case 8:
			up := proto.AttrUpdate{Host: h, Req: uint64(rng.IntN(5)), Target: pick(hosts), Name: pick([]string{"master-fs", "x", "", "bad name"}),
				Value: pick([]string{"1", "", "a\nb"}), Delete: rng.IntN(3) == 0, Members: rng.IntN(8) == 0,
				Lifetime: proto.AttrLifetime(pick([]string{"reboot", "forever", "never"}))}
			note(mg.Receive(now, from, up))
		case 9:
			// What the driver's kernel said of a connection or a dial,
			// for any host, of any connection.
			end := ConnEnd(rng.IntN(4))
			if rng.IntN(2) == 0 {
				note(mg.HostConnEnded(now, h, effect.ConnID(rng.IntN(3)), end))
			} else {
				note(mg.HostDialFailed(now, h, end))
			}
		}
	}
}
