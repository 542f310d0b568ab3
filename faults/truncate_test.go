package faults

import (
	"testing"
)

func TestTruncateScript(t *testing.T) {
	plain := stream("alpha", "bravo!", "c", "")
	alpha := stream("alpha")
	runScriptCases(t, []scriptCase{
		{name: "record 1", fault: Truncate{Record: 1}, data: plain,
			want: Script{Steps: []Step{{Write: cat(prefix(5), []byte("al"))}}}},
		{name: "record 2 exit 3", fault: Truncate{Record: 2, Exit: 3}, data: plain,
			want: Script{Steps: []Step{{Write: cat(alpha, prefix(6), []byte("bra"))}}, Exit: 3}},
		{name: "record 3 of one byte keeps only its prefix", fault: Truncate{Record: 3}, data: plain,
			want: Script{Steps: []Step{{Write: cat(stream("alpha", "bravo!"), prefix(1))}}}},
		{name: "empty record 4", fault: Truncate{Record: 4}, data: plain,
			want: Script{Steps: []Step{{Write: cat(stream("alpha", "bravo!", "c"), prefix(0))}}}},
		{name: "after 0 writes nothing", fault: Truncate{After: 0, Exit: 1}, data: plain,
			want: Script{Exit: 1}},
		{name: "after 7", fault: Truncate{After: 7}, data: plain,
			want: Script{Steps: []Step{{Write: plain[:7]}}}},
		{name: "after counts gzip bytes as stored", fault: Truncate{After: 3}, data: gz(t, plain),
			want: Script{Steps: []Step{{Write: gz(t, plain)[:3]}}}},
		{name: "record 5 of 4", fault: Truncate{Record: 5}, data: plain,
			errText: "truncate record=5: object has 4 records, want record 5", misfit: true},
		{name: "record 1 of empty object", fault: Truncate{Record: 1}, data: nil,
			errText: "object has 0 records, want record 1", misfit: true},
		{name: "after whole object", fault: Truncate{After: Size(len(plain))}, data: plain,
			errText: "truncate after=28: object has 28 bytes, nothing to cut", misfit: true},
		{name: "broken framing before record", fault: Truncate{Record: 2}, data: cat(prefix(9), []byte("abc")),
			errText: "record 1: short record (3 of 9 bytes)"},
		{name: "bad gzip", fault: Truncate{Record: 1}, data: []byte{0x1f, 0x8b, 0, 0},
			errText: "gunzip object"},
		{name: "both after and record", fault: Truncate{After: 1, Record: 1}, data: plain,
			errText: "want exactly one of After"},
		{name: "exit out of range", fault: Truncate{After: 1, Exit: 256}, data: plain,
			errText: "exit status 256 out of range"},
	})
}

func TestTruncateGzip(t *testing.T) {
	plain := stream("alpha", "bravo!", "c")
	runGzipCases(t, []gzipCase{
		{fault: Truncate{Record: 1}, plain: plain, want: cat(prefix(5), []byte("al"))},
		{fault: Truncate{Record: 2, Exit: 2}, plain: plain, want: cat(stream("alpha"), prefix(6), []byte("bra")), exit: 2},
		{fault: Truncate{Record: 3}, plain: plain, want: cat(stream("alpha", "bravo!"), prefix(1))},
	})
}

func TestTruncateString(t *testing.T) {
	runStringCases(t, map[string]Fault{
		"truncate record=2":            Truncate{Record: 2},
		"truncate record=1 exit=1":     Truncate{Record: 1, Exit: 1},
		"truncate after=0":             Truncate{},
		"truncate after=4KiB exit=255": Truncate{After: 4096, Exit: 255},
		"truncate after=1000":          Truncate{After: 1000},
	})
}
