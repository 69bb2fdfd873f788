package check

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sampleTimeline is a run of two hosts and three manager replicas: h2
// crashes, is declared lost, fenced and boots again, m1 leads, then m2
// after a gap; a fault, a fence, an admin request and a violation mark it.
func sampleTimeline() Timeline {
	hosts := HostSpans([]string{"h1", "h2"}, at(0), []HostEvent{
		{At: at(10), Host: "h2", State: HostDown, Detail: "host crashed"},
		{At: at(15), Host: "h2", State: HostLost, Detail: "silent for 5s"},
		{At: at(15), Host: "h2", State: HostFencing, Detail: "requested by manager, action off"},
		{At: at(17), Host: "h2", State: HostFenced, Detail: "fenced by pid-h2"},
		{At: at(47), Host: "h2", State: HostRebooted, Detail: "agent started"},
	})
	managers := ManagerSpans(at(0), []ManagerEvent{
		{At: at(0), Replica: "m1", Epoch: 3, State: ManagerActing},
		{At: at(30), State: ManagerNone, Detail: "m1 crashed (kill -9)"},
		{At: at(35), Replica: "m2", Epoch: 9, State: ManagerActing},
	})
	return Timeline{Title: "seed 7 <ok>", Hosts: []string{"h1", "h2"}, Resources: []string{"r"},
		Intervals: []Interval{{Resource: "r", Host: "h2", Start: at(1), End: at(10), EndCause: "died"}, {Resource: "r", Host: "h1", Start: at(18)}},
		HostSpans: hosts, Managers: managers,
		Marks: []Mark{
			{At: at(10), Label: "crash-host h2 for 40s"},
			{At: at(17), Label: "fence device pid-h2 powers off h2", Kind: MarkFence, Host: "h2"},
			{At: at(20), Label: "admin move r h1 -> r1-1", Kind: MarkAdmin},
			{At: at(30), Label: "heal", Kind: MarkHeal},
			{At: at(40), Label: "VIOLATION [safety] r on two hosts", Kind: MarkViolation},
		},
		Start: at(0), End: at(60)}
}

// HostSpans: every host is up from the start; a state that lasts no time
// (lost, then fencing at once) leaves no span, its words going on into the
// next one.
func TestHostSpans(t *testing.T) {
	got := sampleTimeline().HostSpans
	require.Equal(t, []HostSpan{
		{Host: "h1", State: HostUp, From: at(0)},
		{Host: "h2", State: HostUp, From: at(0), To: at(10)},
		{Host: "h2", State: HostDown, From: at(10), To: at(15), Detail: "host crashed"},
		{Host: "h2", State: HostFencing, From: at(15), To: at(17), Detail: "lost (silent for 5s); requested by manager, action off"},
		{Host: "h2", State: HostFenced, From: at(17), To: at(47), Detail: "fenced by pid-h2"},
		{Host: "h2", State: HostRebooted, From: at(47), Detail: "agent started"},
	}, got)
	require.Equal(t, []ManagerSpan{
		{Replica: "m1", Epoch: 3, State: ManagerActing, From: at(0), To: at(30)},
		{State: ManagerNone, From: at(30), To: at(35), Detail: "m1 crashed (kill -9)"},
		{Replica: "m2", Epoch: 9, State: ManagerActing, From: at(35)},
	}, sampleTimeline().Managers)
}

// timelineElements are what an operator's page must hold, as markup: a
// lane per host, the manager lane, fence and admin markers, and a hover on
// each span. Before, the page had only the resources' bars and the faults.
var timelineElements = []string{
	`<g class="lane host-lane" data-host="h1">`,
	`<g class="lane host-lane" data-host="h2">`,
	`<g class="lane manager-lane">`,
	`<g class="marker marker-fence" data-host="h2">`,
	`<g class="marker marker-admin">`,
	`<g class="marker marker-fault">`,
	`<g class="marker marker-violation">`,
	`class="span host-fenced"`,
	`class="span host-up-again"`,
	`class="span manager-no-leader"`,
	`<title>h2 fencing from 15s to 17s: lost (silent for 5s); requested by manager, action off</title>`,
	`<title>h2 up again from 47s to end: agent started</title>`,
	`<title>manager m1 leads, epoch 3 from 0s to 30s</title>`,
	`<title>manager m2 leads, epoch 9 from 35s to end</title>`,
	`<title>manager no leader from 30s to 35s: m1 crashed (kill -9)</title>`,
	`<title>17s fence device pid-h2 powers off h2</title>`,
	`<title>20s admin move r h1 -&gt; r1-1</title>`,
	`<title>r on h2: 1s → 10s died</title>`,
	`<h3>Fences</h3>`,
	`<h3>Admin requests</h3>`,
}

func TestTimelineLanesMarkersAndHovers(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, sampleTimeline().Write(&b))
	page := b.String()
	for _, want := range timelineElements {
		require.Contains(t, page, want)
	}
	require.Contains(t, page, "<title>seed 7 &lt;ok&gt;</title>", "the title is escaped")
	require.Equal(t, 2, strings.Count(page, `class="lane host-lane"`), "one lane per host")
}

