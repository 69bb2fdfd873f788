package agent

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/history"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/core/proc"
	"github.com/basalt-ha/basalt/core/proto"
)

// OpsRecord is the storage name of the operations whose resource agent
// processes run (or may): resource agents outlive their agent by design,
// so a restarted agent must learn from here what its predecessor left
// running before it says anything about those resources.
const OpsRecord = "agent-ops"

// Inflight is one resource agent process as the ops record keeps it. It
// is persisted before the process starts (the intent) and again once its
// process group is known.
type Inflight struct {
	Resource   string     `json:"resource"`
	Action     ocf.Action `json:"action"`
	IntervalMS int64      `json:"interval_ms,omitempty"`
	// Life and Run identify the process: the agent's life and the
	// process's number within it (as in the history).
	Life uint64 `json:"life"`
	Run  uint64 `json:"run"`
	// Boot is the host's boot the process ran in: after a reboot every
	// process of an earlier boot is gone, and its group number may be
	// someone else's.
	Boot string `json:"boot,omitempty"`
	// PGID is the process group, 0 until the driver reports it: a record
	// without one means the agent died around the fork, and the process
	// may or may not run.
	PGID  int       `json:"pgid,omitempty"`
	Call  time.Time `json:"call"`
	Epoch uint64    `json:"epoch,omitempty"`
	// TimeoutMS is the operation's timeout: an orphan whose group is
	// unknown is presumed to have ended by then.
	TimeoutMS int64 `json:"timeout_ms"`
}

// opsState is the ops record's base: the agent's life, its running
// processes and the orphans of earlier lives it has not dealt with yet.
type opsState struct {
	Life    uint64     `json:"life"`
	Running []Inflight `json:"running,omitempty"`
	Orphans []Inflight `json:"orphans,omitempty"`
}

// The ops record is a log, as the resource record is (record.go): a base,
// the opsState (all an agent before the log wrote), then one line per
// change of the running processes since, an opsChange. Every process
// start, process group learnt and end rewrote the whole state (a host
// probing its resources runs 16 at once: 4 KB written, and copied, three
// times per run); a change is appended instead, and the record rewritten
// as a fresh base when the agent's life or its orphans change, at the
// life's first persist (which replaces a torn tail) and once the changes
// outweigh the state. A change line without its newline is a torn
// append, never acknowledged, so never acted on: reading skips it.

// opsSlack is how many bytes of changes the ops record may hold beyond
// its state's size before it is rewritten.
const opsSlack = 8192

// opsChange is one change line of the ops record: Run is a running
// process as it now is (new, or its group learnt), End the Run of one
// that ended.
type opsChange struct {
	Run *Inflight `json:"run,omitempty"`
	End uint64    `json:"end,omitempty"`
}

// DecodeOps parses the ops record: its base and then its changes,
// skipping a torn last one. The running processes come in process order.
func DecodeOps(data []byte) (life uint64, running, orphans []Inflight, err error) {
	return decodeOps(data, scanOpsState, scanOpsChange)
}

// decodeOps is DecodeOps with its lines' scanners (decodeLog).
func decodeOps(data []byte, scanBase func([]byte, *opsState) bool, scanChange func([]byte, *opsChange) bool) (
	life uint64, running, orphans []Inflight, err error) {
	var s opsState
	var byRun map[uint64]Inflight
	err = decodeLog(data, "operations record", &s, scanBase, scanChange, func(c *opsChange) error {
		if byRun == nil {
			byRun = make(map[uint64]Inflight, len(s.Running))
			for _, in := range s.Running {
				byRun[in.Run] = in
			}
		}
		switch {
		case c.Run != nil && c.End == 0:
			byRun[c.Run.Run] = *c.Run
		case c.Run == nil && c.End != 0:
			delete(byRun, c.End)
		default:
			return errors.New("starts nothing and ends nothing")
		}
		return nil
	})
	if err != nil {
		return 0, nil, nil, err
	}
	if byRun == nil {
		return s.Life, s.Running, s.Orphans, nil
	}
	for _, run := range slices.Sorted(maps.Keys(byRun)) {
		running = append(running, byRun[run])
	}
	return s.Life, running, s.Orphans, nil
}

// persistOps is the effect that makes the ops record current: the changes
// of the running processes since the last one, appended, or a fresh base,
// the encoding of opsState{Life: a.life, Running: a.running in process
// order, Orphans: a.orphans}, with each running process encoded once,
// when it starts or learns its group (runningRecord), not again at every
// start and end of every other: a host probing all its resources at once
// ran O(R) encodings per process.
func (a *Agent) persistOps() effect.Effect {
	r := &a.runEnc
	size := len(`{"life":,"running":[],"orphans":}`) + 20 + len(r.ids) + r.encBytes
	if r.based && !r.rebase && r.tail+len(r.pending) <= size+len(a.orphans)*256+opsSlack {
		r.tail += len(r.pending)
		return a.batches.Persist(effect.Persist{Name: OpsRecord, Data: r.takePending(), Append: true})
	}
	r.based, r.rebase, r.tail, r.pending = true, false, 0, r.pending[:0]
	data := make([]byte, 0, size+len(a.orphans)*256+1)
	data = strconv.AppendUint(append(data, `{"life":`...), a.life, 10) // json.Marshal's encoding of a uint64
	if len(r.ids) > 0 {
		data = append(data, `,"running":[`...)
		for i, enc := range r.encs {
			if i > 0 {
				data = append(data, ',')
			}
			data = append(data, enc...)
		}
		data = append(data, ']')
	}
	if len(a.orphans) > 0 {
		orphans, _ := json.Marshal(a.orphans)
		data = append(append(data, `,"orphans":`...), orphans...)
	}
	return a.batches.Persist(effect.Persist{Name: OpsRecord, Data: append(data, "}\n"...)})
}

