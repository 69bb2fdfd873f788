package proto

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
)

// describeCases are messages whose text covers every branch of the
// AppendDescribe methods: optional fields set and not, strings fmt's %q
// escapes, codes with and without a name, extreme numbers.
func describeCases() []Describer {
	odd := "a \"quoted\"\tline\nwith é, \x00 and \xff"
	results := []lrm.Result{
		{},
		{CallID: 7, Resource: "db:0", Name: "db", Action: ocf.Monitor, Interval: 10 * time.Second,
			RC: ocf.NotRunning, Status: lrm.Done, Outcome: ocf.Stopped},
		{CallID: math.MaxUint64, Resource: "web", Name: "web", Action: ocf.Start, RC: ocf.RC(-3),
			Status: lrm.Status(99), Outcome: ocf.Outcome(-1), ExitReason: odd},
		{Resource: "ip", Action: ocf.Stop, Interval: -1500 * time.Millisecond, RC: ocf.RC(255),
			Status: lrm.Timeout, ExitReason: "timed out"},
		{Resource: "long", Name: strings.Repeat("n", 100), ExitReason: strings.Repeat("longer than Describe's stack buffer ", 10)},
	}
	keys := []lrm.OpKey{{}, {Action: ocf.Monitor, Interval: 10 * time.Second}, {Action: ocf.Notify, Interval: time.Microsecond}}
	var out []Describer
	for _, r := range results {
		out = append(out, OpResult{Host: "h1", Epoch: 3, Op: 9, Result: r},
			OpResult{Host: "", Epoch: math.MaxUint64, Op: 0, Result: r})
	}
	for i, k := range keys {
		out = append(out,
			Exec{Epoch: Epoch(i), Op: OpID(i * 1000), Resource: lrm.Resource{ID: "r" + string(rune('a'+i))},
				Request: lrm.OpRequest{Action: k.Action, Interval: k.Interval}},
			Cancel{Epoch: 2, Op: 5, Resource: "db:1", Key: k},
			Cancel{Epoch: 2, Op: 5, Resource: odd, Key: k, Setup: OpID(math.MaxUint64 - uint64(i))})
	}
	for _, a := range []FenceAction{FenceOff, FenceStatus, FenceAction(odd)} {
		out = append(out,
			FenceExec{Epoch: 4, Op: 8, Device: "pdu", Action: a, Target: "h2", Agent: "fence_ipmilan", Timeout: time.Second},
			FenceExec{Epoch: math.MaxUint64, Device: odd, Action: a},
			FenceResult{Host: "h1", Epoch: 4, Op: 8, Device: "pdu", Action: a, Target: "h2", RC: 0},
			FenceResult{Host: odd, Epoch: 1, Op: math.MaxUint64, Device: "ipmi", Action: a, Target: odd, RC: -9, Timeout: true, Output: odd},
			FenceResult{RC: math.MinInt})
	}
	return append(out,
		Refused{},
		Refused{Host: "h1", Epoch: 3, Op: 7, Reason: "stale epoch", Stale: true},
		Refused{Host: "h2", Reason: odd},
		Refused{Host: "h3", Reason: strings.Repeat("a reason longer than Describe's stack buffer ", 6)},
		Heartbeat{},
		Heartbeat{Host: "h2", Epoch: 12, Seq: 34},
		Heartbeat{Host: "h3", Epoch: math.MaxUint64, Seq: math.MaxUint64, PersistError: "disk full"},
		Heartbeat{Host: "h4", PersistError: odd})
}

