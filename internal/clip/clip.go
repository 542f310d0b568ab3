// Package clip renders outside text (a command's output, a request line,
// a journal line) for an error message: Go-quoted, so control bytes and
// invalid UTF-8 show as escapes, and cut to a bound, so a megabyte of
// binary never lands in a message or a log.
//
//	msg := fmt.Sprintf("chunk header %s: not a hex size", clip.Quote(line, clip.Default))
package clip

import (
	"strconv"
	"unicode/utf8"
)

// Default is the bound most messages use: 80 bytes of the original.
const Default = 80

// Quote returns s Go-quoted ("…" with escapes), keeping at most max bytes
// of s (max ≤ 0 means Default); a longer s is cut at a rune boundary and
// the quote is followed by "… (N bytes)", N being len(s).
//
//	clip.Quote("ok", 0)                         // "ok"
//	clip.Quote("\x00\xffabc", 0)                // "\x00\xffabc"
//	clip.Quote(strings.Repeat("a", 100), 4)     // "aaaa"… (100 bytes)
func Quote(s string, max int) string {
	if max <= 0 {
		max = Default
	}
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return cut(s, max) + "… (" + strconv.Itoa(len(s)) + " bytes)"
}

// Bytes is Quote for a byte slice; it copies at most max bytes of b.
//
//	clip.Bytes(line, clip.Default)
func Bytes(b []byte, max int) string {
	if max <= 0 {
		max = Default
	}
	if len(b) <= max {
		return strconv.Quote(string(b))
	}
	return cut(string(b[:max+1]), max) + "… (" + strconv.Itoa(len(b)) + " bytes)"
}

// cut quotes s's first max bytes, backing up (at most a rune) to a rune
// boundary; s is longer than max.
func cut(s string, max int) string {
	n := max
	for n > 0 && n > max-utf8.UTFMax && !utf8.RuneStart(s[n]) {
		n--
	}
	if !utf8.RuneStart(s[n]) {
		n = max // not UTF-8 anyway: cut where the bound says
	}
	return strconv.Quote(s[:n])
}
