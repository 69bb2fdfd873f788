package agent

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
)

// recordLines are lines of both records as this agent writes them and as
// it does not (spaces, other key orders and cases, escapes, odd numbers,
// nulls, an older agent's shapes), for the scanner to take or leave.
func recordLines(t *testing.T) (ops, opsChanges, rscs, rscChanges, plain []string) {
	east := time.FixedZone("east", 5*3600+1800)
	times := []time.Time{{}, time.Unix(1700000000, 123456789).UTC(), time.Unix(1700000000, 0).In(east)}
	strs := []string{"", "r1", "a b", `q"uote`, "é", "<&>"}
	var infl []string
	for i, call := range times {
		for j, s := range strs {
			in := Inflight{Resource: s, Action: []ocf.Action{ocf.Monitor, ocf.Start, "odd"}[j%3], Boot: strs[(i+j)%len(strs)], Call: call}
			if (i+j)%2 == 1 {
				in.IntervalMS, in.Life, in.Run, in.PGID, in.Epoch, in.TimeoutMS = -10000, 3, 1<<63, -4, 7, -1<<63
			}
			infl = append(infl, string(appendInflight(nil, &in)))
		}
	}
	infl = append(infl, `{"resource":"r","action":"stop","life":01,"run":1,"call":"2024-01-01T00:00:00Z","timeout_ms":1}`,
		`{"resource":"r","action":"stop","life":1,"run":18446744073709551616,"call":"2024-01-01T00:00:00Z","timeout_ms":1}`,
		`{"resource":"r","action":"stop","life":1,"run":1,"call":"2024-01-01T00:00:00Z","timeout_ms":-0}`,
		`{"resource":"r","action":"stop","life":1,"run":1,"call":"2024-01-01T00:00:00+01:00","timeout_ms":9223372036854775807}`,
		`{"resource":"r","action":"stop","life":1,"run":1,"call":"2024-01-01T00:00:00Z","timeout_ms":1.5}`,
		`{"Resource":"r","action":"stop","life":1,"run":1,"call":"2024-01-01T00:00:00Z","timeout_ms":1}`,
		`{"resource":"r", "action":"stop","life":1,"run":1,"call":"2024-01-01T00:00:00Z","timeout_ms":1}`,
		`{"resource":"r","action":"stop","life":1,"run":1,"call":"not a time","timeout_ms":1}`,
		`{"resource":"r\u0031","action":"stop","life":1,"run":1,"call":"2024-01-01T00:00:00Z","timeout_ms":1}`)
	ops = []string{`{"life":0}`, `{"life":3,"running":[]}`, `{"life":3,"running":[` + infl[0] + `,` + infl[1] + `]}`,
		`{"life":3,"orphans":[` + infl[2] + `]}`, `{"life":3,"running":[` + infl[3] + `],"orphans":[` + infl[4] + `,` + infl[5] + `]}`,
		`{"life":3,"running":null}`, `{"life":3} `, `{"life":3,"extra":1}`, `{"orphans":[],"life":2}`, `{"life":-1}`}
	for _, in := range infl {
		opsChanges = append(opsChanges, `{"run":`+in+`}`)
	}
	opsChanges = append(opsChanges, `{"end":5}`, `{"end":0}`, `{"run":null}`, `{"end":5,"run":`+infl[0]+`}`, `{"end":"5"}`)

	reloads := []*ocf.Reloadability{nil, {}, {Action: ocf.ReloadAgent}, {ForceRestart: []string{"ip"}},
		{RestartDigest: "abc"}, {Action: ocf.Reload, ForceRestart: []string{"a", "b"}, RestartDigest: "d"}}
	var res []string
	for i, s := range strs {
		for j, rl := range reloads {
			r := lrm.Resource{ID: s, Name: strs[(i+1)%len(strs)], Agent: ocf.Agent{Provider: "heartbeat", Type: "Dummy"},
				Reload: rl, Instance: strs[(i+2*j)%len(strs)]}
			switch (i + j) % 3 {
			case 1:
				r.Params, r.Meta = map[string]string{}, map[string]string{}
			case 2:
				r.Params = map[string]string{"ip": s, "b": "2"}
				r.Meta = map[string]string{"clone_max": "2"}
			}
			enc, err := appendResource(nil, &r)
			require.NoError(t, err)
			res = append(res, string(enc))
		}
	}
	for j, rl := range reloads { // plain strings: what the scanner must take
		r := lrm.Resource{ID: "r1", Name: "n", Agent: ocf.Agent{Provider: "heartbeat", Type: "IPaddr2"}, Reload: rl,
			Params: map[string]string{"ip": "10.0.0.1", "nic": "eth0"}}
		if j%2 == 0 {
			r.Instance, r.Meta = "r1:0", map[string]string{"clone_max": "2", "notify": "true"}
		}
		enc, err := appendResource(nil, &r)
		require.NoError(t, err)
		plain = append(plain, `{"set":`+string(enc)+`}`)
	}
	res = append(res, `{"ID":"r","Name":"r","Agent":{"Provider":"p","Type":"t"},"Params":{"a":"1","a":"2"}}`,
		`{"ID":"r","Name":"r","Agent":{"Provider":"p","Type":"t"},"Params":{"b":"1","a":"2"},"Meta":{}}`,
		`{"ID":"r","Name":"r","Agent":{"Provider":"p","Type":"t"},"Params":null,"Reload":{"ForceRestart":[]}}`,
		`{"ID":"r","Name":"r","Agent":{"Provider":"p","Type":"t"},"Params":null,"Reload":null}`,
		`{"ID":"r","Name":"r","Agent":{"Provider":"p","Type":"t"},"Params":null,"Reload":{"RestartDigest":"x","Action":"reload"}}`,
		`{"ID":"r","Agent":{"Provider":"p","Type":"t"},"Params":null}`,
		`{"ID":"r","Name":"r","Agent":{"Provider":"p","Type":"t"},"Params":{"a":1}}`)
	rscs = []string{`null`, `[]`, `[` + res[0] + `]`, `[` + strings.Join(res, ",") + `]`, `[` + res[1] + `,]`, ` []`}
	for _, r := range res {
		rscChanges = append(rscChanges, `{"set":`+r+`}`)
	}
	rscChanges = append(rscChanges, `{"remove":"r"}`, `{"remove":""}`, `{"remove":"r","set":null}`, `{"set":null}`)
	rscChanges = append(rscChanges, plain...)
	plain = append(plain, ops[2], opsChanges[1], rscs[2], `{"remove":"r"}`)
	return ops, opsChanges, rscs, rscChanges, plain
}

