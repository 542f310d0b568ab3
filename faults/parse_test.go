package faults

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// read is the default Ops of a parsed rule.
var read = []Op{OpRead}

// at is a position in source "spec".
func at(line, col int) Position { return Position{Source: "spec", Line: line, Col: col} }

func TestParseGood(t *testing.T) {
	cases := []struct {
		in   string
		want []Rule
	}{
		{"", nil},
		{"  # only a comment\n\n ; ;\n", nil},
		{"truncate on=*/epoch_ending_0-*/0-.chunk record=2; slow rate=256KiB", []Rule{
			{Fault: Truncate{Record: 2}, On: "*/epoch_ending_0-*/0-.chunk", Ops: read, P: 1, Pos: at(1, 1)},
			{Fault: Slow{Rate: 256 << 10}, Ops: read, P: 1, Pos: at(1, 51)},
		}},
		{"stall after=32KiB for=forever on=*1-.chunk", []Rule{
			{Fault: Stall{After: 32 << 10, For: Forever}, On: "*1-.chunk", Ops: read, P: 1, Pos: at(1, 1)},
		}},
		{"exit code=3 after=none op=list", []Rule{
			{Fault: Exit{Code: 3, After: AfterNone}, Ops: []Op{OpList}, P: 1, Pos: at(1, 1)},
		}},
		{"corrupt record=3 mode=trailing call=5-9 p=0.5 seed=42", []Rule{
			{Fault: Corrupt{Record: 3, Mode: CorruptTrailing}, Calls: []Range{{5, 9}}, Ops: read, P: 0.5, Seed: 42, Pos: at(1, 1)},
		}},
		{"# plan\n\tstall for=250ms   # slow disk\r\n\n  exit after=4KiB call=3,7,9-11 op=other,read,other;corrupt", []Rule{
			{Fault: Stall{For: 250 * time.Millisecond}, Ops: read, P: 1, Pos: at(2, 2)},
			{Fault: Exit{Code: 1, After: 4096}, Calls: []Range{{3, 3}, {7, 7}, {9, 11}}, Ops: []Op{OpRead, OpOther}, P: 1, Pos: at(4, 3)},
			{Fault: Corrupt{Record: 1, Mode: CorruptPayload}, Ops: read, P: 1, Pos: at(4, 53)},
		}},
		{`truncate after=0 exit=2 op=any p=1 seed=-7 on="metadata/a b;#c\"d\\e\x"`, []Rule{
			{Fault: Truncate{Exit: 2}, On: `metadata/a b;#c"d\e\x`, Ops: allOps, P: 1, Seed: -7, Pos: at(1, 1)},
		}},
		{`exit after=all code=255 on=a=b\c p=1e-3 call=04`, []Rule{
			{Fault: Exit{Code: 255, After: AfterAll}, On: `a=b\c`, Calls: []Range{{4, 4}}, Ops: read, P: 0.001, Pos: at(1, 1)},
		}},
		{`slow rate="10KB" on=""`, []Rule{
			{Fault: Slow{Rate: 10000}, Ops: read, P: 1, Pos: at(1, 1)},
		}},
	}
	for _, c := range cases {
		got, err := Parse("spec", c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got.Rules, c.want) {
			t.Errorf("Parse(%q):\n got %#v\nwant %#v", c.in, got.Rules, c.want)
		}
	}
}

