package scenarios_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/journal"
	"github.com/leakgate/leakgate/reports"
	"github.com/leakgate/leakgate/restore"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/fixture"
	"github.com/leakgate/leakgate/restore/ledger"
	"github.com/leakgate/leakgate/restore/record"
)

// The restore every matrix cell runs.
const (
	// concurrency is --concurrent-downloads: 8 readers in flight, 16 queued.
	concurrency = 8
	// readTimeout lets a stalled read end (the shipped tool has none and
	// would hang forever; see restore's doc). Every stall cell waits it out
	// (the adapter's deadline is the only thing that ends the read), so it
	// is as short as healthy reads allow: they get data every few
	// milliseconds (a paced read every 20 ms), and the longest healthy gap
	// is a reader's start, bash and fakecli exec'ing (under 10 ms idle,
	// a few hundred on a loaded 2-core machine): 1.5 s is five times that.
	// A healthy read that trips it fails its cell (the error names the
	// wrong file), it cannot make a cell pass. It was 3 s.
	readTimeout = 1500 * time.Millisecond
	// backdropRate paces the manifests after the faulty one, so that they
	// are provably mid-download when the error hits (a manifest of
	// 2 × 128 KiB takes about 4 s at this rate, the error comes within
	// readTimeout, 1.5 s): the amplification of docs/backup-cli.md#amplification.
	backdropRate = "64KiB"
	// faultyManifest and faultyChunk place the fault: the second chunk of
	// the second manifest, so manifest 0 and a chunk of manifest 1 are
	// restored before it and the later manifests are in flight.
	faultyManifest, faultyChunk = 1, 1
)

// faultRules are the fault kinds of the matrix, as rules for the faulty
// chunk (%s is its glob). Each means what it says through the s3 pipeline
// too: record-level faults are applied to the decoded record stream and
// re-gzip'ed by fakecli.
var faultRules = map[string]string{
	"none":     "",
	"truncate": `truncate record=3 on="%s"`,     // ends inside record 3, exit 0: detected at EOF
	"stall":    `stall after=8KiB on="%s"`,      // hangs (until killed) after 8 KiB
	"corrupt":  `corrupt record=3 on="%s"`,      // record 3's payload is garbage: detected before EOF
	"exit":     `exit code=3 after=all on="%s"`, // writes everything, exits 3: detected at EOF
}

// faultOrder lists the faults of faultRules in the order of reports.LabelFault.
var faultOrder = reports.InOrder(reports.LabelFault, slices.Collect(maps.Keys(faultRules)))

// plan is the fault spec of a cell: the fault on the faulty chunk, then the
// backdrop that paces every later manifest.
func plan(fault string, b *fixture.Backup) string {
	if faultRules[fault] == "" {
		return ""
	}
	target := b.Manifests[faultyManifest].Chunks[faultyChunk]
	return withBackdrop(fmt.Sprintf(faultRules[fault], "*"+target), b.Manifests[faultyManifest+1:], backdropRate)
}

// withBackdrop is faultRule followed by slow rules pacing every manifest in
// later at rate, so that they are mid-download when the fault hits.
func withBackdrop(faultRule string, later []fixture.Manifest, rate string) string {
	rules := []string{faultRule}
	for _, m := range later {
		rules = append(rules, fmt.Sprintf(`slow rate=%s on="*%s/*"`, rate, m.BackupHandle))
	}
	return strings.Join(rules, "; ")
}

// cell is one point of the fault × policy × config matrix.
type cell struct {
	fault  string
	policy adapter.Policy
	config string
}

func matrixEntries() []TableEntry {
	var entries []TableEntry
	for _, config := range []string{"local", "s3"} {
		for _, fault := range faultOrder {
			for _, policy := range adapter.Policies() {
				c := cell{fault: fault, policy: policy, config: config}
				entries = append(entries, Entry(
					fmt.Sprintf("fault %s, policy %s, config %s", fault, policy, config),
					Label(reports.Label(reports.LabelFault, fault), reports.Label(reports.LabelPolicy, policy.String()), reports.Label(reports.LabelConfig, config)),
					SpecTimeout(2*time.Minute),
					c,
				))
			}
		}
	}
	return entries
}