// runningRecord keeps the encoding of each running process of the ops
// record, in process order, and the changes not persisted yet.
type runningRecord struct {
	// ids are the running processes, sorted, and encs their encodings,
	// each at its process's index: a handful, which a binary search finds
	// cheaper than a map's hashing, at every process start and end.
	ids  []proc.ID
	encs [][]byte
	// encBytes is the length of the encodings in encs together, kept as
	// they change: summing them at every persist cost a pass over them
	// per process start and end.
	encBytes int
	// pending holds the change lines since the last persist; tail counts
	// the bytes of changes the stored record holds beyond its base.
	pending []byte
	tail    int
	// based is set once this life wrote a base; rebase asks for the next
	// persist to write one (the orphans changed).
	based, rebase bool
	// spare holds the encoding buffers of ended processes, for the next
	// ones to start: a buffer per process start was one allocation in
	// every run.
	spare [][]byte
	// call is the text of the call time encoded last.
	call callText
	// chunk is the buffer pending is a window of, and lent counts the
	// appends handed out (takePending) that the driver has not released
	// yet: once it has them all back and nothing is pending, the
	// next lines start at the chunk's beginning again instead of filling
	// it and taking a new one (4 KiB every few dozen process starts). A
	// driver that releases nothing (the live daemons) never gets there.
	chunk []byte
	lent  int
}

// set (re-)encodes a running process.
func (r *runningRecord) set(id proc.ID, in *Inflight) {
	i, found := slices.BinarySearch(r.ids, id)
	if !found {
		r.ids, r.encs = slices.Insert(r.ids, i, id), slices.Insert(r.encs, i, nil)
	}
	buf := r.encs[i][:0] // the old encoding is nobody's: reuse it
	if buf == nil && len(r.spare) > 0 {
		buf = r.spare[len(r.spare)-1][:0]
		r.spare = r.spare[:len(r.spare)-1]
	}
	if buf == nil {
		// Sized once for the longest encoding: growing from nil cost about
		// five allocations per process start.
		buf = make([]byte, 0, inflightMax+len(in.Resource)+len(in.Action)+len(in.Boot))
	}
	r.encBytes -= len(r.encs[i])
	enc := appendInflightWith(buf, in, &r.call)
	r.encs[i] = enc
	r.encBytes += len(enc)
	r.room(len(`{"run":}`) + 1 + len(enc))
	r.pending = append(append(append(r.pending, `{"run":`...), enc...), "}\n"...)
}

// opsChunk is the size of the buffers the ops record's change lines are
// written into: many lines, so many appends, to an allocation.
const opsChunk = 4096

// room makes room in pending for n more bytes. When the buffer is full,
// the lines not persisted yet move to a new one; the old one is left to
// the appends already handed out (takePending).
func (r *runningRecord) room(n int) {
	if cap(r.pending)-len(r.pending) >= n {
		return
	}
	buf := make([]byte, len(r.pending), max(opsChunk, 2*(len(r.pending)+n)))
	copy(buf, r.pending)
	r.pending, r.chunk = buf, buf
}

// takePending hands out the change lines not persisted yet, for an
// append, and empties pending. They were a copy each (an allocation per
// process start and end, and per group learnt); now the Persist's data is
// pending's bytes themselves, capped so that no append to it reaches past
// them, and pending goes on after them in the same buffer: nothing ever
// writes those bytes again, so the effect holds them as long as it needs.
func (r *runningRecord) takePending() []byte {
	n := len(r.pending)
	data := r.pending[:n:n]
	r.pending = r.pending[n:n]
	r.lent++
	return data
}

// returned notes that the driver released an append takePending handed
// out, and starts pending over at its chunk's beginning once none is out
// (of this chunk or an earlier one) and none is pending: then nothing
// but pending can hold the chunk's bytes.
func (r *runningRecord) returned() {
	if r.lent == 0 {
		return
	}
	if r.lent--; r.lent == 0 && len(r.pending) == 0 && r.chunk != nil {
		r.pending = r.chunk[:0]
	}
}

