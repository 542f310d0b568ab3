package faults

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

func mustParse(t testing.TB, text string) *Plan {
	t.Helper()
	p, err := Parse("spec", text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	return p
}

// kindOf is the kind of the rule p matches for c, or "-".
func kindOf(p *Plan, c Call) string {
	if r, ok := p.Match(c); ok {
		return r.Fault.Kind()
	}
	return "-"
}

func TestMatch(t *testing.T) {
	const chunk = "b.1a2b/epoch_ending_0-/0-.chunk"
	cases := []struct {
		plan string
		call Call
		want string
	}{
		// globs
		{"stall on=*/epoch_ending_0-*/0-.chunk", Call{Op: OpRead, Handle: chunk}, "stall"},
		{"stall on=*/epoch_ending_0-*/0-.chunk", Call{Op: OpRead, Handle: "b.1a2b/epoch_ending_10-/10-.chunk"}, "-"},
		{"stall on=*1-.chunk", Call{Op: OpRead, Handle: "b/epoch_ending_0-/1-.chunk"}, "stall"},
		{"stall on=metadata/*", Call{Op: OpRead, Handle: chunk}, "-"},
		{"stall", Call{Op: OpRead, Handle: ""}, "stall"},
		// call numbers
		{"stall call=3-5", Call{N: 2, Op: OpRead}, "-"},
		{"stall call=3-5", Call{N: 3, Op: OpRead}, "stall"},
		{"stall call=3-5", Call{N: 5, Op: OpRead}, "stall"},
		{"stall call=3-5", Call{N: 6, Op: OpRead}, "-"},
		{"stall call=3,7,9-11", Call{N: 7, Op: OpRead}, "stall"},
		{"stall call=3,7,9-11", Call{N: 8, Op: OpRead}, "-"},
		{"stall call=3,7,9-11", Call{N: 10, Op: OpRead}, "stall"},
		{"stall call=1", Call{N: 0, Op: OpRead}, "-"},
		{"stall", Call{N: 0, Op: OpRead}, "stall"},
		// operations
		{"stall", Call{Op: OpList}, "-"},
		{"stall", Call{Op: OpRead}, "stall"},
		{"exit op=list", Call{Op: OpList}, "exit"},
		{"exit op=list", Call{Op: OpRead}, "-"},
		{"exit op=write,move", Call{Op: OpMove}, "exit"},
		{"exit op=write,move", Call{Op: OpOther}, "-"},
		{"exit op=any", Call{Op: OpOther}, "exit"},
		{"exit op=any", Call{Op: OpWrite}, "exit"},
		// first match wins
		{"exit on=*/0-.chunk; stall", Call{Op: OpRead, Handle: chunk}, "exit"},
		{"exit on=*/1-.chunk; stall", Call{Op: OpRead, Handle: chunk}, "stall"},
		{"exit op=list; stall op=list; slow rate=1", Call{Op: OpList}, "exit"},
		{"exit op=list; stall op=list; slow rate=1", Call{Op: OpRead}, "slow"},
		{"exit call=2; corrupt on=*.chunk call=1-3", Call{N: 2, Op: OpRead, Handle: chunk}, "exit"},
		{"exit call=2; corrupt on=*.chunk call=1-3", Call{N: 3, Op: OpRead, Handle: chunk}, "corrupt"},
		{"", Call{Op: OpRead}, "-"},
	}
	for _, c := range cases {
		if got := kindOf(mustParse(t, c.plan), c.call); got != c.want {
			t.Errorf("Parse(%q).Match(%+v) matched %s, want %s", c.plan, c.call, got, c.want)
		}
	}
}

func TestMatchNilPlanAndHandBuiltRules(t *testing.T) {
	var p *Plan
	if _, ok := p.Match(Call{Op: OpRead}); ok {
		t.Error("nil plan matched a call")
	}
	// Zero Ops and P mean read and 1; a rule without a Fault is skipped.
	p = &Plan{Rules: []Rule{{On: "*"}, {Fault: Slow{Rate: 1}}}}
	if got := kindOf(p, Call{Op: OpRead, Handle: "x"}); got != "slow" {
		t.Errorf("hand-built plan matched %s for a read, want slow", got)
	}
	if got := kindOf(p, Call{Op: OpWrite, Handle: "x"}); got != "-" {
		t.Errorf("hand-built plan matched %s for a write, want nothing", got)
	}
}

// probabilityHandles and probabilityWant pin the decisions of
// "corrupt p=0.5 seed=42 on=*.chunk; exit p=0.5 seed=42": they must never
// change, or recorded runs stop being repeatable.
var probabilityWant = map[string]string{
	"b.1a2b/epoch_ending_0-/0-.chunk":   "corrupt",
	"b.1a2b/epoch_ending_0-/10-.chunk":  "exit",
	"b.1a2b/epoch_ending_0-/20-.chunk":  "corrupt",
	"b.1a2b/epoch_ending_0-/30-.chunk":  "-",
	"b.1a2b/epoch_ending_0-/40-.chunk":  "corrupt",
	"b.1a2b/epoch_ending_0-/50-.chunk":  "corrupt",
	"b.1a2b/epoch_ending_0-/60-.chunk":  "-",
	"b.1a2b/epoch_ending_0-/70-.chunk":  "-",
	"b.1a2b/epoch_ending_0-/80-.chunk":  "corrupt",
	"b.1a2b/epoch_ending_0-/90-.chunk":  "-",
	"b.1a2b/epoch_ending_0-/100-.chunk": "exit",
	"b.1a2b/epoch_ending_0-/110-.chunk": "corrupt",
	"b.1a2b/epoch_ending_0-/120-.chunk": "-",
	"b.1a2b/epoch_ending_0-/130-.chunk": "corrupt",
	"b.1a2b/epoch_ending_0-/140-.chunk": "corrupt",
	"b.1a2b/epoch_ending_0-/150-.chunk": "corrupt",
}

func TestMatchProbabilityDeterministic(t *testing.T) {
	p := mustParse(t, "corrupt p=0.5 seed=42 on=*.chunk; exit p=0.5 seed=42")
	var handles []string
	for h := range probabilityWant {
		handles = append(handles, h)
	}
	// Any order, any call number, any number of retries: same decisions.
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 5 {
		rng.Shuffle(len(handles), func(i, j int) { handles[i], handles[j] = handles[j], handles[i] })
		for i, h := range handles {
			c := Call{N: round*len(handles) + i + 1, Op: OpRead, Handle: h}
			if got := kindOf(p, c); got != probabilityWant[h] {
				t.Errorf("round %d: Match(%+v) = %s, want %s", round, c, got, probabilityWant[h])
			}
		}
	}
	// Concurrently, too.
	var wg sync.WaitGroup
	got := make([]string, len(handles))
	for i, h := range handles {
		wg.Go(func() { got[i] = kindOf(p, Call{Op: OpRead, Handle: h}) })
	}
	wg.Wait()
	for i, h := range handles {
		if got[i] != probabilityWant[h] {
			t.Errorf("concurrent Match(%q) = %s, want %s", h, got[i], probabilityWant[h])
		}
	}
}

func TestMatchProbabilityDependsOnSeedAndIndex(t *testing.T) {
	// The same handles under another seed, and under the same seed at
	// another index, must not all decide the same way.
	differs := func(a, b *Plan) bool {
		for h := range probabilityWant {
			c := Call{Op: OpRead, Handle: h}
			_, okA := a.Match(c)
			_, okB := b.Match(c)
			if okA != okB {
				return true
			}
		}
		return false
	}
	base := mustParse(t, "corrupt p=0.5 seed=42")
	if !differs(base, mustParse(t, "corrupt p=0.5 seed=43")) {
		t.Error("seed=42 and seed=43 decide identically on every handle")
	}
	if !differs(base, mustParse(t, "exit op=list; corrupt p=0.5 seed=42")) {
		t.Error("index 0 and index 1 decide identically on every handle")
	}
}

func TestMatchProbabilityRate(t *testing.T) {
	for _, p := range []float64{0.1, 0.5, 0.9} {
		r := Rule{Fault: Stall{For: Forever}, P: p, Seed: 7}
		n, hits := 20000, 0
		for i := range n {
			if r.Matches(Call{Op: OpRead, Handle: fmt.Sprintf("b/%d-.chunk", i)}, 0) {
				hits++
			}
		}
		if got := float64(hits) / float64(n); got < p-0.02 || got > p+0.02 {
			t.Errorf("p=%v: %d of %d handles matched (%.3f)", p, hits, n, got)
		}
	}
}
