package ledger_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/restore/ledger"
)

func TestSyntheticSizes(t *testing.T) {
	minimum := ledger.SyntheticMinSize
	if got := len(ledger.Synthetic(0, 0).Encode()); got != minimum {
		t.Fatalf("Synthetic(0, 0) encodes to %d bytes, want SyntheticMinSize = %d", got, minimum)
	}
	for _, size := range []int{-1, 0, 100, minimum, minimum + 1, 500, 1000, 4 << 10, 16<<10 - 1, 16 << 10, 16<<10 + 1, 100 << 10} {
		for _, epoch := range []uint64{0, 1, 1 << 40} {
			rec := ledger.Synthetic(epoch, size).Encode()
			if len(rec) < size {
				t.Errorf("Synthetic(%d, %d) encodes to %d bytes, want at least %d", epoch, size, len(rec), size)
			}
			if size >= minimum && len(rec) > size+1 {
				t.Errorf("Synthetic(%d, %d) encodes to %d bytes, want at most %d", epoch, size, len(rec), size+1)
			}
			if size < minimum && len(rec) != minimum {
				t.Errorf("Synthetic(%d, %d) encodes to %d bytes, want the minimum %d", epoch, size, len(rec), minimum)
			}
		}
	}
}

func TestSyntheticDeterministic(t *testing.T) {
	a := ledger.Synthetic(5, 2000).Encode()
	b := ledger.Synthetic(5, 2000).Encode()
	if !bytes.Equal(a, b) {
		t.Fatal("Synthetic(5, 2000) differs between calls")
	}
	li := ledger.Synthetic(5, 2000)
	if li.Info.Epoch != 5 || li.Info.Version != 5999 || li.Info.NextEpochState == nil || li.Info.NextEpochState.Epoch != 6 {
		t.Errorf("Synthetic(5, 2000) info = epoch %d version %d next %+v; want epoch 5, version 5999, next epoch 6",
			li.Info.Epoch, li.Info.Version, li.Info.NextEpochState)
	}
	seen := map[ledger.Waypoint]uint64{}
	for epoch := range uint64(50) {
		wp := ledger.Synthetic(epoch, 1000).Waypoint()
		if prev, dup := seen[wp]; dup {
			t.Errorf("epochs %d and %d share waypoint %v", prev, epoch, wp)
		}
		seen[wp] = epoch
	}
}

