package record

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Append appends rec to dst framed as one record (4-byte big-endian length,
// then the bytes) and returns the extended slice.
//
//	chunk = record.Append(chunk, rec)
//
// A record longer than math.MaxUint32 bytes cannot be framed: Append panics
// on it, as a caller that builds 4 GiB records has a bug. Writer.Write
// returns an error instead.
func Append(dst, rec []byte) []byte {
	if uint64(len(rec)) > math.MaxUint32 {
		panic(fmt.Sprintf("record.Append: %d bytes do not fit a 4-byte length", len(rec)))
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(rec)))
	return append(dst, rec...)
}

// smallRecord is the size up to which Writer frames a record in a scratch
// buffer and issues a single Write; larger records take two Writes.
const smallRecord = 64 << 10

// Writer writes framed records to an io.Writer, unbuffered: each Write
// reaches the underlying writer before it returns. It is not safe for
// concurrent use.
//
//	w := record.NewWriter(stdin)
//	err := w.Write(rec)
type Writer struct {
	w       io.Writer
	count   int
	scratch []byte
	err     error // sticky: a failed write leaves the stream mid-record
}

// NewWriter returns a Writer that frames records onto w.
//
//	w := record.NewWriter(f)
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write frames rec and writes it. A record longer than math.MaxUint32 bytes
// is refused with an error matching ErrTooLarge. Errors name the record's
// 1-based index; after an error the stream may end mid-record, so every later
// Write returns the same error.
//
//	if err := w.Write(rec); err != nil { return fmt.Errorf("chunk %s: %w", name, err) }
func (w *Writer) Write(rec []byte) error {
	if w.err != nil {
		return w.err
	}
	index := w.count + 1
	if uint64(len(rec)) > math.MaxUint32 {
		return fmt.Errorf("record %d: %w (%d bytes do not fit a 4-byte length)", index, ErrTooLarge, len(rec))
	}
	var err error
	if len(rec) <= smallRecord {
		w.scratch = Append(w.scratch[:0], rec)
		_, err = w.w.Write(w.scratch)
	} else {
		var prefix [4]byte
		binary.BigEndian.PutUint32(prefix[:], uint32(len(rec)))
		if _, err = w.w.Write(prefix[:]); err == nil {
			_, err = w.w.Write(rec)
		}
	}
	if err != nil {
		w.err = fmt.Errorf("record %d: %w", index, err)
		return w.err
	}
	w.count++
	return nil
}
