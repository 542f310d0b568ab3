// Package bcs is a minimal, strict subset of BCS (Binary Canonical
// Serialization, the encoding Aptos uses for ledger infos): u8, u64 (little
// endian), bool, ULEB128 lengths and enum tags, byte vectors, fixed 32-byte
// arrays and option tags.
//
// Decoding is strict as BCS requires: a bool is 0 or 1, an option tag is 0 or
// 1, ULEB128 values are canonical (no redundant trailing zero groups) and fit
// in a u32, a length never exceeds the input that is left (checked before
// allocating), and Finish rejects trailing bytes.
//
// A Decoder keeps the first error and turns every later call into a no-op
// that returns a zero value, so a caller decodes a whole struct and checks
// Err once:
//
//	d := bcs.NewDecoder(rec)
//	epoch := d.U64("epoch")
//	id := d.Fixed32("id")
//	if err := d.Finish(); err != nil { … } // *bcs.Error: field, byte offset, cause
package bcs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Sentinel causes, for errors.Is on an *Error.
var (
	// ErrTruncated means the input ended inside a value.
	ErrTruncated = errors.New("unexpected end of input")
	// ErrTrailing means bytes are left after the top-level value.
	ErrTrailing = errors.New("trailing bytes")
	// ErrOverflow means a ULEB128 value does not fit in a u32.
	ErrOverflow = errors.New("ULEB128 value overflows u32")
	// ErrNonCanonical means a ULEB128 value has redundant trailing zero
	// groups.
	ErrNonCanonical = errors.New("non-canonical ULEB128 encoding")
	// ErrInvalidBool means a bool byte other than 0 or 1.
	ErrInvalidBool = errors.New("invalid bool")
	// ErrInvalidOption means an option tag other than 0 or 1.
	ErrInvalidOption = errors.New("invalid option tag")
	// ErrUnknownVariant means an enum tag the decoder does not know.
	ErrUnknownVariant = errors.New("unknown enum variant")
	// ErrTooLong means a length prefix exceeds the input that is left.
	ErrTooLong = errors.New("length exceeds remaining input")
)

// Error is a decoding failure: which field, at which byte offset of the
// input (0-based, where the field starts), and why (Err, one of the
// sentinels, with Detail giving the numbers when there are any).
//
//	var de *bcs.Error
//	if errors.As(err, &de) { log.Printf("bad %s at byte %d", de.Field, de.Offset) }
type Error struct {
	Field  string // dotted path of the field, e.g. "info.next_epoch_state.validators[2].public_key"
	Offset int    // byte offset in the input where the field starts
	Err    error  // the cause: one of the sentinel errors
	Detail string // numbers behind the cause, e.g. "need 48 bytes, have 10"; may be empty
}

// Error says "info.round at byte 9: unexpected end of input (need 8 bytes, have 3)".
func (e *Error) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("%s at byte %d: %v", e.Field, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s at byte %d: %v (%s)", e.Field, e.Offset, e.Err, e.Detail)
}

// Unwrap returns the sentinel cause.
func (e *Error) Unwrap() error { return e.Err }

// Decoder reads BCS values from a byte slice, keeping the first error.
type Decoder struct {
	buf []byte
	off int
	err error
}

// NewDecoder returns a Decoder over b. It does not copy b; values it returns
// never alias b.
//
//	d := bcs.NewDecoder(rec)
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// Err returns the first error, or nil.
func (d *Decoder) Err() error { return d.err }

// Offset returns the number of bytes consumed so far.
func (d *Decoder) Offset() int { return d.off }

// Remaining returns the number of bytes not yet consumed.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// Finish returns the first error, or an ErrTrailing *Error if input is left.
//
//	if err := d.Finish(); err != nil { … }
func (d *Decoder) Finish() error {
	if d.err == nil && d.off != len(d.buf) {
		d.err = &Error{Field: "end of value", Offset: d.off, Err: ErrTrailing,
			Detail: fmt.Sprintf("%d bytes left", len(d.buf)-d.off)}
	}
	return d.err
}

// Fail records err (a sentinel) for field at offset, unless an error is
// already recorded. Callers use it for checks of their own, such as an enum
// tag they do not know.
//
//	d.Fail("variant", off, bcs.ErrUnknownVariant, fmt.Sprintf("tag %d", tag))
func (d *Decoder) Fail(field string, offset int, err error, detail string) {
	if d.err == nil {
		d.err = &Error{Field: field, Offset: offset, Err: err, Detail: detail}
	}
}

// take consumes n bytes, or records ErrTruncated.
func (d *Decoder) take(field string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.buf)-d.off {
		d.Fail(field, d.off, ErrTruncated, fmt.Sprintf("need %d bytes, have %d", n, len(d.buf)-d.off))
		return nil
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b
}

// U8 reads one byte.
func (d *Decoder) U8(field string) uint8 {
	b := d.take(field, 1)
	if b == nil {
		return 0
	}
	return b[0]
}