// remove forgets an ended process.
func (r *runningRecord) remove(id proc.ID) {
	i, ok := slices.BinarySearch(r.ids, id)
	if !ok {
		return
	}
	enc := r.encs[i]
	r.spare = append(r.spare, enc) // the encoding is copied into pending: nothing else holds it
	r.encBytes -= len(enc)
	r.ids, r.encs = slices.Delete(r.ids, i, i+1), slices.Delete(r.encs, i, i+1)
	r.room(len(`{"end":}`) + 1 + 20)
	r.pending = strconv.AppendUint(append(r.pending, `{"end":`...), uint64(id), 10)
	r.pending = append(r.pending, "}\n"...)
}

// noteStarts puts, before each resource agent process the LRM starts, the
// durable intent (the ops record) and the history's start record: the
// process may outlive the agent, so a later life must find it.
func (a *Agent) noteStarts(now time.Time, effs []effect.Effect) []effect.Effect {
	starts := 0
	for _, e := range effs {
		if sp, ok := e.(*effect.StartProcess); ok && uint64(sp.ID) < idBase {
			starts++
		}
	}
	if starts == 0 {
		if len(effs) == 0 {
			return nil
		}
		return effs // route's own slice: nothing to put before anything, so no copy
	}
	// Room for each start's two effects before it: growing from nil cost
	// two allocations per start. effs is route's own, garbage once copied:
	// it serves a later batch.
	out := a.batches.Take(len(effs) + 2*starts)
	defer a.batches.Put(effs)
	for _, e := range effs {
		sp, ok := e.(*effect.StartProcess)
		if !ok || uint64(sp.ID) >= idBase {
			out = append(out, e)
			continue
		}
		run, ok := a.lrm.RunOf(sp.ID)
		if !ok {
			out = append(out, e)
			continue
		}
		in := Inflight{Resource: run.Req.Resource, Action: run.Req.Action, IntervalMS: run.Req.Interval.Milliseconds(),
			Life: a.life, Run: uint64(sp.ID), Boot: a.cfg.Boot, Call: now, Epoch: uint64(a.calls[run.Call].epoch),
			TimeoutMS: run.Req.Timeout.Milliseconds()}
		a.running[sp.ID] = in
		a.runEnc.set(sp.ID, &in)
		out = append(out, a.persistOps(), a.note(a.startRecord(&in)), e)
	}
	return out
}

func (a *Agent) startRecord(in *Inflight) history.Record {
	return history.Record{Phase: history.Started, Kind: history.Resource, Host: a.cfg.Host, Resource: in.Resource,
		Action: string(in.Action), IntervalMS: in.IntervalMS, Epoch: in.Epoch, Life: in.Life, Run: in.Run, At: in.Call}
}

// ProcessStarted tells the agent the process group of a process it asked
// for (the live runner knows it only once it has forked): it goes into the
// ops record, so that a later life can kill the group.
func (a *Agent) ProcessStarted(now time.Time, id proc.ID, pgid int) []effect.Effect {
	in, ok := a.running[id]
	if !ok || pgid <= 0 {
		return nil
	}
	in.PGID = pgid
	a.running[id] = in
	a.runEnc.set(id, &in)
	return append(a.batches.Take(1), a.persistOps())
}

// resourceExited records the end of resource agent process in (started
// false when the agent did not start it): the history's end record with the result
// the LRM just reported (a recurring monitor's unchanged run is reported
// to nobody, but it is history), then persist, the ops record without it
// (made before the LRM's effects, which may start the next process: the
// ops record's changes go out in the order they happened). Both come
// before the result goes out.
func (a *Agent) resourceExited(now time.Time, in Inflight, started bool, exit proc.Exit, persist effect.Effect, effs []effect.Effect) []effect.Effect {
	if !started {
		return effs
	}
	rec := a.startRecord(&in)
	rec.Phase, rec.At, rec.Killed = history.Ended, now, exit.Signal != ""
	key := lrm.OpKey{Action: in.Action, Interval: time.Duration(in.IntervalMS) * time.Millisecond}
	if res, ok := a.lrm.LastResult(in.Resource, key); ok && res.EndedAt.Equal(now) {
		rec.RC, rec.Status = int(res.RC), res.Status.String()
		rec.Killed = rec.Killed || res.Status == lrm.Timeout
	} else {
		rec.RC, rec.Status, rec.Killed = exit.Code, lrm.Error.String(), true // unregistered meanwhile: nobody heard
	}
	// In place when effs has room (a recurring monitor's run leaves it
	// some): effs is this input's own slice, kept by nobody else.
	if cap(effs)-len(effs) < 2 {
		out := append(a.batches.Take(len(effs)+2), effs...)
		a.batches.Put(effs)
		effs = out
	}
	return slices.Insert(effs, 0, effect.Effect(a.note(rec)), persist)
}

// fenceRecord is the history record of a fence agent run.
func (a *Agent) fenceRecord(phase history.Phase, at time.Time, id proc.ID, m proto.FenceExec) history.Record {
	return history.Record{Phase: phase, Kind: history.Fence, Host: a.cfg.Host, Device: m.Device, Target: m.Target,
		Action: string(m.Action), Epoch: uint64(m.Epoch), Life: a.life, Run: uint64(id), At: at}
}
