package faults

import (
	"fmt"
	"math"
	"strconv"
)

// Size is a byte count in the spec language: a decimal number of bytes with
// an optional unit. Binary units KiB, MiB and GiB are powers of 1024; decimal
// units KB, MB and GB are powers of 1000; B or no unit counts bytes. Units are
// case-sensitive and there is no fraction, sign or space: "512", "64KiB",
// "1MiB", "10KB" (= 10000). The largest size is math.MaxInt64 bytes.
//
//	n, err := faults.ParseSize("64KiB") // Size(65536)
type Size int64

// sizeUnits are the units ParseSize accepts; the binary ones come first, the
// largest first, because String picks among them in this order.
var sizeUnits = []struct {
	name string
	mult int64
}{
	{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1},
}

// sizeWant is the expected form of a size, for error messages.
const sizeWant = "e.g. 512, 64KiB, 1MiB or 10KB"

// ParseSize parses a Size: "512", "64KiB", "1MiB", "1GiB", "10KB", "10MB".
// It rejects negative, fractional and overflowing sizes and unknown units.
//
//	n, err := faults.ParseSize("256KiB") // Size(262144)
func ParseSize(s string) (Size, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("size %q: want a decimal number of bytes with an optional unit (%s)", s, sizeWant)
	}
	digits, unit := s[:i], s[i:]
	mult := int64(1)
	if unit != "" {
		mult = 0
		for _, u := range sizeUnits {
			if u.name == unit {
				mult = u.mult
			}
		}
		if mult == 0 {
			return 0, fmt.Errorf("size %q: unknown unit %q (want B, KiB, MiB, GiB, KB, MB or GB)", s, unit)
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q: larger than %d bytes", s, int64(math.MaxInt64))
	}
	return Size(n * mult), nil
}

// String gives s in canonical form: a whole number of the largest binary
// unit (GiB, MiB, KiB) that divides s exactly, else a plain number of bytes.
// Decimal units are never produced: 65536 → "64KiB", 1000 → "1000",
// 10000 (parsed from "10KB") → "10000", 0 → "0". ParseSize(s.String()) == s
// for every s ≥ 0.
func (s Size) String() string {
	if s > 0 {
		for _, u := range sizeUnits[:3] {
			if int64(s)%u.mult == 0 {
				return strconv.FormatInt(int64(s)/u.mult, 10) + u.name
			}
		}
	}
	return strconv.FormatInt(int64(s), 10)
}
