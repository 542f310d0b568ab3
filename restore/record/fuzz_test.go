package record_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"

	"github.com/leakgate/leakgate/restore/record"
)

// FuzzReader checks, for any stream and cap, that Next never panics, never
// returns a record over the cap, allocates in proportion to the input rather
// than to a length prefix, and that the records it returns re-frame to a
// prefix of the input (all of it at a clean io.EOF).
func FuzzReader(f *testing.F) {
	f.Add([]byte{}, uint32(0))
	f.Add(cat(be(3), []byte("abc"), be(0)), uint32(0))
	f.Add(cat(be(10), []byte("abc")), uint32(0))
	f.Add([]byte{0, 0, 1}, uint32(16))
	f.Add(cat(be(math.MaxUint32), []byte("abc")), uint32(math.MaxUint32))
	f.Add(cat(be(1<<20), make([]byte, 100)), uint32(1<<21))
	f.Fuzz(func(t *testing.T, data []byte, maxLen uint32) {
		capLen := maxLen
		if capLen == 0 {
			capLen = record.DefaultMaxLen
		}
		var recs [][]byte
		var err error
		got := allocated(func() {
			rr := record.NewReader(bytes.NewReader(data), maxLen)
			recs, err = drain(rr)
		})
		// Read-ahead buffer, a first payload buffer, and each record's
		// doubling growth: about 4 bytes per input byte.
		if limit := uint64(4*len(data)) + 256<<10; got > limit {
			t.Fatalf("reading %d bytes (cap %d) allocated %d bytes, want at most %d", len(data), capLen, got, limit)
		}
		var framed []byte
		for i, rec := range recs {
			if uint64(len(rec)) > uint64(capLen) {
				t.Fatalf("record %d has %d bytes, over the cap %d", i+1, len(rec), capLen)
			}
			framed = record.Append(framed, rec)
		}
		if !bytes.HasPrefix(data, framed) {
			t.Fatalf("records re-frame to %x, not a prefix of the input %x", framed, data)
		}
		if err == io.EOF && len(framed) != len(data) {
			t.Fatalf("clean io.EOF after %d of %d bytes", len(framed), len(data))
		}
		if err != io.EOF && !errors.Is(err, record.ErrTruncatedLength) && !errors.Is(err, record.ErrMissingRecord) &&
			!errors.Is(err, record.ErrShortRecord) && !errors.Is(err, record.ErrTooLarge) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}
