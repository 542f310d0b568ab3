package faults

import (
	"fmt"
	"sort"
	"strings"
)

// source is spec text being parsed, with what it takes to turn byte offsets
// into positions.
type source struct {
	name  string
	text  string
	lines []int // offset of the first byte of each line
}

func newSource(name, text string) *source {
	s := &source{name: name, text: text, lines: []int{0}}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			s.lines = append(s.lines, i+1)
		}
	}
	return s
}

// pos turns a byte offset into a Position.
func (s *source) pos(off int) Position {
	line := sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > off }) - 1
	return Position{Source: s.name, Line: line + 1, Col: off - s.lines[line] + 1}
}

// errorf returns a *SyntaxError at byte offset off.
func (s *source) errorf(off int, format string, v ...any) error {
	return &SyntaxError{Pos: s.pos(off), Msg: fmt.Sprintf(format, v...)}
}

// word is one blank-separated word of a rule: the kind, or key=value.
type word struct {
	off    int    // offset of the word's first byte
	text   string // the word as written
	eq     bool   // whether the word is key=value
	key    string
	val    string // the value, unquoted
	valOff int    // offset of the value as written (its opening quote if quoted)
	offs   []int  // offset of each byte of val in the text
}

// at returns the text offset of byte i of w's value; i = len(val) is just
// past its last byte.
func (w word) at(i int) int {
	switch {
	case i >= 0 && i < len(w.offs):
		return w.offs[i]
	case i == len(w.offs) && i > 0:
		return w.offs[i-1] + 1
	}
	return w.valOff
}

// isBlank reports whether c separates words.
func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

// endsWord reports whether c ends an unquoted word.
func endsWord(c byte) bool { return isBlank(c) || c == '\n' || c == ';' || c == '#' }

// lexer splits spec text into rules and rules into words.
type lexer struct {
	src *source
	i   int
}

// next returns the words of the next non-empty rule; ok is false at the end
// of the text.
func (lx *lexer) next() (words []word, ok bool, err error) {
	t := lx.src.text
	for lx.i < len(t) {
		c := t[lx.i]
		switch {
		case isBlank(c):
			lx.i++
		case c == '#':
			for lx.i < len(t) && t[lx.i] != '\n' {
				lx.i++
			}
		case c == '\n' || c == ';':
			lx.i++
			if len(words) > 0 {
				return words, true, nil
			}
		default:
			w, err := lx.word()
			if err != nil {
				return nil, false, err
			}
			words = append(words, w)
		}
	}
	return words, len(words) > 0, nil
}

// word reads one word starting at lx.i.
func (lx *lexer) word() (word, error) {
	t := lx.src.text
	w := word{off: lx.i}
	i := lx.i
	for ; i < len(t) && !endsWord(t[i]); i++ {
		switch {
		case t[i] == '"':
			return word{}, lx.src.errorf(i, `unexpected '"' (quote a whole value: key="…")`)
		case t[i] != '=' || w.eq:
			continue
		}
		w.eq, w.key, w.valOff = true, t[w.off:i], i+1
		if i+1 < len(t) && t[i+1] == '"' {
			end, err := lx.quoted(&w, i+1)
			if err != nil {
				return word{}, err
			}
			if end < len(t) && !endsWord(t[end]) {
				return word{}, lx.src.errorf(end, "unexpected %q after quoted value (separate words with blanks)", t[end])
			}
			w.text, lx.i = t[w.off:end], end
			return w, nil
		}
	}
	w.text, lx.i = t[w.off:i], i
	if w.eq {
		w.val = t[w.valOff:i]
		for j := w.valOff; j < i; j++ {
			w.offs = append(w.offs, j)
		}
	}
	return w, nil
}

// quoted reads the quoted value whose opening quote is at q into w and
// returns the offset just past the closing quote. Inside quotes \" is a
// quote and \\ a backslash; any other backslash is kept as is.
func (lx *lexer) quoted(w *word, q int) (int, error) {
	t := lx.src.text
	var b strings.Builder
	for i := q + 1; i < len(t) && t[i] != '\n'; i++ {
		switch c := t[i]; {
		case c == '"':
			w.val = b.String()
			return i + 1, nil
		case c == '\\' && i+1 < len(t) && (t[i+1] == '"' || t[i+1] == '\\'):
			w.offs = append(w.offs, i) // an escaped byte is at its backslash
			i++
			b.WriteByte(t[i])
		default:
			b.WriteByte(c)
			w.offs = append(w.offs, i)
		}
	}
	return 0, lx.src.errorf(q, "unterminated quoted value (a value ends on its line)")
}

// quote returns v as a value in spec text: as is when it can stand bare,
// else in double quotes with \ and " escaped.
func quote(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\r\n;#\"") {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(v) + `"`
}