func TestParseBad(t *testing.T) {
	cases := []struct{ in, want string }{
		// kinds
		{"stal after=1", `spec:1:1: unknown fault "stal" (known: corrupt, exit, reset, slow, stall, status, truncate)`},
		{"slow rate=1; stal", `spec:1:14: unknown fault "stal" (known: corrupt, exit, reset, slow, stall, status, truncate)`},
		{"after=1 stall", `spec:1:1: rule starts with "after=1": want a fault kind first (known: corrupt, exit, reset, slow, stall, status, truncate)`},
		{"Stall", `spec:1:1: unknown fault "Stall" (known: corrupt, exit, reset, slow, stall, status, truncate)`},
		// words and keys
		{"stall fro=1", `spec:1:7: stall: unknown key "fro" (stall takes after, for; every rule takes on, call, op, p, seed)`},
		{"slow rate=1 after=2", `spec:1:13: slow: unknown key "after" (slow takes rate; every rule takes on, call, op, p, seed)`},
		{"stall forever", `spec:1:7: stall: want key=value, got "forever"`},
		{"stall =4", `spec:1:7: stall: missing key before '=' in "=4"`},
		{"stall\nstall after=1 after=2", `spec:2:15: stall: duplicate key "after" (first at 2:7)`},
		{"exit on=a on=b", `spec:1:11: exit: duplicate key "on" (first at 1:6)`},
		// missing and contradictory
		{"truncate exit=1", `spec:1:1: truncate: missing after= or record= (want e.g. after=32KiB or record=2)`},
		{"truncate after=1 record=2", `spec:1:18: truncate: after= and record= exclude each other (cut after bytes, or inside a record)`},
		{"truncate record=2 after=1", `spec:1:19: truncate: after= and record= exclude each other (cut after bytes, or inside a record)`},
		{"slow on=x", `spec:1:1: slow: missing rate= (want e.g. rate=256KiB, in bytes per second)`},
		// kind values
		{"stall for=10x", `spec:1:11: stall: for: invalid duration "10x" (want e.g. 250ms, 10s or forever)`},
		{"stall for=0s", `spec:1:11: stall: for: invalid duration "0s" (want e.g. 250ms, 10s or forever)`},
		{"stall for=-1ns", `spec:1:11: stall: for: invalid duration "-1ns" (want e.g. 250ms, 10s or forever)`},
		{"stall after=12x", `spec:1:13: stall: after: invalid size "12x" (want e.g. 512, 64KiB, 1MiB or 10KB)`},
		{"truncate after=-1", `spec:1:16: truncate: after: invalid size "-1" (want e.g. 512, 64KiB, 1MiB or 10KB)`},
		{"truncate record=0", `spec:1:17: truncate: record: invalid record number "0" (want an integer from 1)`},
		{"truncate record=1 exit=256", `spec:1:24: truncate: exit: invalid exit status "256" (want an integer from 0 to 255)`},
		{"corrupt mode=zap", `spec:1:14: corrupt: mode: invalid mode "zap" (want payload, trailing or length)`},
		{"corrupt record=x", `spec:1:16: corrupt: record: invalid record number "x" (want an integer from 1)`},
		{"exit code=0", `spec:1:11: exit: code: invalid exit status "0" (want an integer from 1 to 255)`},
		{"exit after=some", `spec:1:12: exit: after: invalid exit point "some" (want all, none or a size, e.g. 512, 64KiB, 1MiB or 10KB)`},
		{"slow rate=0", `spec:1:11: slow: rate: invalid rate "0" (want a size > 0, in bytes per second, e.g. 256KiB)`},
		// envelope values
		{"stall p=0", `spec:1:9: stall: p: invalid probability "0" (want a number in (0, 1], e.g. 0.5)`},
		{"stall p=1.5", `spec:1:9: stall: p: invalid probability "1.5" (want a number in (0, 1], e.g. 0.5)`},
		{"stall p=NaN", `spec:1:9: stall: p: invalid probability "NaN" (want a number in (0, 1], e.g. 0.5)`},
		{"stall seed=1.5", `spec:1:12: stall: seed: invalid seed "1.5" (want a 64-bit decimal integer, e.g. 42)`},
		{"stall call=3,7,9-", `spec:1:16: stall: call: invalid call range "9-" (want e.g. 3, 3-5 or 3,7,9-11; calls count from 1)`},
		{"stall call=5-3", `spec:1:12: stall: call: invalid call range "5-3" (want e.g. 3, 3-5 or 3,7,9-11; calls count from 1)`},
		{"stall call=0", `spec:1:12: stall: call: invalid call range "0" (want e.g. 3, 3-5 or 3,7,9-11; calls count from 1)`},
		{"stall call=3,", `spec:1:14: stall: call: invalid call range "" (want e.g. 3, 3-5 or 3,7,9-11; calls count from 1)`},
		{"stall call=", `spec:1:12: stall: call: invalid call range "" (want e.g. 3, 3-5 or 3,7,9-11; calls count from 1)`},
		{"stall op=read,wrte", `spec:1:15: stall: op: unknown operation "wrte" (want read, write, list, move, other or any, comma-separated)`},
		{"stall on=ab[c", `spec:1:12: stall: on: invalid glob "ab[c": unterminated [ (close the class with ])`},
		// positions inside quoted values, and on line 2 of a plan
		{"slow rate=1\nstall on=\"a b[z-a]\" # x", `spec:2:15: stall: on: invalid glob "a b[z-a]": class range out of order (want low-high, e.g. a-z)`},
		{"stall on=\"\\\"x[\"", `spec:1:14: stall: on: invalid glob "\"x[": unterminated [ (close the class with ])`},
		{"stall call=+4", `spec:1:12: stall: call: invalid call range "+4" (want e.g. 3, 3-5 or 3,7,9-11; calls count from 1)`},
		{"slow rate=1\nstall call=\"3, 4\"", `spec:2:15: stall: call: invalid call range " 4" (want e.g. 3, 3-5 or 3,7,9-11; calls count from 1)`},
		{"slow rate=1\nstall for=\"1 s\"", `spec:2:11: stall: for: invalid duration "1 s" (want e.g. 250ms, 10s or forever)`},
		// lexing
		{"stall on=a\"b", `spec:1:11: unexpected '"' (quote a whole value: key="…")`},
		{"stall \"on\"=a", `spec:1:7: unexpected '"' (quote a whole value: key="…")`},
		{"slow rate=1\nstall on=\"ab\nexit", `spec:2:10: unterminated quoted value (a value ends on its line)`},
		{"stall on=\"ab\"x", `spec:1:14: unexpected 'x' after quoted value (separate words with blanks)`},
		{`truncate on="\0\0\\"`, `spec:1:18: truncate: on: invalid glob "\\0\\0\\": trailing \ (escape a character, e.g. \*)`},
		{"stall on=\"ab\\\"", `spec:1:10: unterminated quoted value (a value ends on its line)`},
	}
	for _, c := range cases {
		p, err := Parse("spec", c.in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want error %s", c.in, p, c.want)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", c.in, err, c.want)
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q): error %T is not a *SyntaxError", c.in, err)
		}
	}
}

