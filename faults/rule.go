package faults

import (
	"slices"
	"strconv"
	"strings"
)

// Range is an inclusive range of call numbers (Call.N), both ends ≥ 1:
// Range{3, 5} is calls 3, 4 and 5; Range{7, 7} is call 7.
//
//	faults.Range{From: 9, To: 11}.String() // "9-11"
type Range struct{ From, To int }

// String gives r as in call=: "7" or "9-11".
func (r Range) String() string {
	if r.From == r.To {
		return strconv.Itoa(r.From)
	}
	return strconv.Itoa(r.From) + "-" + strconv.Itoa(r.To)
}

// allOps are the operations in canonical order: the order op= lists them in
// String, and what op=any stands for.
var allOps = []Op{OpRead, OpWrite, OpList, OpMove, OpOther}

// Rule is one line of a plan: a fault and the envelope that says which calls
// it applies to. Parse sets Ops and P even when the text leaves them to
// their defaults ([OpRead] and 1); a Rule built by hand may leave them zero
// to mean the same.
//
//	r := faults.Rule{Fault: faults.Exit{Code: 3, After: faults.AfterNone}, Ops: []faults.Op{faults.OpList}}
//	r.String() // "exit code=3 after=none op=list"
type Rule struct {
	Fault Fault
	On    string   // glob over Call.Handle (see the package doc); "" matches any handle
	Calls []Range  // call numbers the rule applies to; empty means any, including N = 0
	Ops   []Op     // operations the rule applies to; empty means [OpRead]
	P     float64  // probability the rule applies to a handle, in (0, 1]; 0 means 1
	Seed  int64    // seed of the probability decision
	Pos   Position // where the rule was written (its kind); zero for rules built by hand
}

// String gives r in canonical spec text: the fault's String, then the
// envelope keys whose values differ from the defaults, in the order on,
// call, op, p, seed; values are quoted where needed. For a rule Parse
// produced, Parse(r.String()) yields r again, Pos aside. (A hand-built rule
// whose values hold a newline or are out of range has no spec text.)
//
//	"corrupt record=3 mode=trailing call=5-9 p=0.5 seed=42"
func (r Rule) String() string {
	var b strings.Builder
	if r.Fault == nil {
		b.WriteString("<nil fault>")
	} else {
		b.WriteString(r.Fault.String())
	}
	if r.On != "" {
		b.WriteString(" on=" + quote(r.On))
	}
	for i, c := range r.Calls {
		sep := ","
		if i == 0 {
			sep = " call="
		}
		b.WriteString(sep + c.String())
	}
	if ops := opsString(r.Ops); ops != string(OpRead) {
		b.WriteString(" op=" + ops)
	}
	if r.P != 0 && r.P != 1 {
		b.WriteString(" p=" + strconv.FormatFloat(r.P, 'g', -1, 64))
	}
	if r.Seed != 0 {
		b.WriteString(" seed=" + strconv.FormatInt(r.Seed, 10))
	}
	return b.String()
}

// opsString gives ops as in op=: "any" for every operation, else the
// operations in canonical order, comma-separated (unknown ones last, as
// given); "read" for none.
func opsString(ops []Op) string {
	if len(ops) == 0 {
		return string(OpRead)
	}
	var names []string
	for _, o := range allOps {
		if slices.Contains(ops, o) {
			names = append(names, string(o))
		}
	}
	if len(names) == len(allOps) {
		return "any"
	}
	for _, o := range ops {
		if !slices.Contains(allOps, o) && !slices.Contains(names, string(o)) {
			names = append(names, string(o))
		}
	}
	return strings.Join(names, ",")
}

// Matches reports whether r applies to call c, index being r's position in
// its plan (0-based; it feeds the probability decision). All must hold:
// c.Op is one of r.Ops; c.Handle matches the glob r.On; c.N is in one of
// r.Calls; and the probability decision for (r.Seed, index, c.Handle) comes
// out below r.P. The decision does not depend on c.N, the call order or
// concurrency, so every retry of one handle sees the same outcome.
//
//	if rule.Matches(faults.Call{N: 4, Op: faults.OpRead, Handle: "b/0-.chunk"}, 0) { … }
func (r Rule) Matches(c Call, index int) bool {
	ops := r.Ops
	if len(ops) == 0 {
		ops = []Op{OpRead}
	}
	if !slices.Contains(ops, c.Op) || (r.On != "" && !matchGlob(r.On, c.Handle)) {
		return false
	}
	if len(r.Calls) > 0 {
		in := false
		for _, rg := range r.Calls {
			in = in || (rg.From <= c.N && c.N <= rg.To)
		}
		if !in {
			return false
		}
	}
	p := r.P
	if p == 0 {
		p = 1
	}
	return p >= 1 || chance(r.Seed, index, c.Handle) < p
}