// checkScan holds scan to json.Unmarshal on each line: a line it takes
// must decode to what json.Unmarshal makes of it. It returns how many it
// took.
func checkScan[T any](t *testing.T, lines []string, scan func([]byte, *T) bool) int {
	took := 0
	for _, line := range lines {
		var got T
		if !scan([]byte(line), &got) {
			continue
		}
		took++
		var want T
		require.NoError(t, json.Unmarshal([]byte(line), &want), line)
		require.Equal(t, want, got, line)
	}
	return took
}

// TestRecordDecodingIsJSONs: the scanner takes every line this agent
// writes, and what it takes it reads as json.Unmarshal does; whole
// records decode alike with it and without it.
func TestRecordDecodingIsJSONs(t *testing.T) {
	ops, opsChanges, rscs, rscChanges, plain := recordLines(t)
	require.Equal(t, 4, checkScan(t, ops, scanOpsState))
	require.Equal(t, 9, checkScan(t, opsChanges, scanOpsChange))
	require.Equal(t, 3, checkScan(t, rscs, scanResources))
	require.Equal(t, 17, checkScan(t, rscChanges, scanResourceChange))
	for _, line := range plain {
		var a opsState
		var b opsChange
		var c []lrm.Resource
		var d resourceChange
		took := scanOpsState([]byte(line), &a) || scanOpsChange([]byte(line), &b) || scanResources([]byte(line), &c) ||
			scanResourceChange([]byte(line), &d)
		require.True(t, took, "a line as the agent writes it: %s", line)
	}

	for i := range 60 {
		opsRec := ops[i%len(ops)] + "\n"
		for j := range i % 7 {
			opsRec += opsChanges[(i*3+j)%len(opsChanges)] + "\n"
		}
		life, running, orphans, err := DecodeOps([]byte(opsRec))
		wlife, wrunning, worphans, werr := jsonDecodeOps([]byte(opsRec))
		require.Equal(t, werr, err, opsRec)
		require.Equal(t, wlife, life, opsRec)
		require.Equal(t, wrunning, running, opsRec)
		require.Equal(t, worphans, orphans, opsRec)

		rRec := rscs[i%len(rscs)] + "\n"
		for j := range i % 5 {
			rRec += rscChanges[(i*7+j)%len(rscChanges)] + "\n"
		}
		got, err := DecodeResources([]byte(rRec))
		want, werr := jsonDecodeResources([]byte(rRec))
		require.Equal(t, werr, err, rRec)
		require.Equal(t, want, got, rRec)
	}
}