// The process harness's page (WriteTimeline) draws its hosts' lanes from
// its "fenced H" and "boot H" marks, and places those marks on the lane.
func TestWriteTimelineHostLanesFromMarks(t *testing.T) {
	var b bytes.Buffer
	marks := []Mark{{At: at(5), Label: "crash-agent h1"}, {At: at(10), Label: "fenced h1"}, {At: at(40), Label: "boot h1"},
		{At: at(45), Label: "admin-move g h2"}}
	require.NoError(t, WriteTimeline(&b, "chaos", []string{"h1", "h2"}, []string{"r"}, nil, marks, nil, nil, at(0), at(60)))
	page := b.String()
	for _, want := range []string{
		`<g class="lane host-lane" data-host="h1">`, `<g class="lane host-lane" data-host="h2">`,
		`<title>h1 fenced from 10s to 40s: fenced h1</title>`, `<title>h1 up again from 40s to end: booted</title>`,
		`<title>h2 up from 0s to end</title>`,
		`<g class="marker marker-fence" data-host="h1">`, `<g class="marker marker-host" data-host="h1">`,
		`<g class="marker marker-admin">`, `<g class="marker marker-fault">`,
	} {
		require.Contains(t, page, want)
	}
	require.NotContains(t, page, "manager-lane", "the harness knows no manager lane")
}

// The managers' logs give the process harness's lanes the states its own
// marks cannot: lost and fencing, with a fence mark where a fence was
// requested or failed; the fence itself and the boot still come from the
// marks, and each state lasts until the next change, whoever saw it.
func TestWriteTimelineHostLanesFromManagerLogs(t *testing.T) {
	logs := []ManagerLog{
		{At: at(12), Source: "manager", Msg: "host lost", Attrs: map[string]string{"host": "h1", "why": "no heartbeat for 3s"}},
		{At: at(13), Source: "manager", Msg: "fencing requested", Attrs: map[string]string{"target": "h1", "origin": "manager", "action": "off"}},
		{At: at(14), Source: "manager", Msg: "fencing failed", Attrs: map[string]string{"target": "h1", "reason": "pid-h1: timed out"}},
		{At: at(15), Source: "manager", Msg: "fencing confirmed", Attrs: map[string]string{"target": "h1"}},
		{At: at(16), Source: "manager", Msg: "group started", Attrs: map[string]string{"group": "g"}},
	}
	evs, fenceMarks := ManagerLogLane(logs)
	require.Equal(t, []HostEvent{
		{At: at(12), Host: "h1", State: HostLost, Detail: "declared lost (manager): no heartbeat for 3s"},
		{At: at(13), Host: "h1", State: HostFencing, Detail: "fence requested by manager, action off (manager)"},
	}, evs)
	require.Equal(t, []Mark{
		{At: at(13), Kind: MarkFence, Host: "h1", Label: "fencing of h1 requested by manager (action off) (manager)"},
		{At: at(14), Kind: MarkFence, Host: "h1", Label: "fencing of h1 FAILED (manager): pid-h1: timed out"},
	}, fenceMarks)

	marks := append([]Mark{{At: at(5), Label: "pause h1"}, {At: at(15), Label: "fenced h1"}, {At: at(40), Label: "boot h1"}}, fenceMarks...)
	var b bytes.Buffer
	require.NoError(t, WriteTimeline(&b, "chaos", []string{"h1", "h2"}, []string{"r"}, nil, marks, evs, nil, at(0), at(60)))
	page := b.String()
	for _, want := range []string{
		`<title>h1 up from 0s to 12s</title>`,
		`<title>h1 lost from 12s to 13s: declared lost (manager): no heartbeat for 3s</title>`,
		`<title>h1 fencing from 13s to 15s: fence requested by manager, action off (manager)</title>`,
		`<title>h1 fenced from 15s to 40s: fenced h1</title>`,
		`<title>h1 up again from 40s to end: booted</title>`,
		`<title>h2 up from 0s to end</title>`,
		`<title>14s fencing of h1 FAILED (manager): pid-h1: timed out</title>`,
	} {
		require.Contains(t, page, want)
	}
	require.Equal(t, 3, strings.Count(page, `<g class="marker marker-fence" data-host="h1">`), "fenced (the harness saw it), requested and failed (the manager logged them)")
}

// With replicas, the harness passes the leaderships etcd's election had:
// the page gets its manager lane, naming who led at which epoch.
func TestWriteTimelineReplicaLane(t *testing.T) {
	var b bytes.Buffer
	managers := []ManagerEvent{{At: at(1), Replica: "m1", Epoch: 2, State: ManagerActing},
		{At: at(20), State: ManagerNone}, {At: at(25), Replica: "m2", Epoch: 9, State: ManagerActing}}
	require.NoError(t, WriteTimeline(&b, "chaos", []string{"h1"}, []string{"r"}, nil, nil, nil, managers, at(0), at(60)))
	page := b.String()
	require.Contains(t, page, "manager-lane")
	require.Contains(t, page, "m1")
	require.Contains(t, page, "m2")
	require.Contains(t, page, ManagerNone)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// A write error is returned, naming the timeline; before, it was dropped.
func TestTimelineWriteError(t *testing.T) {
	err := sampleTimeline().Write(failingWriter{})
	require.ErrorContains(t, err, `timeline "seed 7 <ok>": disk full`)
}

// With Debian's chromium on PATH (make deps-chromium), the page is rendered
// headless and the elements must be in the browser's DOM: the markup is
// not only there but parses as SVG the way it is meant to.
func TestTimelineRendersInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not on PATH (make deps-chromium installs Debian's)")
	}
	page := filepath.Join(t.TempDir(), "timeline.html")
	var b bytes.Buffer
	require.NoError(t, sampleTimeline().Write(&b))
	require.NoError(t, os.WriteFile(page, b.Bytes(), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// --no-sandbox: the tests run as root, where chromium refuses its
	// sandbox; the page is our own.
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir="+t.TempDir(),
		"--dump-dom", "file://"+page)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	for _, want := range timelineElements {
		// The DOM is serialised again: attributes in order, text
		// escaped as in the page, so the markup reads the same.
		require.Contains(t, string(dom), want)
	}
}
