// Package eventlog encodes the manager's durable event log: append-only
// records, each framed by its length and a CRC-32C checksum. Recovery keeps
// every intact record; a torn final record (a crash in the middle of an
// append) is reported so the caller can truncate it, while damage followed
// by intact data is corruption and an error naming its offset — the log is
// never silently shortened in the middle.
package eventlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// HeaderLen is the framing: 4 bytes length, 4 bytes CRC-32C of the
// payload. A record takes HeaderLen bytes more than its payload.
const HeaderLen = 8

const headerLen = HeaderLen

// MaxRecord bounds one record. A length beyond it can only be garbage.
const MaxRecord = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Encode frames one payload as a record.
func Encode(payload []byte) ([]byte, error) {
	if len(payload) > MaxRecord {
		return nil, fmt.Errorf("event log record of %d bytes exceeds %d", len(payload), MaxRecord)
	}
	out := make([]byte, headerLen+len(payload))
	binary.BigEndian.PutUint32(out[0:4], uint32(len(payload)))
	binary.BigEndian.PutUint32(out[4:8], crc32.Checksum(payload, castagnoli))
	copy(out[headerLen:], payload)
	return out, nil
}

// ErrCorrupt marks damage that is not a torn tail.
var ErrCorrupt = errors.New("event log corrupt")

// Decoded is what Decode recovered.
type Decoded struct {
	// Records are the intact payloads, in order.
	Records [][]byte
	// Valid is the length of the intact prefix. When it is less than the
	// data's length, the tail was torn and should be truncated to Valid.
	Valid int64
	// Torn describes the torn tail, if any ("" when the log is whole).
	Torn string
}

// Decode reads a whole log. A damaged record that is the last thing in the
// log is a torn tail (Decoded.Torn says so); damage with more data after it
// is an error wrapping ErrCorrupt with the offset.
func Decode(data []byte) (Decoded, error) {
	var d Decoded
	off := 0
	for off < len(data) {
		rest := len(data) - off
		if rest < headerLen {
			d.Torn = fmt.Sprintf("%d stray bytes at offset %d (an unfinished record header)", rest, off)
			break
		}
		n := int(binary.BigEndian.Uint32(data[off : off+4]))
		sum := binary.BigEndian.Uint32(data[off+4 : off+8])
		if n > MaxRecord {
			return d, fmt.Errorf("%w: record at offset %d claims %d bytes (more than %d)", ErrCorrupt, off, n, MaxRecord)
		}
		if headerLen+n > rest {
			// A torn append leaves nothing intact after it; a damaged length
			// field that merely points past the end does. Only the former
			// may be cut off.
			if at, ok := intactRecordIn(data, off+1); ok {
				return d, fmt.Errorf("%w: record at offset %d claims %d bytes, more than the %d left, but an intact record follows at offset %d",
					ErrCorrupt, off, n, rest-headerLen, at)
			}
			d.Torn = fmt.Sprintf("record at offset %d is cut short (%d of %d bytes)", off, rest-headerLen, n)
			break
		}
		payload := data[off+headerLen : off+headerLen+n]
		if crc32.Checksum(payload, castagnoli) != sum {
			if off+headerLen+n == len(data) {
				d.Torn = fmt.Sprintf("last record at offset %d fails its checksum", off)
				break
			}
			return d, fmt.Errorf("%w: record at offset %d fails its checksum, with %d bytes after it", ErrCorrupt, off, len(data)-off-headerLen-n)
		}
		d.Records = append(d.Records, payload)
		off += headerLen + n
		d.Valid = int64(off)
	}
	return d, nil
}

// intactRecordIn looks for a whole record, with a payload and a matching
// checksum, starting anywhere at or after from. Empty records are not
// evidence: a tail of zeros (a file extended but never written) reads as
// empty records with the checksum of nothing, and the manager never
// writes an empty record. The scan only runs over what a damaged length
// left unread, which is at most one record's bound past a torn tail.
func intactRecordIn(data []byte, from int) (int, bool) {
	for at := from; at+headerLen < len(data); at++ {
		n := int(binary.BigEndian.Uint32(data[at : at+4]))
		if n == 0 || n > MaxRecord || at+headerLen+n > len(data) {
			continue
		}
		sum := binary.BigEndian.Uint32(data[at+4 : at+8])
		if crc32.Checksum(data[at+headerLen:at+headerLen+n], castagnoli) == sum {
			return at, true
		}
	}
	return 0, false
}
