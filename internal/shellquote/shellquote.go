// Package shellquote renders argument vectors as shell command lines: the
// one quoter of the module, used by the journal's text, the harness's leak
// reports and the gate's report.
package shellquote

import "strings"

// Join renders args as a shell would need them typed: words made only of
// safe characters (letters, digits and @%+=:,./-_) stay bare, others are
// single-quoted, an empty word is ”.
//
//	shellquote.Join([]string{"bash", "-c", "a | b"}) // bash -c 'a | b'
func Join(args []string) string {
	words := make([]string, len(args))
	for i, a := range args {
		words[i] = word(a)
	}
	return strings.Join(words, " ")
}

// JoinMax is Join cut to at most max bytes (on a UTF-8 boundary) followed
// by "…" when longer: for one-line reports.
//
//	shellquote.JoinMax(argv, 400)
func JoinMax(args []string, max int) string {
	s := Join(args)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 { // a UTF-8 continuation byte
		cut--
	}
	return s[:cut] + "…"
}

func word(s string) string {
	if s == "" {
		return "''"
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./-_", r)) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}
