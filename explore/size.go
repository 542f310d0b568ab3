package explore

import (
	"cmp"
	"slices"
	"time"

	"github.com/leakgate/leakgate/faults"
)

// size measures a plan for shrinking, compared lexicographically: rules,
// then how many (handle, op) pairs its rules can hit in the space, then the
// sum of its numbers (sizes in bytes, records, codes, durations in ms, call
// numbers), then its text's length. Every accepted shrinking step makes it
// strictly smaller, so shrinking ends.
type size [4]int64

func sizeOf(sp Space, p *faults.Plan) size {
	var s size
	s[0] = int64(len(p.Rules))
	for _, r := range p.Rules {
		s[1] += reach(sp, r)
		s[2] += numbers(r)
	}
	s[3] = int64(len(p.String()))
	return s
}

// smaller reports whether a is smaller than b in sp.
func smaller(sp Space, a, b *faults.Plan) bool {
	x, y := sizeOf(sp, a), sizeOf(sp, b)
	return slices.CompareFunc(x[:], y[:], cmp.Compare[int64]) < 0
}

// reach counts the (handle, op) pairs r's target can hit: one per op for
// a listing, handles × ops otherwise (every handle, if sp has none).
func reach(sp Space, r faults.Rule) int64 {
	ops := r.Ops
	if len(ops) == 0 {
		ops = []faults.Op{faults.OpRead}
	}
	target := faults.Rule{On: r.On, Ops: ops}
	var n int64
	for _, op := range ops {
		if op == faults.OpList {
			n++
			continue
		}
		if len(sp.Handles) == 0 {
			n += 1000
			if r.On != "" {
				n -= 500
			}
			continue
		}
		for _, h := range sp.Handles {
			if target.Matches(faults.Call{Op: op, Handle: h}, 0) {
				n++
			}
		}
	}
	return n
}

// numbers sums r's numeric parameters and call numbers.
func numbers(r faults.Rule) int64 {
	var n int64
	for _, c := range r.Calls {
		n += int64(c.From + c.To)
	}
	switch f := r.Fault.(type) {
	case faults.Corrupt:
		n += int64(f.Record)
		if f.Mode != "" && f.Mode != faults.CorruptPayload {
			n++
		}
	case faults.Exit:
		n += int64(f.Code) + exitPoint(f.After)
	case faults.Reset:
		n += int64(f.After)
	case faults.Slow:
		n += int64(f.Rate)
	case faults.Stall:
		n += int64(f.After) + millis(f.For)
	case faults.Status:
		n += int64(f.Code)
	case faults.Truncate:
		n += int64(f.After) + int64(f.Record) + int64(f.Exit)
	}
	return n
}

// exitPoint counts after=all as the biggest position.
func exitPoint(p faults.ExitPoint) int64 {
	if p == faults.AfterAll {
		return 1 << 40
	}
	return int64(p)
}

// millis counts a forever stall as the longest.
func millis(d time.Duration) int64 {
	if d == faults.Forever {
		return 1 << 40
	}
	return d.Milliseconds()
}

// faultVariants are f's one-step simplifications: earlier positions,
// smaller numbers, default modes.
func faultVariants(f faults.Fault) []faults.Fault {
	var out []faults.Fault
	switch f := f.(type) {
	case faults.Corrupt:
		for _, rec := range smallerInts(f.Record, 1) {
			out = append(out, faults.Corrupt{Record: rec, Mode: f.Mode})
		}
		if f.Mode != faults.CorruptPayload {
			out = append(out, faults.Corrupt{Record: f.Record, Mode: faults.CorruptPayload})
		}
	case faults.Exit:
		for _, c := range smallerInts(f.Code, 1) {
			out = append(out, faults.Exit{Code: c, After: f.After})
		}
		if f.After == faults.AfterAll {
			out = append(out, faults.Exit{Code: f.Code, After: faults.AfterNone})
		}
		for _, a := range smallerInts(int(f.After), 0) {
			out = append(out, faults.Exit{Code: f.Code, After: faults.ExitPoint(a)})
		}
	case faults.Reset:
		for _, a := range smallerInts(int(f.After), 0) {
			out = append(out, faults.Reset{After: faults.Size(a)})
		}
	case faults.Slow:
		// Not below 1KiB: slower still only makes runs long.
		for _, r := range smallerInts(int(f.Rate), 1<<10) {
			out = append(out, faults.Slow{Rate: faults.Size(r)})
		}
	case faults.Stall:
		for _, a := range smallerInts(int(f.After), 0) {
			out = append(out, faults.Stall{After: faults.Size(a), For: f.For})
		}
		if f.For == faults.Forever {
			out = append(out, faults.Stall{After: f.After, For: time.Second})
		} else if f.For > 100*time.Millisecond {
			out = append(out, faults.Stall{After: f.After, For: f.For / 10})
		}
	case faults.Status:
		if f.Code != 500 && f.Code > 400 {
			out = append(out, faults.Status{Code: 400})
		}
	case faults.Truncate:
		for _, rec := range smallerInts(f.Record, 1) {
			out = append(out, faults.Truncate{Record: rec, Exit: f.Exit})
		}
		for _, a := range smallerInts(int(f.After), 1) {
			if f.Record == 0 {
				out = append(out, faults.Truncate{After: faults.Size(a), Exit: f.Exit})
			}
		}
		for _, e := range smallerInts(f.Exit, 0) {
			out = append(out, faults.Truncate{After: f.After, Record: f.Record, Exit: e})
		}
	}
	return out
}

// smallerInts gives floor and n/2 when they are below n (and distinct).
func smallerInts(n, floor int) []int {
	var out []int
	if n > floor {
		out = append(out, floor)
	}
	if h := n / 2; h > floor && h < n {
		out = append(out, h)
	}
	return out
}
