package faults

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
)

// recorder is a Target that writes down what it is asked to do.
type recorder struct{ calls []string }

func (r *recorder) note(format string, args ...any) error {
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
	return nil
}

func (r *recorder) CrashAgent(h string, d time.Duration) error {
	return r.note("crash-agent %s %s", h, d)
}
func (r *recorder) CrashHost(h string, d time.Duration) error {
	return r.note("crash-host %s %s", h, d)
}
func (r *recorder) PauseHost(h string) error                { return r.note("pause %s", h) }
func (r *recorder) ResumeHost(h string) error               { return r.note("resume %s", h) }
func (r *recorder) Partition(a, b string) error             { return r.note("partition %s %s", a, b) }
func (r *recorder) CutOneWay(a, b string) error             { return r.note("cut %s %s", a, b) }
func (r *recorder) Unpartition(a, b string) error           { return r.note("unpartition %s %s", a, b) }
func (r *recorder) Isolate(h string) error                  { return r.note("isolate %s", h) }
func (r *recorder) Unisolate(h string) error                { return r.note("unisolate %s", h) }
func (r *recorder) Clog(a, b string, d time.Duration) error { return r.note("clog %s %s %s", a, b, d) }
func (r *recorder) KillResource(h, rsc string) error        { return r.note("kill %s %s", h, rsc) }
func (r *recorder) FailResource(h, rsc, a string, rc, n int, hang bool) error {
	return r.note("fail %s %s %s rc=%d x%d hang=%t", h, rsc, a, rc, n, hang)
}
func (r *recorder) BreakDevice(d string, how DeviceFault) error { return r.note("break %s %s", d, how) }
func (r *recorder) RepairDevice(d string) error                 { return r.note("repair %s", d) }
func (r *recorder) CrashManager() error                         { return r.note("crash-manager") }
func (r *recorder) StartManager() error                         { return r.note("start-manager") }
func (r *recorder) PauseManager() error                         { return r.note("pause-manager") }
func (r *recorder) ResumeStaleManagers() error                  { return r.note("resume-managers") }
func (r *recorder) FreezeManager() error                        { return r.note("freeze-manager") }
func (r *recorder) ThawManager() error                          { return r.note("thaw-manager") }
func (r *recorder) CutLeaderFromStore() error                   { return r.note("cut-leader-etcd") }
func (r *recorder) RestoreStoreLinks() error                    { return r.note("restore-etcd-links") }
func (r *recorder) StopStore() error                            { return r.note("etcd-down") }
func (r *recorder) StartStore() error                           { return r.note("etcd-up") }
func (r *recorder) SlowHost(h string, d time.Duration) error    { return r.note("slow %s %s", h, d) }
func (r *recorder) CrashMidway(h, a string, d, after time.Duration) error {
	return r.note("crash-midway %s %s %s %s", h, a, d, after)
}
func (r *recorder) RestartAgent(h string, d time.Duration) error {
	return r.note("restart-agent %s %s", h, d)
}
func (r *recorder) HealAll() error             { return r.note("heal") }
func (r *recorder) Impostor(h, v string) error { return r.note("impostor %s as %s", h, v) }
func (r *recorder) EndImpostor(h string) error { return r.note("end-impostor %s", h) }
func (r *recorder) FillDisk(n string) error    { return r.note("fill %s", n) }
func (r *recorder) EmptyDisk(n string) error   { return r.note("empty %s", n) }
func (r *recorder) Admin(req manager.Request) error {
	if req.All {
		return r.note("admin %s --all", req.Command)
	}
	return r.note("admin %s %s %s %t", req.Command, req.Target, req.Host, req.Flag)
}

func TestStepsAndApply(t *testing.T) {
	plan := []Fault{
		{At: 10 * time.Second, Kind: Partition, Host: "a", Peer: "manager", For: 5 * time.Second},
		{At: 12 * time.Second, Kind: AdminStandby, Host: "b", For: time.Second},
		{At: 12 * time.Second, Kind: CrashAgent, Host: "c", For: time.Minute},
		{At: 14 * time.Second, Kind: FailStop, Host: "a", Resource: "r", RC: 1, Times: 2},
		{At: 14 * time.Second, Kind: LieDevice, Device: "d"},
		{At: 16 * time.Second, Kind: AdminMaintenance, Action: "on"},
		{At: 17 * time.Second, Kind: FreezeManager, For: 8 * time.Second},
		{At: 18 * time.Second, Kind: SlowHost, Host: "a", Delay: 4 * time.Second, For: 2 * time.Second},
		{At: 18 * time.Second, Kind: RestartAgent, Host: "b", For: 3 * time.Second},
		{At: 19 * time.Second, Kind: CrashMidway, Host: "a", Action: "start", Delay: 4 * time.Second, For: time.Second},
	}
	r := &recorder{}
	var at []time.Duration
	for _, s := range Steps(plan) {
		at = append(at, s.At())
		require.NoError(t, Apply(r, s))
	}
	require.Equal(t, []string{
		"partition a manager",
		"admin standby b  false",
		"crash-agent c 1m0s", // the world times the restart: no step of its own
		"admin unstandby b  false",
		"fail a r stop rc=1 x2 hang=false",
		"break d lie", // no For: lasts until a heal
		"unpartition a manager",
		"admin maintenance   true",
		"freeze-manager",
		"slow a 4s",
		"restart-agent b 3s", // the world times the restart
		"crash-midway a start 4s 1s",
		"slow a 0s",
		"thaw-manager",
	}, r.calls)
	require.IsIncreasing(t, []time.Duration{at[0], at[1], at[3], at[4], at[6], at[7]})

	err := Apply(r, Step{Fault: Fault{Kind: "meteor"}})
	require.True(t, errors.Is(err, errors.ErrUnsupported), "an unknown kind is unsupported: %v", err)
}

