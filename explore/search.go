package explore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/leakgate/leakgate/faults"
)

// Search is one search: the plans of Seed, runs Shard.I, Shard.I+Shard.N,
// … below Runs, each checked against Subject by Workers runs at a time,
// until Runs are done or Budget is spent. A failing plan is confirmed (Tries/Need),
// shrunk and reported as a Finding; one finding per broken property is
// shrunk, later failures of the same property are only counted.
//
//	res, err := (&explore.Search{Subject: s, Seed: 1, Runs: 200, Budget: 5 * time.Minute, Workers: 2, Dir: "reports/out/explore"}).Run(ctx)
type Search struct {
	Subject     Subject
	Seed        int64
	Runs        int           // run indices 0..Runs-1 (0: no limit but the budget)
	Budget      time.Duration // total, shrinking included (0: none)
	Shard       Shard
	Workers     int    // runs at a time (0: 1)
	Tries, Need int    // see Shrinker
	Dir         string // evidence of findings; a work folder for every run goes in Dir/work and is removed
	MaxRules    int    // Space.MaxRules
	// Until, if set, ends the search after a finding it accepts (e.g. a
	// test that looks for one property).
	Until  func(Finding) bool
	Defect string // the seeded defect the subject runs with (recorded in findings)
	Log    func(format string, args ...any)
}

// Shard is one part of a search split across machines: run indices i with
// i mod N == I-1 (I is 1-based). The zero value is the whole search.
type Shard struct{ I, N int }

// Finding is a failing plan, shrunk.
type Finding struct {
	Property   string        `json:"property"`
	Subject    string        `json:"subject"`
	Plan       string        `json:"plan"`     // the minimal plan, fault-spec text
	Original   string        `json:"original"` // the plan the search drew
	Run        int           `json:"run"`      // its run index
	Outcome    Outcome       `json:"outcome"`  // of the minimal plan's last failing run
	PlanFile   string        `json:"plan_file"`
	Replay     string        `json:"replay"` // the command that replays it
	ShrinkTook time.Duration `json:"shrink_ns"`
	ShrinkRuns int           `json:"shrink_runs"`
	Confirmed  bool          `json:"confirmed"` // the drawn plan failed again (Need of Tries) before shrinking
	flags      []string
}

// Result is what a search did.
type Result struct {
	Seed          int64     `json:"seed"`
	Runs          int       `json:"runs"`   // plans checked
	Failed        int       `json:"failed"` // of them, failing
	Errors        int       `json:"errors"` // runs that could not be judged
	Took          float64   `json:"took_s"`
	RunsPerMinute float64   `json:"runs_per_minute"` // search runs only (shrinking excluded)
	Findings      []Finding `json:"findings"`
	// Unconfirmed are failing runs whose plan then failed fewer than Need
	// of Tries times: reported, not shrunk, not findings.
	Unconfirmed []Finding `json:"unconfirmed"`
	LastError   string    `json:"last_error,omitempty"`
}

// Run searches; it returns an error only when the subject cannot be set up
// or the evidence folder cannot be written.
func (s *Search) Run(ctx context.Context) (*Result, error) {
	start := time.Now()
	// Plans are drawn until the budget is spent; a worker that found a
	// failing plan shrinks it meanwhile, within the same budget (ctx),
	// while the others go on drawing; a finding made late is shrunk as far
	// as the budget allows.
	ctx, cancel := context.WithCancel(ctx)
	if s.Budget > 0 {
		ctx, cancel = context.WithTimeout(ctx, s.Budget)
	}
	defer cancel()
	work := filepath.Join(s.Dir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, fmt.Errorf("explore: %w", err)
	}
	defer os.RemoveAll(work)
	sp := s.Subject.Space()
	sp.MaxRules = s.MaxRules
	r := &searchRun{s: s, ctx: ctx, cancel: cancel, work: work, sp: sp,
		res: &Result{Seed: s.Seed}, shrunk: map[string]bool{}, next: s.indices()}
	var wg sync.WaitGroup
	for range max(1, s.Workers) {
		wg.Go(r.worker)
	}
	wg.Wait()
	return r.finish(start)
}

// searchRun is one Run in progress, shared by its workers: mu guards res,
// searchTime, shrunk and next.
type searchRun struct {
	s      *Search
	ctx    context.Context // the budget: drawing and shrinking end with it
	cancel func()          // ends the search early (Until)
	work   string
	sp     Space

	mu         sync.Mutex
	res        *Result
	searchTime time.Duration   // spent checking drawn plans, summed over workers
	shrunk     map[string]bool // properties whose finding is shrunk or being shrunk
	next       func() (int, bool)
}

// worker draws and checks plans until the budget is spent or the run
// indices run out, and shrinks each failure that is the first of its
// property.
//
//	wg.Go(r.worker)
func (r *searchRun) worker() {
	for r.ctx.Err() == nil {
		r.mu.Lock()
		i, ok := r.next()
		r.mu.Unlock()
		if !ok {
			return
		}
		plan := Generate(r.sp, r.s.Seed, i)
		out, fresh, counted := r.try(i, plan)
		if !counted {
			return
		}
		if fresh {
			r.shrink(i, plan, out)
		}
	}
}