// noScan takes no line: decodeLog reads every one through json.Unmarshal,
// as it did before the scanner.
func noScan[T any]([]byte, *T) bool { return false }

func jsonDecodeOps(data []byte) (uint64, []Inflight, []Inflight, error) {
	return decodeOps(data, noScan[opsState], noScan[opsChange])
}

func jsonDecodeResources(data []byte) ([]lrm.Resource, error) {
	return decodeResources(data, noScan[[]lrm.Resource], noScan[resourceChange])
}

// TestRecordScannerAgreesWithJSONOnMutations: lines the agent writes,
// with random bytes replaced, inserted or deleted (200,000 of them, from a
// fixed seed): every one the scanner takes must be one json.Unmarshal
// takes too, and to the same value. A line a torn write or an older agent
// left is either read exactly as encoding/json reads it or handed to
// encoding/json.
func TestRecordScannerAgreesWithJSONOnMutations(t *testing.T) {
	ops, opsChanges, rscs, rscChanges, plain := recordLines(t)
	var base []string
	for _, set := range [][]string{ops, opsChanges, rscs, rscChanges, plain} {
		base = append(base, set...)
	}
	const alphabet = `{}[]",:0123456789-.eE+ntrufalsRIDNameAgentPrvidTypsmoT\u00`
	rng := rand.New(rand.NewPCG(5, 6))
	took := 0
	for i := range 200_000 {
		line := []byte(base[i%len(base)])
		for range 1 + rng.IntN(3) {
			p := rng.IntN(len(line) + 1)
			c := alphabet[rng.IntN(len(alphabet))]
			switch rng.IntN(3) {
			case 0:
				line = slices.Insert(line, p, c)
			case 1:
				if p < len(line) {
					line[p] = c
				}
			default:
				if p < len(line) {
					line = slices.Delete(line, p, p+1)
				}
			}
		}
		took += agreesWithJSON(t, line, scanOpsState) + agreesWithJSON(t, line, scanOpsChange) +
			agreesWithJSON(t, line, scanResources) + agreesWithJSON(t, line, scanResourceChange)
	}
	require.Positive(t, took, "some mutated lines are still the agent's own")
}

// agreesWithJSON is 1 when scan takes line, which it may only if
// json.Unmarshal takes it to the same value.
func agreesWithJSON[T any](t *testing.T, line []byte, scan func([]byte, *T) bool) int {
	var got T
	if !scan(line, &got) {
		return 0
	}
	var want T
	if err := json.Unmarshal(line, &want); err != nil {
		t.Fatalf("the scanner took %q, which encoding/json refuses: %v", line, err)
	}
	require.Equal(t, want, got, "%s", line)
	return 1
}
