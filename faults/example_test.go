package faults_test

import (
	"errors"
	"fmt"

	"github.com/leakgate/leakgate/faults"
)

func ExampleParse() {
	plan, err := faults.Parse("spec", `
		# chunk 0 of the first backup is cut inside its second record
		truncate on=*/epoch_ending_0-*/0-.chunk record=2
		exit code=3 after=none op=list
		slow rate=256KiB`)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range plan.Rules {
		fmt.Printf("%v: %s\n", r.Pos, r)
	}
	// Output:
	// spec:3:3: truncate record=2 on=*/epoch_ending_0-*/0-.chunk
	// spec:4:3: exit code=3 after=none op=list
	// spec:5:3: slow rate=256KiB
}

func ExampleParse_error() {
	_, err := faults.Parse("spec", "slow rate=1; stal after=1")
	fmt.Println(err)
	var se *faults.SyntaxError
	if errors.As(err, &se) {
		fmt.Println(se.Pos.Line, se.Pos.Col)
	}
	// Output:
	// spec:1:14: unknown fault "stal" (known: corrupt, exit, reset, slow, stall, status, truncate)
	// 1 14
}

func ExamplePlan_Match() {
	plan, _ := faults.Parse("spec", "exit code=3 after=none op=list; stall after=32KiB on=*1-.chunk")
	rule, ok := plan.Match(faults.Call{N: 2, Op: faults.OpRead, Handle: "b.1a2b/epoch_ending_0-/1-.chunk"})
	fmt.Println(ok, rule.Fault)
	_, ok = plan.Match(faults.Call{N: 3, Op: faults.OpRead, Handle: "b.1a2b/epoch_ending_0-/2-.chunk"})
	fmt.Println(ok)
	// Output:
	// true stall after=32KiB
	// false
}

func ExampleStall_Script() {
	script, _ := faults.Stall{After: 4, For: faults.Forever}.Script([]byte("0123456789"))
	for _, s := range script.Steps {
		fmt.Printf("write %q, then stall forever: %v\n", s.Write, s.Stall == faults.Forever)
	}
	// Output:
	// write "0123", then stall forever: true
}

func ExampleSize_String() {
	for _, s := range []string{"65536", "64KiB", "10KB", "1000", "3MiB"} {
		n, _ := faults.ParseSize(s)
		fmt.Println(s, "→", int64(n), "→", n)
	}
	// Output:
	// 65536 → 65536 → 64KiB
	// 64KiB → 65536 → 64KiB
	// 10KB → 10000 → 10000
	// 1000 → 1000 → 1000
	// 3MiB → 3145728 → 3MiB
}
