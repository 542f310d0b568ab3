package scenarios_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/journal"
	"github.com/leakgate/leakgate/reports"
	"github.com/leakgate/leakgate/restore"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/db"
	"github.com/leakgate/leakgate/restore/fixture"
)

// The resume specs restore the s3 fixture (the shipped s3.sample.yaml, its
// pipeline `aws s3 cp … - | gzip -cd`) into a target DB under KillGroup.
// The fault sits in the second chunk of manifest 5: the consumer writes
// manifests 0..4 before it reaches manifest 5's stored error, whatever the
// timing (docs/backup-cli.md#consume: results are consumed in order), so the failed run
// must leave exactly those five, whole.
const (
	resumeConfig   = "s3"
	resumeManifest = 5
	resumeChunk    = 1
)

var _ = Describe("a restore into a target DB, resumed after a failure", Label("resume", reports.Label(reports.LabelConfig, resumeConfig)), func() {
	// Policy is KillGroup throughout (no policy label: these are not
	// matrix cells; the matrix's summary lists them apart).
	DescribeTable("fails with the fault, resumes without it, and ends with a clean restore's DB, key for key",
		func(ctx SpecContext, fault string) {
			backup := w.Backups[resumeConfig]
			s := newSpecRun(ctx, "resume-"+fault)
			target := filepath.Join(s.dir, "db")
			cache := filepath.Join(s.dir, "metadata-cache")
			faulty := backup.Manifests[resumeManifest]
			spec := fmt.Sprintf(faultRules[fault], "*"+faulty.Chunks[resumeChunk])
			AddReportEntry("plan", spec)

			By("restoring with the fault: it fails in manifest 5")
			_, err := restore.Run(ctx, restore.Options{
				Adapter:          s.adapter(resumeConfig, adapter.KillGroup, spec, func(a *adapter.Adapter) { a.ReadTimeout = readTimeout }),
				Concurrency:      concurrency,
				MetadataCacheDir: cache,
				TargetDBDir:      target,
			})
			immediate := sinceBaseline(s, s.before)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(And(ContainSubstring("manifest "+faulty.Handle), ContainSubstring("chunk "+faulty.Chunks[resumeChunk])))
			Expect(err).To(causedBy(fault))
			Expect(immediate).NotTo(harness.HaveLeaked(immediate.Baseline), "§7: under killgroup nothing, not even the DB's fds, may be left when the restore returns:")

			By("counting the DB's keys per manifest: manifests 0..4, each whole")
			Expect(manifestsInDB(target)).To(Equal(wholeManifests(backup, resumeManifest)))

			By("resuming without the fault: manifests 0..4 are skipped unread")
			resumed := s.subJournal("resumed")
			res, err := restore.Run(ctx, restore.Options{
				Adapter:          s.adapter(resumeConfig, adapter.KillGroup, "", resumed.use),
				Concurrency:      concurrency,
				MetadataCacheDir: cache,
				TargetDBDir:      target,
			})
			immediate = sinceBaseline(s, s.before)
			Expect(err).NotTo(HaveOccurred(), "storage stderr:\n%s", s.stderrTail(20))
			Expect(immediate).NotTo(harness.HaveLeaked(immediate.Baseline), "nothing may be left when the resumed restore returns:")
			expectResumed(res, backup, resumeManifest)
			Expect(resumed.readsOf(backup.Manifests[:resumeManifest])).To(BeEmpty(), "the resumed run downloaded what the DB held")
			Expect(resumed.reads()).To(HaveEach(Not(HavePrefix("metadata/"))), "the metadata cache was filled by the failed run")

			By("restoring cleanly into a fresh DB and comparing key for key")
			Expect(cleanRestoreDiff(ctx, s, target)).To(BeEmpty())

			By("settling and counting what is left")
			leaks := s.settle(ctx, time.Second)
			AddReportEntry(reports.EntryName, counts(leaks, s.invocations()))
			AddReportEntry("expectation", "§7: killgroup leaves nothing, across the failed, the resumed and the clean restore; the DB is closed on every path")
			Expect(leaks).NotTo(harness.HaveLeaked(leaks.Baseline))
		},
		Entry("truncate", Label(reports.Label(reports.LabelFault, "truncate")), SpecTimeout(2*time.Minute), "truncate"),
		Entry("stall", Label(reports.Label(reports.LabelFault, "stall")), SpecTimeout(2*time.Minute), "stall"),
		Entry("corrupt", Label(reports.Label(reports.LabelFault, "corrupt")), SpecTimeout(2*time.Minute), "corrupt"),
		Entry("exit", Label(reports.Label(reports.LabelFault, "exit")), SpecTimeout(2*time.Minute), "exit"),
	)

	It("resumes after bin/restore is SIGKILLed mid-restore, with its survivors still running",
		Label(reports.Label(reports.LabelFault, "sigkill")), SpecTimeout(2*time.Minute), func(ctx SpecContext) {
			backup := w.Backups[resumeConfig]
			s := newSpecRun(ctx, "resume-sigkill")
			target := filepath.Join(s.dir, "db")
			cache := filepath.Join(s.dir, "metadata-cache")
			faulty := backup.Manifests[resumeManifest]
			// No read timeout: the stalled download hangs, and with it the
			// consumer, right after it wrote manifests 0..4.
			spec := fmt.Sprintf(`stall on="*%s"`, faulty.Chunks[resumeChunk])
			AddReportEntry("plan", spec)

			By("running bin/restore into the DB until it has written manifests 0..4 and hangs in manifest 5")
			stderrPath := filepath.Join(s.dir, "restore-stderr.log")
			restoreStderr, err := os.Create(stderrPath)
			Expect(err).NotTo(HaveOccurred())
			cmd := exec.Command(w.Bins["restore"], "bootstrap-db",
				"--command-adapter-config", w.Configs[resumeConfig],
				"--cleanup-policy", adapter.KillGroup.String(),
				"--concurrent-downloads", strconv.Itoa(concurrency),
				"--metadata-cache-dir", cache,
				"--target-db-dir", target)
			cmd.Env = w.env(s.run.Env(), fakecli.EnvJournal+"="+s.journal, fakecli.EnvFaults+"="+spec)
			cmd.Stdout, cmd.Stderr = restoreStderr, restoreStderr
			err = cmd.Start()
			Expect(restoreStderr.Close()).To(Succeed()) // bin/restore has its own copy: ours is not a leak to count
			Expect(err).NotTo(HaveOccurred())
			harness.Remember(cmd.Process.Pid, cmd.Args, "spawn")
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			DeferCleanup(func() {
				cmd.Process.Kill() // an error: it was killed and waited already
				<-exited
			})
			written := func() (int, error) {
				select {
				case err := <-exited:
					exited <- err
					log, _ := os.ReadFile(stderrPath)
					return 0, StopTrying(fmt.Sprintf("bin/restore exited early (%v):\n%s", err, log))
				default:
				}
				log, err := os.ReadFile(stderrPath)
				return strings.Count(string(log), " written to "+target), err
			}
			Eventually(written).WithContext(ctx).WithTimeout(time.Minute).WithPolling(20 * time.Millisecond).
				Should(Equal(resumeManifest))
			Eventually(func() (*journal.Invocation, error) {
				invs, err := journal.Read(s.journal)
				return stalledInvocation(invs), err
			}).
				WithContext(ctx).WithTimeout(30*time.Second).WithPolling(20*time.Millisecond).
				ShouldNot(BeNil(), "the stall fault is hit")

			By("SIGKILLing bin/restore")
			Expect(cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
			err = <-exited
			exited <- err
			Expect(err).To(MatchError(ContainSubstring("signal: killed")))

			By("counting the DB's keys per manifest: manifests 0..4, each whole")
			Expect(manifestsInDB(target)).To(Equal(wholeManifests(backup, resumeManifest)))

			By("reporting what survived the SIGKILL")
			killed := s.settle(ctx, time.Second)
			AddReportEntry(reports.EntryName, counts(killed, s.invocations()))
			AddReportEntry("expectation", "§1: SIGKILL runs no cleanup: readers in flight, the stalled one included, outlive bin/restore "+
				"(reported here, not asserted: the cancel specs measure survivors per policy); the resume must work beside them")

			By("resuming in process beside the survivors: the DB's lock died with bin/restore")
			before, err := harness.Take(harness.WithMarker(s.run.ID))
			Expect(err).NotTo(HaveOccurred())
			resumed := s.subJournal("resumed")
			res, err := restore.Run(ctx, restore.Options{
				Adapter:          s.adapter(resumeConfig, adapter.KillGroup, "", resumed.use),
				Concurrency:      concurrency,
				MetadataCacheDir: cache,
				TargetDBDir:      target,
			})
			Expect(err).NotTo(HaveOccurred(), "storage stderr:\n%s", s.stderrTail(20))
			left := sinceBaseline(s, before)
			Expect(left).NotTo(harness.HaveLeaked(left.Baseline), "the resumed restore left something:")
			expectResumed(res, backup, resumeManifest)
			Expect(resumed.readsOf(backup.Manifests[:resumeManifest])).To(BeEmpty(), "the resumed run downloaded what the DB held")

			By("restoring cleanly into a fresh DB and comparing key for key")
			Expect(cleanRestoreDiff(ctx, s, target)).To(BeEmpty())
		})
})

// sinceBaseline is what leaked since before, right now.
func sinceBaseline(s *specRun, before harness.Snapshot) harness.Leaks {
	now, err := harness.Take(harness.WithMarker(s.run.ID))
	Expect(err).NotTo(HaveOccurred())
	return harness.Diff(before, now)
}

// wholeManifests is what manifestsInDB must say of a DB holding the
// backup's first n manifests, whole.
func wholeManifests(b *fixture.Backup, n int) []string {
	var out []string
	for _, m := range b.Manifests[:n] {
		out = append(out, fmt.Sprintf("manifest %s: epochs %d..%d, %d ledger infos", m.Handle, m.FirstEpoch, m.LastEpoch, m.LastEpoch-m.FirstEpoch+1))
	}
	return out
}

// manifestsInDB counts the DB's ledger_info keys per completion marker,
// from a full dump: one line per marker, in epoch order. A ledger info no
// marker covers, or a latest key that is not the last marker's, is a line
// of its own, so it fails the comparison too.
func manifestsInDB(dir string) []string {
	d, err := db.Open(dir, db.ReadOnly())
	Expect(err).NotTo(HaveOccurred())
	defer func() { Expect(d.Close()).To(Succeed()) }()
	markers, err := d.Manifests()
	Expect(err).NotTo(HaveOccurred())
	kvs, err := d.Dump()
	Expect(err).NotTo(HaveOccurred())
	perMarker := make([]int, len(markers))
	var out []string
	for _, kv := range kvs {
		kind, epoch := db.ParseKey(kv.Key)
		if kind != db.KindLedgerInfo {
			continue
		}
		i := 0
		for i < len(markers) && !(markers[i].FirstEpoch <= epoch && epoch <= markers[i].LastEpoch) {
			i++
		}
		if i == len(markers) {
			out = append(out, "ledger info outside every manifest: "+db.FormatKey(kv.Key))
			continue
		}
		perMarker[i]++
	}
	for i, m := range markers {
		out = append(out, fmt.Sprintf("manifest %s: epochs %d..%d, %d ledger infos", m.Handle, m.FirstEpoch, m.LastEpoch, perMarker[i]))
	}
	if l, ok := d.Latest(); len(markers) > 0 && (!ok || l.Manifest != markers[len(markers)-1].Handle || l.Epoch != markers[len(markers)-1].LastEpoch) {
		out = append(out, fmt.Sprintf("latest %+v is not the last manifest's", l))
	}
	return out
}

// expectResumed checks a resumed restore's result: the first skipped
// manifests skipped, the rest restored, ending at the backup's last epoch.
func expectResumed(res *restore.Result, b *fixture.Backup, skipped int) {
	perManifest := b.Spec.ChunksPerManifest * b.Spec.RecordsPerChunk
	rest := len(b.Manifests) - skipped
	last := uint64(b.Epochs() - 1)
	Expect(*res).To(Equal(restore.Result{
		Manifests: rest, Chunks: rest * b.Spec.ChunksPerManifest,
		LedgerInfos: rest * perManifest, Waypoints: rest * perManifest,
		FirstEpoch: 0, LastEpoch: last, LastWaypoint: res.LastWaypoint,
		Skipped: skipped, SkippedLedgerInfos: skipped * perManifest,
	}))
	// ledger.Synthetic: epoch e ends at version e*1000+999.
	Expect(res.LastWaypoint.Version).To(Equal(last*1000 + 999))
}

// cleanRestoreDiff restores the spec's config cleanly into a fresh DB and
// returns how target differs from it (nil: identical, key for key).
func cleanRestoreDiff(ctx context.Context, s *specRun, target string) []string {
	clean := filepath.Join(s.dir, "clean-db")
	_, err := restore.Run(ctx, restore.Options{
		Adapter:     s.adapter(resumeConfig, adapter.KillGroup, ""),
		Concurrency: concurrency,
		TargetDBDir: clean,
	})
	Expect(err).NotTo(HaveOccurred(), "clean restore; storage stderr:\n%s", s.stderrTail(20))
	want, err := db.Dump(clean)
	Expect(err).NotTo(HaveOccurred())
	got, err := db.Dump(target)
	Expect(err).NotTo(HaveOccurred())
	Expect(got).NotTo(BeEmpty())
	return db.Diff(want, got)
}

// subJournal is a journal of its own for one of a spec's restores, so its
// reads can be told from the others'.
type subJournal struct{ path string }

func (s *specRun) subJournal(name string) subJournal {
	return subJournal{path: filepath.Join(s.dir, "journal-"+name+".jsonl")}
}

// use points an adapter's children at the sub-journal.
func (j subJournal) use(a *adapter.Adapter) {
	a.Env = append(a.Env, fakecli.EnvJournal+"="+j.path)
}

// reads lists the handles read (relative to the config's prefix: what
// follows the bucket and sub dir).
func (j subJournal) reads() []string {
	invs, err := journal.Read(j.path)
	Expect(err).NotTo(HaveOccurred())
	var out []string
	for _, inv := range invs {
		if inv.Op == "read" {
			out = append(out, handleOf(inv.Handle))
		}
	}
	return out
}

// readsOf lists the reads of files of the given manifests' backups.
func (j subJournal) readsOf(ms []fixture.Manifest) []string {
	var out []string
	for _, h := range j.reads() {
		for _, m := range ms {
			if strings.HasPrefix(h, m.BackupHandle+"/") {
				out = append(out, h)
			}
		}
	}
	return out
}

// handleOf cuts an object key down to the file handle: from the metadata
// folder or a backup folder (epoch_ending_…) on.
func handleOf(key string) string {
	for _, marker := range []string{"metadata/", "epoch_ending_"} {
		if i := strings.Index(key, marker); i >= 0 {
			return key[i:]
		}
	}
	return key
}
