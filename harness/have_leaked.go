package harness

import (
	"fmt"

	"github.com/onsi/gomega/types"
)

// HaveLeaked succeeds if actual holds leaks. Actual may be a Snapshot, or
// a func returning one (so it polls), judged against baseline with opts'
// filters (see Diff); or a Leaks that Diff or Settle returned, judged as it
// is (baseline and filters then play no part):
//
//	before, _ := harness.Take()
//	…
//	Eventually(harness.Take).ShouldNot(harness.HaveLeaked(before))
//	Expect(harness.Take()).ShouldNot(harness.HaveLeaked(before, harness.IgnoringFDs(HaveField("Kind", harness.FDSocket))))
//	leaks, err := harness.Settle(ctx, before)
//	Expect(leaks).NotTo(harness.HaveLeaked(before))
//
// When ShouldNot fails, the message is the leak report (Leaks.String, with
// pipe peers attributed and WithFacts' facts). A refused option (see
// Option) is the matcher's error.
func HaveLeaked(baseline Snapshot, opts ...Option) types.GomegaMatcher {
	o, err := newOptions(callMatcher, opts)
	return &haveLeakedMatcher{baseline: baseline, opts: o, err: err}
}

type haveLeakedMatcher struct {
	baseline Snapshot
	opts     *options
	err      error // a refused option
	leaks    Leaks
}

func (m *haveLeakedMatcher) Match(actual any) (bool, error) {
	if m.err != nil {
		return false, m.err
	}
	switch l := actual.(type) {
	case Leaks:
		m.baseline, m.leaks = l.Baseline, l
		return !l.Empty(), nil
	case *Leaks:
		if l == nil {
			return false, fmt.Errorf("HaveLeaked: actual is a nil *harness.Leaks")
		}
		m.baseline, m.leaks = l.Baseline, *l
		return !l.Empty(), nil
	}
	now, err := snapshotOf("HaveLeaked", actual)
	if err != nil {
		return false, err
	}
	m.leaks = diff(m.baseline, now, m.opts)
	return !m.leaks.Empty(), nil
}

func (m *haveLeakedMatcher) FailureMessage(any) string {
	return fmt.Sprintf("expected leaks since baseline (%s); found none", baselineSummary(m.baseline))
}

func (m *haveLeakedMatcher) NegatedFailureMessage(any) string {
	return m.opts.report(m.leaks).String()
}
