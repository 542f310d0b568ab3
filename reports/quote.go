package reports

import (
	"regexp"
	"strings"
)

// safeWord is a word a POSIX shell reads as itself.
var safeWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./^$-]+$`)

// shellQuote joins argv into one shell command line, single-quoting the
// words that need it: shellQuote([]string{"bash", "-c", "a | b"}) is
// "bash -c 'a | b'".
func shellQuote(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		if safeWord.MatchString(a) {
			words[i] = a
		} else {
			words[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(words, " ")
}

var stateNames = map[string]string{
	"R": "running", "S": "sleeping", "D": "disk sleep", "Z": "zombie",
	"T": "stopped", "t": "tracing stop", "X": "dead", "x": "dead", "I": "idle",
}

// stateName spells out a /proc state letter; "unknown" if it is not one.
func stateName(letter string) string {
	if n, ok := stateNames[letter]; ok {
		return n
	}
	return "unknown"
}