var _ = Describe("the concurrent restore against a misbehaving storage CLI", func() {
	DescribeTable("fault × policy × config", func(ctx SpecContext, c cell) {
		if cmdline := os.Getenv(foreignRestoreEnv); cmdline != "" {
			gateForeignCell(ctx, c, cmdline) // an external restore, under leakgate run (gate_test.go)
			return
		}
		backup := w.Backups[c.config]
		s := newSpecRun(ctx, fmt.Sprintf("%s-%s-%s", c.fault, c.policy, c.config))
		spec := plan(c.fault, backup)
		AddReportEntry("plan", spec)
		a := s.adapter(c.config, c.policy, spec, func(a *adapter.Adapter) { a.ReadTimeout = readTimeout })

		res, err := restore.Run(ctx, restore.Options{
			Adapter:          a,
			Concurrency:      concurrency,
			MetadataCacheDir: filepath.Join(s.dir, "metadata-cache"),
		})
		// What the restore left the instant it returned, before anything
		// had time to exit or be reaped.
		immediate := s.diffNow()

		By("checking the restore's outcome")
		if c.fault == "none" {
			Expect(err).NotTo(HaveOccurred(), "storage stderr:\n%s", s.stderrTail(20))
			Expect(res.LedgerInfos).To(Equal(backup.Epochs()))
			Expect(res.Waypoints).To(Equal(backup.Epochs()), "every waypoint verified")
			Expect(res.Manifests).To(Equal(len(backup.Manifests)))
		} else {
			Expect(err).To(HaveOccurred())
			m := backup.Manifests[faultyManifest]
			Expect(err.Error()).To(And(
				ContainSubstring("manifest "+m.Handle),
				ContainSubstring("chunk "+m.Chunks[faultyChunk]),
			), "the error names the manifest and the file handle")
			Expect(err).To(causedBy(c.fault))
		}

		By("settling and counting what is left")
		if c.fault != "none" {
			s.hurry()
		}
		want := expectationFor(c)
		leaks := s.settle(ctx, want.quiet)
		invs := s.invocations()
		AddReportEntry(reports.EntryName, counts(leaks, invs))
		// At return, before any exit, reap or garbage collection: under
		// abandon the pipes and pidfds are still open here; the GC closes
		// them later (docs/backup-cli.md#drop, Go).
		AddReportEntry("at-return", counts(immediate, invs))
		AddReportEntry("expectation", want.reason)

		want.check(leftBehind{immediate: immediate, leaks: leaks, stalled: stalledInvocation(invs)})
	}, matrixEntries())
})

// causedBy matches the error each fault must surface as, end to end.
func causedBy(fault string) OmegaMatcher {
	return WithTransform(func(err error) string {
		var xe *adapter.ExitError
		var de *ledger.DecodeError
		switch {
		case errors.Is(err, record.ErrShortRecord):
			return "truncate"
		case errors.Is(err, adapter.ErrReadTimeout):
			return "stall"
		case errors.As(err, &de):
			return "corrupt"
		case errors.As(err, &xe) && xe.ExitCode == 3:
			return "exit"
		}
		return "unrecognised: " + err.Error()
	}, Equal(fault))
}

