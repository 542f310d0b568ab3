package faults

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// CorruptMode says how Corrupt damages a record: one of the constants
// below, spelled as in mode=.
//
//	faults.Corrupt{Record: 2, Mode: faults.CorruptLength} // "corrupt record=2 mode=length"
type CorruptMode string

// The ways Corrupt damages record K. Payload and Trailing keep the stream
// well framed, so only a decoder notices; Length breaks the framing.
const (
	// CorruptPayload overwrites the payload with 0xFF bytes, same length.
	// A strict BCS decoder fails on it: 0xFF… as a ULEB128 variant tag
	// overflows. The payload must not be empty.
	CorruptPayload CorruptMode = "payload"
	// CorruptTrailing appends one 0x00 byte to the payload and adds one to
	// the length prefix; a strict decoder fails its trailing-bytes check.
	CorruptTrailing CorruptMode = "trailing"
	// CorruptLength sets the length prefix to 0xFFFFFFFF, a framing error
	// that a reader's length cap rejects.
	CorruptLength CorruptMode = "length"
)

// Corrupt damages record Record (1-based) of the decoded record stream as
// Mode says, leaves every other byte intact, gzip-encodes the result again
// if the object was gzip, writes it all and exits 0. The object must have
// at least Record records.
//
//	faults.Corrupt{Record: 3, Mode: faults.CorruptTrailing} // "corrupt record=3 mode=trailing"
//
// Spec keys: record=K, default 1; mode=payload|trailing|length, default
// payload. A Corrupt built by hand must set both fields.
type Corrupt struct {
	Record int
	Mode   CorruptMode
}

// Kind returns "corrupt".
func (Corrupt) Kind() string { return "corrupt" }

// String gives c in canonical spec text: "corrupt record=3 mode=trailing".
func (c Corrupt) String() string {
	s := "corrupt"
	if c.Record != 1 {
		s += " record=" + strconv.Itoa(c.Record)
	}
	if c.Mode != CorruptPayload {
		s += " mode=" + string(c.Mode)
	}
	return s
}

// Script writes data with record c.Record damaged, then exits 0.
func (c Corrupt) Script(data []byte) (Script, error) {
	if c.Record < 1 {
		return Script{}, fmt.Errorf("%s: record number %d: want ≥ 1", c, c.Record)
	}
	stream, gz, err := decodeObject(data)
	if err != nil {
		return Script{}, fmt.Errorf("%s: %w", c, err)
	}
	off, n, err := findRecord(stream, c.Record)
	if err != nil {
		return Script{}, fmt.Errorf("%s: %w", c, err)
	}
	payload, rest := off+prefixLen, off+prefixLen+n
	var out []byte
	switch c.Mode {
	case CorruptPayload:
		if n == 0 {
			return Script{}, fmt.Errorf("%s: record %d is empty, no payload to damage: %w", c, c.Record, ErrDoesNotFit)
		}
		out = bytes.Clone(stream)
		copy(out[payload:rest], bytes.Repeat([]byte{0xFF}, n))
	case CorruptTrailing:
		if n == math.MaxUint32 {
			return Script{}, fmt.Errorf("%s: record %d is too long to grow", c, c.Record)
		}
		out = append(out, stream[:off]...)
		out = binary.BigEndian.AppendUint32(out, uint32(n+1))
		out = append(out, stream[payload:rest]...)
		out = append(out, 0x00)
		out = append(out, stream[rest:]...)
	case CorruptLength:
		out = bytes.Clone(stream)
		binary.BigEndian.PutUint32(out[off:], math.MaxUint32)
	default:
		return Script{}, fmt.Errorf("%s: unknown mode %q", c, c.Mode)
	}
	if out, err = encodeObject(out, gz); err != nil {
		return Script{}, fmt.Errorf("%s: %w", c, err)
	}
	return Script{Steps: writes(out)}, nil
}

func decodeCorrupt(a *args) (Fault, error) {
	c := Corrupt{Record: 1, Mode: CorruptPayload}
	var err error
	if w, ok := a.get("record"); ok {
		if c.Record, err = a.integer(w, "record number", 1, math.MaxInt); err != nil {
			return nil, err
		}
	}
	if w, ok := a.get("mode"); ok {
		switch m := CorruptMode(w.val); m {
		case CorruptPayload, CorruptTrailing, CorruptLength:
			c.Mode = m
		default:
			return nil, a.invalid(w, "mode", "payload, trailing or length")
		}
	}
	return c, nil
}
