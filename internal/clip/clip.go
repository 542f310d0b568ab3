// Package clip renders outside text (a command's output, a request line,
// a journal line) for an error message: Go-quoted, so control bytes and
// invalid UTF-8 show as escapes, and cut to a bound, so a megabyte of
// binary never lands in a message or a log.
//
//	msg := fmt.Sprintf("chunk header %s: not a hex size", clip.Quote(line, clip.Default))
package clip

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
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

// Text returns s for a multi-line message: printable text and newlines
// and tabs as they are, every other byte (control bytes, invalid UTF-8)
// as a Go escape, cut once the result reaches max bytes (max ≤ 0:
// DefaultText) and then followed by "… (N bytes)", N being len(s).
//
//	clip.Text("aws: no such key \x1b[2J", 0) // `aws: no such key \x1b[2J`
func Text(s string, max int) string {
	if max <= 0 {
		max = DefaultText
	}
	var b strings.Builder
	for i, r := range s {
		if b.Len() >= max && i < len(s) {
			fmt.Fprintf(&b, "… (%d bytes)", len(s))
			break
		}
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t' || unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}

// DefaultText is Text's bound when none is given: 4 KiB.
const DefaultText = 4 << 10

// Word is a string argument of a formatted message that comes from
// outside: %q quotes it with Quote, %s and %v print it as Text does, both
// bounded by WordMax bytes.
//
//	fmt.Sprintf("unknown option %q", clip.Word(arg))
type Word string

// WordMax bounds a Word: 256 bytes.
const WordMax = 256

// Format implements fmt.Formatter.
func (w Word) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		io.WriteString(f, Quote(string(w), WordMax))
		return
	}
	io.WriteString(f, Text(string(w), WordMax))
}
