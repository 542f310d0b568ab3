package faults

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// parseRule turns the words of one rule into a Rule, in two passes: the
// envelope keys (on, call, op, p, seed) into the Rule, then the rest into
// the kind's own decoder.
func parseRule(src *source, ws []word) (Rule, error) {
	kw := ws[0]
	known := strings.Join(Kinds(), ", ")
	if kw.eq {
		return Rule{}, src.errorf(kw.off, "rule starts with %q: want a fault kind first (known: %s)", kw.text, known)
	}
	k, ok := registry[kw.text]
	if !ok {
		return Rule{}, src.errorf(kw.off, "unknown fault %q (known: %s)", kw.text, known)
	}
	name := kw.text
	seen := map[string]word{}
	for _, w := range ws[1:] {
		switch first, dup := seen[w.key]; {
		case !w.eq:
			return Rule{}, src.errorf(w.off, "%s: want key=value, got %q", name, w.text)
		case w.key == "":
			return Rule{}, src.errorf(w.off, "%s: missing key before '=' in %q", name, w.text)
		case dup:
			p := src.pos(first.off)
			return Rule{}, src.errorf(w.off, "%s: duplicate key %q (first at %d:%d)", name, w.key, p.Line, p.Col)
		case !slices.Contains(k.keys, w.key) && !slices.Contains(envelopeKeys, w.key):
			return Rule{}, src.errorf(w.off, "%s: unknown key %q (%s takes %s; every rule takes %s)",
				name, w.key, name, strings.Join(k.keys, ", "), strings.Join(envelopeKeys, ", "))
		}
		seen[w.key] = w
	}
	r := Rule{Ops: []Op{OpRead}, P: 1, Pos: src.pos(kw.off)}
	a := &args{src: src, kind: name, off: kw.off}
	for _, w := range ws[1:] {
		if !slices.Contains(envelopeKeys, w.key) {
			a.words = append(a.words, w)
			continue
		}
		if err := a.envelope(&r, w); err != nil {
			return Rule{}, err
		}
	}
	f, err := k.decode(a)
	if err != nil {
		return Rule{}, err
	}
	r.Fault = f
	return r, nil
}

// args is what a kind's decoder gets: its kind's own key=value words, in
// the order written, and helpers that report errors at the right place.
type args struct {
	src   *source
	kind  string
	off   int // offset of the kind word
	words []word
}

// get returns the word for key, if the rule has it.
func (a *args) get(key string) (word, bool) {
	for _, w := range a.words {
		if w.key == key {
			return w, true
		}
	}
	return word{}, false
}

// missing reports a missing key, at the kind word.
func (a *args) missing(format string, v ...any) error {
	return a.src.errorf(a.off, "%s: %s", a.kind, fmt.Sprintf(format, v...))
}

// errorf reports an error about word w, at its key.
func (a *args) errorf(w word, format string, v ...any) error {
	return a.src.errorf(w.off, "%s: %s", a.kind, fmt.Sprintf(format, v...))
}

// invalid reports w's value as not a valid what, at the value, with the
// form wanted.
func (a *args) invalid(w word, what, want string) error {
	return a.src.errorf(w.valOff, "%s: %s: invalid %s %q (want %s)", a.kind, w.key, what, w.val, want)
}

// size parses w's value as a Size.
func (a *args) size(w word) (Size, error) {
	n, err := ParseSize(w.val)
	if err != nil {
		return 0, a.invalid(w, "size", sizeWant)
	}
	return n, nil
}

// integer parses w's value as a decimal integer in [lo, hi].
func (a *args) integer(w word, what string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(w.val)
	if err != nil || n < lo || n > hi {
		want := fmt.Sprintf("an integer from %d to %d", lo, hi)
		if hi == math.MaxInt {
			want = fmt.Sprintf("an integer from %d", lo)
		}
		return 0, a.invalid(w, what, want)
	}
	return n, nil
}
