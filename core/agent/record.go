package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/lrm"
)

// The resource list record (ResourcesRecord) is a log: a base, the JSON
// array of every resource in ID order (what EncodeResources writes, and
// all an agent before the log wrote), then one line per later change, a
// resourceChange. Rewriting the whole list on every registration cost a
// host O(R²) bytes written at boot, when the manager probes every
// resource everywhere (10,000 resources: about 10 GB per host); a change
// is appended instead, and the record is rewritten as a fresh base only
// once the changes outweigh the list (recordSlack), so that it stays
// within about twice its list's size and each change costs O(1) bytes
// amortised.
//
// The base line ends with a newline, as every change line does. A change
// line without its newline is a torn append (a crash during it): its
// change was not acknowledged, so nothing acted on it, and reading skips
// it; the agent's first persist of a life is a fresh base, which replaces
// such a tail.

// recordSlack is how many bytes of changes the record may hold beyond its
// list's size before it is rewritten: enough that a small list is not
// rewritten at every change.
const recordSlack = 4096

// resourceChange is one change line of the resource list record: Set is
// a resource's definition as the LRM now holds it, Remove the ID of a
// resource forgotten.
type resourceChange struct {
	Set    *lrm.Resource `json:"set,omitempty"`
	Remove string        `json:"remove,omitempty"`
}

// EncodeResources renders the resource list record of rs (a base alone).
func EncodeResources(rs []lrm.Resource) ([]byte, error) { return json.Marshal(rs) }

// DecodeResources parses the resource list record: its base and then its
// changes, skipping a torn last one. The resources come in ID order, as
// the LRM lists them.
func DecodeResources(data []byte) ([]lrm.Resource, error) {
	return decodeResources(data, scanResources, scanResourceChange)
}

