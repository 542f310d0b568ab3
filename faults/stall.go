package faults

import (
	"fmt"
	"time"
)

// Stall writes the first After bytes of the object as stored (0: none),
// then pauses For; For = Forever hangs until the process is killed (fakecli
// caps it with LEAKGATE_STALL_CAP). After a finite pause it writes the rest
// and exits 0. After may be the object's whole size (hang before exiting)
// but not more; For must be > 0 or Forever.
//
//	faults.Stall{After: 32 << 10, For: faults.Forever} // "stall after=32KiB"
//	faults.Stall{For: 2 * time.Second}                 // "stall for=2s"
//
// Spec keys: after=SIZE, default 0; for=DURATION (time.ParseDuration: 250ms,
// 10s, 1m30s) or forever, default forever.
type Stall struct {
	After Size
	For   time.Duration
}

// Kind returns "stall".
func (Stall) Kind() string { return "stall" }

// String gives s in canonical spec text: "stall after=32KiB for=10s".
func (s Stall) String() string {
	out := "stall"
	if s.After != 0 {
		out += " after=" + s.After.String()
	}
	if s.For != Forever {
		out += " for=" + s.For.String()
	}
	return out
}

// Script writes data[:s.After], pauses s.For, then writes the rest (unless
// the pause is Forever) and exits 0.
func (s Stall) Script(data []byte) (Script, error) {
	switch {
	case s.For <= 0 && s.For != Forever:
		return Script{}, fmt.Errorf("%s: pause %v: want > 0 or Forever", s, s.For)
	case s.After < 0:
		return Script{}, fmt.Errorf("%s: negative After", s)
	case int64(s.After) > int64(len(data)):
		return Script{}, fmt.Errorf("%s: object has %d bytes: %w", s, len(data), ErrDoesNotFit)
	}
	steps := []Step{{Write: data[:s.After], Stall: s.For}}
	if s.For != Forever {
		steps = append(steps, writes(data[s.After:])...)
	}
	return Script{Steps: steps}, nil
}

func decodeStall(a *args) (Fault, error) {
	s := Stall{For: Forever}
	var err error
	if w, ok := a.get("after"); ok {
		if s.After, err = a.size(w); err != nil {
			return nil, err
		}
	}
	if w, ok := a.get("for"); ok && w.val != "forever" {
		d, err := time.ParseDuration(w.val)
		if err != nil || d <= 0 {
			return nil, a.invalid(w, "duration", "e.g. 250ms, 10s or forever")
		}
		s.For = d
	}
	return s, nil
}
