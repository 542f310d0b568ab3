package scenarios_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/procfs"
	"github.com/leakgate/leakgate/journal"
	"github.com/leakgate/leakgate/reports"
	"github.com/leakgate/leakgate/restore"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/backup"
	"github.com/leakgate/leakgate/restore/fixture"
	"github.com/leakgate/leakgate/restore/record"
)

// The backup path: restore/backup's port of the epoch-ending backup writes
// one backup per spec, into the spec's own bucket, with a fault on one
// chunk's upload (op=write). Every spec backs up epochs 0..47 in three
// chunks of 16 records of 32 KiB (512 KiB a chunk: more than the pipes and
// gzip of the s3 pipeline buffer, so a stalled upload blocks the Write).
const (
	backupEpochs     = 48
	backupPerChunk   = 16
	backupRecordSize = 32 << 10
	// backupFaultyFile is the chunk whose upload fails: the second, so the
	// first is stored before it and the third never starts.
	backupFaultyFile = "16-.chunk"
	// backupWriteTimeout lets a stalled upload end the backup (the shipped
	// tool has none and would hang forever). A stall cell waits it out
	// twice (the adapter waits again when the child took some bytes in
	// the first window, as the stalled uploader's first 8 KiB do), so it
	// is as short as healthy uploads allow: a healthy fakecli takes stdin
	// as fast as it comes, its longest gap is its start (the hazard specs
	// drop a paused upload after 500 ms). A healthy upload that trips it
	// fails its cell; it cannot make a cell pass. It was 2 s.
	backupWriteTimeout = time.Second
	// backupStallCap caps the forever stalls, so that an uploader every
	// cleanup missed still ends.
	backupStallCap = "2m"
)

// backupPrefix is where each config keeps the objects in the bucket: local
// handles are paths under the root; s3.sample.yaml stores
// s3://$BUCKET/$SUB_DIR/<handle>.
var backupPrefix = map[string]string{"local": "", "s3": "velor-backup/backup1/e1/"}

// backupFaultRules are the matrix's faults on the upload of
// backupFaultyFile (%s: its glob).
var backupFaultRules = map[string]string{
	"none":       "",
	"stall":      `stall after=8KiB op=write on="%s"`,         // takes 8 KiB of stdin, then none, until killed
	"exit":       `exit code=3 after=all op=write on="%s"`,    // stores everything, then exits 3
	"truncate":   `truncate record=3 exit=3 op=write on="%s"`, // stores records 1, 2 and half of 3, exits 3
	"exit-early": `exit code=3 after=none op=write on="%s"`,   // exits 3 without reading stdin
}

// backupFaultOrder lists the faults of backupFaultRules in the order of reports.LabelFault.
var backupFaultOrder = reports.InOrder(reports.LabelFault, slices.Collect(maps.Keys(backupFaultRules)))

// backupCell is one point of the backup matrix.
type backupCell struct {
	fault  string
	policy adapter.Policy
	config string
}

func backupEntries() []TableEntry {
	var entries []TableEntry
	for _, config := range []string{"local", "s3"} {
		for _, fault := range backupFaultOrder {
			for _, policy := range adapter.Policies() {
				c := backupCell{fault: fault, policy: policy, config: config}
				entries = append(entries, Entry(
					fmt.Sprintf("backup: fault %s, policy %s, config %s", fault, policy, config),
					Label("backup", reports.Label(reports.LabelFault, fault), reports.Label(reports.LabelPolicy, policy.String()), reports.Label(reports.LabelConfig, config)),
					SpecTimeout(2*time.Minute),
					c,
				))
			}
		}
	}
	return entries
}

// backupExpectationFor is the matrix's claims, each with its reason.
func backupExpectationFor(c backupCell) expectation {
	switch { // the windows: see leakQuiet and abandonQuiet
	case c.fault == "none":
		return expectation{cleanNow, "§2: every upload is shut down (stdin closed, child joined); no writer is dropped", leakQuiet}
	case c.policy == adapter.KillGroup:
		return expectation{cleanNow, "§7: Abort kills the upload's whole group and returns only when it is gone", leakQuiet}
	case c.fault == "exit" || c.fault == "truncate":
		return expectation{cleanNow, "the failure surfaces at shutdown, which already joined the uploader: nothing is dropped, whatever the policy", leakQuiet}
	case c.fault == "stall" && c.policy == adapter.Drop:
		return expectation{stalledChildAlive, "§1 tokio: a dropped stalled child never exits: the uploader stays alive, holding its fds", leakQuiet}
	case c.fault == "stall" && c.policy == adapter.Abandon:
		return expectation{stalledChildAlive, "§1 Go: nothing is closed or killed: the stalled uploader stays alive, and our pipe and pidfd stay open", abandonQuiet}
	case c.fault == "stall" && c.config == "s3": // kill
		return expectation{grandchildOutlivesKill, "§1: kill reaches bash only: the pipeline's gzip and stalled aws survive it", leakQuiet}
	case c.fault == "stall": // kill, local
		return expectation{cleanNow, "local execs fakecli: bash is the uploader, so killing and reaping bash leaves nothing", leakQuiet}
	case c.policy == adapter.Abandon: // exit-early
		return expectation{zombieLeft, "§1 Go: nothing waits for the uploader that exited: a zombie until we exit", abandonQuiet}
	case c.policy == adapter.Drop: // exit-early
		return expectation{cleanAfterSettling, "§1 tokio: the uploader that exited is reaped in the background", cleanQuiet}
	default: // exit-early, kill
		return expectation{cleanNow, "kill reaps the uploader that exited; a pipeline ended before bash did", leakQuiet}
	}
}

// backupSpecRun is a specRun with its own bucket, so that the backups of
// the specs never meet each other or the restore's fixtures.
type backupSpecRun struct {
	*specRun
	config string
	bucket string
}

func newBackupSpecRun(ctx SpecContext, name, config string) *backupSpecRun {
	s := &backupSpecRun{specRun: newSpecRun(ctx, name), config: config}
	s.bucket = filepath.Join(s.dir, "bucket")
	Expect(os.Mkdir(s.bucket, 0o755)).To(Succeed())
	return s
}

// backupAdapter builds the spec's adapter: its bucket, the write timeout,
// the stall cap, the fault plan.
func (s *backupSpecRun) backupAdapter(policy adapter.Policy, faultSpec string, writeTimeout time.Duration) *adapter.Adapter {
	return s.adapter(s.config, policy, faultSpec, func(a *adapter.Adapter) {
		a.Env = append(a.Env, fakecli.EnvBucket+"="+s.bucket, fakecli.EnvStallCap+"="+backupStallCap)
		a.WriteTimeout = writeTimeout
	})
}

// backupOptions backs up epochs 0..47 through a.
func backupOptions(a *adapter.Adapter) backup.Options {
	return backup.Options{
		Adapter:      a,
		StartEpoch:   0,
		EndEpoch:     backupEpochs,
		LedgerInfos:  fixture.LedgerInfos(0, backupEpochs, backupRecordSize),
		ChunkRecords: backupPerChunk,
	}
}

// objects lists the bucket's files, relative to the config's prefix,
// sorted; a file outside the prefix is listed with its full path.
func (s *backupSpecRun) objects() []string {
	var out []string
	Expect(filepath.WalkDir(s.bucket, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), fakecli.TempPrefix) {
			return err // an upload still in progress is no object
		}
		rel, err := filepath.Rel(s.bucket, p)
		out = append(out, strings.TrimPrefix(filepath.ToSlash(rel), backupPrefix[s.config]))
		return err
	})).To(Succeed())
	slices.Sort(out)
	return out
}

// object reads an object as the config stored it, gzip decoded for s3.
func (s *backupSpecRun) object(handle string) []byte {
	data, err := os.ReadFile(filepath.Join(s.bucket, filepath.FromSlash(backupPrefix[s.config]+handle)))
	Expect(err).NotTo(HaveOccurred())
	if s.config != "s3" {
		return data
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	Expect(err).NotTo(HaveOccurred(), "%s is gzip, as the config's `gzip -c |` stores it", handle)
	out, err := io.ReadAll(zr)
	Expect(err).NotTo(HaveOccurred(), "%s is a complete gzip stream", handle)
	return out
}

// chunkData is the bytes of the chunk starting at epoch first.
func chunkData(first uint64) []byte {
	return fixture.ChunkData(first, first+backupPerChunk, backupRecordSize)
}

var _ = Describe("the epoch-ending backup against a misbehaving storage CLI", func() {
	DescribeTable("fault × policy × config", func(ctx SpecContext, c backupCell) {
		s := newBackupSpecRun(ctx, fmt.Sprintf("backup-%s-%s-%s", c.fault, c.policy, c.config), c.config)
		spec := ""
		if r := backupFaultRules[c.fault]; r != "" {
			spec = fmt.Sprintf(r, "*/"+backupFaultyFile)
		}
		AddReportEntry("plan", spec)
		a := s.backupAdapter(c.policy, spec, backupWriteTimeout)

		gcOn := func() {}
		if c.policy == adapter.Abandon {
			// Under abandon, what is left at return depends on the garbage
			// collector (finalizing the abandoned *os.File and *os.Process
			// closes our pipe ends and pidfd): keep it off until the
			// at-return snapshot is taken.
			old := debug.SetGCPercent(-1)
			gcOn = func() { debug.SetGCPercent(old) }
			DeferCleanup(gcOn)
		}
		res, err := backup.Run(ctx, backupOptions(a))
		// What the backup left the instant it returned.
		immediate := s.diffNow()
		gcOn()
		bh := res.BackupHandle
		Expect(bh).To(HavePrefix("epoch_ending_0-."), "create_backup answered")

		By("checking the backup's outcome")
		if c.fault == "none" {
			Expect(err).NotTo(HaveOccurred(), "storage stderr:\n%s", s.stderrTail(20))
			Expect(res.Metadata).To(Equal("metadata/epoch_ending_0-47.meta"))
		} else {
			Expect(err).To(HaveOccurred())
			AddReportEntry("error", err.Error())
			var be *backup.Error
			Expect(errors.As(err, &be)).To(BeTrue(), "a *backup.Error: %v", err)
			step, dropped := backup.StepWrite, true // the failure came before the shutdown
			if c.fault == "exit" || c.fault == "truncate" {
				step, dropped = backup.StepShutdown, false
			}
			Expect(*be).To(MatchFields(IgnoreExtras, Fields{
				"Backup": Equal(bh), "File": Equal(backupFaultyFile), "Handle": Equal(bh + "/" + backupFaultyFile),
				"Step": Equal(step), "Dropped": Equal(dropped),
			}), "the error names the backup, the file and the step: %v", err)
			Expect(err.Error()).To(And(ContainSubstring(bh), ContainSubstring(backupFaultyFile), ContainSubstring(string(step))))
			Expect(err).To(backupCausedBy(c.fault))
		}

		By("settling and counting what is left")
		want := backupExpectationFor(c)
		leaks := s.settle(ctx, want.quiet)
		invs := s.invocations()
		AddReportEntry(reports.EntryName, counts(leaks, invs))
		AddReportEntry("at-return", counts(immediate, invs))
		AddReportEntry("expectation", want.reason)

		stalled := stalledInvocation(invs)
		if want.kind == stalledChildAlive {
			Expect(stalled).NotTo(BeNil(), "the journal records the stalled upload")
			Expect(stalled.Op).To(Equal("write"))
		}
		if c.policy == adapter.Abandon && (want.kind == stalledChildAlive || want.kind == zombieLeft) {
			expectAbandonedFDs(immediate)
		}
		want.check(leftBehind{immediate: immediate, leaks: leaks, stalled: stalled})

		By("checking what the bucket holds")
		objects := s.objects()
		AddReportEntry("bucket", strings.Join(objects, "\n"))
		want0 := []string{bh + "/0-.chunk"}
		switch c.fault {
		case "none":
			Expect(objects).To(Equal([]string{bh + "/0-.chunk", bh + "/16-.chunk", bh + "/32-.chunk", bh + "/epoch_ending.manifest", "metadata/epoch_ending_0-47.meta"}))
			for _, ch := range res.Chunks {
				Expect(s.object(ch.LedgerInfos)).To(Equal(chunkData(ch.FirstEpoch)), "chunk %s", ch.LedgerInfos)
			}
		case "exit":
			// The store kept the whole chunk under its final name although
			// the CLI failed: the user sees a failed backup, and its folder
			// holds complete chunks that no manifest or metadata names.
			Expect(objects).To(Equal(append(want0, bh+"/"+backupFaultyFile)))
			Expect(s.object(bh + "/" + backupFaultyFile)).To(Equal(chunkData(16)))
		case "truncate":
			// A partial object under its final name: harmless only because
			// the metadata line that would lead a restore to it is never
			// written.
			Expect(objects).To(Equal(append(want0, bh+"/"+backupFaultyFile)))
			stored := s.object(bh + "/" + backupFaultyFile)
			full := chunkData(16)
			Expect(len(stored)).To(BeNumerically("<", len(full)))
			Expect(full[:len(stored)]).To(Equal(stored), "a strict prefix of the chunk")
			Expect(readRecords(stored)).To(MatchError(record.ErrShortRecord), "cut inside record 3")
		default: // stall, exit-early: the uploader stored nothing (yet)
			Expect(objects).To(Equal(want0))
		}
		if c.fault != "none" {
			Expect(objects).NotTo(ContainElement(HavePrefix("metadata/")), "the metadata line is never written for a failed backup")
			Expect(res.Metadata).To(BeEmpty())
			Expect(res.Manifest).To(BeEmpty())
		}
		Expect(s.object(bh+"/0-.chunk")).To(Equal(chunkData(0)), "the chunk before the fault is complete")

		if c.fault == "none" {
			By("restoring the backup: every waypoint verifies")
			check := s.backupAdapter(adapter.KillGroup, "", 0)
			rres, err := restore.Run(ctx, restore.Options{Adapter: check, Concurrency: 2, MetadataCacheDir: filepath.Join(s.dir, "metadata-cache")})
			Expect(err).NotTo(HaveOccurred(), "storage stderr:\n%s", s.stderrTail(20))
			Expect(rres.Waypoints).To(Equal(backupEpochs))
		}
	}, backupEntries())

	// The hazard of dropping (rather than killing) an upload: its child sees
	// stdin end as if the upload were complete, and stores what it got.
	DescribeTable("a dropped upload may complete, truncated, under its final name", func(ctx SpecContext, policy adapter.Policy, config string, stores bool, reason string) {
		s := newBackupSpecRun(ctx, fmt.Sprintf("backup-hazard-%s-%s", policy, config), config)
		if policy == adapter.Abandon {
			// Only an explicit runtime.GC may finalize the abandoned pipe,
			// so the spec can see the upload wait first.
			old := debug.SetGCPercent(-1)
			DeferCleanup(func() { debug.SetGCPercent(old) })
		}
		// The first chunk's uploader pauses 2s after 8 KiB, then reads on;
		// the write timeout (500ms) drops the writer during the pause.
		spec := `stall after=8KiB for=2s op=write on="*/0-.chunk"`
		AddReportEntry("plan", spec)
		AddReportEntry("expectation", reason)
		a := s.backupAdapter(policy, spec, 500*time.Millisecond)
		res, err := backup.Run(ctx, backupOptions(a))
		Expect(err).To(MatchError(adapter.ErrWriteTimeout), "the pause outlasts the write timeout")
		var be *backup.Error
		Expect(errors.As(err, &be) && be.Dropped && be.File == "0-.chunk").To(BeTrue(), "the upload of 0-.chunk was dropped: %v", err)
		final := res.BackupHandle + "/0-.chunk"

		stalled := stalledInvocation(s.invocations())
		Expect(stalled).NotTo(BeNil(), "the journal records the paused upload")
		ended := func() *journal.Invocation {
			for _, inv := range s.invocations() {
				if inv.Call == stalled.Call && inv.Ended {
					return &inv
				}
			}
			return nil
		}
		if !stores {
			By("the uploader is gone: nothing can store the object")
			Expect(syscall.Kill(stalled.PID, 0)).To(MatchError(syscall.ESRCH), "the paused uploader was killed")
			Expect(ended()).To(BeNil(), "it ended by SIGKILL: no end entry")
			Expect(s.objects()).To(BeEmpty())
		} else {
			if policy == adapter.Abandon {
				By("abandon holds our end of the pipe: the uploader waits for more bytes, until the garbage collector closes it")
				Eventually(func() bool { return waitingOnPipe(stalled.PID) }).WithContext(ctx).WithTimeout(20*time.Second).
					Should(BeTrue(), "after its pause the uploader blocks reading a pipe we still hold")
				Expect(ended()).To(BeNil())
				Expect(s.objects()).To(BeEmpty())
				Eventually(func() *journal.Invocation { runtime.GC(); return ended() }).WithContext(ctx).
					WithTimeout(20*time.Second).ShouldNot(BeNil(), "the finalizer of our *os.File closes the pipe")
			}
			By("the uploader sees its stdin end and completes the upload with what it got")
			Eventually(ended).WithContext(ctx).WithTimeout(20 * time.Second).ShouldNot(BeNil())
			inv := ended()
			Expect(inv.Exit).To(Equal(0), "the storage CLI reports a successful upload: %v", inv)
			Expect(s.objects()).To(Equal([]string{final}), "the object is under its final name")
			stored := s.object(final)
			full := chunkData(0)
			Expect(len(stored)).To(And(BeNumerically(">", 0), BeNumerically("<", len(full))), "truncated")
			Expect(full[:len(stored)]).To(Equal(stored), "a prefix of the chunk")
			AddReportEntry("stored", fmt.Sprintf("%s: %d of %d bytes, exit 0", final, len(stored), len(full)))
		}
		Expect(s.objects()).NotTo(ContainElement(HavePrefix("metadata/")), "the failed backup wrote no metadata line")
		leaks := s.settle(ctx, abandonQuiet) // reported, not asserted: the window only picks the moment the counts describe
		AddReportEntry(reports.EntryName, counts(leaks, s.invocations()))
	},
		hazardEntry(adapter.Drop, "local", true, "drop closes our stdin end: the uploader reads to EOF and stores a truncated object, exit 0"),
		hazardEntry(adapter.Drop, "s3", true, "drop closes our stdin end: gzip ends its stream, aws stores a valid gzip of a truncated chunk, exit 0"),
		hazardEntry(adapter.Abandon, "local", true, "abandon closes nothing: the upload completes, truncated, whenever the GC finalizes our pipe"),
		hazardEntry(adapter.Abandon, "s3", true, "abandon closes nothing: the upload completes, truncated, whenever the GC finalizes our pipe"),
		hazardEntry(adapter.Kill, "local", false, "local execs fakecli: killing bash kills the uploader before it stores anything"),
		hazardEntry(adapter.Kill, "s3", true, "§1: kill reaches bash only; gzip sees EOF and aws completes the truncated upload"),
		hazardEntry(adapter.KillGroup, "local", false, "§7: the whole group is killed: nothing can store the object"),
		hazardEntry(adapter.KillGroup, "s3", false, "§7: the whole group is killed: nothing can store the object"),
	)
})

// expectAbandonedFDs checks what abandon leaves open at return, before
// any garbage collection: our pipe ends and the pidfd of the uploader.
func expectAbandonedFDs(immediate harness.Leaks) {
	Expect(immediate.FDs).To(And(
		ContainElement(HaveField("Kind", harness.FDPipe)),
		ContainElement(HaveField("Kind", harness.FDPidfd)),
	), "abandon closes nothing: at return our pipe ends and the pidfd are open:\n%s", immediate)
}

func hazardEntry(policy adapter.Policy, config string, stores bool, reason string) TableEntry {
	return Entry(fmt.Sprintf("backup hazard: policy %s, config %s", policy, config),
		Label("backup", "hazard:truncated-upload", reports.Label(reports.LabelPolicy, policy.String()), reports.Label(reports.LabelConfig, config)),
		SpecTimeout(time.Minute), policy, config, stores, reason)
}

// backupCausedBy matches the cause each upload fault must surface as.
func backupCausedBy(fault string) OmegaMatcher {
	return WithTransform(func(err error) string {
		var xe *adapter.ExitError
		switch {
		case errors.Is(err, adapter.ErrWriteTimeout):
			return "stall"
		case errors.Is(err, syscall.EPIPE):
			return "exit-early"
		case errors.As(err, &xe) && xe.ExitCode == 3 && xe.Op == adapter.OpCreateForWrite:
			return "exit or truncate"
		}
		return "unrecognised: " + err.Error()
	}, Equal(map[string]string{"stall": "stall", "exit-early": "exit-early", "exit": "exit or truncate", "truncate": "exit or truncate"}[fault]))
}

// readRecords reads every record of data; nil at a clean end.
func readRecords(data []byte) error {
	rr := record.NewReader(bytes.NewReader(data), 0)
	for {
		if _, err := rr.Next(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// waitingOnPipe reports whether a thread of pid is blocked reading a pipe
// (its /proc wchan is the kernel's pipe read: "anon_pipe_read", or
// "pipe_read"/"pipe_wait" on older kernels).
func waitingOnPipe(pid int) bool {
	wchans, _ := procfs.Wchans(int32(pid))
	return slices.ContainsFunc(wchans, func(w string) bool {
		return strings.Contains(w, "pipe_read") || strings.Contains(w, "pipe_wait")
	})
}
