package clip

import (
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
