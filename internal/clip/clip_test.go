package clip

import (
	"fmt"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"ok", 0, `"ok"`},
		{"\x00\xffa\n", 0, `"\x00\xffa\n"`},
		{strings.Repeat("a", 100), 4, `"aaaa"… (100 bytes)`},
		{"ééé", 3, `"é"… (6 bytes)`},                         // never half a rune
		{"\xff\xff\xff\xff\xff", 2, `"\xff\xff"… (5 bytes)`}, // not UTF-8: cut at the bound
		{strings.Repeat("x", Default+1), 0, `"` + strings.Repeat("x", Default) + `"… (81 bytes)`},
	} {
		if got := Quote(c.in, c.max); got != c.want {
			t.Errorf("Quote(%q, %d) = %s, want %s", c.in, c.max, got, c.want)
		}
		if got := Bytes([]byte(c.in), c.max); got != c.want {
			t.Errorf("Bytes(%q, %d) = %s, want %s", c.in, c.max, got, c.want)
		}
	}
}

func TestText(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"line 1\n\tline 2 é", 0, "line 1\n\tline 2 é"},
		{"esc \x1b[2J nul \x00 bad \xff", 0, `esc \x1b[2J nul \x00 bad \xff`},
		{"abcdef", 3, "abc… (6 bytes)"},
		{"real \uFFFD stays", 0, "real \uFFFD stays"},
	} {
		if got := Text(c.in, c.max); got != c.want {
			t.Errorf("Text(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
	if got := fmt.Sprintf("%q and %s", Word("a\x00"), Word(strings.Repeat("z", 300))); got != `"a\x00" and `+strings.Repeat("z", WordMax)+"… (300 bytes)" {
		t.Errorf("Word: %s", got)
	}
}
