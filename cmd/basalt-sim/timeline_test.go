package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/sim/cluster"
	"github.com/basalt-ha/basalt/sim/faults"
)

// lanesOf reads trace lines as a replay hands them over.
func lanesOf(lines ...string) *lanes {
	l := newLanes()
	for _, line := range lines {
		l.line(line)
	}
	return l
}

func rel(d string) time.Time {
	v, err := time.ParseDuration(d)
	if err != nil {
		panic(err)
	}
	return cluster.Start.Add(v)
}

// A host's life from the trace: crashed, declared lost, fenced, booted
// again; a paused host returns to what it was; a lost host that says hello
// again (fencing off) is up. The fences are marks on the host.
func TestLanesHosts(t *testing.T) {
	l := lanesOf(
		"0s host h1 agent started epoch=0",
		"0s host h2 agent started epoch=0",
		"0s manager started epoch=1",
		`3s deliver h1->manager conn=1 heartbeat epoch=1`,
		"10s host h1 crashed",
		`15s manager log ERROR log ERROR "host lost" host=h1 why=silent for 5s`,
		`15s manager log WARN log WARN "fencing requested" target=h1 origin=manager action=off`,
		"17s fence device pid-h1 powers off h1",
		`19s manager log WARN log WARN "fencing confirmed" target=h1 devices=[pid-h1 pdu] reason=`,
		"40s host h1 agent started epoch=1",
		"50s host h2 paused",
		"52s host h2 resumed (3 held events)",
		"60s host h2 agent crashed",
		"61s host h2 agent started epoch=1",
		`70s manager log ERROR log ERROR "host lost" host=h2 why=not heard from`,
		`71s deliver h2->manager conn=9 hello host=h2`,
		"80s host h2 powered off (power cut)",
	)
	spans := check.HostSpans([]string{"h1", "h2"}, cluster.Start, l.hosts)
	var got []string
	for _, s := range spans {
		got = append(got, s.Host+" "+s.State+" "+s.From.Sub(cluster.Start).String()+" "+s.Detail)
	}
	require.Equal(t, []string{
		"h1 up 0s ",
		"h1 down 10s host crashed",
		"h1 fencing 15s lost (unclean: silent for 5s); fence requested by manager, action off",
		"h1 fenced 17s powered off by fence device pid-h1",
		"h1 up again 40s booted, agent started (epoch=1)",
		"h2 up 0s ",
		"h2 paused 50s frozen (SIGSTOP)",
		"h2 up 52s resumed after a pause (3 held events)",
		"h2 agent down 1m0s agent killed (kill -9)",
		"h2 up 1m1s agent started (epoch=1)",
		"h2 lost 1m10s unclean: not heard from",
		"h2 up 1m11s answers the manager again (hello)",
		"h2 off 1m20s powered off: power cut",
	}, got)
	var fences []string
	for _, m := range l.marks {
		require.Equal(t, check.MarkFence, m.Kind)
		require.Equal(t, "h1", m.Host)
		fences = append(fences, m.Label)
	}
	require.Equal(t, []string{"fencing of h1 requested by manager (action off)", "fence device pid-h1 powers off h1",
		"fencing of h1 confirmed ([pid-h1 pdu])"}, fences)
}

// The manager lane: a single manager's epochs, its crash and freeze; with
// replicas, which one leads at which epoch, a frozen leader, and no
// leader while none acts (a standby's own stop is not the leader's).
func TestLanesManager(t *testing.T) {
	single := lanesOf(
		"0s manager started epoch=1",
		"2m15s manager crashed",
		"2m29s manager started epoch=2",
		"4m54s manager epoch=2 frozen",
		"4m59s manager epoch=2 thawed (4 timers, 20 held events)",
	)
	require.Equal(t, []check.ManagerSpan{
		{Epoch: 1, State: check.ManagerActing, From: rel("0s"), To: rel("2m15s")},
		{State: check.ManagerDown, From: rel("2m15s"), To: rel("2m29s"), Detail: "epoch 1 crashed (kill -9)"},
		{Epoch: 2, State: check.ManagerActing, From: rel("2m29s"), To: rel("4m54s")},
		{Epoch: 2, State: check.ManagerFrozen, From: rel("4m54s"), To: rel("4m59s"), Detail: "stopped (SIGSTOP), no replacement"},
		{Epoch: 2, State: check.ManagerActing, From: rel("4m59s"), Detail: "thawed: (4 timers, 20 held events)"},
	}, check.ManagerSpans(cluster.Start, single.managers))

	replicas := lanesOf(
		"0s replica m1 started",
		"6ms store: m1 leads at revision 2",
		"9ms manager m1 started epoch=2 (leadership 2)",
		"55s replica m1 paused",
		"1m0s manager m3 started epoch=3 (leadership 3)",
		"1m12s manager m1 epoch=2 stops: deposed",
		"1m53s manager m3 epoch=3 stops: deposed",
		"2m11s manager m2 started epoch=45 (leadership 45)",
		"3m0s replica m2 crashed",
	)
	require.Equal(t, []check.ManagerSpan{
		{State: check.ManagerDown, From: rel("0s"), To: rel("9ms")},
		{Replica: "m1", Epoch: 2, State: check.ManagerActing, From: rel("9ms"), To: rel("55s"), Detail: "elected: leadership 2"},
		{Replica: "m1", Epoch: 2, State: check.ManagerFrozen, From: rel("55s"), To: rel("1m0s"), Detail: "the leader is stopped (SIGSTOP)"},
		{Replica: "m3", Epoch: 3, State: check.ManagerActing, From: rel("1m0s"), To: rel("1m53s"), Detail: "elected: leadership 3"},
		{State: check.ManagerNone, From: rel("1m53s"), To: rel("2m11s"), Detail: "m3 (epoch 3) stopped: deposed"},
		{Replica: "m2", Epoch: 45, State: check.ManagerActing, From: rel("2m11s"), To: rel("3m0s"), Detail: "elected: leadership 45"},
		{State: check.ManagerNone, From: rel("3m0s"), Detail: "leader m2 (epoch 45) crashed (kill -9)"},
	}, check.ManagerSpans(cluster.Start, replicas.managers))
}

