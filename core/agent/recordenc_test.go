package agent

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
)

// TestResourceEncodingIsJSONs: the resource record's hand-written
// encoding of a definition is json.Marshal's, byte for byte, for nil,
// empty and full parameters and meta attributes, every way of reloading,
// an instance or none, many parameters (past the stack's keys), and
// strings that need escaping.
func TestResourceEncodingIsJSONs(t *testing.T) {
	strs := []string{"", "r1", "a b", `q"uote`, `back\slash`, "<&>", "tab\t", "é", "\u2028", "\xff", "~"}
	reloads := []*ocf.Reloadability{nil, {}, {Action: ocf.ReloadAgent}, {ForceRestart: []string{"ip"}},
		{RestartDigest: "abc"}, {Action: ocf.Reload, ForceRestart: []string{"a", "b"}, RestartDigest: "d"},
		{Action: ocf.Reload, ForceRestart: []string{}, RestartDigest: "d"}, {ForceRestart: []string{"<"}}}
	n := 0
	for i, s := range strs {
		for j, rl := range reloads {
			r := lrm.Resource{ID: s, Name: strs[(i+1)%len(strs)], Agent: ocf.Agent{Provider: "heartbeat", Type: strs[(i+j)%len(strs)]},
				Reload: rl, Instance: strs[(i+2*j)%len(strs)]}
			switch (i + j) % 4 {
			case 1:
				r.Params, r.Meta = map[string]string{}, map[string]string{}
			case 2:
				r.Params = map[string]string{"ip": s, "b": "2", strs[j%len(strs)]: "x"}
				r.Meta = map[string]string{"clone_max": "2", "z": strs[j%len(strs)]}
			case 3:
				r.Params = map[string]string{}
				for k := range 40 {
					r.Params[fmt.Sprintf("p%d", k*7%40)] = fmt.Sprint(k)
				}
			}
			want, err := json.Marshal(r)
			require.NoError(t, err)
			got, err := appendResource([]byte("prefix"), &r)
			require.NoError(t, err)
			require.Equal(t, "prefix"+string(want), string(got), "%+v", r)
			n++
		}
	}
	require.Greater(t, n, 50)
}

// TestResourceRecordReusesItsEncodings: re-setting a definition whose
// encoding shrinks keeps the base's size right and differs sees it.
func TestResourceRecordReusesItsEncodings(t *testing.T) {
	var rr resourceRecord
	long := lrm.Resource{ID: "r", Name: "a long name", Agent: ocf.Agent{Provider: "heartbeat", Type: "Dummy"}, Params: map[string]string{"x": "1"}}
	short := long
	short.Name = "n"
	require.NoError(t, rr.set(long))
	require.NoError(t, rr.set(lrm.Resource{ID: "s", Agent: long.Agent}))
	require.NoError(t, rr.set(short))
	require.False(t, rr.differs(short))
	require.True(t, rr.differs(long))
	want, _ := EncodeResources([]lrm.Resource{short, {ID: "s", Agent: long.Agent}})
	require.Equal(t, string(want), string(rr.bytes()))
	require.Equal(t, len(want)-len("[]"), rr.size, "encodings and commas")
}

// TestResourceEncodingKnowsEveryField: appendResource writes the fields of
// lrm.Resource, ocf.Agent and ocf.Reloadability by name. A field added to
// one of them would be left out of every record, and lost at the agent's
// next restart, while TestResourceEncodingIsJSONs still passed on the old
// fields: this fails first, naming the encoder to extend.
func TestResourceEncodingKnowsEveryField(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want []string
	}{
		{lrm.Resource{}, []string{"ID", "Name", "Agent", "Params", "Reload", "Instance", "Meta"}},
		{ocf.Agent{}, []string{"Provider", "Type"}},
		{ocf.Reloadability{}, []string{"Action", "ForceRestart", "RestartDigest"}},
	} {
		typ := reflect.TypeOf(tc.v)
		var got []string
		for i := range typ.NumField() {
			got = append(got, typ.Field(i).Name)
		}
		require.Equal(t, tc.want, got, "%s changed: extend appendResource (recordenc.go) to write it as json.Marshal does", typ)
	}
}
