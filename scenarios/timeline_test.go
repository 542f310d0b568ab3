package scenarios_test

import (
	"fmt"
	"strings"
	"time"

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
	stop := time.Now()
	tl := s.sampler.Stop()
	AddReportEntry(timelineEntry, tl, ReportEntryVisibilityFailureOrVerbose)
	invs, _ := journal.Read(s.journal)
	spawned := len(invs)
	AddReportEntry(reports.EventsEntry, events(tl, stop, invs), ReportEntryVisibilityFailureOrVerbose)
	AddReportEntry(peakEntry, reports.Leaks{
		Children: tl.Peak.Children,
		Zombies:  tl.Peak.Zombies,
		Escaped:  tl.Peak.Escaped,
		FDs:      tl.Peak.FDs,
		Spawned:  spawned,
	})
}

// events marks on the timeline's clock the fault's call (its start, and its
// end if it ended: the first error; a stalled call never ends, the read
// timeout fails it) and the run's return, an abort after a fault (sampling
// stopped at stop).
// The clock's origin is estimated from the last sample, which came at most
// one interval before stop.
func events(tl harness.Timeline, stop time.Time, invs []journal.Invocation) []reports.Event {
	if len(tl.Points) == 0 {
		return nil
	}
	end := tl.Points[len(tl.Points)-1].At
	start := stop.Add(-end)
	var out []reports.Event
	returned := "run returned"
	// The fault: the first faulted call, not counting slow (the backdrop
	// that paces later manifests is no error).
	var faulted *journal.Invocation
	for i, inv := range invs {
		if kind, _, _ := strings.Cut(inv.Fault, " "); kind != "" && kind != "slow" {
			faulted = &invs[i]
			break
		}
	}
	if inv := faulted; inv != nil {
		kind, _, _ := strings.Cut(inv.Fault, " ")
		out = append(out, reports.Event{Name: fmt.Sprintf("fault %s: call %d starts", kind, inv.Call), At: max(inv.Start.Sub(start), 0)})
		if inv.Ended {
			out = append(out, reports.Event{Name: fmt.Sprintf("first error: call %d ends, exit %d", inv.Call, inv.Exit), At: max(inv.End.Sub(start), 0)})
		}
		returned = "abort: run returned"
	}
	return append(out, reports.Event{Name: returned, At: end})
}

// facts is what the spec's fakecli journal says of each invocation: its
// command line as run, the fault applied and, while the fault stalls it,
// until when it holds still on purpose (for harness.WithFacts, which
// settling on evidence reads); then what serverFacts says. An unreadable
// journal gives none: the report then lacks those lines, settling falls
// back on its quiet window, and invocations() fails the spec.
func (s *specRun) facts() []harness.Fact {
	invs, err := journal.Read(s.journal)
	if err != nil {
		return nil
	}
	now := time.Now()
	facts := make([]harness.Fact, 0, len(invs))
	for _, inv := range invs {
		f := harness.Fact{Pid: inv.PID, Started: inv.Start, Argv: inv.Argv, Fault: inv.Fault, Source: "journal"}
		if inv.StallingAt(now) {
			f.HeldUntil = inv.StallUntil
		}
		facts = append(facts, f)
	}
	if s.serverFacts != nil {
		facts = append(facts, s.serverFacts()...)
	}
	return facts
}

// reportAttribution records the leak report of settled leaks, if any.
func (s *specRun) reportAttribution(l harness.Leaks) {
	if !l.Empty() {
		// The value's JSON holds the processes and fds; its text the report.
		AddReportEntry(attributionEntry, l, ReportEntryVisibilityFailureOrVerbose)
	}
}
