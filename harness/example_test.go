package harness_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/leakgate/leakgate/harness"
)

// Take a baseline, start a process and leave it running: Diff against a
// second snapshot names it as a leaked child.
func ExampleDiff() {
	before, err := harness.Take()
	if err != nil {
		fmt.Println(err)
		return
	}
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	now, err := harness.Take()
	if err != nil {
		fmt.Println(err)
		return
	}
	leaks := harness.Diff(before, now)
	fmt.Println(len(leaks.Children), leaks.Children[0].Cmdline)
	// Output: 1 [sleep 300]
}

// Filters are Gomega matchers on a Proc (IgnoringProcs) or an FD
// (IgnoringFDs), so they compose with And, Or and Not.
func ExampleIgnoringProcs() {
	before := harness.Snapshot{}
	now := harness.Snapshot{Descendants: []harness.Proc{
		{Pid: 42, State: "S", Name: "sleep", Cmdline: []string{"sleep", "300"}},
		{Pid: 43, State: "Z", Name: "true"},
	}}
	leaks := harness.Diff(before, now, harness.IgnoringProcs(gomega.HaveField("Name", "sleep")))
	fmt.Println(leaks.Count(), leaks.Children[0].Pid)
	// Output: 1 43
}

// HaveLeaked judges a snapshot (or a func returning one, for Eventually)
// against a baseline, or a Leaks that Diff or Settle returned. A failing
// ShouldNot prints the leak report.
func ExampleHaveLeaked() {
	g := gomega.NewGomega(func(message string, _ ...int) { fmt.Println(message) })
	before := harness.Snapshot{}
	now := harness.Snapshot{Descendants: []harness.Proc{{Pid: 42, PPid: 1, State: "Z", Name: "true"}}}

	g.Expect(now).To(harness.HaveLeaked(before))
	g.Expect(harness.Diff(before, now)).To(harness.HaveLeaked(before))
	g.Expect(harness.Diff(before, before)).NotTo(harness.HaveLeaked(before))
	fmt.Println("ok")
	// Output: ok
}

// Options that do not apply to a call, and bad values, are refused.
func ExampleOption() {
	_, err := harness.Take(harness.Quiet(time.Second))
	fmt.Println(errors.Is(err, harness.ErrOption), err)
	_, err = harness.Take(harness.Of(-1))
	fmt.Println(err)
	// Output:
	// true harness: bad option: Quiet does not apply to Take (only to Settle, VerifyNone/VerifyTestMain)
	// harness: bad option: Of(-1): want a pid > 0
}

// Mark the processes a run starts, so that Take finds those that escape
// the tree, and Sweep kills and reaps whatever is left.
func ExampleSweep() {
	m := harness.NewMarker("example")
	before, err := harness.Take(harness.WithMarker(m.ID))
	if err != nil {
		fmt.Println(err)
		return
	}
	cmd := exec.Command("sleep", "300")
	cmd.Env = append(os.Environ(), m.Env())
	if err := cmd.Start(); err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	swept, err := harness.Sweep(ctx, m, before)
	_ = cmd.Wait() // Sweep reaped it: only releases cmd's resources
	fmt.Println(len(swept.Killed), len(swept.Reaped), err)
	// Output: 1 1 <nil>
}

// VerifyNone fails a test whose leaks do not settle to nothing, as
// goleak.VerifyNone does for goroutines.
func ExampleVerifyNone() {
	var t *testing.T // the test's
	before, err := harness.Take(harness.WithGoroutines())
	if err != nil {
		t.Fatal(err)
	}
	// … the code under test …
	harness.VerifyNone(t, before, harness.Within(10*time.Second))
}

// VerifyTestMain checks a whole test binary: it runs the tests under
// RunReaped and fails the binary when they pass but leave processes, fds
// or goroutines behind.
func ExampleVerifyTestMain() {
	var m *testing.M // TestMain's
	harness.VerifyTestMain(m)
}

// Settle waits for leaks to settle: nothing left, or a stable leak.
func ExampleSettle() {
	before, err := harness.Take()
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	leaks, err := harness.Settle(ctx, before, harness.Quiet(100*time.Millisecond))
	fmt.Println(leaks.Empty(), err)
	// Output: true <nil>
}
