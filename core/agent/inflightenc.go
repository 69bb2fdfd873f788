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
func appendInflight(b []byte, in *Inflight) []byte {
	if y := in.Call.Year(); y < 0 || y > 9999 || !plainJSON(in.Resource) || !plainJSON(string(in.Action)) || !plainJSON(in.Boot) {
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
	b = in.Call.AppendFormat(append(b, `,"call":"`...), time.RFC3339Nano)
	b = append(b, '"')
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