// U64 reads a little-endian u64.
func (d *Decoder) U64(field string) uint64 {
	b := d.take(field, 8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// Bool reads a bool: 0 or 1, anything else is ErrInvalidBool.
func (d *Decoder) Bool(field string) bool {
	off := d.off
	switch v := d.U8(field); {
	case d.err != nil:
		return false
	case v > 1:
		d.Fail(field, off, ErrInvalidBool, fmt.Sprintf("byte 0x%02x", v))
		return false
	default:
		return v == 1
	}
}

// ULEB128 reads a canonical ULEB128 value of at most math.MaxUint32 (5 bytes
// at most).
func (d *Decoder) ULEB128(field string) uint32 {
	if d.err != nil {
		return 0
	}
	start := d.off
	var v uint64
	for i := 0; ; i++ {
		if i == 5 {
			d.Fail(field, start, ErrOverflow, "more than 5 bytes")
			return 0
		}
		b := d.take(field, 1)
		if b == nil {
			return 0
		}
		v |= uint64(b[0]&0x7f) << (7 * i)
		if b[0]&0x80 != 0 {
			continue
		}
		switch {
		case v > math.MaxUint32:
			d.Fail(field, start, ErrOverflow, fmt.Sprintf("value %d", v))
			return 0
		case i > 0 && b[0] == 0:
			d.Fail(field, start, ErrNonCanonical, fmt.Sprintf("%d bytes for value %d", i+1, v))
			return 0
		}
		return uint32(v)
	}
}

// Len reads a ULEB128 sequence length and checks that at least n×minElem
// bytes are left, so that a caller can allocate n elements safely. minElem
// is the smallest encoding of one element, in bytes (at least 1).
//
//	n := d.Len("validators", 41)
func (d *Decoder) Len(field string, minElem int) int {
	start := d.off
	n := d.ULEB128(field)
	if d.err != nil {
		return 0
	}
	if uint64(n)*uint64(max(minElem, 1)) > uint64(d.Remaining()) {
		d.Fail(field, start, ErrTooLong, fmt.Sprintf("length %d × %d bytes, %d bytes left", n, max(minElem, 1), d.Remaining()))
		return 0
	}
	return int(n)
}

// Bytes reads a Vec<u8>: a ULEB128 length, then that many bytes. The result
// is a new, non-nil slice (empty for length 0).
func (d *Decoder) Bytes(field string) []byte {
	n := d.Len(field, 1)
	b := d.take(field, n)
	if d.err != nil {
		return nil
	}
	return append(make([]byte, 0, n), b...)
}

// Fixed32 reads a [32]byte with no length prefix.
func (d *Decoder) Fixed32(field string) [32]byte {
	var a [32]byte
	copy(a[:], d.take(field, 32))
	return a
}

// Option reads an option tag: 0 is None (false), 1 is Some (true), anything
// else is ErrInvalidOption.
func (d *Decoder) Option(field string) bool {
	off := d.off
	switch v := d.U8(field); {
	case d.err != nil:
		return false
	case v > 1:
		d.Fail(field, off, ErrInvalidOption, fmt.Sprintf("tag 0x%02x", v))
		return false
	default:
		return v == 1
	}
}

// Variant reads an enum variant tag (ULEB128) and checks it is below n, the
// number of variants the caller knows.
//
//	d.Variant("ledger info version", 1) // only V0
func (d *Decoder) Variant(field string, n uint32) uint32 {
	off := d.off
	tag := d.ULEB128(field)
	if d.err == nil && tag >= n {
		d.Fail(field, off, ErrUnknownVariant, fmt.Sprintf("tag %d, known 0..%d", tag, n-1))
		return 0
	}
	return tag
}

// Encoder appends BCS values to a byte slice.
//
//	var e bcs.Encoder
//	e.U64(epoch)
//	out := e.Bytes()
type Encoder struct{ buf []byte }

// Bytes returns the encoding so far.
func (e *Encoder) Bytes() []byte { return e.buf }

// U8 appends one byte.
func (e *Encoder) U8(v uint8) { e.buf = append(e.buf, v) }

// U64 appends a little-endian u64.
func (e *Encoder) U64(v uint64) { e.buf = binary.LittleEndian.AppendUint64(e.buf, v) }

// Bool appends 1 or 0.
func (e *Encoder) Bool(v bool) {
	if v {
		e.U8(1)
	} else {
		e.U8(0)
	}
}

// ULEB128 appends v in canonical ULEB128.
func (e *Encoder) ULEB128(v uint32) {
	for v >= 0x80 {
		e.buf = append(e.buf, byte(v)|0x80)
		v >>= 7
	}
	e.buf = append(e.buf, byte(v))
}

// Len appends a sequence length. A length over math.MaxUint32 cannot be
// encoded: Len panics on it, as building such a value is a caller's bug.
func (e *Encoder) Len(n int) {
	if uint64(n) > math.MaxUint32 {
		panic(fmt.Sprintf("bcs: sequence length %d does not fit a u32", n))
	}
	e.ULEB128(uint32(n))
}

// Vec appends a Vec<u8>: length, then bytes.
func (e *Encoder) Vec(b []byte) {
	e.Len(len(b))
	e.buf = append(e.buf, b...)
}

// Fixed32 appends 32 bytes with no length prefix.
func (e *Encoder) Fixed32(a [32]byte) { e.buf = append(e.buf, a[:]...) }

// Option appends an option tag: 1 for Some, 0 for None.
func (e *Encoder) Option(some bool) { e.Bool(some) }

// Variant appends an enum variant tag.
func (e *Encoder) Variant(tag uint32) { e.ULEB128(tag) }

// ULEB128Size returns the encoded size of v in bytes (1 to 5).
func ULEB128Size(v uint32) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
