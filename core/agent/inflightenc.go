package agent

import (
	"encoding/json"
	"strconv"
	"time"
)

// appendInflight appends in's JSON encoding, byte for byte json.Marshal's
// (TestInflightEncodingIsJSONs checks it against json.Marshal): every
// process start and every process group learnt encodes one, and
// encoding/json's reflection cost the agent about a dozen allocations
// each. Anything unusual (a string to escape, a year outside 0-9999,
// which json.Marshal refuses) goes through json.Marshal itself.
func appendInflight(b []byte, in *Inflight) []byte { return appendInflightWith(b, in, nil) }

// callText caches the text of the last call time encoded: a process's
// start and the re-encoding that adds its process group carry the same
// instant, as do the starts of one batch, and formatting the time was
// half the encoding's cost. Equal time.Time values (the same wall clock,
// monotonic reading and location) format the same.
type callText struct {
	t    time.Time
	text []byte
	ok   bool // text is t's and t is in json.Marshal's years
	set  bool
}

// of is t's text as appendInflight writes it, and whether its year is
// one json.Marshal encodes.
func (c *callText) of(t time.Time) ([]byte, bool) {
	if !c.set || c.t != t {
		c.text = t.AppendFormat(c.text[:0], time.RFC3339Nano)
		// A year of 0 to 9999, the ones json.Marshal encodes, is the one
		// whose text starts with four digits and a dash ("10000-", "-0001-"
		// do not): read off the text, not worked out again by t.Year.
		c.t, c.set, c.ok = t, true, len(c.text) > 4 && c.text[4] == '-' && c.text[0] != '-'
	}
	return c.text, c.ok
}

// appendInflightWith is appendInflight with the call time's text from
// cache (nil: none).
func appendInflightWith(b []byte, in *Inflight, cache *callText) []byte {
	if cache == nil {
		cache = &callText{}
	}
	call, inYears := cache.of(in.Call)
	if !inYears || !plainJSON(in.Resource) || !plainJSON(string(in.Action)) || !plainJSON(in.Boot) {
		data, _ := json.Marshal(*in) // a copy: in itself stays where it is (plain values: cannot fail but for the year, as before)
		return append(b, data...)
	}
	b = append(append(append(b, `{"resource":"`...), in.Resource...), `","action":"`...)
	b = append(append(b, in.Action...), '"')
	if in.IntervalMS != 0 {
		b = strconv.AppendInt(append(b, `,"interval_ms":`...), in.IntervalMS, 10)
	}
	b = strconv.AppendUint(append(b, `,"life":`...), in.Life, 10)
	b = strconv.AppendUint(append(b, `,"run":`...), in.Run, 10)
	if in.Boot != "" {
		b = append(append(append(b, `,"boot":"`...), in.Boot...), '"')
	}
	if in.PGID != 0 {
		b = strconv.AppendInt(append(b, `,"pgid":`...), int64(in.PGID), 10)
	}
	b = append(append(append(b, `,"call":"`...), call...), '"')
	if in.Epoch != 0 {
		b = strconv.AppendUint(append(b, `,"epoch":`...), in.Epoch, 10)
	}
	b = strconv.AppendInt(append(b, `,"timeout_ms":`...), in.TimeoutMS, 10)
	return append(b, '}')
}

// inflightMax bounds appendInflight's plain encoding but for its three
// strings: the keys and punctuation (108 bytes), six numbers of at most 20
// digits (with a sign) and an RFC 3339 time of at most 35 bytes. A
// test holds it to the longest encoding.
const inflightMax = 108 + 6*20 + 35

// plainJSON reports whether json.Marshal writes s as it is, in quotes:
// printable ASCII without the quote, the backslash and the characters it
// escapes for HTML.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