// The settle windows of the matrices' expectations. Settling ends at once
// where evidence proves the leaks stable (see settle); these windows
// decide only where nothing proves it.
const (
	// leakQuiet: a leak nothing proves stable counts as stable once it has
	// not changed (nor read or written) for this long.
	leakQuiet = time.Second
	// abandonQuiet is abandon's window. Nothing proves its leaks stable: a
	// zombie nobody will reap looks like one a reaper is about to reap, and
	// the garbage collector may close the abandoned pipes and pidfds at any
	// moment (whereupon a child blocked writing to us dies of SIGPIPE). But
	// its verdict cannot change: nothing ever reaps or kills an abandoned
	// child, so a child that is there stays there, alive or as a zombie.
	// The window only picks the moment the counts describe (before or after
	// a collection: 20/2/0/18 or 7/7/0/0), so it is short.
	abandonQuiet = 300 * time.Millisecond
	// cleanQuiet: a leak expected to go away gets this long to do it.
	cleanQuiet = 5 * time.Second
)

// expectationFor is the matrix's claims, each with its reason.
func expectationFor(c cell) expectation {
	switch {
	case c.fault == "none":
		return expectation{cleanNow, "§1: every child is joined at EOF; no reader is dropped", leakQuiet}
	case c.policy == adapter.KillGroup:
		return expectation{cleanNow, "§7: Close kills the whole group and returns only when it is gone", leakQuiet}
	case c.policy == adapter.Abandon:
		return expectation{leaksChildren, "§1 Go: nothing reaps a child that was never waited for", abandonQuiet}
	case c.policy == adapter.Drop && c.fault == "stall":
		return expectation{stalledChildAlive, "§1 tokio: a stalled child never exits: it stays alive, holding its fds", leakQuiet}
	case c.policy == adapter.Drop:
		return expectation{cleanAfterSettling, "§1 tokio: a dropped child that was writing gets SIGPIPE, exits and is reaped", cleanQuiet}
	case c.policy == adapter.Kill && c.fault == "stall" && c.config == "s3":
		return expectation{grandchildOutlivesKill, "§1: the audit's fix kills bash; the pipeline's aws and gzip survive", leakQuiet}
	default: // kill, and the grandchildren (if any) were writing
		return expectation{cleanAfterSettling, "§1: kill reaps bash; grandchildren that were writing die of SIGPIPE", cleanQuiet}
	}
}

// newSpecRun prepares a measured run for the current spec: a run marker,
// a temp dir with the journal and the storage commands' stderr log, the
// baselines, a sampler recording the spec's timeline (reported as the
// "timeline" and "peak" entries when settling starts), and the cleanup that
// kills and reaps whatever the run left, then checks no goroutine of ours
// outlived it.
func newSpecRun(ctx context.Context, name string) *specRun {
	dir := GinkgoT().TempDir()
	stderr, err := os.Create(filepath.Join(dir, "stderr.log"))
	Expect(err).NotTo(HaveOccurred())
	s := &specRun{run: harness.NewMarker(name), dir: dir, journal: filepath.Join(dir, "journal.jsonl"), stderr: stderr}
	DeferCleanup(stderr.Close)

	goroutines := gleak.Goroutines()
	s.before, err = harness.Take(harness.WithMarker(s.run.ID))
	Expect(err).NotTo(HaveOccurred())
	s.sampler, err = harness.Sample(ctx, s.before)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func(ctx SpecContext) {
		s.stopSampling() // if the spec never settled (it failed first)
		sweep, err := harness.Sweep(ctx, s.run, s.before)
		Expect(err).NotTo(HaveOccurred(), "cleanup of run %s", s.run)
		if !sweep.Empty() {
			AddReportEntry("cleanup", fmt.Sprintf("killed %d, reaped %d", len(sweep.Killed), len(sweep.Reaped)))
		}
		// Worker goroutines blocked on an abandoned child return once the
		// child is gone; none may outlive the spec.
		Eventually(gleak.Goroutines).WithContext(ctx).ShouldNot(gleak.HaveLeaked(goroutines))
	}, NodeTimeout(30*time.Second))
	return s
}

// diffNow is what leaked since the baseline, right now.
func (s *specRun) diffNow() harness.Leaks {
	now, err := harness.Take(harness.WithMarker(s.run.ID))
	Expect(err).NotTo(HaveOccurred())
	return harness.Diff(s.before, now)
}

