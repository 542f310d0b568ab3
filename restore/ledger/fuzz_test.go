package ledger_test

import (
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/leakgate/leakgate/restore/ledger"
)

// FuzzDecode checks that Decode never panics, allocates in proportion to its
// input, fails only with a *DecodeError, and accepts only canonical
// encodings (Encode gives back the input exactly).
func FuzzDecode(f *testing.F) {
	f.Add(ledger.Synthetic(0, 0).Encode())
	f.Add(ledger.Synthetic(3, 2000).Encode())
	f.Add((&ledger.LedgerInfoWithSignatures{}).Encode())
	f.Add(bytes.Repeat([]byte{0xff}, 200))
	f.Add([]byte{0, 1, 2, 3})
	f.Fuzz(func(t *testing.T, rec []byte) {
		var li *ledger.LedgerInfoWithSignatures
		var err error
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		li, err = ledger.Decode(rec)
		runtime.ReadMemStats(&after)
		// Validators cost 64 bytes of struct per ≥ 41 input bytes, plus
		// copies of byte fields: well under 4 bytes per input byte.
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(4*len(rec))+16<<10; got > limit {
			t.Fatalf("decoding %d bytes allocated %d, want at most %d", len(rec), got, limit)
		}
		if err != nil {
			var de *ledger.DecodeError
			if li != nil || !errors.As(err, &de) {
				t.Fatalf("Decode = %v, %v; want nil and a *DecodeError", li, err)
			}
			if de.Offset < 0 || de.Offset > len(rec) {
				t.Fatalf("error offset %d outside the %d-byte input", de.Offset, len(rec))
			}
			return
		}
		if again := li.Encode(); !bytes.Equal(again, rec) {
			t.Fatalf("Decode accepted a non-canonical encoding:\n in  %x\n out %x", rec, again)
		}
	})
}