// Admin requests are marked with the manager's answer; one of the plan
// that no manager took is marked too, and the plan's other faults as
// faults.
func TestLanesAdmin(t *testing.T) {
	l := lanesOf(
		"3m33.916s admin move mgs h2 -> r1-1 <nil>",
		"41.997s admin move mgs h3 ->  move mgs h3: h3 is outside group mgs's restricted domain",
	)
	require.Equal(t, []check.Mark{
		{At: rel("3m33.916s"), Kind: check.MarkAdmin, Label: "admin move mgs h2: report r1-1"},
		{At: rel("41.997s"), Kind: check.MarkAdmin, Label: "admin move mgs h3: refused: move mgs h3: h3 is outside group mgs's restricted domain"},
	}, l.marks)
	plan := faults.Plan{Faults: []faults.Fault{
		{At: 41997 * time.Millisecond, Kind: faults.AdminMove, Group: "mgs", Host: "h3"},
		{At: time.Minute, Kind: faults.AdminCleanup, Group: "web"},
		{At: 2 * time.Minute, Kind: faults.CrashHost, Host: "h1", For: 10 * time.Second},
	}}
	require.Equal(t, []check.Mark{
		{At: rel("1m"), Kind: check.MarkAdmin, Label: "admin-cleanup web: no manager took it (down, frozen, or no leader)"},
		{At: rel("2m"), Kind: check.MarkFault, Host: "h1", Label: "crash-host h1 for 10s"},
	}, l.planMarks(plan))
}

// replay --html of a seed with two fences: a lane per host with its
// fencing and its boot, the manager's lane, fence and admin markers, each
// with its hover. Before, the page had only the resources and the faults.
func TestReplayTimelineLanes(t *testing.T) {
	page := filepath.Join(t.TempDir(), "s1.html")
	rc, out, errOut := cli("replay", "--seed", "1", "--html", page)
	require.Equal(t, 0, rc, errOut+out)
	data, err := os.ReadFile(page)
	require.NoError(t, err)
	html := string(data)
	for _, h := range []string{"h1", "h2", "h3", "h4"} {
		require.Contains(t, html, `<g class="lane host-lane" data-host="`+h+`">`)
	}
	for _, want := range []string{
		`<g class="lane manager-lane">`,
		`<title>manager epoch 1 from 0s to end</title>`,
		`<title>h3 down from 3m22.492s to 3m27.04535315s: host crashed</title>`,
		`<title>h3 fenced from 3m29.050056117s to 3m47.519s: powered off by fence device pid-h3</title>`,
		`<title>h3 up again from 3m47.519s to end: booted, agent started (epoch=1)</title>`,
		`<g class="marker marker-fence" data-host="h4"><title>4m24.047187864s fence device pid-h4 powers off h4</title>`,
		`<g class="marker marker-admin"><title>3m33.916s admin move mgs h2: report r1-1</title>`,
		`<g class="marker marker-fault" data-host="h3"><title>3m22.492s crash-host h3 for 25.027s</title>`,
		`<g class="marker marker-heal"><title>5m0s heal</title>`,
	} {
		require.Contains(t, html, want)
	}
	require.Equal(t, 4, strings.Count(html, `class="lane host-lane"`))
}

// replay --replicas --html: the manager lane says which replica leads at
// which epoch, and when none does.
func TestReplayTimelineReplicas(t *testing.T) {
	page := filepath.Join(t.TempDir(), "r4.html")
	rc, out, errOut := cli("replay", "--seed", "4", "--replicas", "3", "--html", page)
	require.Equal(t, 0, rc, errOut+out)
	data, err := os.ReadFile(page)
	require.NoError(t, err)
	html := string(data)
	require.Contains(t, html, `<g class="lane manager-lane">`)
	require.Regexp(t, `<title>manager m1 leads, epoch 2 from [^<]* to 55.447s: elected: leadership 2</title>`, html)
	require.Regexp(t, `<title>manager m1 \(epoch 2\) frozen from 55.447s to [^<]*: the leader is stopped \(SIGSTOP\)</title>`, html)
	require.Regexp(t, `<title>manager no leader from [^<]*: m3 \(epoch 3\) stopped: deposed</title>`, html)
}
