package faults

import "fmt"

// Reset breaks the connection with a TCP reset (RST) after the first After
// bytes of the object as stored. On the network (objserver) After = 0
// resets before the status line, and After > 0 sends the headers (with the
// object's full Content-Length) and After body bytes, then resets. For a
// CLI (fakecli) it stands for what a storage CLI does once it gave up on a
// reset connection: it writes the After bytes it got and exits 1. After must
// be less than the object's size, unless it is 0.
//
//	faults.Reset{}                // "reset": before the status line
//	faults.Reset{After: 8 << 10} // "reset after=8KiB"
//
// Spec key: after=SIZE, default 0.
type Reset struct {
	After Size
}

// Kind returns "reset".
func (Reset) Kind() string { return "reset" }

// String gives r in canonical spec text: "reset after=8KiB".
func (r Reset) String() string {
	if r.After == 0 {
		return "reset"
	}
	return "reset after=" + r.After.String()
}

// Script writes data[:r.After], then exits 1: what a CLI does once it gave
// up on a connection reset after r.After bytes.
func (r Reset) Script(data []byte) (Script, error) {
	switch {
	case r.After < 0:
		return Script{}, fmt.Errorf("%s: negative After", r)
	case r.After > 0 && int64(r.After) >= int64(len(data)):
		return Script{}, fmt.Errorf("%s: object has %d bytes, nothing left to cut: %w", r, len(data), ErrDoesNotFit)
	}
	return Script{Steps: writes(data[:r.After]), Exit: 1}, nil
}

func decodeReset(a *args) (Fault, error) {
	var r Reset
	if w, ok := a.get("after"); ok {
		var err error
		if r.After, err = a.size(w); err != nil {
			return nil, err
		}
	}
	return r, nil
}