// try checks run i's plan and counts it in the result. fresh says its
// failure is the first of its property, to be shrunk; counted is false
// when the budget ran out during the check (the run is not counted).
//
//	out, fresh, counted := r.try(i, plan)
func (r *searchRun) try(i int, plan *faults.Plan) (out Outcome, fresh, counted bool) {
	t0 := time.Now()
	out, err := r.s.check(r.ctx, r.s.Subject, plan, r.work)
	r.mu.Lock()
	r.searchTime += time.Since(t0)
	if r.ctx.Err() != nil {
		r.mu.Unlock()
		return out, false, false
	}
	r.res.Runs++
	if err != nil {
		r.res.Errors++
		r.res.LastError = err.Error()
		r.s.logf("run %d: error: %v", i, err)
	} else if out.Failed() {
		r.res.Failed++
	}
	fresh = err == nil && out.Failed() && !r.shrunk[out.Broken[0].Property]
	if fresh {
		r.shrunk[out.Broken[0].Property] = true
	}
	r.mu.Unlock()
	if err == nil {
		r.s.logf("run %d: %s: %s", i, plan, out)
	}
	return out, fresh, true
}

// shrink confirms and shrinks run i's failing plan and records it as a
// finding, or as unconfirmed; a finding Until accepts ends the search.
//
//	r.shrink(i, plan, out)
func (r *searchRun) shrink(i int, plan *faults.Plan, out Outcome) {
	f := r.s.shrink(r.ctx, i, plan, out, r.work)
	r.mu.Lock()
	if f.Confirmed {
		r.res.Findings = append(r.res.Findings, f)
	} else {
		// A timing accident, or too rare to shrink: the next failure of
		// the property gets its chance.
		r.res.Unconfirmed = append(r.res.Unconfirmed, f)
		delete(r.shrunk, f.Property)
	}
	r.mu.Unlock()
	if f.Confirmed && r.s.Until != nil && r.s.Until(f) {
		r.cancel()
	}
}

// finish completes the result once the workers are done: the times, the
// rate, and each finding's evidence saved under Dir.
//
//	return r.finish(start)
func (r *searchRun) finish(start time.Time) (*Result, error) {
	res := r.res
	res.Took = time.Since(start).Seconds()
	if r.searchTime > 0 {
		// Runs per minute of wall time: search time is summed over workers.
		res.RunsPerMinute = float64(res.Runs) / (r.searchTime.Minutes() / float64(max(1, r.s.Workers)))
	}
	for i := range res.Findings {
		if err := r.s.save(&res.Findings[i]); err != nil {
			return res, err
		}
	}
	return res, nil
}

// indices yields the shard's run indices in order.
func (s *Search) indices() func() (int, bool) {
	i, step := 0, 1
	if s.Shard.N > 0 {
		i, step = s.Shard.I-1, s.Shard.N
	}
	return func() (int, bool) {
		if s.Runs > 0 && i >= s.Runs {
			return 0, false
		}
		j := i
		i += step
		return j, true
	}
}

// check runs one plan in a fresh folder under work, removed unless it failed.
func (s *Search) check(ctx context.Context, subj Subject, p *faults.Plan, work string) (Outcome, error) {
	dir, err := os.MkdirTemp(work, "run-")
	if err != nil {
		return Outcome{}, err
	}
	out, err := subj.Check(ctx, p, dir)
	if err != nil || !out.Failed() {
		os.RemoveAll(dir)
	}
	return out, err
}

// shrink confirms and shrinks one failing plan.
func (s *Search) shrink(ctx context.Context, run int, plan *faults.Plan, out Outcome, work string) Finding {
	sh := &Shrinker{Tries: s.Tries, Need: s.Need, Hint: func(o Outcome) []string { return o.Faulted },
		Fails: func(ctx context.Context, subj Subject, p *faults.Plan) (Outcome, error) {
			o, err := s.check(ctx, subj, p, work)
			if err == nil && o.Failed() && o.Broken[0].Property != out.Broken[0].Property {
				// Another property broke: not the same failure.
				return Outcome{}, nil
			}
			return o, err
		}}
	f := Finding{Property: out.Broken[0].Property, Subject: s.Subject.Name(), Original: plan.String(), Run: run, Outcome: out, flags: s.Subject.Flags()}
	confirmed, o := sh.Confirm(ctx, s.Subject, plan)
	f.Confirmed = confirmed
	min, subj := plan, s.Subject
	if confirmed {
		f.Outcome = o
		min, subj, f.Outcome = sh.Shrink(ctx, s.Subject, plan, o)
	}
	f.Plan, f.Subject, f.flags = min.String(), subj.Name(), subj.Flags()
	f.ShrinkTook, f.ShrinkRuns = sh.Took, sh.Runs
	if confirmed {
		s.logf("finding %s: %s (shrunk in %s, %d runs)", f.Property, f.Plan, sh.Took.Round(time.Millisecond), sh.Runs)
	} else {
		s.logf("unconfirmed %s: %s failed %d of %d runs again", f.Property, f.Plan, sh.Failures, sh.Runs)
	}
	return f
}

func (s *Search) logf(format string, args ...any) {
	if s.Log != nil {
		s.Log(format, args...)
	}
}
