package explore

import (
	"context"
	"slices"
	"time"

	"github.com/leakgate/leakgate/faults"
)

// Fails runs one candidate (a plan against a subject) and says whether it
// failed, and how; an error means the candidate could not be judged (the
// run itself broke), which the shrinker treats as "does not fail".
type Fails func(ctx context.Context, s Subject, p *faults.Plan) (Outcome, error)

// Shrinker turns a failing plan into a minimal one that still fails.
//
//	sh := explore.Shrinker{Fails: check, Tries: 3, Need: 2}
//	min, subj, out, err := sh.Shrink(ctx, subject, plan)
type Shrinker struct {
	Fails Fails
	// Tries and Need separate a real failure from a timing accident: a
	// candidate counts as failing when at least Need of Tries runs fail
	// (runs stop as soon as the answer is known). Zero: 3 and 2.
	Tries, Need int
	// Hint, if set, names handles worth narrowing a rule to first (the
	// handles the failing run's faults hit, from its journal).
	Hint func(out Outcome) []string
	// Steps counts accepted candidates, Runs every run and Failures the
	// failing ones (for the report).
	Steps, Runs, Failures int
	Took                  time.Duration
}

func (sh *Shrinker) tries() (int, int) {
	t, n := sh.Tries, sh.Need
	if t <= 0 {
		t = 3
	}
	if n <= 0 || n > t {
		n = min(2, t)
	}
	return t, n
}

// Confirm runs p against s up to Tries times and reports whether at least
// Need runs failed, with the last failing outcome.
func (sh *Shrinker) Confirm(ctx context.Context, s Subject, p *faults.Plan) (bool, Outcome) {
	tries, need := sh.tries()
	failed, last := 0, Outcome{}
	for i := range tries {
		if ctx.Err() != nil || failed+(tries-i) < need {
			break
		}
		sh.Runs++
		out, err := sh.Fails(ctx, s, p)
		if err == nil && out.Failed() {
			failed++
			sh.Failures++
			last = out
			if failed >= need {
				return true, last
			}
		}
	}
	return false, last
}

// Shrink reduces p (which failed against s with out) by greedy descent: it
// tries candidates in order (fewer rules; then, per rule, narrower targets,
// earlier positions, smaller numbers; then a smaller subject: fewer
// manifests, lower concurrency) and moves to the first one that is smaller
// (see size) and still fails by Confirm, until no candidate does or ctx
// ends. It returns the smallest failing plan and subject found and the
// outcome of its last confirmed failure.
func (sh *Shrinker) Shrink(ctx context.Context, s Subject, p *faults.Plan, out Outcome) (*faults.Plan, Subject, Outcome) {
	start := time.Now()
	defer func() { sh.Took += time.Since(start) }()
	sp := s.Space()
	for ctx.Err() == nil {
		var hint []string
		if sh.Hint != nil {
			hint = sh.Hint(out)
		}
		moved := false
		for _, c := range Candidates(p, hint) {
			if !smaller(sp, c, p) {
				continue
			}
			if ok, o := sh.Confirm(ctx, s, c); ok {
				p, out, moved = c, o, true
				sh.Steps++
				break
			}
		}
		if !moved {
			for _, t := range s.Smaller() {
				if ok, o := sh.Confirm(ctx, t, p); ok {
					s, out, moved = t, o, true
					sh.Steps++
					break
				}
			}
		}
		if !moved {
			break
		}
	}
	return p, s, out
}

// Candidates lists the one-step simplifications of p, most drastic first:
// each rule removed; then for each rule its target narrowed (to one of
// hint's handles, to one op), its call range and probability dropped, its
// positions moved earlier and its numbers made smaller. Every candidate is
// canonical.
func Candidates(p *faults.Plan, hint []string) []*faults.Plan {
	var out []*faults.Plan
	if len(p.Rules) > 1 {
		for i := range p.Rules {
			out = append(out, &faults.Plan{Rules: slices.Delete(slices.Clone(p.Rules), i, i+1)})
		}
	}
	for i, r := range p.Rules {
		for _, v := range ruleVariants(r, hint) {
			rules := slices.Clone(p.Rules)
			rules[i] = v
			out = append(out, &faults.Plan{Rules: rules})
		}
	}
	for i, c := range out {
		out[i] = canonical(c)
	}
	return out
}

// ruleVariants are r's one-step simplifications.
func ruleVariants(r faults.Rule, hint []string) []faults.Rule {
	var out []faults.Rule
	for _, h := range hint {
		if g := handleGlob(h); g != r.On && matchesAny(r, h) {
			v := r
			v.On = g
			out = append(out, v)
		}
	}
	if len(r.Ops) > 1 {
		for _, op := range r.Ops {
			v := r
			v.Ops = []faults.Op{op}
			out = append(out, v)
		}
	}
	if len(r.Calls) > 0 {
		v := r
		v.Calls = nil
		out = append(out, v)
		if c := r.Calls[0]; c.To > c.From || c.From > 1 {
			v := r
			v.Calls = []faults.Range{{From: max(1, c.From/2), To: max(1, c.From/2)}}
			out = append(out, v)
		}
	}
	if r.P != 0 && r.P != 1 {
		v := r
		v.P, v.Seed = 1, 0
		out = append(out, v)
	}
	for _, f := range faultVariants(r.Fault) {
		v := r
		v.Fault = f
		out = append(out, v)
	}
	return out
}

// matchesAny reports whether r could apply to handle h (its glob and ops).
func matchesAny(r faults.Rule, h string) bool {
	target := faults.Rule{On: r.On, Ops: r.Ops}
	for _, op := range []faults.Op{faults.OpRead, faults.OpWrite} {
		if target.Matches(faults.Call{Op: op, Handle: h}, 0) {
			return true
		}
	}
	return false
}
