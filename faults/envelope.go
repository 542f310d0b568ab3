package faults

import (
	"slices"
	"strconv"
	"strings"
)

// envelope decodes one envelope key (on, call, op, p, seed) into r.
func (a *args) envelope(r *Rule, w word) error {
	switch w.key {
	case "on":
		if err := checkGlob(w.val); err != nil {
			return a.src.errorf(w.at(err.off), "%s: on: invalid glob %q: %s", a.kind, w.val, err.msg)
		}
		r.On = w.val
	case "call":
		calls, err := a.calls(w)
		if err != nil {
			return err
		}
		r.Calls = calls
	case "op":
		ops, err := a.ops(w)
		if err != nil {
			return err
		}
		r.Ops = ops
	case "p":
		p, err := strconv.ParseFloat(w.val, 64)
		if err != nil || !(p > 0 && p <= 1) {
			return a.invalid(w, "probability", "a number in (0, 1], e.g. 0.5")
		}
		r.P = p
	case "seed":
		seed, err := strconv.ParseInt(w.val, 10, 64)
		if err != nil {
			return a.invalid(w, "seed", "a 64-bit decimal integer, e.g. 42")
		}
		r.Seed = seed
	}
	return nil
}

// calls parses call=: comma-separated call numbers N and ranges N-M, with
// 1 ≤ N ≤ M. An error points at the offending item.
func (a *args) calls(w word) ([]Range, error) {
	var rs []Range
	off := 0
	for _, item := range strings.Split(w.val, ",") {
		from, to, isRange := strings.Cut(item, "-")
		lo, err1 := strconv.Atoi(from)
		hi, err2 := lo, error(nil)
		if isRange {
			hi, err2 = strconv.Atoi(to)
		}
		if err1 != nil || err2 != nil || lo < 1 || hi < lo || !isDigits(from) || !isDigits(to) {
			return nil, a.src.errorf(w.at(off), "%s: call: invalid call range %q (want e.g. 3, 3-5 or 3,7,9-11; calls count from 1)", a.kind, item)
		}
		rs = append(rs, Range{From: lo, To: hi})
		off += len(item) + 1
	}
	return rs, nil
}

// isDigits reports whether s holds only ASCII digits ("" does).
func isDigits(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
}

// ops parses op=: comma-separated operations or "any", in canonical order
// without duplicates. An error points at the offending item.
func (a *args) ops(w word) ([]Op, error) {
	var ops []Op
	off := 0
	for _, item := range strings.Split(w.val, ",") {
		switch {
		case item == "any":
			ops = append(ops, allOps...)
		case slices.Contains(allOps, Op(item)):
			ops = append(ops, Op(item))
		default:
			return nil, a.src.errorf(w.at(off), "%s: op: unknown operation %q (want read, write, list, move, other or any, comma-separated)", a.kind, item)
		}
		off += len(item) + 1
	}
	var canon []Op
	for _, o := range allOps {
		if slices.Contains(ops, o) {
			canon = append(canon, o)
		}
	}
	return canon, nil
}
