package agent

import (
	"encoding/json"
	"slices"

	"github.com/basalt-ha/basalt/core/lrm"
)

// resourceRecord keeps the resource list record (EncodeResources of the
// LRM's resources) ready to write: each resource's JSON encoded once, when
// it is registered or changed, in ID order. Re-encoding the whole list on
// every new registration cost a host O(R²) encoding at boot, when the
// manager probes every resource everywhere; the record's bytes stay
// exactly those of EncodeResources, since json.Marshal of a slice is its
// elements' encodings, comma-separated, in brackets.
type resourceRecord struct {
	ids []string          // sorted, as lrm.Resources lists them
	enc map[string][]byte // by ID
}

// set records r's current definition (as the LRM holds it after
// registering it).
func (rr *resourceRecord) set(r lrm.Resource) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if rr.enc == nil {
		rr.enc = map[string][]byte{}
	}
	if _, ok := rr.enc[r.ID]; !ok {
		i, _ := slices.BinarySearch(rr.ids, r.ID)
		rr.ids = slices.Insert(rr.ids, i, r.ID)
	}
	rr.enc[r.ID] = data
	return nil
}

// differs reports whether r's encoding is not the one recorded.
func (rr *resourceRecord) differs(r lrm.Resource) bool {
	data, err := json.Marshal(r)
	return err != nil || string(data) != string(rr.enc[r.ID])
}

// remove forgets id.
func (rr *resourceRecord) remove(id string) {
	if i, ok := slices.BinarySearch(rr.ids, id); ok {
		rr.ids = slices.Delete(rr.ids, i, i+1)
	}
	delete(rr.enc, id)
}

// bytes is the record: the JSON array of every resource set, in ID order.
func (rr *resourceRecord) bytes() []byte {
	n := 2 + max(len(rr.ids)-1, 0)
	for _, id := range rr.ids {
		n += len(rr.enc[id])
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	for i, id := range rr.ids {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, rr.enc[id]...)
	}
	return append(out, ']')
}
