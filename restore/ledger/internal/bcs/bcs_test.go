package bcs

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestULEB128(t *testing.T) {
	tests := []struct {
		in      []byte
		want    uint32
		wantErr error
		wantOff int // bytes consumed on success
	}{
		{in: []byte{0x00}, want: 0, wantOff: 1},
		{in: []byte{0x7f}, want: 127, wantOff: 1},
		{in: []byte{0x80, 0x01}, want: 128, wantOff: 2},
		{in: []byte{0xff, 0x7f}, want: 16383, wantOff: 2},
		{in: []byte{0x80, 0x80, 0x01}, want: 16384, wantOff: 3},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, want: math.MaxUint32, wantOff: 5},
		{in: []byte{0x05, 0xaa}, want: 5, wantOff: 1},
		{in: []byte{}, wantErr: ErrTruncated},
		{in: []byte{0x80}, wantErr: ErrTruncated},
		{in: []byte{0xff, 0xff}, wantErr: ErrTruncated},
		{in: []byte{0x80, 0x00}, wantErr: ErrNonCanonical},
		{in: []byte{0xff, 0x80, 0x00}, wantErr: ErrNonCanonical},
		{in: []byte{0x80, 0x80, 0x80, 0x80, 0x00}, wantErr: ErrNonCanonical},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0x10}, wantErr: ErrOverflow},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0x7f}, wantErr: ErrOverflow},
		{in: []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, wantErr: ErrOverflow},
		{in: bytes.Repeat([]byte{0xff}, 16), wantErr: ErrOverflow},
	}
	for _, tt := range tests {
		d := NewDecoder(tt.in)
		got := d.ULEB128("len")
		err := d.Err()
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("ULEB128(% x) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || d.Offset() != tt.wantOff {
			t.Errorf("ULEB128(% x) = %d, %v after %d bytes; want %d after %d", tt.in, got, err, d.Offset(), tt.want, tt.wantOff)
		}
	}
}

func TestULEB128RoundTrip(t *testing.T) {
	for _, v := range []uint32{0, 1, 127, 128, 255, 300, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<28 - 1, 1 << 28, math.MaxUint32} {
		var e Encoder
		e.ULEB128(v)
		if len(e.Bytes()) != ULEB128Size(v) {
			t.Errorf("ULEB128Size(%d) = %d, encoding has %d bytes", v, ULEB128Size(v), len(e.Bytes()))
		}
		d := NewDecoder(e.Bytes())
		if got := d.ULEB128("v"); got != v || d.Finish() != nil {
			t.Errorf("round trip of %d = %d, %v", v, got, d.Finish())
		}
	}
}

