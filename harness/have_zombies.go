package harness

import (
	"fmt"

	"github.com/onsi/gomega/types"
)

// HaveZombies succeeds if actual holds a process in state Z: among a
// snapshot's descendants and escaped processes, or among leaked ones when
// actual is Leaks. Actual may also be a func returning a Snapshot.
//
//	Expect(harness.Take()).ShouldNot(harness.HaveZombies())
//	Expect(harness.Diff(before, after)).Should(harness.HaveZombies())
func HaveZombies() types.GomegaMatcher { return &haveZombiesMatcher{} }

type haveZombiesMatcher struct {
	set              procSet
	children, escape []Proc
}

func (m *haveZombiesMatcher) Match(actual any) (bool, error) {
	set, err := procsOf("HaveZombies", actual)
	if err != nil {
		return false, err
	}
	m.set, m.children, m.escape = set, zombies(set.children), zombies(set.escaped)
	return len(m.children)+len(m.escape) > 0, nil
}

func (m *haveZombiesMatcher) FailureMessage(any) string {
	return fmt.Sprintf("expected zombies in %s; found none", m.set.what)
}

func (m *haveZombiesMatcher) NegatedFailureMessage(any) string {
	return fmt.Sprintf("expected no zombies in %s; found %d:%s", m.set.what, len(m.children)+len(m.escape), m.set.render(m.children, m.escape))
}
