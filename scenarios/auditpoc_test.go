package scenarios_test

import (
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/reports"
	"github.com/leakgate/leakgate/restore/adapter"
)

// pocReaders is the audit's proof of concept: 32 readers.
const pocReaders = 32

var _ = Describe("the audit's proof of concept", Label("audit-poc", reports.Label(reports.LabelConfig, "local")), func() {
	// The audit opens 32 readers through open_for_read and drops them
	// unread, and expects 32 zombies. The object read is a manifest (a few
	// KiB): each child writes all of it into the pipe and exits, so what is
	// left is exactly what nobody reaped.
	DescribeTable("32 readers opened concurrently and dropped unread", func(ctx SpecContext, policy adapter.Policy, want int, reason string) {
		s := newSpecRun(ctx, "audit-poc-"+policy.String())
		a := s.adapter("local", policy, "")
		handle := w.Backups["local"].Manifests[0].Handle

		readers := make([]*adapter.Reader, pocReaders)
		errs := make([]error, pocReaders)
		var wg sync.WaitGroup
		for i := range readers {
			wg.Go(func() { readers[i], errs[i] = a.OpenForRead(ctx, handle) })
		}
		wg.Wait()
		for i, err := range errs {
			Expect(err).NotTo(HaveOccurred(), "open reader %d", i)
		}
		for _, r := range readers {
			// Dropped unread: Close before EOF applies the policy.
			Expect(r.Close()).To(Succeed())
		}

		leaks := s.settle(ctx, time.Second)
		AddReportEntry(reports.EntryName, counts(leaks, s.invocations()))
		AddReportEntry("expectation", reason)
		Expect(leaks.Children).To(HaveLen(want), "%s\n%s", reason, leaks)
		if want > 0 {
			Expect(leaks.Zombies()).To(HaveLen(want), "each child wrote its few KiB and exited: a zombie nobody reaps\n%s", leaks)
		}
	},
		Entry("abandon: what a naive Go port does", Label(reports.Label(reports.LabelPolicy, "abandon")), SpecTimeout(time.Minute), adapter.Abandon, pocReaders,
			"§1 Go: nothing reaps a child that was never waited for: 32 zombies, as the audit says"),
		Entry("drop: the shipped tool's tokio semantics", Label(reports.Label(reports.LabelPolicy, "drop")), SpecTimeout(time.Minute), adapter.Drop, 0,
			"§1 tokio: a dropped child is reaped once it exits: the shipped tool would not show the audit's 32 zombies"),
		Entry("kill: the audit's fix", Label(reports.Label(reports.LabelPolicy, "kill")), SpecTimeout(time.Minute), adapter.Kill, 0,
			"§1: kill reaps the direct child, and local runs no grandchildren"),
		Entry("killgroup: the correct fix", Label(reports.Label(reports.LabelPolicy, "killgroup")), SpecTimeout(time.Minute), adapter.KillGroup, 0,
			"§7: Close kills the group and reaps before it returns"),
	)
})