// hurryFile is the spec's LEAKGATE_HURRY file: fakecli's pacing ends once
// it exists (hurry).
func (s *specRun) hurryFile() string { return filepath.Join(s.dir, "hurry") }

// hurry ends the pacing of the spec's fakecli invocations (fakecli.EnvHurry)
// and says so in the "hurried" entry: see hurriedReason.
func (s *specRun) hurry() {
	Expect(os.WriteFile(s.hurryFile(), nil, 0o644)).To(Succeed())
	AddReportEntry("hurried", hurriedReason)
}

// hurriedReason is why a faulty cell ends the pacing of its backdrop (the
// "slow" rules of withBackdrop) once the run has returned and the
// at-return counts are taken: the pace only keeps the later downloads in
// flight until the fault surfaces. What a dropped, killed or abandoned
// download then does (write into a pipe nobody reads, die of it, be reaped
// or not) does not depend on how fast its last bytes come. Hurried, those
// downloads reach that end at once, so settling counts what lasts: a drop
// or kill cell no longer waits out the pace, and a stall cell's leaks are
// the stalled pipeline alone, which the journal proves held still, where a
// backdrop download still trickling in had kept a quiet window open.
const hurriedReason = "once the run returned, the paced downloads of the backdrop sent their rest at once: the pace only kept them in flight until the fault surfaced"

// settle stops the timeline, then waits until the leaks are gone, or are
// proven to hold still, or have held still for quiet. The proof is
// evidence (harness.OnEvidence): a process the journal says fakecli or
// objserver is stalling on purpose; a process asleep on pipes or children
// that only such processes can wake; a pidfd a goroutine waits on for one
// of them. Such leaks end the wait at once. The quiet window decides only
// where nothing proves a leak: a zombie (a reaper may still get to it),
// an fd that the garbage collector may close (abandon's pipes and pidfds),
// a process that is still moving (a dropped download finishing). The
// "settled" entry says which, and what no evidence proved. The leaks come
// annotated with the journal (each process's command line as run and its
// fault) and, when there are any, their report is the "attribution" entry.
func (s *specRun) settle(ctx context.Context, quiet time.Duration) harness.Leaks {
	s.stopSampling()
	ctx, cancel := context.WithTimeout(ctx, quiet+15*time.Second)
	defer cancel()
	leaks, err := harness.Settle(ctx, s.before, harness.OnEvidence(), harness.Quiet(quiet), harness.WithFacts(s.facts))
	Expect(err).NotTo(HaveOccurred(), "settling:\n%s", leaks)
	AddReportEntry(settledEntry, leaks.Settled, ReportEntryVisibilityFailureOrVerbose)
	s.reportAttribution(leaks)
	return leaks
}

// settledEntry is the report entry saying how settling ended.
const settledEntry = "settled"

// invocations reads the spec's fakecli journal.
func (s *specRun) invocations() []journal.Invocation {
	invs, err := journal.Read(s.journal)
	Expect(err).NotTo(HaveOccurred())
	return invs
}

// counts is the "leaks" report entry of a spec.
func counts(l harness.Leaks, invs []journal.Invocation) reports.Leaks {
	return reports.Leaks{
		Children: len(l.Children),
		Zombies:  len(l.Zombies()),
		Escaped:  len(l.Escaped),
		FDs:      len(l.FDs),
		Spawned:  len(invs),
	}
}

// stalledInvocation is the journal's record of the invocation the stall
// fault hit, nil if none.
func stalledInvocation(invs []journal.Invocation) *journal.Invocation {
	for i, inv := range invs {
		if strings.HasPrefix(inv.Fault, "stall") {
			return &invs[i]
		}
	}
	return nil
}

// msFlag renders d for a command-line flag in whole milliseconds
// ("1500ms"): Go's time.ParseDuration and the tokio subject's parser both
// take it (the latter takes no fractions: "1.5s" would be refused).
func msFlag(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }
