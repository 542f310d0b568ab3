package faults

import (
	"fmt"
	"os"
	"strings"
)

// Plan is an ordered list of rules: for each call, the first rule that
// matches decides the fault. A nil or empty plan matches nothing.
//
//	plan, err := faults.Parse("LEAKGATE_FAULTS", os.Getenv("LEAKGATE_FAULTS"))
type Plan struct {
	Rules []Rule
}

// Parse parses spec text (see the package doc for the language) into a Plan.
// source names the text in errors: "spec", an env var's name, a file path.
// Empty text (or only comments) gives an empty plan. Any error is a
// *SyntaxError pointing at the offending token; Parse never panics.
//
//	plan, err := faults.Parse("spec", "stall after=32KiB on=*1-.chunk; exit code=3 after=none op=list")
func Parse(source, text string) (*Plan, error) {
	src := newSource(source, text)
	lx := &lexer{src: src}
	plan := &Plan{}
	for {
		words, ok, err := lx.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return plan, nil
		}
		r, err := parseRule(src, words)
		if err != nil {
			return nil, err
		}
		plan.Rules = append(plan.Rules, r)
	}
}

// Load reads and parses the plan file at path, one rule per line (or
// several separated by ';'), '#' comments. Errors name the path: a read
// error wraps the *os.PathError, a syntax error is a *SyntaxError whose
// Pos.Source is path.
//
//	plan, err := faults.Load(os.Getenv("LEAKGATE_FAULT_PLAN"))
func Load(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load fault plan: %w", err)
	}
	return Parse(path, string(b))
}

// Match returns the first rule of p that matches c (see Rule.Matches; a
// rule's index is its position in p.Rules), skipping rules without a Fault.
// ok is false if none does, or p is nil.
//
//	if rule, ok := plan.Match(faults.Call{N: 7, Op: faults.OpRead, Handle: h}); ok {
//		script, err := rule.Fault.Script(data)
//	}
func (p *Plan) Match(c Call) (rule Rule, ok bool) {
	if p == nil {
		return Rule{}, false
	}
	for i, r := range p.Rules {
		if r.Fault != nil && r.Matches(c, i) {
			return r, true
		}
	}
	return Rule{}, false
}

// String gives p in canonical spec text: its rules' Strings joined by "; "
// on one line (fit for LEAKGATE_FAULTS). Parse of it yields a plan equal to
// p but for the rules' Pos; "" for a nil or empty plan.
func (p *Plan) String() string {
	if p == nil {
		return ""
	}
	s := make([]string, len(p.Rules))
	for i, r := range p.Rules {
		s[i] = r.String()
	}
	return strings.Join(s, "; ")
}
