package agent

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/ocf"
)

// TestInflightEncodingIsJSONs: the ops record's hand-written encoding of
// a running process is json.Marshal's, byte for byte, for every field
// zero or set, strings that need escaping, times in other zones, with
// nanoseconds, and of years json.Marshal refuses (nothing, as the
// agent recorded before; no clock of a host gives them).
func TestInflightEncodingIsJSONs(t *testing.T) {
	east := time.FixedZone("east", 5*3600+1800)
	times := []time.Time{{}, time.Unix(0, 0).UTC(), time.Unix(1700000000, 123456789).UTC(),
		time.Unix(1700000000, 120000000).In(east), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Now()}
	strs := []string{"", "r1", "a b", `q"uote`, `back\slash`, "<&>", "tab\t", "é", "\u2028", "\xff", "~"}
	n := 0
	for i, call := range times {
		for j, s := range strs {
			in := Inflight{Resource: s, Action: ocf.Action(strs[(j+1)%len(strs)]), Boot: strs[(j+i)%len(strs)], Call: call}
			if (i+j)%2 == 1 {
				in.IntervalMS, in.Life, in.Run, in.PGID, in.Epoch, in.TimeoutMS = 10000, 3, 1<<63, -4, 7, -1
			}
			want, _ := json.Marshal(&in) // nothing for a year it refuses, as before
			got := appendInflight(nil, &in)
			require.Equal(t, string(want), string(got), "%+v", in)
			n++
		}
	}
	require.Greater(t, n, 50)
}