// decodeResources is DecodeResources with its lines' scanners (decodeLog).
func decodeResources(data []byte, scanBase func([]byte, *[]lrm.Resource) bool, scanChange func([]byte, *resourceChange) bool) (
	[]lrm.Resource, error) {
	var rs []lrm.Resource
	var byID map[string]lrm.Resource
	index := func() {
		if byID == nil {
			byID = make(map[string]lrm.Resource, len(rs))
			for _, r := range rs {
				byID[r.ID] = r
			}
		}
	}
	err := decodeLog(data, "resource record", &rs, scanBase, scanChange, func(c *resourceChange) error {
		index()
		switch {
		case c.Set != nil && c.Set.ID != "":
			byID[c.Set.ID] = *c.Set
		case c.Set == nil && c.Remove != "":
			delete(byID, c.Remove)
		default:
			return errors.New("sets no resource and removes none")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	index() // a base alone too: in ID order, each ID once
	out := make([]lrm.Resource, 0, len(byID))
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		out = append(out, byID[id])
	}
	return out, nil
}

// decodeLog parses a record kept as a log (the resource list and ops
// records): its first line, the base, into base, then each whole change
// line after it into a C handed to apply, in order. A last line without its
// newline is a torn append and is skipped: its change was never
// acknowledged, so nothing acted on it. Each line is read by scanBase or
// scanChange when they take it whole (recorddec.go), else by
// json.Unmarshal, into a fresh value.
func decodeLog[B, C any](data []byte, what string, base *B, scanBase func([]byte, *B) bool, scanChange func([]byte, *C) bool,
	apply func(c *C) error) error {
	first, rest, _ := bytes.Cut(data, []byte{'\n'})
	if !scanBase(first, base) {
		*base = *new(B)
		if err := json.Unmarshal(first, base); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	for n := 1; len(rest) > 0; n++ {
		line, more, whole := bytes.Cut(rest, []byte{'\n'})
		if !whole {
			break // torn: never acknowledged, never acted on
		}
		var c C
		if !scanChange(line, &c) {
			c = *new(C)
			if err := json.Unmarshal(line, &c); err != nil {
				return fmt.Errorf("%s: change %d: %w", what, n, err)
			}
		}
		if err := apply(&c); err != nil {
			return fmt.Errorf("%s: change %d %w", what, n, err)
		}
		rest = more
	}
	return nil
}

// resourceRecord keeps the resource list record ready to persist: each
// resource's JSON encoded once, when it is registered or changed, in ID
// order, for a fresh base (whose bytes are exactly those of
// EncodeResources, since json.Marshal of a slice is its elements'
// encodings, comma-separated, in brackets), and how much the stored
// record holds beyond its base.
type resourceRecord struct {
	ids  []string          // sorted, as lrm.Resources lists them
	enc  map[string][]byte // by ID
	size int               // the base's length: brackets, commas, encodings
	// tail counts the bytes of changes appended since the last base;
	// based is unset until this life wrote a base.
	tail  int
	based bool
	// scratch is where a definition is encoded first, to be compared
	// (differs) or copied to its own buffer (set): growing a buffer of
	// its own from nil cost several allocations per definition.
	scratch []byte
}

// set records r's current definition (as the LRM holds it after
// registering it).
func (rr *resourceRecord) set(r lrm.Resource) error {
	enc, err := appendResource(rr.scratch[:0], &r)
	rr.scratch = enc[:0]
	if err != nil {
		return err
	}
	old, ok := rr.enc[r.ID]
	// Into the old encoding's array when it has room: persistSet and
	// bytes copy an encoding, so nothing else holds it.
	var data []byte
	if cap(old) >= len(enc) {
		data = old[:len(enc)]
	} else {
		data = make([]byte, len(enc))
	}
	copy(data, enc)
	if rr.enc == nil {
		rr.enc = map[string][]byte{}
	}
	switch {
	case !ok:
		i, _ := slices.BinarySearch(rr.ids, r.ID)
		rr.ids = slices.Insert(rr.ids, i, r.ID)
		rr.size += len(data)
		if len(rr.ids) > 1 {
			rr.size++ // its comma
		}
	default:
		rr.size += len(data) - len(old)
	}
	rr.enc[r.ID] = data
	return nil
}

// differs reports whether r's encoding is not the one recorded.
func (rr *resourceRecord) differs(r lrm.Resource) bool {
	enc, err := appendResource(rr.scratch[:0], &r)
	rr.scratch = enc[:0]
	return err != nil || string(enc) != string(rr.enc[r.ID])
}

// remove forgets id.
func (rr *resourceRecord) remove(id string) {
	old, ok := rr.enc[id]
	if !ok {
		return
	}
	if i, ok := slices.BinarySearch(rr.ids, id); ok {
		rr.ids = slices.Delete(rr.ids, i, i+1)
	}
	delete(rr.enc, id)
	rr.size -= len(old)
	if len(rr.ids) > 0 {
		rr.size--
	}
}

// persistSet is the effect that makes id's recorded definition (set
// just before) durable.
func (rr *resourceRecord) persistSet(id string) *effect.Persist {
	enc := rr.enc[id]
	line := make([]byte, 0, len(`{"set":}`)+len(enc)+1)
	line = append(append(append(line, `{"set":`...), enc...), "}\n"...)
	return rr.persist(line)
}

// persistRemove is the effect that makes id's removal (done just before)
// durable.
func (rr *resourceRecord) persistRemove(id string) *effect.Persist {
	name, _ := json.Marshal(id) // a string: cannot fail
	line := make([]byte, 0, len(`{"remove":}`)+len(name)+1)
	line = append(append(append(line, `{"remove":`...), name...), "}\n"...)
	return rr.persist(line)
}

// persist appends line, or writes a fresh base instead when this life has
// written none yet (what is stored may end with a torn change) or the
// changes would outweigh the list.
func (rr *resourceRecord) persist(line []byte) *effect.Persist {
	if !rr.based || rr.tail+len(line) > rr.size+recordSlack {
		return rr.rebase()
	}
	rr.tail += len(line)
	return &effect.Persist{Name: ResourcesRecord, Data: line, Append: true}
}

// rebase is the effect that writes the record as a fresh base alone.
func (rr *resourceRecord) rebase() *effect.Persist {
	rr.based, rr.tail = true, 0
	return &effect.Persist{Name: ResourcesRecord, Data: append(rr.bytes(), '\n')}
}

// bytes is the base: the JSON array of every resource set, in ID order.
func (rr *resourceRecord) bytes() []byte {
	out := make([]byte, 0, max(rr.size, 2))
	out = append(out, '[')
	for i, id := range rr.ids {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, rr.enc[id]...)
	}
	return append(out, ']')
}