func TestRoundTrip(t *testing.T) {
	cases := map[string]*ledger.LedgerInfoWithSignatures{
		"synthetic small":          ledger.Synthetic(1, 0),
		"synthetic 16KiB":          ledger.Synthetic(9, 16<<10),
		"synthetic 200 validators": ledger.Synthetic(2, 200*100),
		"no next epoch, no sig": {
			Info:       ledger.LedgerInfo{Epoch: 3, Version: 7, ID: [32]byte{1}},
			Signatures: ledger.AggregateSignature{Bitmask: []byte{}},
		},
		"empty validators, empty sig": {
			Info:       ledger.LedgerInfo{NextEpochState: &ledger.EpochState{Epoch: 1, Validators: []ledger.Validator{}}},
			Signatures: ledger.AggregateSignature{Bitmask: []byte{}, Sig: []byte{}},
		},
		"validator with empty key": {
			Info: ledger.LedgerInfo{NextEpochState: &ledger.EpochState{Validators: []ledger.Validator{
				{Address: [32]byte{0xaa}, PublicKey: []byte{}, VotingPower: 1 << 63},
			}}},
			Signatures: ledger.AggregateSignature{Bitmask: []byte{0x80}, Sig: []byte{1, 2, 3}},
		},
	}
	for name, li := range cases {
		t.Run(name, func(t *testing.T) {
			rec := li.Encode()
			got, err := ledger.Decode(rec)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, li) {
				t.Errorf("Decode(Encode(x)) = %+v, want %+v", got, li)
			}
			if again := got.Encode(); !bytes.Equal(again, rec) {
				t.Error("re-encoding differs")
			}
			if got.Waypoint() != ledger.WaypointOf(li.Info.Version, rec) {
				t.Error("Waypoint() differs from WaypointOf(version, record)")
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	valid := ledger.Synthetic(4, 0).Encode()
	noNext := (&ledger.LedgerInfoWithSignatures{Signatures: ledger.AggregateSignature{Bitmask: []byte{}}}).Encode()
	// Offsets into valid: variant 0, epoch 1, round 9, id 17, state id 49,
	// version 81, timestamp 89, next-epoch option 97, next epoch 98,
	// validator count 106, validator 0 address 107, key length 139.
	with := func(b []byte, off int, v ...byte) []byte {
		c := bytes.Clone(b)
		copy(c[off:], v)
		return c
	}
	tests := []struct {
		name      string
		rec       []byte
		wantErr   error
		wantField string
		wantOff   int
		wantMsg   string
	}{
		{name: "all 0xFF", rec: bytes.Repeat([]byte{0xff}, 64), wantErr: ledger.ErrOverflow, wantField: "variant", wantOff: 0,
			wantMsg: "decode ledger info: variant at byte 0: ULEB128 value overflows u32 (more than 5 bytes)"},
		{name: "empty", rec: nil, wantErr: ledger.ErrTruncated, wantField: "variant", wantOff: 0},
		{name: "trailing byte", rec: append(bytes.Clone(valid), 0), wantErr: ledger.ErrTrailingBytes, wantField: "end of value", wantOff: len(valid),
			wantMsg: "trailing bytes (1 bytes left)"},
		{name: "unknown variant", rec: with(valid, 0, 1), wantErr: ledger.ErrUnknownVariant, wantField: "variant"},
		{name: "non-canonical variant", rec: append([]byte{0x80, 0x00}, valid[1:]...), wantErr: ledger.ErrNonCanonical, wantField: "variant"},
		{name: "truncated in round", rec: valid[:12], wantErr: ledger.ErrTruncated, wantField: "info.round", wantOff: 9,
			wantMsg: "decode ledger info: info.round at byte 9: unexpected end of input (need 8 bytes, have 3)"},
		{name: "bad option tag", rec: with(valid, 97, 2), wantErr: ledger.ErrInvalidOption, wantField: "info.next_epoch_state", wantOff: 97},
		{name: "validator count too large", rec: with(valid, 106, 0xff, 0xff, 0x03), wantErr: ledger.ErrTooLong,
			wantField: "info.next_epoch_state.validators", wantOff: 106},
		{name: "public key longer than the rest", rec: with(valid, 139, 0xff, 0xff, 0x01), wantErr: ledger.ErrTooLong,
			wantField: "info.next_epoch_state.validators[0].public_key", wantOff: 139},
		{name: "missing sig", rec: noNext[:len(noNext)-1], wantErr: ledger.ErrTruncated, wantField: "signatures.sig"},
		{name: "truncated last byte", rec: valid[:len(valid)-1], wantErr: ledger.ErrTooLong, wantField: "signatures.sig",
			wantMsg: "length exceeds remaining input (length 96 × 1 bytes, 95 bytes left)"},
		{name: "truncated before consensus hash ends", rec: valid[:200], wantErr: ledger.ErrTruncated, wantField: "info.consensus_data_hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			li, err := ledger.Decode(tt.rec)
			if li != nil || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decode = %v, %v; want nil, %v", li, err, tt.wantErr)
			}
			var de *ledger.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			if de.Field != tt.wantField {
				t.Errorf("field = %q, want %q (%v)", de.Field, tt.wantField, err)
			}
			if tt.wantOff != 0 && de.Offset != tt.wantOff {
				t.Errorf("offset = %d, want %d (%v)", de.Offset, tt.wantOff, err)
			}
			if tt.wantMsg != "" && !strings.HasSuffix(err.Error(), tt.wantMsg) {
				t.Errorf("error text = %q, want it to end in %q", err, tt.wantMsg)
			}
		})
	}
}

func TestWaypoint(t *testing.T) {
	rec := []byte("abc")
	wp := ledger.WaypointOf(999, rec)
	// sha3-256("abc"), FIPS 202 test vector.
	const abc = "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
	if got, want := wp.String(), "999:"+abc; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	back, err := ledger.ParseWaypoint(wp.String())
	if err != nil || back != wp {
		t.Errorf("ParseWaypoint(String()) = %v, %v; want %v", back, err, wp)
	}
}

func TestParseWaypoint(t *testing.T) {
	h := strings.Repeat("0a", 32)
	tests := []struct {
		in      string
		want    ledger.Waypoint
		wantMsg string // "" for success
	}{
		{in: "0:" + h, want: ledger.Waypoint{Version: 0, Hash: [32]byte{10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10}}},
		{in: "18446744073709551615:" + strings.Repeat("f", 64), want: ledger.Waypoint{Version: 1<<64 - 1, Hash: [32]byte(bytes.Repeat([]byte{0xff}, 32))}},
		{in: "", wantMsg: `invalid waypoint "": no ':' between version and hash`},
		{in: h, wantMsg: "no ':'"},
		{in: ":" + h, wantMsg: `version: want a decimal number without sign or leading zeros, got ""`},
		{in: "01:" + h, wantMsg: "leading zeros"},
		{in: "+1:" + h, wantMsg: "leading zeros"},
		{in: "-1:" + h, wantMsg: "leading zeros"},
		{in: " 1:" + h, wantMsg: "leading zeros"},
		{in: "18446744073709551616:" + h, wantMsg: "value out of range"},
		{in: "1:" + strings.ToUpper(h), wantMsg: "hash: want 64 lowercase hex digits"},
		{in: "1:" + h[:62], wantMsg: "hash: want 64 lowercase hex digits"},
		{in: "1:" + h + "00", wantMsg: "hash: want 64 lowercase hex digits"},
		{in: "1:" + h[:63] + "g", wantMsg: "hash: want 64 lowercase hex digits"},
		{in: "1:2:" + h, wantMsg: "hash: want 64 lowercase hex digits"},
		{in: "1:" + h + "\n", wantMsg: "hash: want 64 lowercase hex digits"},
	}
	for _, tt := range tests {
		got, err := ledger.ParseWaypoint(tt.in)
		if tt.wantMsg == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseWaypoint(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			continue
		}
		if !errors.Is(err, ledger.ErrBadWaypoint) || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("ParseWaypoint(%q) error = %v; want ErrBadWaypoint containing %q", tt.in, err, tt.wantMsg)
		}
	}
}
