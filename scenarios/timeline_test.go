package scenarios_test

import (
	. "github.com/onsi/ginkgo/v2"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/journal"
	"github.com/leakgate/leakgate/reports"
)

// Report entries every measured spec records besides reports.EntryName.
const (
	// timelineEntry holds the spec's harness.Timeline: the leak counts
	// sampled every harness.PollEvery(25*time.Millisecond) from the baseline until
	// settling started (JSON: every_ns, points [{at_ns, children, zombies,
	// escaped, fds}], peak, samples, failed, busy_ns).
	timelineEntry = "timeline"
	// peakEntry holds the timeline's peaks as reports.Leaks (same integer
	// fields as the "leaks" entry; spawned counts the invocations so far):
	// a restore that holds 64 zombies until it exits leaks, even if its
	// exit cleans them.
	peakEntry = "peak"
	// attributionEntry holds the settled leaks' report (harness.Leaks
	// String: state, parent, group, age, command line as spawned and as
	// run, fault, pipe peers), when something leaked.
	attributionEntry = "attribution"
)

// stopSampling stops the spec's sampler and records its timeline and
// peak. Only the first call does anything.
func (s *specRun) stopSampling() {
	if s.sampler == nil || s.stopped {
		return
	}
	s.stopped = true
	tl := s.sampler.Stop()
	AddReportEntry(timelineEntry, tl, ReportEntryVisibilityFailureOrVerbose)
	spawned := 0
	if invs, err := journal.Read(s.journal); err == nil {
		spawned = len(invs)
	}
	AddReportEntry(peakEntry, reports.Leaks{
		Children: tl.Peak.Children,
		Zombies:  tl.Peak.Zombies,
		Escaped:  tl.Peak.Escaped,
		FDs:      tl.Peak.FDs,
		Spawned:  spawned,
	})
}

// facts is what the spec's fakecli journal says of each invocation: its
// command line as run and the fault applied (for harness.WithFacts). An
// unreadable journal gives none: the report then lacks those lines, and
// invocations() fails the spec.
func (s *specRun) facts() []harness.Fact {
	invs, err := journal.Read(s.journal)
	if err != nil {
		return nil
	}
	facts := make([]harness.Fact, 0, len(invs))
	for _, inv := range invs {
		facts = append(facts, harness.Fact{Pid: inv.PID, Started: inv.Start, Argv: inv.Argv, Fault: inv.Fault, Source: "journal"})
	}
	return facts
}

// reportAttribution records the leak report of settled leaks, if any.
func (s *specRun) reportAttribution(l harness.Leaks) {
	if !l.Empty() {
		AddReportEntry(attributionEntry, l.String(), ReportEntryVisibilityFailureOrVerbose)
	}
}
