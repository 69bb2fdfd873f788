package agent

import (
	"time"

	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
)

// The records' lines are read by hand when they are exactly what this
// agent writes (appendInflight, appendResource, persistOps and the change
// lines): the keys in their order, no space, plain strings (plainJSON),
// canonical numbers. Anything else, an older agent's record included,
// goes through json.Unmarshal as before: a line the scanner does not
// take whole is decoded again from scratch. Every restart of an agent
// read its records through encoding/json's reflection, about as many
// allocations as the rest of its boot. TestRecordDecodingIsJSONs holds
// what the scanner takes to json.Unmarshal's values.

// scanner reads one line; ok turns false at the first byte it does not
// take, and every read after that is a no-op.
type scanner struct {
	b  []byte
	ok bool
}

func newScanner(b []byte) *scanner { return &scanner{b: b, ok: true} }

// done reports whether the whole line was taken.
func (s *scanner) done() bool { return s.ok && len(s.b) == 0 }

// lit takes the text t.
func (s *scanner) lit(t string) {
	if !s.has(t) {
		s.ok = false
	}
}

// has takes the text t if the line goes on with it.
func (s *scanner) has(t string) bool {
	if !s.ok || len(s.b) < len(t) || string(s.b[:len(t)]) != t {
		return false
	}
	s.b = s.b[len(t):]
	return true
}

// quoted takes a plain string and returns it with its quotes.
func (s *scanner) quoted() []byte {
	if !s.ok || len(s.b) == 0 || s.b[0] != '"' {
		s.ok = false
		return nil
	}
	for i := 1; i < len(s.b); i++ {
		c := s.b[i]
		if c == '"' {
			q := s.b[:i+1]
			s.b = s.b[i+1:]
			return q
		}
		if c < 0x20 || c > 0x7e || c == '\\' || c == '<' || c == '>' || c == '&' {
			break
		}
	}
	s.ok = false
	return nil
}

// str takes a plain string.
func (s *scanner) str() string {
	q := s.quoted()
	if len(q) < 2 {
		return ""
	}
	return string(q[1 : len(q)-1])
}

// action takes an action name: a frequent one is its constant, not a copy.
func (s *scanner) action() ocf.Action {
	q := s.quoted()
	if len(q) < 2 {
		return ""
	}
	switch name := q[1 : len(q)-1]; string(name) {
	case string(ocf.Start):
		return ocf.Start
	case string(ocf.Stop):
		return ocf.Stop
	case string(ocf.Monitor):
		return ocf.Monitor
	case string(ocf.Promote):
		return ocf.Promote
	case string(ocf.Demote):
		return ocf.Demote
	case string(ocf.Notify):
		return ocf.Notify
	default:
		return ocf.Action(name)
	}
}

// uint takes a canonical unsigned number (no sign, no leading zero) that
// fits 64 bits.
func (s *scanner) uint() uint64 {
	n := 0
	for n < len(s.b) && s.b[n] >= '0' && s.b[n] <= '9' {
		n++
	}
	if !s.ok || n == 0 || n > 1 && s.b[0] == '0' {
		s.ok = false
		return 0
	}
	var v uint64
	for _, c := range s.b[:n] {
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			s.ok = false
			return 0
		}
		v = v*10 + d
	}
	s.b = s.b[n:]
	return v
}

// int takes a canonical signed number that fits 64 bits (and "-0" not).
func (s *scanner) int() int64 {
	neg := s.has("-")
	u := s.uint()
	switch {
	case !s.ok || neg && u == 0:
		s.ok = false
		return 0
	case neg && u <= 1<<63:
		return -int64(u-1) - 1
	case !neg && u < 1<<63:
		return int64(u)
	}
	s.ok = false
	return 0
}

// intN is int for a Go int.
func (s *scanner) intN() int {
	v := s.int()
	if int64(int(v)) != v {
		s.ok = false
		return 0
	}
	return int(v)
}

// time takes a time as time.Time's UnmarshalJSON reads it, which is what
// json.Unmarshal calls.
func (s *scanner) time() time.Time {
	var t time.Time
	q := s.quoted()
	if s.ok && t.UnmarshalJSON(q) != nil {
		s.ok = false
	}
	return t
}

