package faults

import "fmt"

// Slow writes the whole object at Rate bytes per second (Rate > 0; fakecli
// paces the write, see Step.Rate), then exits 0.
//
//	faults.Slow{Rate: 256 << 10} // "slow rate=256KiB"
//
// Spec key: rate=SIZE (bytes per second), required.
type Slow struct {
	Rate Size
}

// Kind returns "slow".
func (Slow) Kind() string { return "slow" }

// String gives s in canonical spec text: "slow rate=256KiB".
func (s Slow) String() string { return "slow rate=" + s.Rate.String() }

// Script writes data at s.Rate bytes per second, then exits 0.
func (s Slow) Script(data []byte) (Script, error) {
	if s.Rate <= 0 {
		return Script{}, fmt.Errorf("%s: rate must be > 0 bytes per second", s)
	}
	if len(data) == 0 {
		return Script{}, nil
	}
	return Script{Steps: []Step{{Write: data, Rate: int64(s.Rate)}}}, nil
}

func decodeSlow(a *args) (Fault, error) {
	w, ok := a.get("rate")
	if !ok {
		return nil, a.missing("missing rate= (want e.g. rate=256KiB, in bytes per second)")
	}
	rate, err := ParseSize(w.val)
	if err != nil || rate <= 0 {
		return nil, a.invalid(w, "rate", "a size > 0, in bytes per second, e.g. 256KiB")
	}
	return Slow{Rate: rate}, nil
}
