package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// TB is the part of testing.TB that VerifyNone uses.
type TB interface {
	Helper()
	Error(args ...any)
}

// VerifyNone fails t if leaks since baseline do not settle to nothing
// within 5s (Within), goleak style, for plain go test:
//
//	before, err := harness.Take(harness.WithGoroutines())
//	…
//	harness.VerifyNone(t, before)
//
// It calls Settle with opts, then CheckFinalizers (an fd that only the
// garbage collector closes is reported as such, and fails t), and reports
// the leak report with t.Error. A stable leak is reported as soon as it has
// been stable for the quiet window (Quiet). Goroutines are checked when the
// baseline recorded them (WithGoroutines). It measures the baseline's
// process (see Of).
func VerifyNone(t TB, baseline Snapshot, opts ...Option) {
	t.Helper()
	o, err := newOptions(callVerify, opts)
	if err != nil {
		t.Error(err)
		return
	}
	leaks, err := verify(baseline, o)
	switch {
	case err != nil:
		t.Error(err)
	case !leaks.Empty():
		t.Error(leaks.String())
	}
}

// verify settles within the Within bound and checks finalizers.
func verify(baseline Snapshot, o *options) (Leaks, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.within)
	defer cancel()
	leaks, err := settle(ctx, baseline, o)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return leaks, err
	}
	return leaks.CheckFinalizers(), nil
}

// TestingM is the part of *testing.M that VerifyTestMain uses.
type TestingM interface {
	Run() int
}

// VerifyTestMain runs a test binary's tests under RunReaped and fails the
// binary if they passed but leaked, goleak style:
//
//	func TestMain(m *testing.M) { harness.VerifyTestMain(m) }
//
// In the inner test process it takes a baseline (with goroutines) before
// m.Run, and if the tests passed, verifies as VerifyNone does (settling
// within Within, default 5s, then CheckFinalizers) that they left no
// children, escaped processes of this process's runs, fds, fds closed only
// by the garbage collector, or goroutines. If they did, it prints the leak
// report to stderr, prefixed "harness.VerifyTestMain: ", and the binary
// exits with ExitLeaked (3). A failing m.Run keeps its exit code and skips
// the check. opts (IgnoringProcs, IgnoringFDs, IgnoringGoroutines,
// WithFacts, Within, …) apply to the check; a refused one (see Option)
// exits 2 before the tests run. The RunReaped wrapper then sweeps anything
// still tagged with this binary's markers, as usual.
//
// VerifyTestMain does not return: it calls os.Exit.
func VerifyTestMain(m TestingM, opts ...Option) {
	os.Exit(RunReaped(func() int { return verifyMain(m, os.Stderr, opts) }))
}

// verifyMain is VerifyTestMain's inner side, writing its report to w.
func verifyMain(m TestingM, w io.Writer, opts []Option) int {
	o, err := newOptions(callVerify, opts)
	if err != nil {
		fmt.Fprintf(w, "harness.VerifyTestMain: %v\n", err)
		return 2
	}
	before, err := scan(scanSpec{self: o.self(0), marker: o.markerOr(ProcessMarker()), goroutines: true})
	if err != nil {
		code := m.Run()
		fmt.Fprintf(w, "harness.VerifyTestMain: baseline: %v\n", err)
		return max(code, 1)
	}
	if code := m.Run(); code != 0 {
		return code
	}
	leaks, err := verify(before, o)
	if err != nil {
		fmt.Fprintf(w, "harness.VerifyTestMain: %v\n", err)
		return 1
	}
	if !leaks.Empty() {
		fmt.Fprintf(w, "harness.VerifyTestMain: the tests passed but left leaks behind: %s\n", leaks)
		return ExitLeaked
	}
	return 0
}
