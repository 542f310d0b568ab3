package faults

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
)

// A record stream is a sequence of records, each a 4-byte big-endian length
// followed by that many payload bytes. An object as stored is either a
// record stream or its gzip compression.

// prefixLen is the size of a record's length prefix in bytes.
const prefixLen = 4

// isGzip reports whether data starts with the gzip magic bytes 1f 8b. A plain
// record stream starting with them would have a first record of at least
// 0x1f8b0000 bytes (about 530 MB), which no test object has.
func isGzip(data []byte) bool {
	return len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b
}

// decodeObject returns the record stream inside an object as stored and
// whether the object was gzip. A plain object is returned as is (aliased).
func decodeObject(data []byte) (stream []byte, gz bool, err error) {
	if !isGzip(data) {
		return data, false, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, true, fmt.Errorf("gunzip object: %w", err)
	}
	stream, err = io.ReadAll(zr)
	if err != nil {
		return nil, true, fmt.Errorf("gunzip object: %w", err)
	}
	return stream, true, nil
}

// encodeObject is decodeObject's inverse: it gzips stream if gz, else
// returns it as is.
func encodeObject(stream []byte, gz bool) ([]byte, error) {
	if !gz {
		return stream, nil
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(stream); err != nil {
		return nil, fmt.Errorf("gzip object: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip object: %w", err)
	}
	return b.Bytes(), nil
}

// findRecord locates record k (1-based) of stream: off is the offset of its
// length prefix and n its payload length. Records before k must be well
// framed; bytes after record k are not looked at. Too few records is an
// ErrDoesNotFit error.
func findRecord(stream []byte, k int) (off, n int, err error) {
	for i := 1; ; i++ {
		rest := len(stream) - off
		switch {
		case rest == 0:
			return 0, 0, fmt.Errorf("object has %d records, want record %d: %w", i-1, k, ErrDoesNotFit)
		case rest < prefixLen:
			return 0, 0, fmt.Errorf("record %d: end of object inside the length prefix (%d of %d bytes)", i, rest, prefixLen)
		}
		size := int64(binary.BigEndian.Uint32(stream[off:]))
		if have := int64(rest - prefixLen); have < size {
			return 0, 0, fmt.Errorf("record %d: short record (%d of %d bytes)", i, have, size)
		}
		if i == k {
			return off, int(size), nil
		}
		off += prefixLen + int(size)
	}
}
