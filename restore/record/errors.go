package record

import (
	"errors"
	"fmt"
)

// Sentinel errors for errors.Is. Next wraps them with the record's 1-based
// index: "record 3: EOF inside the length prefix (got 2 of 4 bytes)".
var (
	// ErrTruncatedLength means the stream ended after 1–3 bytes of a length
	// prefix.
	ErrTruncatedLength = errors.New("EOF inside the length prefix")
	// ErrMissingRecord means the stream ended right after a length prefix
	// N ≥ 1, before any byte of the record.
	ErrMissingRecord = errors.New("EOF where a record was expected")
	// ErrShortRecord means the stream ended inside a record; the error is a
	// *ShortRecordError.
	ErrShortRecord = errors.New("short record")
	// ErrTooLarge means a length exceeds the reader's cap (or, for a
	// writer, does not fit in 4 bytes); from Next the error is a
	// *TooLargeError.
	ErrTooLarge = errors.New("record too large")
)

// ShortRecordError reports a stream that ended after Read of the Expected
// bytes of record Index (1-based), with 0 < Read < Expected. It matches
// ErrShortRecord:
//
//	var short *record.ShortRecordError
//	if errors.As(err, &short) { log.Printf("record %d lacks %d bytes", short.Index, short.Expected-short.Read) }
type ShortRecordError struct {
	Index    int // 1-based index of the record in the stream
	Read     int // bytes of the record that arrived
	Expected int // the record's length prefix, in bytes
}

// Error says "record 3: short record (read 5, expected 10)".
func (e *ShortRecordError) Error() string {
	return fmt.Sprintf("record %d: %v (read %d, expected %d)", e.Index, ErrShortRecord, e.Read, e.Expected)
}

// Is reports whether target is ErrShortRecord.
func (e *ShortRecordError) Is(target error) bool { return target == ErrShortRecord }

// TooLargeError reports a length prefix Len above the reader's cap Max, both
// in bytes, for record Index (1-based). The reader raises it before reading
// or allocating any of the payload. It matches ErrTooLarge:
//
//	var big *record.TooLargeError
//	if errors.As(err, &big) { log.Printf("record %d claims %d bytes", big.Index, big.Len) }
type TooLargeError struct {
	Index int    // 1-based index of the record in the stream
	Len   uint32 // the length prefix, in bytes
	Max   uint32 // the reader's cap, in bytes
}

// Error says "record 3: record too large (length 4294967295 exceeds the cap of 67108864 bytes)".
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("record %d: %v (length %d exceeds the cap of %d bytes)", e.Index, ErrTooLarge, e.Len, e.Max)
}

// Is reports whether target is ErrTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }
