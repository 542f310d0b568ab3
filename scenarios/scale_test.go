package scenarios_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/reports"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/backup"
	"github.com/leakgate/leakgate/restore/db"
	"github.com/leakgate/leakgate/restore/fixture"
)

// The scale spec restores, through the local config, a backup of
// scaleManifests manifests × scaleChunks chunks and, for comparison, its
// first scaleSmallManifests manifests, both at --concurrent-downloads
// scaleConcurrency into a target DB, and measures bin/restore's peak RSS.
//
// Records are 4 KiB, 8 to a chunk, 2 chunks a manifest: 64 KiB per
// manifest, 64 MiB of records for the large backup and 16 MiB for the
// small one. Both are far beyond the stream's window (2×64 manifests,
// 8 MiB of records), so a restore that streams holds the same at both
// sizes, while one that kept what it had restored, or read ahead without
// bound, would hold 48 MiB more at 1,000. The bytes, manifests and window
// are what the bound is about; the chunks a manifest is cut into are not:
// it was 4 chunks of 4 records, and each chunk is one more fakecli to
// write and to read (7 and 6 processes a manifest then, 5 and 4 now), so
// 2 chunks cut the spec by a third (about 13 s) and leave the claim as it
// was.
const (
	scaleManifests      = 1000
	scaleSmallManifests = 250
	scaleChunks         = 2
	scaleRecords        = 8       // per chunk
	scaleRecordSize     = 4 << 10 // bytes, at least
	scaleConcurrency    = 64
	// scaleWriters write the fixture's manifests in parallel (each one
	// backup.Run, as fixture.Write does them one after another).
	scaleWriters = 4
	// The bound on peak RSS: at 1,000 manifests at most scaleRSSFactor ×
	// the peak at 250, plus scaleRSSSlack. What legitimately grows with
	// the backup is small and bounded: the metadata and the plan (a few
	// hundred bytes per manifest: under 1 MiB for 1,000) and pebble's
	// memtables and caches, capped by its options (4 MiB memtables, 8 MiB
	// block cache), which the smaller restore (16 MiB written) already
	// mostly fills; the slack covers those. The factor covers the Go
	// heap's peak, which depends on when the collector runs (up to twice
	// the live heap), for two runs of the same live set. Buffering what
	// was restored would add 48 MiB or more (the records of the 750 extra
	// manifests, at least once): far past the bound.
	scaleRSSFactor = 1.25
	scaleRSSSlack  = 4 << 20
)

// scaleFixture is the large backup and its first quarter, each in a bucket
// of its own (the small one hard-links the large one's objects).
type scaleFixture struct {
	large, small string // bucket roots
	took         time.Duration
}

