package record

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// DefaultMaxLen is the record length cap, in bytes, that NewReader applies
// when given 0: 64 MiB. backup-cli allocates a record's full length before
// reading it, so a corrupt prefix could ask for up to 4 GiB; epoch-ending
// ledger infos are a few KiB, so 64 MiB leaves ample room for real data while
// keeping a corrupt length harmless.
const DefaultMaxLen = 64 << 20

const (
	// bufferSize is the size of the Reader's read-ahead buffer.
	bufferSize = 64 << 10
	// firstAlloc is the most a payload buffer starts with; it then doubles as
	// bytes arrive, up to the record's length.
	firstAlloc = 64 << 10
)

// Reader reads length-prefixed records from a stream, buffered. It is not
// safe for concurrent use.
//
//	rr := record.NewReader(r, 0)
//	rec, err := rr.Next() // io.EOF at a clean end
type Reader struct {
	r     *bufio.Reader
	max   uint32
	count int
	err   error // sticky: once set, Next returns it again
}

// NewReader returns a Reader over r that refuses records longer than maxLen
// bytes; maxLen 0 means DefaultMaxLen. Any maxLen up to math.MaxUint32 is
// allowed: the payload buffer grows with the bytes that actually arrive, so
// even a large cap does not allocate for a corrupt length up front.
//
//	rr := record.NewReader(chunk, 1<<20) // records of at most 1 MiB
func NewReader(r io.Reader, maxLen uint32) *Reader {
	if maxLen == 0 {
		maxLen = DefaultMaxLen
	}
	return &Reader{r: bufio.NewReaderSize(r, bufferSize), max: maxLen}
}

// Count returns the number of records Next has returned so far.
//
//	n := rr.Count() // after io.EOF: the number of records in the stream
func (r *Reader) Count() int { return r.count }

// Next returns the next record: a new slice the caller may keep, empty but
// non-nil for a zero-length record. It returns io.EOF (unwrapped) only when
// the stream ends at a record boundary. Any other error names the record's
// 1-based index and is one of ErrTruncatedLength, ErrMissingRecord,
// *ShortRecordError, *TooLargeError, or the underlying reader's error wrapped
// with %w. After an error, Next returns the same error again.
//
//	rec, err := rr.Next()
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	rec, err := r.next(r.count + 1)
	if err != nil {
		r.err = err
		return nil, err
	}
	r.count++
	return rec, nil
}

func (r *Reader) next(index int) ([]byte, error) {
	var prefix [4]byte
	n, err := io.ReadFull(r.r, prefix[:])
	switch {
	case err == nil:
	case n == 0 && err == io.EOF:
		return nil, io.EOF
	case err == io.ErrUnexpectedEOF:
		return nil, fmt.Errorf("record %d: %w (got %d of 4 bytes)", index, ErrTruncatedLength, n)
	default:
		return nil, fmt.Errorf("record %d: reading length prefix (got %d of 4 bytes): %w", index, n, err)
	}

	size := binary.BigEndian.Uint32(prefix[:])
	if size > r.max {
		return nil, &TooLargeError{Index: index, Len: size, Max: r.max}
	}
	if size == 0 {
		return []byte{}, nil
	}

	rec, err := readPayload(r.r, int(size))
	switch {
	case err == nil:
		return rec, nil
	case err == io.EOF: // readPayload reports io.EOF only when nothing arrived
		return nil, fmt.Errorf("record %d: %w (length %d)", index, ErrMissingRecord, size)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return nil, &ShortRecordError{Index: index, Read: len(rec), Expected: int(size)}
	default:
		return nil, fmt.Errorf("record %d: reading payload (read %d, expected %d): %w", index, len(rec), size, err)
	}
}

// readPayload reads exactly size bytes. The buffer starts at no more than
// firstAlloc bytes and doubles as data arrives, so what it allocates is
// bounded by about twice the bytes actually read (plus firstAlloc), never by
// size alone. On error it returns the bytes read so far and io.EOF /
// io.ErrUnexpectedEOF for an early end, or the reader's own error.
func readPayload(r io.Reader, size int) ([]byte, error) {
	buf := make([]byte, min(size, firstAlloc))
	n := 0
	for {
		m, err := io.ReadFull(r, buf[n:])
		n += m
		if err != nil {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return buf[:n], err
		}
		if n == size {
			return buf, nil
		}
		grown := make([]byte, min(size, 2*len(buf)))
		copy(grown, buf)
		buf = grown
	}
}
