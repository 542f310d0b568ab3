package harness

import (
	"fmt"

	"github.com/onsi/gomega/types"
)

// HaveEscaped succeeds if actual holds an escaped process: one carrying the
// run marker outside the measuring process's tree. Actual is a Snapshot, a
// func returning one, or Leaks (then only leaked escaped processes count).
//
//	Expect(harness.Take(harness.WithMarker(run.ID))).ShouldNot(harness.HaveEscaped())
func HaveEscaped() types.GomegaMatcher { return &haveEscapedMatcher{} }

type haveEscapedMatcher struct {
	set procSet
}

func (m *haveEscapedMatcher) Match(actual any) (bool, error) {
	set, err := procsOf("HaveEscaped", actual)
	if err != nil {
		return false, err
	}
	m.set = set
	return len(set.escaped) > 0, nil
}

func (m *haveEscapedMatcher) FailureMessage(any) string {
	return fmt.Sprintf("expected escaped processes in %s; found none", m.set.what)
}

func (m *haveEscapedMatcher) NegatedFailureMessage(any) string {
	return fmt.Sprintf("expected no escaped processes in %s; found %d:%s", m.set.what, len(m.set.escaped), m.set.render(nil, m.set.escaped))
}