// TestParseFirstError checks that a plan with several mistakes reports the
// first one in the text.
func TestParseFirstError(t *testing.T) {
	_, err := Parse("plan.txt", "slow rate=1\nstall fro=1\nstal")
	if want := `plan.txt:2:7: stall: unknown key "fro" (stall takes after, for; every rule takes on, call, op, p, seed)`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, in := range []string{
		"truncate on=*/epoch_ending_0-*/0-.chunk record=2; slow rate=256KiB",
		"stall after=32KiB for=forever on=*1-.chunk",
		"exit code=3 after=none op=list",
		"corrupt record=3 mode=trailing call=5-9 p=0.5 seed=42",
		`truncate after=0 exit=2 op=any p=0.1 seed=-7 on="metadata/a b;#c\"d\\e\x"`,
		"exit after=0 op=move,write call=1,2-2,3-9 p=0.999\nstall for=1m30s after=1000 on=[!a-z]?\\*",
		"slow rate=10KB on=é*",
	} {
		p, err := Parse("spec", in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		checkRoundTrip(t, p)
	}
}

// checkRoundTrip checks Parse(p.String()) == p but for positions, and that
// String is a fixed point.
func checkRoundTrip(t testing.TB, p *Plan) {
	t.Helper()
	text := p.String()
	q, err := Parse("spec", text)
	if err != nil {
		t.Fatalf("Parse(%q) of String of %#v: %v", text, p.Rules, err)
	}
	if a, b := withoutPos(p), withoutPos(q); !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip through %q:\n got %#v\nwant %#v", text, b, a)
	}
	if again := q.String(); again != text {
		t.Fatalf("String not canonical: %q, then %q", text, again)
	}
}

func withoutPos(p *Plan) []Rule {
	rules := make([]Rule, len(p.Rules))
	for i, r := range p.Rules {
		r.Pos = Position{}
		rules[i] = r
	}
	return rules
}

func TestRuleString(t *testing.T) {
	cases := []struct {
		rule Rule
		want string
	}{
		{Rule{Fault: Slow{Rate: 1}}, "slow rate=1"},
		{Rule{Fault: Exit{Code: 3, After: AfterNone}, Ops: []Op{OpList}}, "exit code=3 after=none op=list"},
		{Rule{Fault: Stall{For: Forever}, On: "a b", Calls: []Range{{1, 1}, {4, 6}}, Ops: []Op{OpOther, OpRead, OpRead}, P: 0.25, Seed: 9},
			`stall on="a b" call=1,4-6 op=read,other p=0.25 seed=9`},
		{Rule{Fault: Stall{For: Forever}, Ops: []Op{OpMove, OpList, OpWrite, OpOther, OpRead}, P: 1}, "stall op=any"},
		{Rule{Fault: Stall{For: Forever}, Ops: []Op{"frob"}}, "stall op=frob"},
		{Rule{}, "<nil fault>"},
	}
	for _, c := range cases {
		if got := c.rule.String(); got != c.want {
			t.Errorf("%#v.String() = %q, want %q", c.rule, got, c.want)
		}
	}
}

func TestPlanString(t *testing.T) {
	var nilPlan *Plan
	if got := nilPlan.String(); got != "" {
		t.Errorf("nil plan String() = %q, want empty", got)
	}
	p, err := Parse("spec", "slow rate=1KiB\n\n# x\nexit op=list")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.String(), "slow rate=1KiB; exit op=list"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestKinds(t *testing.T) {
	want := []string{"corrupt", "exit", "reset", "slow", "stall", "status", "truncate"}
	if got := Kinds(); !reflect.DeepEqual(got, want) {
		t.Errorf("Kinds() = %q, want %q", got, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.plan")
	if err := os.WriteFile(good, []byte("# faults for run 7\nstall after=1KiB on=*/3-.chunk\nexit code=2 op=list\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(good)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := p.String(), "stall after=1KiB on=*/3-.chunk; exit code=2 op=list"; got != want {
		t.Errorf("Load: plan %q, want %q", got, want)
	}
	if got, want := p.Rules[1].Pos, (Position{Source: good, Line: 3, Col: 1}); got != want {
		t.Errorf("rule 2 Pos = %v, want %v", got, want)
	}

	bad := filepath.Join(dir, "bad.plan")
	if err := os.WriteFile(bad, []byte("stall\nstall for=x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	if want := bad + `:2:11: stall: for: invalid duration "x" (want e.g. 250ms, 10s or forever)`; err == nil || err.Error() != want {
		t.Errorf("Load(bad): err = %v, want %s", err, want)
	}

	_, err = Load(filepath.Join(dir, "missing.plan"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing): err = %v, want one wrapping os.ErrNotExist", err)
	}
}
