package faults

import (
	"math"
	"testing"
)

func TestParseSize(t *testing.T) {
	good := map[string]Size{
		"0": 0, "512": 512, "512B": 512, "64KiB": 65536, "1MiB": 1 << 20, "1GiB": 1 << 30,
		"10KB": 10000, "10MB": 10_000_000, "2GB": 2_000_000_000, "007": 7,
		"9223372036854775807": math.MaxInt64, "8589934591GiB": 8589934591 << 30,
	}
	for in, want := range good {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                    `size "": want a decimal number of bytes with an optional unit (e.g. 512, 64KiB, 1MiB or 10KB)`,
		"-1":                  `size "-1": want a decimal number of bytes`,
		"KiB":                 `size "KiB": want a decimal number`,
		"1.5MiB":              `size "1.5MiB": unknown unit ".5MiB" (want B, KiB, MiB, GiB, KB, MB or GB)`,
		"64kib":               `size "64kib": unknown unit "kib"`,
		"64 KiB":              `size "64 KiB": unknown unit " KiB"`,
		"9223372036854775808": `size "9223372036854775808": larger than 9223372036854775807 bytes`,
		"8589934592GiB":       `size "8589934592GiB": larger than`,
	}
	for in, want := range bad {
		_, err := ParseSize(in)
		if err == nil || !hasPrefix(err.Error(), want) {
			t.Errorf("ParseSize(%q): err = %v, want one starting %q", in, err, want)
		}
	}
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func TestSizeString(t *testing.T) {
	for s, want := range map[Size]string{
		0: "0", 1: "1", 1000: "1000", 1024: "1KiB", 1536: "1536", 65536: "64KiB",
		10000: "10000", 1 << 20: "1MiB", 3 << 30: "3GiB", 1 << 40: "1024GiB",
		math.MaxInt64: "9223372036854775807", -5: "-5",
	} {
		if got := s.String(); got != want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(s), got, want)
		}
	}
}

func TestSizeRoundTrip(t *testing.T) {
	for _, s := range []Size{0, 1, 1023, 1024, 1025, 4096, 1 << 20, 1<<20 + 1, 5 << 30, math.MaxInt64, math.MaxInt64 &^ (1<<30 - 1)} {
		if got, err := ParseSize(s.String()); err != nil || got != s {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s.String(), got, err, s)
		}
	}
}
