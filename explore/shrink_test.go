package explore

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/faults"
)

// pure is a subject whose runs are a pure function of the plan: it fails
// when fails says so, and only while its size is at least 2. It tests the
// shrinker alone; the real subjects are tested by the scenario suite.
type pure struct {
	size  int
	fails func(p *faults.Plan) bool
	flaky int // fail only every flaky-th run (0: every run)
	runs  *int
}

func (s *pure) Name() string    { return fmt.Sprintf("pure size=%d", s.size) }
func (s *pure) Space() Space    { return testSpace }
func (s *pure) Flags() []string { return []string{"--size", fmt.Sprint(s.size)} }
func (s *pure) Smaller() []Subject {
	return []Subject{&pure{size: s.size / 2, fails: s.fails, flaky: s.flaky, runs: s.runs}}
}

func (s *pure) Check(_ context.Context, p *faults.Plan, dir string) (Outcome, error) {
	*s.runs++
	out := Outcome{Exit: 1, Faulted: []string{"epoch_ending_8-.b547/8-.chunk"}}
	if s.size >= 2 && s.fails(p) && (s.flaky == 0 || *s.runs%s.flaky == 0) {
		out.breaks(PropLeak, "pure")
	}
	return out, nil
}

// stallAndReset fails when a stall can hit 8-.chunk and a reset is there.
func stallAndReset(p *faults.Plan) bool {
	var stall, reset bool
	for _, r := range p.Rules {
		switch r.Fault.(type) {
		case faults.Stall:
			stall = stall || (faults.Rule{On: r.On}).Matches(faults.Call{Op: faults.OpRead, Handle: "epoch_ending_8-.b547/8-.chunk"}, 0)
		case faults.Reset:
			reset = true
		}
	}
	return stall && reset
}

func fails(ctx context.Context, s Subject, p *faults.Plan) (Outcome, error) {
	return s.Check(ctx, p, "")
}

func TestShrinkFindsTheMinimalPlan(t *testing.T) {
	start, err := faults.Parse("test", "slow rate=4KiB on=*.meta; stall after=4KiB for=1s on=*.chunk p=0.5 seed=3; "+
		"reset after=1KiB op=read,write call=3-9; exit code=3 op=list")
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	subj := &pure{size: 8, fails: stallAndReset, runs: &runs}
	sh := &Shrinker{Fails: fails, Hint: func(o Outcome) []string { return o.Faulted }}
	min, s, out := sh.Shrink(context.Background(), subj, start, Outcome{})
	want := "stall for=100ms on=*epoch_ending_8-.b547/8-.chunk; reset on=*epoch_ending_8-.b547/8-.chunk"
	if min.String() != want {
		t.Errorf("shrunk to %q, want %q", min, want)
	}
	if s.Name() != "pure size=2" {
		t.Errorf("subject shrunk to %q, want size 2 (size 1 passes)", s.Name())
	}
	if !out.Failed() || sh.Steps == 0 || sh.Runs != runs {
		t.Errorf("outcome %v, %d steps, %d runs counted of %d", out, sh.Steps, sh.Runs, runs)
	}
	// Minimal: no candidate of it both fails and is smaller.
	for _, c := range Candidates(min, []string{"epoch_ending_8-.b547/8-.chunk"}) {
		if smaller(testSpace, c, min) && stallAndReset(c) {
			t.Errorf("candidate %q is smaller and still fails", c)
		}
	}
}

func TestConfirmSeparatesTimingAccidents(t *testing.T) {
	p, _ := faults.Parse("test", "reset; stall")
	runs := 0
	flaky := &pure{size: 4, fails: stallAndReset, flaky: 3, runs: &runs}
	sh := &Shrinker{Fails: fails, Tries: 3, Need: 2}
	if ok, _ := sh.Confirm(context.Background(), flaky, p); ok {
		t.Errorf("a plan failing 1 run in 3 was confirmed")
	}
	runs = 0
	real := &pure{size: 4, fails: stallAndReset, runs: &runs}
	if ok, _ := sh.Confirm(context.Background(), real, p); !ok || runs != 2 {
		t.Errorf("a plan failing every run: confirmed %v after %d runs, want true after 2", ok, runs)
	}
}

func TestCandidatesAreSmallerOrSkipped(t *testing.T) {
	for i := range 200 {
		p := Generate(testSpace, 5, i)
		for _, c := range Candidates(p, testSpace.Handles[:2]) {
			if _, err := faults.Parse("candidate", c.String()); err != nil {
				t.Fatalf("candidate %q of %q does not parse: %v", c, p, err)
			}
			if len(c.Rules) > len(p.Rules) {
				t.Fatalf("candidate %q of %q has more rules", c, p)
			}
		}
	}
	p, _ := faults.Parse("test", "reset; stall")
	got := Candidates(p, nil)
	if len(got) < 2 || got[0].String() != "stall" || got[1].String() != "reset" {
		t.Errorf("the first candidates should drop one rule each: %v", got)
	}
	if strings.Contains(fmt.Sprint(got), "<nil") {
		t.Errorf("a candidate lost its fault: %v", got)
	}
}

// TestShardsSplitTheRuns: the shards of a search check every run index
// once between them.
func TestShardsSplitTheRuns(t *testing.T) {
	seen := map[int]int{}
	for i := 1; i <= 3; i++ {
		next := (&Search{Runs: 10, Shard: Shard{I: i, N: 3}}).indices()
		for j, ok := next(); ok; j, ok = next() {
			if j%3 != i-1 {
				t.Errorf("shard %d/3 got run %d", i, j)
			}
			seen[j]++
		}
	}
	for j := range 10 {
		if seen[j] != 1 {
			t.Errorf("run %d checked %d times", j, seen[j])
		}
	}
	if len(seen) != 10 {
		t.Errorf("runs checked: %v", seen)
	}
}
