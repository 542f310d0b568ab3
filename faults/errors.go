package faults

import (
	"errors"
	"strconv"
)

// ErrDoesNotFit is wrapped by a Fault's Script error when the fault points
// past the object it is given: record=9 of a 3-record object, after=64KiB of
// a 100-byte object, a payload to damage in an empty record. A malformed
// object (bad gzip, broken record framing before the wanted record) gives a
// different error.
//
//	if _, err := f.Script(data); errors.Is(err, faults.ErrDoesNotFit) { … }
var ErrDoesNotFit = errors.New("fault does not fit the object")

// Position is a place in spec text: the source's name (as given to Parse,
// e.g. "spec" or a plan file's path), a 1-based line and a 1-based column
// counted in bytes, as Go's own tools count them.
//
//	fmt.Println(faults.Position{Source: "spec", Line: 1, Col: 14}) // spec:1:14
type Position struct {
	Source string
	Line   int
	Col    int
}

// String formats p as "source:line:col", or "line:col" without a source.
func (p Position) String() string {
	lc := strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
	if p.Source == "" {
		return lc
	}
	return p.Source + ":" + lc
}

// SyntaxError is the error Parse and Load return for spec text they reject:
// where, and what is wrong there. Pos points at the offending token (the
// fault kind, the key, the value, or a character inside a value).
//
//	var se *faults.SyntaxError
//	if errors.As(err, &se) { fmt.Println(se.Pos.Line) }
//
// Its Error text reads "spec:1:14: unknown fault "stal" (known: corrupt,
// exit, reset, slow, stall, status, truncate)".
type SyntaxError struct {
	Pos Position
	Msg string
}

// Error formats e as "source:line:col: message".
func (e *SyntaxError) Error() string {
	return e.Pos.String() + ": " + e.Msg
}
