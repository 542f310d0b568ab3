package faults

import (
	"fmt"
	"math"
	"strconv"
)

// Truncate ends the output early, then exits with status Exit (0..255; 0
// means the reader sees a clean but short stream). It cuts at exactly one
// place. With Record = K > 0 (1-based) it cuts inside record K of the decoded
// record stream: records 1..K-1 whole, then record K's 4-byte length prefix
// and the first floor(len/2) bytes of its payload, gzip-encoded again if the
// object was gzip; the object must have at least K records. With Record = 0
// it cuts after the first After bytes of the object as stored
// (0 ≤ After < the object's size; After = 0 writes nothing).
//
//	faults.Truncate{Record: 2}            // "truncate record=2"
//	faults.Truncate{After: 4096, Exit: 1} // "truncate after=4KiB exit=1"
//
// Spec keys: after=SIZE or record=K, exactly one; exit=N, default 0.
type Truncate struct {
	After  Size
	Record int
	Exit   int
}

// Kind returns "truncate".
func (Truncate) Kind() string { return "truncate" }

// String gives t in canonical spec text: "truncate record=2".
func (t Truncate) String() string {
	s := "truncate after=" + t.After.String()
	if t.Record != 0 {
		s = "truncate record=" + strconv.Itoa(t.Record)
	}
	if t.Exit != 0 {
		s += " exit=" + strconv.Itoa(t.Exit)
	}
	return s
}

// Script writes data cut short as t says, then exits with t.Exit.
func (t Truncate) Script(data []byte) (Script, error) {
	switch {
	case t.Exit < 0 || t.Exit > 255:
		return Script{}, fmt.Errorf("%s: exit status %d out of range 0..255", t, t.Exit)
	case t.Record < 0 || t.After < 0 || (t.Record > 0 && t.After > 0):
		return Script{}, fmt.Errorf("%s: want exactly one of After ≥ 0 or Record ≥ 1", t)
	case t.Record == 0 && int64(t.After) >= int64(len(data)):
		return Script{}, fmt.Errorf("%s: object has %d bytes, nothing to cut: %w", t, len(data), ErrDoesNotFit)
	case t.Record == 0:
		return Script{Steps: writes(data[:t.After]), Exit: t.Exit}, nil
	}
	stream, gz, err := decodeObject(data)
	if err != nil {
		return Script{}, fmt.Errorf("%s: %w", t, err)
	}
	off, n, err := findRecord(stream, t.Record)
	if err != nil {
		return Script{}, fmt.Errorf("%s: %w", t, err)
	}
	out, err := encodeObject(stream[:off+prefixLen+n/2], gz)
	if err != nil {
		return Script{}, fmt.Errorf("%s: %w", t, err)
	}
	return Script{Steps: writes(out), Exit: t.Exit}, nil
}

// writes is the steps that write b at full speed: none if b is empty.
func writes(b []byte) []Step {
	if len(b) == 0 {
		return nil
	}
	return []Step{{Write: b}}
}

func decodeTruncate(a *args) (Fault, error) {
	var t Truncate
	var err error
	after, hasAfter := a.get("after")
	record, hasRecord := a.get("record")
	switch {
	case hasAfter && hasRecord:
		second := record
		if record.off < after.off {
			second = after
		}
		return nil, a.errorf(second, "after= and record= exclude each other (cut after bytes, or inside a record)")
	case hasAfter:
		t.After, err = a.size(after)
	case hasRecord:
		t.Record, err = a.integer(record, "record number", 1, math.MaxInt)
	default:
		return nil, a.missing("missing after= or record= (want e.g. after=32KiB or record=2)")
	}
	if err != nil {
		return nil, err
	}
	if w, ok := a.get("exit"); ok {
		if t.Exit, err = a.integer(w, "exit status", 0, 255); err != nil {
			return nil, err
		}
	}
	return t, nil
}