// fmtDescribe is Describe as it was written first, with fmt: the
// reference the appending texts must agree with, byte for byte, since
// traces (and their hashes) are made of them.
func fmtDescribe(t *testing.T, d Describer) string {
	switch m := d.(type) {
	case Exec:
		return fmt.Sprintf("exec epoch=%d op=%d %s %s", m.Epoch, m.Op, m.Resource.ID, m.Request.Key())
	case Cancel:
		if m.Setup != 0 {
			return fmt.Sprintf("cancel epoch=%d op=%d %s %s setup=%d", m.Epoch, m.Op, m.Resource, m.Key, m.Setup)
		}
		return fmt.Sprintf("cancel epoch=%d op=%d %s %s", m.Epoch, m.Op, m.Resource, m.Key)
	case Heartbeat:
		if m.PersistError != "" {
			return fmt.Sprintf("heartbeat host=%s epoch=%d seq=%d cannot-persist=%q", m.Host, m.Epoch, m.Seq, m.PersistError)
		}
		return fmt.Sprintf("heartbeat host=%s epoch=%d seq=%d", m.Host, m.Epoch, m.Seq)
	case FenceExec:
		return fmt.Sprintf("fence-exec epoch=%d op=%d device=%s action=%s target=%s", m.Epoch, m.Op, m.Device, m.Action, m.Target)
	case FenceResult:
		return fmt.Sprintf("fence-result host=%s epoch=%d op=%d device=%s action=%s target=%s rc=%d timeout=%t",
			m.Host, m.Epoch, m.Op, m.Device, m.Action, m.Target, m.RC, m.Timeout)
	case Refused:
		return fmt.Sprintf("refused host=%s epoch=%d op=%d stale=%t reason=%q", m.Host, m.Epoch, m.Op, m.Stale, m.Reason)
	case OpResult:
		r := m.Result
		res := fmt.Sprintf("%s %s (%s) call=%d status=%s rc=%d(%s) outcome=%s",
			r.Resource, r.Key(), r.Name, r.CallID, r.Status, int(r.RC), r.RC, r.Outcome)
		if r.ExitReason != "" {
			res += fmt.Sprintf(" reason=%q", r.ExitReason)
		}
		return fmt.Sprintf("op-result host=%s epoch=%d op=%d %s", m.Host, m.Epoch, m.Op, res)
	}
	t.Fatalf("no reference for %T", d)
	return ""
}

// TestAppendDescribeIsDescribe: the simulator hashes AppendDescribe's text
// where it used to hash Describe's fmt text, so the two, and Describe now
// built on AppendDescribe, must agree byte for byte with the fmt
// reference, also after text already in the buffer.
func TestAppendDescribeIsDescribe(t *testing.T) {
	for _, d := range describeCases() {
		want := fmtDescribe(t, d)
		if got := d.(Message).Describe(); got != want {
			t.Errorf("%T: Describe\n got %q\nwant %q", d, got, want)
		}
		if got := string(d.AppendDescribe(nil)); got != want {
			t.Errorf("%T: AppendDescribe\n got %q\nwant %q", d, got, want)
		}
		if got := string(d.AppendDescribe([]byte("prefix "))); got != "prefix "+want {
			t.Errorf("%T: AppendDescribe after a prefix\n got %q\nwant %q", d, got, "prefix "+want)
		}
	}
}

// TestAppendDescribeAllocatesNothing once the buffer is large enough, for
// the messages of a healthy cluster: that is its point. (A code with no
// name is rendered by fmt, as String renders it.)
func TestAppendDescribeAllocatesNothing(t *testing.T) {
	buf := make([]byte, 0, 1024)
	common := []Describer{
		Heartbeat{Host: "h2", Epoch: 12, Seq: 34},
		Exec{Epoch: 1, Op: 2, Resource: lrm.Resource{ID: "db:0"}, Request: lrm.OpRequest{Action: ocf.Monitor, Interval: time.Second}},
		Cancel{Epoch: 1, Op: 3, Resource: "db:0", Key: lrm.OpKey{Action: ocf.Monitor, Interval: time.Second}, Setup: 2},
		OpResult{Host: "h1", Epoch: 1, Op: 2, Result: lrm.Result{CallID: 4, Resource: "db:0", Name: "db",
			Action: ocf.Start, RC: ocf.ErrGeneric, Status: lrm.Done, Outcome: ocf.Stopped, ExitReason: "no \"db\""}},
		FenceExec{Epoch: 1, Op: 5, Device: "pdu", Action: FenceStatus, Target: "h2"},
		FenceResult{Host: "h1", Epoch: 1, Op: 5, Device: "pdu", Action: FenceStatus, Target: "h2", RC: 2},
		Refused{Host: "h1", Epoch: 1, Op: 6, Reason: "stale epoch", Stale: true},
	}
	for _, d := range common {
		if n := testing.AllocsPerRun(10, func() { d.AppendDescribe(buf[:0]) }); n != 0 {
			t.Errorf("%T: %v allocations, want 0", d, n)
		}
		if n := testing.AllocsPerRun(10, func() { _ = d.(Message).Describe() }); n != 1 {
			t.Errorf("%T: Describe: %v allocations, want 1 (its string)", d, n)
		}
	}
}
