package cluster

import "github.com/basalt-ha/basalt/core/history"

// opLog pairs the agents' history records into operations as they are
// written: the same operations, in the same order, as history.Ops makes of
// the whole list of records (TestOpLogIsHistoryOps holds it to that). A
// seed's records were about a tenth of the bytes it allocated, kept only to be
// paired once at its end; an operation is kept once instead of its two
// records, and only the runs still going are looked up.
type opLog struct {
	ops []Op
	// running are the operations whose Started record came and whose
	// Ended one has not, by index in ops.
	running map[runKey]int
}

// runKey names an agent run: history.Ops's pairing key.
type runKey struct {
	host      string
	life, run uint64
}

// add pairs one record, as history.Ops does.
func (l *opLog) add(r history.Record) {
	if l.running == nil {
		l.running = map[runKey]int{}
	}
	k := runKey{r.Host, r.Life, r.Run}
	switch r.Phase {
	case history.Started:
		l.running[k] = len(l.ops)
		l.ops = append(l.ops, Op{Resource: r.Resource, Host: r.Host, Kind: r.Action, Call: r.At, Killed: true,
			IntervalMS: r.IntervalMS, Epoch: r.Epoch, Device: r.Device, Target: r.Target})
	case history.Ended:
		i, ok := l.running[k]
		if !ok {
			i = len(l.ops)
			l.ops = append(l.ops, Op{Resource: r.Resource, Host: r.Host, Kind: r.Action, Call: r.At,
				IntervalMS: r.IntervalMS, Epoch: r.Epoch, Device: r.Device, Target: r.Target})
		}
		delete(l.running, k)
		o := &l.ops[i]
		o.Return, o.RC, o.Killed, o.Status, o.Orphan = r.At, r.RC, r.Killed, r.Status, r.Orphan
		if r.Epoch != 0 {
			o.Epoch = r.Epoch
		}
	}
}