// inflight takes appendInflight's encoding.
func (s *scanner) inflight(in *Inflight) {
	s.lit(`{"resource":`)
	in.Resource = s.str()
	s.lit(`,"action":`)
	in.Action = s.action()
	if s.has(`,"interval_ms":`) {
		in.IntervalMS = s.int()
	}
	s.lit(`,"life":`)
	in.Life = s.uint()
	s.lit(`,"run":`)
	in.Run = s.uint()
	if s.has(`,"boot":`) {
		in.Boot = s.str()
	}
	if s.has(`,"pgid":`) {
		in.PGID = s.intN()
	}
	s.lit(`,"call":`)
	in.Call = s.time()
	if s.has(`,"epoch":`) {
		in.Epoch = s.uint()
	}
	s.lit(`,"timeout_ms":`)
	in.TimeoutMS = s.int()
	s.lit(`}`)
}

// inflights takes a list of inflight's, as json.Unmarshal makes it (an
// empty list is an empty slice, not nil).
func (s *scanner) inflights() []Inflight {
	out := []Inflight{}
	s.lit(`[`)
	for s.ok && !s.has(`]`) {
		if len(out) > 0 {
			s.lit(`,`)
		}
		out = append(out, Inflight{})
		s.inflight(&out[len(out)-1])
	}
	return out
}

// scanOpsState takes persistOps's base.
func scanOpsState(line []byte, st *opsState) bool {
	s := newScanner(line)
	s.lit(`{"life":`)
	st.Life = s.uint()
	if s.has(`,"running":`) {
		st.Running = s.inflights()
	}
	if s.has(`,"orphans":`) {
		st.Orphans = s.inflights()
	}
	s.lit(`}`)
	return s.done()
}

// scanOpsChange takes a change line of the ops record.
func scanOpsChange(line []byte, c *opsChange) bool {
	s := newScanner(line)
	if s.has(`{"end":`) {
		c.End = s.uint()
	} else {
		s.lit(`{"run":`)
		c.Run = new(Inflight)
		s.inflight(c.Run)
	}
	s.lit(`}`)
	return s.done()
}

// stringMap takes appendStringMap's encoding, in any key order.
func (s *scanner) stringMap() map[string]string {
	if s.has(`null`) {
		return nil
	}
	m := map[string]string{}
	s.lit(`{`)
	for s.ok && !s.has(`}`) {
		if len(m) > 0 {
			s.lit(`,`)
		}
		k := s.str()
		s.lit(`:`)
		m[k] = s.str()
	}
	return m
}

// reload takes the encoding of a Reloadability.
func (s *scanner) reload() *ocf.Reloadability {
	rl := &ocf.Reloadability{}
	s.lit(`{`)
	sep := false
	if s.has(`"Action":`) {
		rl.Action, sep = s.action(), true
	}
	if sep && s.has(`,"ForceRestart":[`) || !sep && s.has(`"ForceRestart":[`) {
		rl.ForceRestart, sep = []string{}, true
		for s.ok && !s.has(`]`) {
			if len(rl.ForceRestart) > 0 {
				s.lit(`,`)
			}
			rl.ForceRestart = append(rl.ForceRestart, s.str())
		}
	}
	if sep && s.has(`,"RestartDigest":`) || !sep && s.has(`"RestartDigest":`) {
		rl.RestartDigest = s.str()
	}
	s.lit(`}`)
	return rl
}

// resource takes appendResource's encoding.
func (s *scanner) resource(r *lrm.Resource) {
	s.lit(`{"ID":`)
	r.ID = s.str()
	s.lit(`,"Name":`)
	r.Name = s.str()
	s.lit(`,"Agent":{"Provider":`)
	r.Agent.Provider = s.str()
	s.lit(`,"Type":`)
	r.Agent.Type = s.str()
	s.lit(`},"Params":`)
	r.Params = s.stringMap()
	if s.has(`,"Reload":`) {
		r.Reload = s.reload()
	}
	if s.has(`,"Instance":`) {
		r.Instance = s.str()
	}
	if s.has(`,"Meta":`) {
		r.Meta = s.stringMap()
	}
	s.lit(`}`)
}

// scanResources takes the resource record's base: EncodeResources's.
func scanResources(line []byte, rs *[]lrm.Resource) bool {
	s := newScanner(line)
	if s.has(`null`) {
		return s.done()
	}
	out := []lrm.Resource{}
	s.lit(`[`)
	for s.ok && !s.has(`]`) {
		if len(out) > 0 {
			s.lit(`,`)
		}
		out = append(out, lrm.Resource{})
		s.resource(&out[len(out)-1])
	}
	*rs = out
	return s.done()
}

// scanResourceChange takes a change line of the resource record.
func scanResourceChange(line []byte, c *resourceChange) bool {
	s := newScanner(line)
	if s.has(`{"remove":`) {
		c.Remove = s.str()
	} else {
		s.lit(`{"set":`)
		c.Set = new(lrm.Resource)
		s.resource(c.Set)
	}
	s.lit(`}`)
	return s.done()
}