var _ = Describe("a restore at scale", Ordered, Label("scale", reports.Label(reports.LabelConfig, "local")), func() {
	var fx scaleFixture

	BeforeAll(func(ctx SpecContext) {
		dir, err := os.MkdirTemp("", "leakgate-scale-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(os.RemoveAll, dir)
		fx, err = writeScaleFixture(ctx, dir)
		Expect(err).NotTo(HaveOccurred())
	}, NodeTimeout(3*time.Minute))

	It("restores 1,000 manifests × 2 chunks at --concurrent-downloads 64 into a target DB, its peak RSS not growing with the backup",
		SpecTimeout(3*time.Minute), func(ctx SpecContext) {
			AddReportEntry("fixture", fmt.Sprintf("%d manifests × %d chunks × %d records of %d bytes, written with %d writers in %s",
				scaleManifests, scaleChunks, scaleRecords, scaleRecordSize, scaleWriters, fx.took.Round(time.Millisecond)))
			s := newSpecRun(ctx, "scale")

			By("restoring the first 250 manifests")
			small := s.scaleRestore(ctx, fx.small, "small", scaleSmallManifests)
			By("restoring all 1,000 manifests")
			large := s.scaleRestore(ctx, fx.large, "large", scaleManifests)

			bound := int64(scaleRSSFactor*float64(small.rss)) + scaleRSSSlack
			AddReportEntry("peak-rss", fmt.Sprintf("bin/restore ru_maxrss: %d manifests %.1f MiB (%s), %d manifests %.1f MiB (%s); bound %.1f MiB (%.2f× + %d MiB)",
				scaleSmallManifests, mib(small.rss), small.took.Round(time.Millisecond),
				scaleManifests, mib(large.rss), large.took.Round(time.Millisecond),
				mib(bound), scaleRSSFactor, scaleRSSSlack>>20))
			Expect(small.rss).To(BeNumerically(">", 0))
			Expect(large.rss).To(BeNumerically("<=", bound),
				"peak RSS grew with the backup: %.1f MiB at %d manifests, %.1f MiB at %d",
				mib(small.rss), scaleSmallManifests, mib(large.rss), scaleManifests)

			By("checking the journal: every read once, each ended with exit 0")
			invs := s.invocations()
			want := (2+scaleChunks)*(scaleSmallManifests+scaleManifests) + 2 // per restore: a listing, then per manifest its metadata file, manifest and chunks
			Expect(invs).To(HaveLen(want))
			Expect(invs).To(HaveEach(And(HaveField("Ended", BeTrue()), HaveField("Exit", 0))))

			By("settling and counting what is left")
			leaks := s.settle(ctx, time.Second)
			AddReportEntry(reports.EntryName, counts(leaks, invs))
			AddReportEntry("expectation", "§5.4: at most 2×C preheats are held, so peak RSS follows the window, not the backup; §1: every child is joined at EOF, nothing is left")
			Expect(leaks).NotTo(harness.HaveLeaked(leaks.Baseline))
		})
})

// scaleRun is one bin/restore run of the scale spec.
type scaleRun struct {
	rss  int64 // ru_maxrss, bytes
	took time.Duration
}

// scaleRestore runs bin/restore bootstrap-db over bucket into a fresh
// target DB under KillGroup, checks that it restored all manifests and
// left nothing when it exited, and returns its peak RSS: the ru_maxrss
// wait4 reports for it, the larger of its own peak and its largest waited
// child's (a bash or fakecli of a few MiB: always its own here).
func (s *specRun) scaleRestore(ctx context.Context, bucket, name string, manifests int) scaleRun {
	work := filepath.Join(s.dir, name)
	target := filepath.Join(work, "db")
	stderrPath := filepath.Join(s.dir, name+"-restore-stderr.log")
	stderr, err := os.Create(stderrPath)
	Expect(err).NotTo(HaveOccurred())
	var stdout bytes.Buffer
	cmd := exec.Command(w.Bins["restore"], "bootstrap-db",
		"--command-adapter-config", w.Configs["local"],
		"--cleanup-policy", adapter.KillGroup.String(),
		"--concurrent-downloads", strconv.Itoa(scaleConcurrency),
		"--metadata-cache-dir", filepath.Join(work, "metadata-cache"),
		"--target-db-dir", target)
	cmd.Env = w.env(s.run.Env(), fakecli.EnvJournal+"="+s.journal, fakecli.EnvBucket+"="+bucket)
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	start := time.Now()
	err = cmd.Start()
	Expect(stderr.Close()).To(Succeed()) // bin/restore has its own copy: ours is not a leak to count
	Expect(err).NotTo(HaveOccurred())
	harness.Remember(cmd.Process.Pid, cmd.Args, "spawn")
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	DeferCleanup(func() {
		cmd.Process.Kill() // an error once it was waited for
		err := <-exited
		exited <- err
	})
	select {
	case err = <-exited:
		exited <- err
	case <-ctx.Done():
		Fail(fmt.Sprintf("bin/restore over %d manifests did not finish: %v", manifests, ctx.Err()))
	}
	took := time.Since(start)
	log, _ := os.ReadFile(stderrPath)
	Expect(err).NotTo(HaveOccurred(), "bin/restore over %d manifests:\n%s\n%s", manifests, stdout.String(), tail(log, 20))
	left := s.diffNow()
	Expect(left).NotTo(harness.HaveLeaked(left.Baseline), "§7: under killgroup nothing may be left when bin/restore exits:")

	epochs := manifests * scaleChunks * scaleRecords
	Expect(stdout.String()).To(ContainSubstring("restored epochs 0..%d: %d manifests, %d chunks, %d ledger infos, %d waypoints verified",
		epochs-1, manifests, manifests*scaleChunks, epochs, epochs))
	d, err := db.Open(target, db.ReadOnly())
	Expect(err).NotTo(HaveOccurred())
	defer func() { Expect(d.Close()).To(Succeed()) }()
	Expect(d.Check()).To(Succeed())
	markers, err := d.Manifests()
	Expect(err).NotTo(HaveOccurred())
	Expect(markers).To(HaveLen(manifests))
	latest, ok := d.Latest()
	Expect(ok).To(BeTrue())
	Expect(latest.Epoch).To(BeEquivalentTo(epochs - 1))

	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	Expect(ok).To(BeTrue(), "no rusage for bin/restore")
	return scaleRun{rss: ru.Maxrss * 1024, took: took} // Linux: ru_maxrss in KiB
}

// writeScaleFixture writes the large backup through the local config's
// write commands into dir/large, scaleWriters manifests at a time, each
// manifest one backup.Run with fixture.Write's options (so the first
// scaleSmallManifests are what fixture.Write would write for that many),
// then hard-links the first scaleSmallManifests manifests' objects and
// metadata files into dir/small.
func writeScaleFixture(ctx context.Context, dir string) (scaleFixture, error) {
	fx := scaleFixture{large: filepath.Join(dir, "large"), small: filepath.Join(dir, "small")}
	for _, d := range []string{fx.large, filepath.Join(fx.small, "metadata")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fx, err
		}
	}
	stderr, err := os.Create(filepath.Join(dir, "fixture-stderr.log"))
	if err != nil {
		return fx, err
	}
	defer stderr.Close()
	a := &adapter.Adapter{
		Config: w.configs["local"],
		Policy: adapter.KillGroup,
		Env:    w.env(harness.NewMarker("scale-fixture").Env(), fakecli.EnvBucket+"="+fx.large),
		Stderr: stderr,
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]*backup.Result, scaleManifests)
	errs := make([]error, scaleManifests)
	next := make(chan int)
	var wg sync.WaitGroup
	for range scaleWriters {
		wg.Go(func() {
			for m := range next {
				first := uint64(m * scaleChunks * scaleRecords)
				end := first + scaleChunks*scaleRecords
				results[m], errs[m] = backup.Run(ctx, backup.Options{
					Adapter:      a,
					StartEpoch:   first,
					EndEpoch:     end,
					LedgerInfos:  fixture.LedgerInfos(first, end, scaleRecordSize),
					ChunkRecords: scaleRecords,
					Suffix:       func() uint16 { return fixtureSuffix(first) },
				})
				if errs[m] != nil {
					cancel()
				}
			}
		})
	}
feed:
	for m := range scaleManifests {
		select {
		case next <- m:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	for m, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			log, _ := os.ReadFile(stderr.Name())
			return fx, fmt.Errorf("scale fixture: manifest %d: %w\nstderr of the storage commands:\n%s", m, err, tail(log, 20))
		}
	}
	if err := ctx.Err(); err != nil {
		return fx, fmt.Errorf("scale fixture: %w", err)
	}
	for _, res := range results[:scaleSmallManifests] {
		if err := linkTree(filepath.Join(fx.large, res.BackupHandle), filepath.Join(fx.small, res.BackupHandle)); err != nil {
			return fx, err
		}
		if err := os.Link(filepath.Join(fx.large, res.Metadata), filepath.Join(fx.small, res.Metadata)); err != nil {
			return fx, err
		}
	}
	fx.took = time.Since(start)
	return fx, nil
}

// fixtureSuffix is fixture.Write's backup-name suffix for a backup starting
// at epoch first (an fnv-32a of its decimal digits), so that the scale
// fixture names its backups as fixture.Write would.
func fixtureSuffix(first uint64) uint16 {
	h := fnv.New32a()
	fmt.Fprint(h, first)
	return uint16(h.Sum32())
}

// linkTree hard-links the files of the folder from (one level: a backup's
// objects) into a new folder to.
func linkTree(from, to string) error {
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	if err := os.Mkdir(to, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", filepath.Join(from, e.Name()))
		}
		if err := os.Link(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// tail is the last n lines of log.
func tail(log []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(log, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
