package objserver

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestChunkedReader(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
		bad            bool
	}{
		{"signed", "3;chunk-signature=ab\r\nabc\r\n2;chunk-signature=cd\r\nde\r\n0;chunk-signature=ef\r\n\r\n", "abcde", false},
		{"unsigned with trailer", "4\r\nabcd\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", "abcd", false},
		{"ends after the last chunk", "1\r\nz\r\n0\r\n", "z", false},
		{"empty", "0\r\n\r\n", "", false},
		{"bad size", "zz\r\nabc\r\n", "", true},
		{"short data", "5\r\nabc", "abc", true},
		{"no CRLF after data", "3\r\nabcX\r\n0\r\n\r\n", "abc", true},
		{"no end", "3\r\nabc\r\n", "abc", true},
		{"header line without end", strings.Repeat("a", 1<<20), "", true},
		{"endless trailers", "1\r\nz\r\n0\r\n" + strings.Repeat("x-amz-a:b\r\n", 1000) + "\r\n", "z", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := io.ReadAll(newChunkedReader(strings.NewReader(c.in)))
			if string(got) != c.want || (err != nil) != c.bad || (c.bad && !errors.Is(err, ErrChunked)) {
				t.Errorf("got %q, %v; want %q, error %v", got, err, c.want, c.bad)
			}
		})
	}
}

// TestChunkedErrorsAreQuotedAndBounded: binary and huge header lines
// reach the error quoted and cut.
func TestChunkedErrorsAreQuotedAndBounded(t *testing.T) {
	for _, in := range []string{
		"\x00\xff\x1b[2J" + strings.Repeat("\xfe", 100<<10),
		"\x00\xff\x1b[2J;chunk-signature=x\r\nabc",
	} {
		_, err := io.ReadAll(newChunkedReader(strings.NewReader(in)))
		msg := err.Error()
		if !errors.Is(err, ErrChunked) || len(msg) > 600 || strings.ContainsAny(msg, "\x00\x1b") || !strings.Contains(msg, `\x00\xff\x1b[2J`) {
			t.Errorf("error %q (%d bytes): want ErrChunked quoting the line, bounded", msg, len(msg))
		}
	}
}
