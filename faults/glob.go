package faults

import (
	"unicode/utf8"
)

// Globs (the on= key) match a whole handle:
//
//	*      any run of characters, including none and including '/'
//	?      exactly one character
//	[abc]  one character of the class; [a-z] a range; [!a-z] or [^a-z] the
//	       complement; \ escapes ], - and \ inside a class
//	\c     the character c itself (\*, \?, \[, \\)
//	other  itself
//
// Characters are UTF-8 runes; anything else compares byte for byte.

// globError says what is wrong with a glob and at which byte offset.
type globError struct {
	off int
	msg string
}

// checkGlob reports the first syntax error in pattern, or nil.
func checkGlob(pattern string) *globError {
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			if i+1 == len(pattern) {
				return &globError{i, `trailing \ (escape a character, e.g. \*)`}
			}
			i++
		case '[':
			_, end, err := matchClass(pattern, i, 0)
			if err != nil {
				return err
			}
			i = end - 1
		}
	}
	return nil
}

// matchGlob reports whether name matches the whole of pattern. A malformed
// pattern (see checkGlob) matches nothing.
func matchGlob(pattern, name string) bool {
	if checkGlob(pattern) != nil {
		return false
	}
	p, n := 0, 0
	starP, starN := -1, -1 // where to resume after the last *: pattern, name
	for p < len(pattern) || n < len(name) {
		if p < len(pattern) {
			switch c := pattern[p]; c {
			case '*':
				starP, starN = p, n+runeLen(name, n)
				p++
				continue
			case '?':
				if n < len(name) {
					p, n = p+1, n+runeLen(name, n)
					continue
				}
			case '[':
				if n < len(name) {
					r, w := utf8.DecodeRuneInString(name[n:])
					if ok, end, _ := matchClass(pattern, p, r); ok {
						p, n = end, n+w
						continue
					}
				}
			case '\\':
				if n < len(name) && pattern[p+1] == name[n] {
					p, n = p+2, n+1
					continue
				}
			default:
				if n < len(name) && c == name[n] {
					p, n = p+1, n+1
					continue
				}
			}
		}
		// Mismatch: let the last * take one more character, if any.
		if starP < 0 || starN > len(name) {
			return false
		}
		p, n = starP+1, starN
		starN += runeLen(name, starN)
	}
	return true
}

// runeLen is the length in bytes of the rune at s[i:], 1 at the end of s.
func runeLen(s string, i int) int {
	if i >= len(s) {
		return 1
	}
	_, w := utf8.DecodeRuneInString(s[i:])
	return w
}

// matchClass matches r against the class starting at pattern[open] == '['
// and returns the offset just past its closing ']'.
func matchClass(pattern string, open int, r rune) (matched bool, end int, err *globError) {
	i := open + 1
	negate := i < len(pattern) && (pattern[i] == '!' || pattern[i] == '^')
	if negate {
		i++
	}
	// char reads one class character (maybe escaped) at i.
	char := func() (rune, *globError) {
		if pattern[i] == '\\' {
			i++
			if i == len(pattern) {
				return 0, &globError{open, "unterminated [ (close the class with ])"}
			}
		}
		c, w := utf8.DecodeRuneInString(pattern[i:])
		i += w
		return c, nil
	}
	for items := 0; ; items++ {
		if i == len(pattern) {
			return false, 0, &globError{open, "unterminated [ (close the class with ])"}
		}
		if pattern[i] == ']' {
			if items == 0 {
				return false, 0, &globError{open, `empty class [] (write \] for a literal ])`}
			}
			return matched != negate, i + 1, nil
		}
		loOff := i
		lo, err := char()
		if err != nil {
			return false, 0, err
		}
		hi := lo
		if i+1 < len(pattern) && pattern[i] == '-' && pattern[i+1] != ']' {
			i++
			if hi, err = char(); err != nil {
				return false, 0, err
			}
			if hi < lo {
				return false, 0, &globError{loOff, "class range out of order (want low-high, e.g. a-z)"}
			}
		}
		if lo <= r && r <= hi {
			matched = true
		}
	}
}
