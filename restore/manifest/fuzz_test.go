package manifest_test

import (
	"bytes"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unicode"

	"github.com/leakgate/leakgate/restore/manifest"
)

// allocated is the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// allocLimit is what parsing n bytes of JSON may allocate: the decoder's
// tokens and raw copies cost a small multiple of the input.
func allocLimit(n int) uint64 { return uint64(64*n) + 1<<20 }

// FuzzParseEpochEnding checks, for any bytes, that ParseEpochEnding never
// panics, allocates in proportion to its input, names the handle in every
// error, and returns only manifests that verify and survive a JSON round
// trip. Seeds: testdata/fuzz/FuzzParseEpochEnding.
func FuzzParseEpochEnding(f *testing.F) {
	const handle = "b.1a2b/epoch_ending.manifest"
	f.Fuzz(func(t *testing.T, data []byte) {
		var m *manifest.EpochEndingManifest
		var err error
		if got := allocated(func() { m, err = manifest.ParseEpochEnding(data, handle) }); got > allocLimit(len(data)) {
			t.Fatalf("parsing %d bytes allocated %d", len(data), got)
		}
		if err != nil {
			if m != nil || !strings.HasPrefix(err.Error(), "manifest "+handle+": ") {
				t.Fatalf("ParseEpochEnding = %v, %v; want nil and an error naming the handle", m, err)
			}
			return
		}
		if err := m.Verify(); err != nil {
			t.Fatalf("accepted a manifest that does not verify: %v", err)
		}
		again, err := m.JSON()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := manifest.ParseEpochEnding(again, handle)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, m, m2)
		}
	})
}

// FuzzParseMetadata checks, for any bytes, that ParseMetadata never
// panics, allocates in proportion to its input, fails only with a
// *LineError naming the source and a line of the input, and returns only
// entries whose ranges hold and that re-encode to a line parsing to the
// same entry. Seeds: testdata/fuzz/FuzzParseMetadata.
func FuzzParseMetadata(f *testing.F) {
	const source = "metadata/epoch_ending_0-9.meta"
	f.Fuzz(func(t *testing.T, data []byte) {
		var metas []manifest.EpochEndingBackupMeta
		var err error
		if got := allocated(func() { metas, err = manifest.ParseMetadata(bytes.NewReader(data), source) }); got > allocLimit(len(data)) {
			t.Fatalf("parsing %d bytes allocated %d", len(data), got)
		}
		if err != nil {
			var le *manifest.LineError
			if !errors.As(err, &le) || le.Source != source || le.Line < 1 || le.Line > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("error %v: want a *LineError naming %s and a line of the input", err, source)
			}
			return
		}
		for _, m := range metas {
			if m.LastEpoch < m.FirstEpoch || m.LastVersion < m.FirstVersion {
				t.Fatalf("accepted a reversed range: %+v", m)
			}
			if m.Manifest == "" || strings.ContainsFunc(m.Manifest, unicode.IsControl) {
				t.Fatalf("accepted the handle %q", m.Manifest)
			}
			line, err := manifest.MetadataLine(m)
			if err != nil {
				t.Fatal(err)
			}
			again, err := manifest.ParseMetadata(bytes.NewReader(line), source)
			if err != nil || len(again) != 1 || again[0] != m {
				t.Fatalf("round trip of %+v: %v, %+v", m, err, again)
			}
		}
	})
}
