package scenarios_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/journal"
)

// expectationKind is what a matrix cell (restore, backup or real CLI) must
// show once the run returned.
type expectationKind int

const (
	cleanNow               expectationKind = iota // no leak at all, the instant the run returns
	cleanAfterSettling                            // leaks only briefly: none once settled
	leaksChildren                                 // at least one child stays (alive or zombie)
	stalledChildAlive                             // the stalled CLI process is still alive
	grandchildOutlivesKill                        // the pipeline's CLI or gzip is alive outside our tree
	zombieLeft                                    // a child nobody reaps stays a zombie
)

// expectation is a cell's claim and its one-line reason.
type expectation struct {
	kind   expectationKind
	reason string        // one line; its §N are sections of docs/backup-cli.md
	quiet  time.Duration // how long a leak must hold still to count as settled
}

// leftBehind is what a measured run left.
type leftBehind struct {
	immediate harness.Leaks       // the instant the run returned
	leaks     harness.Leaks       // once settled
	stalled   *journal.Invocation // the journal's record of the stalled call; nil if none
	cli       string              // the storage CLI's process name; "" for fakecli (its persona's name varies)
}

// check asserts want on o, each failure with the leak report.
func (want expectation) check(o leftBehind) {
	By("asserting the cell's expectation: " + want.reason)
	switch want.kind {
	case cleanNow:
		Expect(o.immediate).NotTo(harness.HaveLeaked(o.immediate.Baseline), "nothing may be left when the run returns:")
		Expect(o.leaks).NotTo(harness.HaveLeaked(o.leaks.Baseline))
	case cleanAfterSettling:
		Expect(o.leaks).NotTo(harness.HaveLeaked(o.leaks.Baseline))
	case leaksChildren:
		Expect(o.leaks.Children).NotTo(BeEmpty(), "expected leaked children:\n%s", o.leaks)
	case zombieLeft:
		Expect(o.leaks).To(harness.HaveZombies(), "expected a zombie nobody reaps")
	case stalledChildAlive:
		Expect(o.stalled).NotTo(BeNil(), "the journal records the stalled call")
		Expect(o.stalled.PID).NotTo(BeZero(), "the journal names the stalled process: %s", o.stalled)
		name := Not(BeEmpty())
		if o.cli != "" {
			name = Equal(o.cli)
		}
		Expect(o.leaks.Children).To(ContainElement(And(
			HaveField("Pid", BeEquivalentTo(o.stalled.PID)),
			HaveField("Name", name),
			HaveField("State", Not(Equal("Z"))),
		)), "the stalled process (pid %d) is still alive:\n%s", o.stalled.PID, o.leaks)
	case grandchildOutlivesKill:
		cli := o.cli
		if cli == "" {
			cli = "aws" // fakecli's persona in the s3 config's pipeline
		}
		Expect(o.leaks.Escaped).To(ContainElement(And(
			HaveField("Name", BeElementOf(cli, "gzip")),
			HaveField("State", Not(Equal("Z"))),
		)), "a grandchild of the killed bash is alive outside our tree:\n%s", o.leaks)
	}
}
