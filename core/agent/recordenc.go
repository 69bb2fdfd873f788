package agent

import (
	"encoding/json"
	"slices"

	"github.com/basalt-ha/basalt/core/lrm"
)

// appendResource appends r's JSON encoding, byte for byte json.Marshal's
// (TestResourceEncodingIsJSONs checks it against json.Marshal): every
// registration and every settled start encodes one, and
// encoding/json's reflection cost the agent about four allocations each.
// Anything unusual (a string to escape) goes through json.Marshal itself.
func appendResource(b []byte, r *lrm.Resource) ([]byte, error) {
	if !plainResource(r) {
		data, err := json.Marshal(r)
		return append(b, data...), err
	}
	b = appendPlain(append(b, `{"ID":`...), r.ID)
	b = appendPlain(append(b, `,"Name":`...), r.Name)
	b = appendPlain(append(b, `,"Agent":{"Provider":`...), r.Agent.Provider)
	b = appendPlain(append(b, `,"Type":`...), r.Agent.Type)
	b = appendStringMap(append(b, `},"Params":`...), r.Params)
	if rl := r.Reload; rl != nil {
		b = append(b, `,"Reload":{`...)
		sep := false
		if rl.Action != "" {
			b, sep = appendPlain(append(b, `"Action":`...), string(rl.Action)), true
		}
		if len(rl.ForceRestart) > 0 {
			if sep {
				b = append(b, ',')
			}
			b = append(b, `"ForceRestart":[`...)
			for i, p := range rl.ForceRestart {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendPlain(b, p)
			}
			b, sep = append(b, ']'), true
		}
		if rl.RestartDigest != "" {
			if sep {
				b = append(b, ',')
			}
			b = appendPlain(append(b, `"RestartDigest":`...), rl.RestartDigest)
		}
		b = append(b, '}')
	}
	if r.Instance != "" {
		b = appendPlain(append(b, `,"Instance":`...), r.Instance)
	}
	if len(r.Meta) > 0 {
		b = appendStringMap(append(b, `,"Meta":`...), r.Meta)
	}
	return append(b, '}'), nil
}

// plainResource reports whether every string of r is one json.Marshal
// writes as it is (plainJSON).
func plainResource(r *lrm.Resource) bool {
	if !plainJSON(r.ID) || !plainJSON(r.Name) || !plainJSON(r.Agent.Provider) || !plainJSON(r.Agent.Type) || !plainJSON(r.Instance) ||
		!plainMap(r.Params) || !plainMap(r.Meta) {
		return false
	}
	if rl := r.Reload; rl != nil {
		return plainJSON(string(rl.Action)) && plainJSON(rl.RestartDigest) && !slices.ContainsFunc(rl.ForceRestart, notPlain)
	}
	return true
}

func notPlain(s string) bool { return !plainJSON(s) }

func plainMap(m map[string]string) bool {
	for k, v := range m { // purity:unordered whether any entry is not plain, whatever the order
		if !plainJSON(k) || !plainJSON(v) {
			return false
		}
	}
	return true
}

// appendPlain appends s, a plainJSON string, as JSON.
func appendPlain(b []byte, s string) []byte { return append(append(append(b, '"'), s...), '"') }

// appendStringMap appends m, of plainJSON strings, as json.Marshal does:
// null when nil, else its entries in key order.
func appendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var buf [16]string // on the stack: a definition's few parameters
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendPlain(append(appendPlain(b, k), ':'), m[k])
	}
	return append(b, '}')
}
