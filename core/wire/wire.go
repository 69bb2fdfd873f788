// Package wire encodes the manager↔agent messages of core/proto for the
// network: one JSON object per line, {"type": ..., "msg": {...}}. It is
// pure; the live transport frames and sends the bytes.
package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// MaxLine bounds one encoded message: a peer that sends more is broken or
// hostile, and a reader must not buffer without limit.
const MaxLine = 1 << 20

var types = map[string]effect.Message{
	"exec":         proto.Exec{},
	"cancel":       proto.Cancel{},
	"fence-exec":   proto.FenceExec{},
	"hello":        proto.Hello{},
	"goodbye":      proto.Goodbye{},
	"forget":       proto.Forget{},
	"heartbeat":    proto.Heartbeat{},
	"op-result":    proto.OpResult{},
	"fence-result": proto.FenceResult{},
	"refused":      proto.Refused{},
	"welcome":      proto.Welcome{},
	"attr-update":  proto.AttrUpdate{},
	"attributes":   proto.Attributes{},
}

var names = func() map[reflect.Type]string {
	// In name order, and refusing two names for one type, so that the name
	// a type encodes as never depends on map order.
	ns := make([]string, 0, len(types))
	for n := range types {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	out := map[reflect.Type]string{}
	for _, n := range ns {
		t := reflect.TypeOf(types[n])
		if prev, dup := out[t]; dup {
			panic(fmt.Sprintf("wire: %s has two names, %s and %s", t, prev, n))
		}
		out[t] = n
	}
	return out
}()

type envelope struct {
	Type string          `json:"type"`
	Msg  json.RawMessage `json:"msg"`
}

// Encode renders msg as one line, newline included.
func Encode(msg effect.Message) ([]byte, error) {
	name, ok := names[reflect.TypeOf(msg)]
	if !ok {
		return nil, fmt.Errorf("wire: %T is not a protocol message", msg)
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("wire: encode %s: %w", name, err)
	}
	line, err := json.Marshal(envelope{Type: name, Msg: body})
	if err != nil {
		return nil, fmt.Errorf("wire: encode %s: %w", name, err)
	}
	if len(line)+1 > MaxLine {
		return nil, fmt.Errorf("wire: %s message of %d bytes exceeds %d", name, len(line), MaxLine)
	}
	return append(line, '\n'), nil
}

// Decode parses one line. Unknown types and unknown fields are errors:
// a peer speaking another version must be noticed, not half-understood.
func Decode(line []byte) (effect.Message, error) {
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("wire: %w", err)
	}
	proto, ok := types[env.Type]
	if !ok {
		known := make([]string, 0, len(types))
		for n := range types {
			known = append(known, n)
		}
		sort.Strings(known)
		return nil, fmt.Errorf("wire: unknown message type %q (known: %v)", env.Type, known)
	}
	ptr := reflect.New(reflect.TypeOf(proto))
	body := json.NewDecoder(bytes.NewReader(env.Msg))
	body.DisallowUnknownFields()
	if err := body.Decode(ptr.Interface()); err != nil {
		return nil, fmt.Errorf("wire: %s: %w", env.Type, err)
	}
	return ptr.Elem().Interface().(effect.Message), nil
}
