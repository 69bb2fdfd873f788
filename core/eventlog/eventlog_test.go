package eventlog

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func build(t *testing.T, payloads ...string) []byte {
	var b bytes.Buffer
	for _, p := range payloads {
		rec, err := Encode([]byte(p))
		require.NoError(t, err)
		b.Write(rec)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	data := build(t, "one", "", "three")
	d, err := Decode(data)
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("one"), []byte(""), []byte("three")}, d.Records)
	require.Equal(t, int64(len(data)), d.Valid)
	require.Empty(t, d.Torn)
}

func TestTornTailAtEveryCut(t *testing.T) {
	data := build(t, "first record", "second record")
	whole := len(build(t, "first record"))
	for cut := whole + 1; cut < len(data); cut++ {
		d, err := Decode(data[:cut])
		require.NoError(t, err, "cut at %d", cut)
		require.Len(t, d.Records, 1, "cut at %d", cut)
		require.Equal(t, int64(whole), d.Valid)
		require.NotEmpty(t, d.Torn)
	}
}

func TestFlippedLastRecordIsTorn(t *testing.T) {
	data := build(t, "a", "bbbb")
	data[len(data)-1] ^= 0xff
	d, err := Decode(data)
	require.NoError(t, err)
	require.Len(t, d.Records, 1)
	require.Contains(t, d.Torn, "fails its checksum")
}

func TestCorruptMiddleIsAnError(t *testing.T) {
	data := build(t, "aaaa", "bbbb", "cccc")
	first := len(build(t, "aaaa"))
	data[first+headerLen] ^= 0x01 // inside the second record's payload
	_, err := Decode(data)
	require.True(t, errors.Is(err, ErrCorrupt), "%v", err)
	require.Contains(t, err.Error(), fmt.Sprintf("offset %d", first))
}

func TestAbsurdLength(t *testing.T) {
	data := []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3}
	_, err := Decode(data)
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = Encode(make([]byte, MaxRecord+1))
	require.Error(t, err)
}

func FuzzDecode(f *testing.F) {
	rec, _ := Encode([]byte("seed"))
	f.Add(rec)
	f.Add(append(rec, rec[:5]...))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decode(data)
		if err != nil {
			return
		}
		if d.Valid > int64(len(data)) {
			t.Fatalf("valid prefix %d beyond %d bytes", d.Valid, len(data))
		}
		// Re-encoding the records gives back exactly the valid prefix.
		var b bytes.Buffer
		for _, r := range d.Records {
			e, err := Encode(r)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(e)
		}
		if !bytes.Equal(b.Bytes(), data[:d.Valid]) {
			t.Fatal("records do not re-encode to the valid prefix")
		}
	})
}

// A flipped byte in the length of a record seven records before the end
// made the rest look like a torn tail: seven intact records (an
// administrator's stop among them) were cut off. Every single-byte flip in
// a header followed by intact records must now be refused as corruption,
// never truncated.
func TestFlippedHeaderBeforeIntactRecordsIsCorruption(t *testing.T) {
	var payloads []string
	for i := range 10 {
		payloads = append(payloads, fmt.Sprintf(`{"seq":%d,"kind":"target-role","group":"db","role":"stopped"}`, i))
	}
	data := build(t, payloads...)
	off := len(build(t, payloads[:3]...)) // the fourth record: seven follow it
	for b := off; b < off+headerLen; b++ {
		for _, mask := range []byte{0x01, 0x10, 0x80} {
			bad := bytes.Clone(data)
			bad[b] ^= mask
			d, err := Decode(bad)
			require.ErrorIs(t, err, ErrCorrupt, "flip %#x at byte %d: decoded %d records, torn %q", mask, b, len(d.Records), d.Torn)
			require.Contains(t, err.Error(), fmt.Sprintf("offset %d", off))
		}
	}
}

// A record cut short with zeros after it (a file extended but never
// written) is a torn tail: zeros are not evidence of intact records.
func TestZeroTailIsTorn(t *testing.T) {
	data := build(t, "one", "two")
	bad := append(bytes.Clone(data), 0, 0, 0, 90, 0, 0, 0, 0)
	bad = append(bad, make([]byte, 20)...)
	d, err := Decode(bad)
	require.NoError(t, err)
	require.Len(t, d.Records, 2)
	require.Equal(t, int64(len(data)), d.Valid)
	require.NotEmpty(t, d.Torn)
}