func TestScalars(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		read    func(d *Decoder) any
		want    any
		wantErr error
		wantMsg string
	}{
		{name: "u8", in: []byte{7}, read: func(d *Decoder) any { return d.U8("x") }, want: uint8(7)},
		{name: "u64", in: []byte{1, 2, 0, 0, 0, 0, 0, 0x80}, read: func(d *Decoder) any { return d.U64("x") }, want: uint64(0x8000000000000201)},
		{name: "u64 short", in: []byte{1, 2, 3}, read: func(d *Decoder) any { return d.U64("epoch") }, wantErr: ErrTruncated,
			wantMsg: "epoch at byte 0: unexpected end of input (need 8 bytes, have 3)"},
		{name: "bool 0", in: []byte{0}, read: func(d *Decoder) any { return d.Bool("x") }, want: false},
		{name: "bool 1", in: []byte{1}, read: func(d *Decoder) any { return d.Bool("x") }, want: true},
		{name: "bool 2", in: []byte{2}, read: func(d *Decoder) any { return d.Bool("flag") }, wantErr: ErrInvalidBool,
			wantMsg: "flag at byte 0: invalid bool (byte 0x02)"},
		{name: "option none", in: []byte{0}, read: func(d *Decoder) any { return d.Option("x") }, want: false},
		{name: "option some", in: []byte{1}, read: func(d *Decoder) any { return d.Option("x") }, want: true},
		{name: "option 0xff", in: []byte{0xff}, read: func(d *Decoder) any { return d.Option("x") }, wantErr: ErrInvalidOption},
		{name: "bytes", in: []byte{3, 'a', 'b', 'c'}, read: func(d *Decoder) any { return string(d.Bytes("x")) }, want: "abc"},
		{name: "bytes empty", in: []byte{0}, read: func(d *Decoder) any { return d.Bytes("x") != nil }, want: true},
		{name: "bytes too long", in: []byte{4, 'a', 'b', 'c'}, read: func(d *Decoder) any { return d.Bytes("key") }, wantErr: ErrTooLong,
			wantMsg: "key at byte 0: length exceeds remaining input (length 4 × 1 bytes, 3 bytes left)"},
		{name: "bytes huge length", in: []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 1}, read: func(d *Decoder) any { return d.Bytes("x") }, wantErr: ErrTooLong},
		{name: "len elements", in: []byte{2, 0, 0, 0, 0}, read: func(d *Decoder) any { n := d.Len("v", 2); d.take("v", 4); return n }, want: 2},
		{name: "len too many elements", in: []byte{3, 0, 0, 0, 0}, read: func(d *Decoder) any { return d.Len("v", 2) }, wantErr: ErrTooLong},
		{name: "fixed32", in: bytes.Repeat([]byte{9}, 32), read: func(d *Decoder) any { return d.Fixed32("x") }, want: [32]byte{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}},
		{name: "fixed32 short", in: bytes.Repeat([]byte{9}, 31), read: func(d *Decoder) any { return d.Fixed32("x") }, wantErr: ErrTruncated},
		{name: "variant", in: []byte{1}, read: func(d *Decoder) any { return d.Variant("x", 2) }, want: uint32(1)},
		{name: "variant unknown", in: []byte{1}, read: func(d *Decoder) any { return d.Variant("kind", 1) }, wantErr: ErrUnknownVariant,
			wantMsg: "kind at byte 0: unknown enum variant (tag 1, known 0..0)"},
		{name: "variant overflow", in: []byte{0xff, 0xff, 0xff, 0xff, 0xff}, read: func(d *Decoder) any { return d.Variant("kind", 1) }, wantErr: ErrOverflow},
		{name: "trailing", in: []byte{1, 2}, read: func(d *Decoder) any { return d.U8("x") }, wantErr: ErrTrailing,
			wantMsg: "end of value at byte 1: trailing bytes (1 bytes left)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(tt.in)
			got := tt.read(d)
			err := d.Finish()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				if tt.wantMsg != "" && err.Error() != tt.wantMsg {
					t.Errorf("error text = %q, want %q", err, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFirstErrorSticks(t *testing.T) {
	d := NewDecoder([]byte{2, 0, 0, 0, 0, 0, 0, 0, 0})
	d.Bool("a")
	off := d.Offset()
	if got := d.U64("b"); got != 0 {
		t.Errorf("U64 after an error = %d, want 0", got)
	}
	if d.Offset() != off {
		t.Errorf("offset moved from %d to %d after an error", off, d.Offset())
	}
	var de *Error
	if !errors.As(d.Finish(), &de) || de.Field != "a" || de.Offset != 0 {
		t.Errorf("Finish() = %v, want the first error (field a, byte 0)", d.Finish())
	}
}

func TestEncoderRoundTrip(t *testing.T) {
	var e Encoder
	e.U8(0xab)
	e.U64(1 << 40)
	e.Bool(true)
	e.Bool(false)
	e.Vec([]byte("hello"))
	e.Vec(nil)
	e.Fixed32([32]byte{1, 2, 3})
	e.Option(true)
	e.Option(false)
	e.Variant(300)
	d := NewDecoder(e.Bytes())
	if got := d.U8("a"); got != 0xab {
		t.Errorf("U8 = %x", got)
	}
	if got := d.U64("b"); got != 1<<40 {
		t.Errorf("U64 = %d", got)
	}
	if !d.Bool("c") || d.Bool("d") {
		t.Error("bools did not round trip")
	}
	if got := d.Bytes("e"); string(got) != "hello" {
		t.Errorf("Bytes = %q", got)
	}
	if got := d.Bytes("f"); got == nil || len(got) != 0 {
		t.Errorf("empty Bytes = %v", got)
	}
	if got := d.Fixed32("g"); got != [32]byte{1, 2, 3} {
		t.Errorf("Fixed32 = %x", got)
	}
	if !d.Option("h") || d.Option("i") {
		t.Error("options did not round trip")
	}
	if got := d.Variant("j", 301); got != 300 {
		t.Errorf("Variant = %d", got)
	}
	if err := d.Finish(); err != nil {
		t.Fatal(err)
	}
}

func TestBytesDoNotAlias(t *testing.T) {
	in := []byte{2, 'a', 'b'}
	got := NewDecoder(in).Bytes("x")
	in[1] = 'z'
	if string(got) != "ab" {
		t.Errorf("Bytes aliases its input: %q", got)
	}
}
