package faults

import (
	"fmt"
	"strconv"
)

// ExitPoint is where Exit stops writing: a byte count ≥ 0 of the object as
// stored (AfterNone is 0), or AfterAll.
//
//	faults.Exit{Code: 2, After: faults.ExitPoint(4096)} // "exit code=2 after=4KiB"
type ExitPoint int64

// The named exit points.
const (
	AfterAll  ExitPoint = -1 // write the whole object (after=all)
	AfterNone ExitPoint = 0  // write nothing (after=none, same as after=0)
)

// String gives e as in exit's after=: "all", "none" or a Size ("4KiB").
func (e ExitPoint) String() string {
	switch e {
	case AfterAll:
		return "all"
	case AfterNone:
		return "none"
	}
	return Size(e).String()
}

// Exit writes the object up to After, then exits with status Code (1..255).
// A byte count must not exceed the object's size.
//
//	faults.Exit{Code: 3, After: faults.AfterNone} // "exit code=3 after=none"
//	faults.Exit{Code: 1, After: faults.AfterAll}  // "exit"
//
// Spec keys: code=N, default 1; after=all|none|SIZE, default all. A zero
// Exit is not valid (Code 0); set both fields.
type Exit struct {
	Code  int
	After ExitPoint
}

// Kind returns "exit".
func (Exit) Kind() string { return "exit" }

// String gives e in canonical spec text: "exit code=3 after=none".
func (e Exit) String() string {
	s := "exit"
	if e.Code != 1 {
		s += " code=" + strconv.Itoa(e.Code)
	}
	if e.After != AfterAll {
		s += " after=" + e.After.String()
	}
	return s
}

// Script writes data up to e.After, then exits with e.Code.
func (e Exit) Script(data []byte) (Script, error) {
	switch {
	case e.Code < 1 || e.Code > 255:
		return Script{}, fmt.Errorf("%s: exit status %d out of range 1..255", e, e.Code)
	case e.After < AfterAll:
		return Script{}, fmt.Errorf("%s: invalid exit point %d", e, int64(e.After))
	case e.After == AfterAll:
		return Script{Steps: writes(data), Exit: e.Code}, nil
	case int64(e.After) > int64(len(data)):
		return Script{}, fmt.Errorf("%s: object has %d bytes: %w", e, len(data), ErrDoesNotFit)
	}
	return Script{Steps: writes(data[:e.After]), Exit: e.Code}, nil
}

func decodeExit(a *args) (Fault, error) {
	e := Exit{Code: 1, After: AfterAll}
	var err error
	if w, ok := a.get("code"); ok {
		if e.Code, err = a.integer(w, "exit status", 1, 255); err != nil {
			return nil, err
		}
	}
	if w, ok := a.get("after"); ok {
		switch w.val {
		case "all":
		case "none":
			e.After = AfterNone
		default:
			n, err := ParseSize(w.val)
			if err != nil {
				return nil, a.invalid(w, "exit point", "all, none or a size, "+sizeWant)
			}
			e.After = ExitPoint(n)
		}
	}
	return e, nil
}
