package explore

import (
	"reflect"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/faults"
)

var testSpace = Space{Handles: SortedHandles([]string{
	"metadata/epoch_ending_0-7.meta", "metadata/epoch_ending_8-15.meta",
	"epoch_ending_0-.a8af/epoch_ending.manifest", "epoch_ending_0-.a8af/0-.chunk", "epoch_ending_0-.a8af/4-.chunk",
	"epoch_ending_8-.b547/epoch_ending.manifest", "epoch_ending_8-.b547/8-.chunk", "epoch_ending_8-.b547/12-.chunk",
})}

func TestGenerateIsDeterministic(t *testing.T) {
	for i := range 50 {
		a, b := Generate(testSpace, 7, i), Generate(testSpace, 7, i)
		if a.String() != b.String() {
			t.Fatalf("run %d of seed 7 gave %q, then %q", i, a, b)
		}
	}
	same := 0
	for i := range 50 {
		if Generate(testSpace, 7, i).String() == Generate(testSpace, 8, i).String() {
			same++
		}
	}
	if same > 10 {
		t.Errorf("seeds 7 and 8 gave the same plan in %d of 50 runs", same)
	}
}

func TestGeneratedPlansRoundTrip(t *testing.T) {
	for i := range 500 {
		p := Generate(testSpace, 3, i)
		if n := len(p.Rules); n < 1 || n > DefaultMaxRules {
			t.Fatalf("run %d: %d rules, want 1..%d: %s", i, n, DefaultMaxRules, p)
		}
		q, err := faults.Parse("plan", p.String())
		if err != nil {
			t.Fatalf("run %d: %q does not parse: %v", i, p, err)
		}
		for j := range q.Rules {
			q.Rules[j].Pos = p.Rules[j].Pos
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("run %d: %q parses to %q", i, p, q)
		}
	}
}

// TestGenerateCoversTheSpace: over 500 plans every kind, every target and
// every envelope key shows up.
func TestGenerateCoversTheSpace(t *testing.T) {
	var text strings.Builder
	for i := range 500 {
		text.WriteString(Generate(testSpace, 11, i).String() + "\n")
	}
	all := text.String()
	want := append(faults.Kinds(), "op=list", "op=write", `on=*.meta`, `on=*.manifest`, `on=*.chunk`,
		`on=*epoch_ending_8-.b547/12-.chunk`, "call=", "p=0.5", "after=", "record=", "for=", "mode=")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("no plan of 500 holds %q", w)
		}
	}
}

func TestHandleGlob(t *testing.T) {
	for h, want := range map[string]string{
		"metadata/epoch_ending_0-7.meta":             "*metadata/epoch_ending_0-7.meta",
		"b/sub/epoch_ending_0-.a8af/0-.chunk":        "*epoch_ending_0-.a8af/0-.chunk",
		"top":                                        "*top",
		"odd/na[me]*.chunk":                          `*odd/na\[me\]\*.chunk`,
		"epoch_ending_0-.a8af/epoch_ending.manifest": "*epoch_ending_0-.a8af/epoch_ending.manifest",
	} {
		if got := handleGlob(h); got != want {
			t.Errorf("handleGlob(%q) = %q, want %q", h, got, want)
		}
		r := faults.Rule{Fault: faults.Reset{}, On: handleGlob(h)}
		if !r.Matches(faults.Call{Op: faults.OpRead, Handle: "bucket/prefix/" + h}, 0) {
			t.Errorf("%s does not match its own handle under a prefix", r)
		}
	}
}

func TestGenerateNetworkPlansSuitObjserver(t *testing.T) {
	sp := testSpace
	sp.Network = true
	for i := range 300 {
		for _, r := range Generate(sp, 2, i).Rules {
			switch f := r.Fault.(type) {
			case faults.Exit:
				t.Fatalf("run %d: a network plan holds %s", i, r)
			case faults.Truncate:
				if f.Exit != 0 {
					t.Fatalf("run %d: a network plan holds %s", i, r)
				}
			}
		}
	}
}
