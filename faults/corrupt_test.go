package faults

import (
	"slices"
	"testing"
)

func TestCorruptScript(t *testing.T) {
	plain := stream("alpha", "bravo!", "c", "")
	runScriptCases(t, []scriptCase{
		{name: "payload of record 1", fault: Corrupt{Record: 1, Mode: CorruptPayload}, data: plain,
			want: Script{Steps: []Step{{Write: stream("\xff\xff\xff\xff\xff", "bravo!", "c", "")}}}},
		{name: "payload of record 2", fault: Corrupt{Record: 2, Mode: CorruptPayload}, data: plain,
			want: Script{Steps: []Step{{Write: stream("alpha", "\xff\xff\xff\xff\xff\xff", "c", "")}}}},
		{name: "trailing on record 3", fault: Corrupt{Record: 3, Mode: CorruptTrailing}, data: plain,
			want: Script{Steps: []Step{{Write: stream("alpha", "bravo!", "c\x00", "")}}}},
		{name: "trailing on empty record 4", fault: Corrupt{Record: 4, Mode: CorruptTrailing}, data: plain,
			want: Script{Steps: []Step{{Write: stream("alpha", "bravo!", "c", "\x00")}}}},
		{name: "length of record 2", fault: Corrupt{Record: 2, Mode: CorruptLength}, data: plain,
			want: Script{Steps: []Step{{Write: cat(stream("alpha"), prefix(0xFFFFFFFF), []byte("bravo!"), stream("c", ""))}}}},
		{name: "bytes after record K untouched even if malformed", fault: Corrupt{Record: 1, Mode: CorruptTrailing},
			data: cat(stream("ab"), []byte{0, 0}),
			want: Script{Steps: []Step{{Write: cat(stream("ab\x00"), []byte{0, 0})}}}},
		{name: "payload of empty record", fault: Corrupt{Record: 4, Mode: CorruptPayload}, data: plain,
			errText: "corrupt record=4: record 4 is empty, no payload to damage", misfit: true},
		{name: "record 5 of 4", fault: Corrupt{Record: 5, Mode: CorruptLength}, data: plain,
			errText: "corrupt record=5 mode=length: object has 4 records, want record 5", misfit: true},
		{name: "broken prefix before record", fault: Corrupt{Record: 2, Mode: CorruptPayload}, data: cat(stream("a"), []byte{0, 0}),
			errText: "record 2: end of object inside the length prefix (2 of 4 bytes)"},
		{name: "record 0", fault: Corrupt{Mode: CorruptPayload}, data: plain,
			errText: "record number 0: want ≥ 1"},
		{name: "unknown mode", fault: Corrupt{Record: 1, Mode: "zap"}, data: plain,
			errText: `unknown mode "zap"`},
	})
}

// TestCorruptWellFramed checks that payload and trailing damage keep the
// stream well framed and change only record K.
func TestCorruptWellFramed(t *testing.T) {
	orig := []string{"alpha", "bravo!", "c"}
	for _, mode := range []CorruptMode{CorruptPayload, CorruptTrailing} {
		for k := 1; k <= len(orig); k++ {
			f := Corrupt{Record: k, Mode: mode}
			s, err := f.Script(stream(orig...))
			if err != nil {
				t.Fatalf("%s.Script: %v", f, err)
			}
			got, err := records(written(s))
			if err != nil {
				t.Fatalf("%s: output not well framed: %v", f, err)
			}
			want := slices.Clone(orig)
			switch mode {
			case CorruptPayload:
				want[k-1] = string(slices.Repeat([]byte{0xff}, len(orig[k-1])))
			case CorruptTrailing:
				want[k-1] += "\x00"
			}
			if !slices.Equal(got, want) || s.Exit != 0 {
				t.Errorf("%s: records %q exit %d, want %q exit 0", f, got, s.Exit, want)
			}
		}
	}
}

func TestCorruptGzip(t *testing.T) {
	plain := stream("alpha", "bravo!", "c")
	runGzipCases(t, []gzipCase{
		{fault: Corrupt{Record: 1, Mode: CorruptPayload}, plain: plain, want: stream("\xff\xff\xff\xff\xff", "bravo!", "c")},
		{fault: Corrupt{Record: 3, Mode: CorruptTrailing}, plain: plain, want: stream("alpha", "bravo!", "c\x00")},
		{fault: Corrupt{Record: 2, Mode: CorruptLength}, plain: plain, want: cat(stream("alpha"), prefix(0xFFFFFFFF), []byte("bravo!"), stream("c"))},
	})
}

func TestCorruptString(t *testing.T) {
	runStringCases(t, map[string]Fault{
		"corrupt":                        Corrupt{Record: 1, Mode: CorruptPayload},
		"corrupt record=3 mode=trailing": Corrupt{Record: 3, Mode: CorruptTrailing},
		"corrupt mode=length":            Corrupt{Record: 1, Mode: CorruptLength},
		"corrupt record=12":              Corrupt{Record: 12, Mode: CorruptPayload},
	})
}
