package faults

import (
	"testing"
)

func TestMatchGlob(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "b.1a2b/epoch_ending_0-/0-.chunk", true},
		{"*/epoch_ending_0-*/0-.chunk", "b.1a2b/epoch_ending_0-/0-.chunk", true},
		{"*/epoch_ending_0-*/0-.chunk", "b.1a2b/epoch_ending_0-/10-.chunk", false},
		{"*/epoch_ending_0-*/0-.chunk", "x/epoch_ending_0-/y/z/0-.chunk", true},
		{"*1-.chunk", "b/e/1-.chunk", true},
		{"*1-.chunk", "b/e/11-.chunk", true},
		{"*1-.chunk", "b/e/1-.chunk.gz", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"metadata/*", "metadata/epoch_ending_0-9.meta", true},
		{"metadata/*", "b/metadata/x", false},
		{"?", "a", true},
		{"?", "é", true},
		{"?", "", false},
		{"??", "é", false},
		{"*é", "xé", true},
		{"a?c", "a/c", true},
		{"[0-9]-.chunk", "7-.chunk", true},
		{"[0-9]-.chunk", "a-.chunk", false},
		{"[!0-9]*", "a1", true},
		{"[^0-9]*", "1a", false},
		{"[abc]", "b", true},
		{"[a-cx-z]", "y", true},
		{"[a-cx-z]", "d", false},
		{"[\\]]", "]", true},
		{"[a-]", "-", true},
		{"[é]", "é", true},
		{"\\*", "*", true},
		{"\\*", "a", false},
		{"a\\?", "a?", true},
		{"a\\?", "ab", false},
		{"**", "anything/at/all", true},
		{"*a", "aaaa", true},
		{"[", "[", false}, // malformed: matches nothing
	}
	for _, c := range cases {
		if got := matchGlob(c.pattern, c.name); got != c.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

func TestCheckGlob(t *testing.T) {
	cases := []struct {
		pattern string
		off     int
		msg     string
	}{
		{"a[bc", 1, "unterminated [ (close the class with ])"},
		{"x[]", 1, `empty class [] (write \] for a literal ])`},
		{"[!]", 0, `empty class [] (write \] for a literal ])`},
		{"ab[z-a]", 3, "class range out of order (want low-high, e.g. a-z)"},
		{"ab\\", 2, `trailing \ (escape a character, e.g. \*)`},
		{"[a\\", 0, "unterminated [ (close the class with ])"},
		{"*[a-z]?\\[", -1, ""},
	}
	for _, c := range cases {
		err := checkGlob(c.pattern)
		switch {
		case c.off < 0 && err != nil:
			t.Errorf("checkGlob(%q) = %+v, want nil", c.pattern, *err)
		case c.off >= 0 && (err == nil || err.off != c.off || err.msg != c.msg):
			t.Errorf("checkGlob(%q) = %+v, want {%d %s}", c.pattern, err, c.off, c.msg)
		}
	}
}