func TestRecoveryHealsThenCleansUp(t *testing.T) {
	r := &recorder{}
	for _, f := range Recovery() {
		require.NoError(t, Apply(r, Step{Fault: f}))
	}
	require.Equal(t, "heal", r.calls[0])
	require.Contains(t, r.calls, "admin maintenance   false")
	// Every host, and every group, at once, as one request each: one
	// plan, not one a host or group.
	require.Contains(t, r.calls, "admin unstandby --all")
	require.NotContains(t, r.calls, "admin unstandby "+pairModel(t).HostNames()[0]+"  false")
	for _, cmd := range []string{"clear", "manage", "start", "cleanup"} {
		require.Contains(t, r.calls, "admin "+cmd+" --all")
	}
	require.Len(t, r.calls, 7)
}

func TestOptionsForRealTime(t *testing.T) {
	m := pairModel(t)
	o := Options{Chaos: time.Minute, Kinds: []Kind{CrashAgent, Partition, CutOneWay, Clog, PauseHost, AdminMove},
		Intensity: 10, MaxFor: 5 * time.Second, Spacing: 2 * time.Second, ManagerLinks: true, MaxFaults: 100}
	total := 0
	for seed := uint64(1); seed <= 100; seed++ {
		p := Generate(m, seed, o)
		require.Equal(t, p, Generate(m, seed, o))
		for i, f := range p.Faults {
			total++
			require.Contains(t, o.Kinds, f.Kind)
			require.LessOrEqual(t, f.For, o.MaxFor)
			if f.Peer != "" {
				require.True(t, f.Host == "manager" || f.Peer == "manager", "%s", f)
			}
			if i > 0 {
				require.GreaterOrEqual(t, f.At-p.Faults[i-1].At, o.Spacing)
			}
		}
	}
	require.Greater(t, total, 300, "intensity raises the faults per minute")
}

// TestOptInKinds: the impostor and the full disk are drawn only when the
// options name them, from a stream of their own, so that the swarm's plans
// stay what they were; Apply carries both, beginning and end.
func TestOptInKinds(t *testing.T) {
	m := pairModel(t)
	base := Options{Chaos: time.Minute, Kinds: []Kind{CrashAgent, Partition, AdminMove}, Intensity: 20, MaxFaults: 1000}
	with := base
	with.Kinds = append(slices.Clone(base.Kinds), ImpostorAgent, DiskFull)
	drawn := map[Kind]int{}
	for seed := uint64(1); seed <= 50; seed++ {
		swarm := Generate(m, seed, Options{})
		for _, f := range swarm.Faults {
			require.NotContains(t, optInKinds, f.Kind, "the swarm never draws an opt-in kind")
		}
		var rest []Fault
		for _, f := range Generate(m, seed, with).Faults {
			drawn[f.Kind]++
			if !slices.Contains(optInKinds, f.Kind) {
				rest = append(rest, f)
			}
			if f.Kind == ImpostorAgent {
				require.NotEqual(t, f.Host, f.Peer)
			}
		}
		require.Equal(t, Generate(m, seed, base).Faults, rest, "the other faults of seed %d do not move", seed)
	}
	require.NotZero(t, drawn[ImpostorAgent])
	require.NotZero(t, drawn[DiskFull])

	r := &recorder{}
	for _, s := range Steps([]Fault{{Kind: ImpostorAgent, Host: "a", Peer: "b", For: time.Second},
		{At: 2 * time.Second, Kind: DiskFull, Host: "manager", For: time.Second}}) {
		require.NoError(t, Apply(r, s))
	}
	require.Equal(t, []string{"impostor a as b", "end-impostor a", "fill manager", "empty manager"}, r.calls)
}
