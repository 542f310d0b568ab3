package scenarios_test

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/fakecli/fakeenv"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/journal"
	"github.com/leakgate/leakgate/reports"
	"github.com/leakgate/leakgate/restore"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/fixture"
	"github.com/leakgate/leakgate/restore/manifest"
)

// roundtripSpec is the backup every round trip writes: more manifests than
// roundtripConcurrency, so the restore's stream is bounded, and at least
// three, so a middle one can go missing.
var roundtripSpec = fixture.Spec{Manifests: 4, ChunksPerManifest: 2, RecordsPerChunk: 4, RecordSize: 4 << 10}

// roundtripConcurrency is the restore's --concurrent-downloads.
const roundtripConcurrency = 2

// helmEnv is what the helm configs read from the process environment
// (their env_vars is empty).
var helmEnv = []string{"BUCKET=leakgate-bkt", "SUB_DIR=e7", "R2_ENDPOINT_URL=https://r2.invalid"}

// brokenSave describes a shipped config whose save_metadata_line fails as
// written: what the user sees on stderr, and the smallest repair (old →
// new in the command text) that lets the backup through.
type brokenSave struct {
	stderr string // regexp on the storage commands' stderr
	why    string // one line
	repair [2]string
}

// roundtrip is one shipped config's round trip.
type roundtrip struct {
	file    string   // file name in the aptos-configs folder
	env     []string // process environment it needs
	prefix  string   // bucket folder the handles live in
	persona string   // the storage CLI it runs
	broken  *brokenSave
}

var roundtrips = []roundtrip{
	{file: "s3.sample.yaml", prefix: "velor-backup/backup1/e1/", persona: "aws"},
	{file: "gcp.sample.yaml", prefix: "velor-backup/backup1/e1/", persona: "gsutil"},
	{file: "azure.sample.yaml", prefix: "velor-backup/backup-1/e1/", persona: "azcopy", broken: &brokenSave{
		stderr: `(?m)^bash: line \d+: SUBDIR: unbound variable$`,
		why:    "save_metadata_line names $SUBDIR, which no one sets: bash stops under nounset before azcopy starts",
		repair: [2]string{"$SUBDIR/", "$CONTAINER/$SUB_DIR/"},
	}},
	{file: "helm-s3.yaml", env: helmEnv, prefix: "leakgate-bkt/e7/", persona: "aws"},
	{file: "helm-gcs.yaml", env: helmEnv, prefix: "leakgate-bkt/e7/", persona: "gsutil"},
	{file: "helm-s3-public.yaml", env: helmEnv, prefix: "leakgate-bkt/e7/", persona: "aws"},
	{file: "helm-s5cmd-public.yaml", env: helmEnv, prefix: "leakgate-bkt/e7/", persona: "s5cmd", broken: &brokenSave{
		stderr: `(?m)^s5cmd: ERROR "pipe - s3://leakgate-bkt/e7/metadata/epoch_ending_0-7\.meta --no-sign-request": expected destination argument$`,
		why:    "save_metadata_line runs `s5cmd pipe - URL --no-sign-request`: urfave/cli stops parsing flags at \"-\", so pipe gets three arguments where it takes one",
		repair: [2]string{`s5cmd pipe - "s3://$BUCKET/$SUB_DIR/$FILE_HANDLE" --no-sign-request`, `s5cmd --no-sign-request pipe "s3://$BUCKET/$SUB_DIR/$FILE_HANDLE"`},
	}},
	{file: "helm-r2.yaml", env: helmEnv, prefix: "leakgate-bkt/e7/", persona: "aws"},
}

func roundtripEntries() []TableEntry {
	var entries []TableEntry
	for _, rt := range roundtrips {
		name := strings.TrimSuffix(rt.file, ".yaml")
		entries = append(entries, Entry(rt.file, Label(reports.Label(reports.LabelConfig, name), "roundtrip", reports.Label(reports.LabelPolicy, "killgroup")), SpecTimeout(2*time.Minute), rt))
	}
	return entries
}

var _ = Describe("every shipped config, unchanged, against fakecli", func() {
	DescribeTable("backs up through its write commands and restores through its read commands", func(ctx SpecContext, rt roundtrip) {
		s := newSpecRun(ctx, "roundtrip-"+strings.TrimSuffix(rt.file, ".yaml"))
		bucket := filepath.Join(s.dir, "bucket")
		personaDir := filepath.Join(s.dir, "personas")
		for _, dir := range []string{bucket, personaDir} {
			Expect(os.Mkdir(dir, 0o755)).To(Succeed())
		}
		Expect(fakeenv.LinkPersonas(w.Bins["fakecli"], personaDir)).To(Succeed())
		cfg, err := adapter.LoadConfig(sharedConfig(rt.file))
		Expect(err).NotTo(HaveOccurred())
		a := s.roundtripAdapter(cfg, personaDir, bucket, rt.env)
		obj := func(handle string) string { return filepath.Join(bucket, filepath.FromSlash(rt.prefix+handle)) }

		By("backing up through the config's write commands")
		backup, err := fixture.Write(ctx, a, roundtripSpec)
		if rt.broken != nil {
			stderr := s.stderrTail(20)
			Expect(err).To(HaveOccurred(), "%s: the shipped save_metadata_line cannot work", rt.broken.why)
			var xe *adapter.ExitError
			Expect(errors.As(err, &xe)).To(BeTrue(), "a non-zero exit: %v", err)
			Expect(xe.Op).To(Equal(adapter.OpSaveMetadataLine))
			Expect(err.Error()).To(ContainSubstring("save_metadata_line"), "the error names the command")
			Expect(stderr).To(MatchRegexp(rt.broken.stderr), "stderr says why")
			AddReportEntry("shipped config fails", fmt.Sprintf("%s\nerror: %v\nstderr:\n%s", rt.broken.why, err, stderr))

			By("repairing only save_metadata_line and backing up again: the read path is what we prove")
			Expect(cfg.Commands.SaveMetadataLine).To(ContainSubstring(rt.broken.repair[0]), "the shipped command changed upstream")
			fixed := *cfg
			fixed.Commands.SaveMetadataLine = strings.ReplaceAll(cfg.Commands.SaveMetadataLine, rt.broken.repair[0], rt.broken.repair[1])
			backup, err = fixture.Write(ctx, s.roundtripAdapter(&fixed, personaDir, bucket, rt.env), roundtripSpec)
		}
		Expect(err).NotTo(HaveOccurred(), "storage stderr:\n%s", s.stderrTail(20))
		Expect(backup.Metadata).To(HaveLen(roundtripSpec.Manifests))
		for _, h := range backup.Metadata {
			data, err := os.ReadFile(obj(h))
			Expect(err).NotTo(HaveOccurred(), "metadata file %s is in the bucket under %s", h, rt.prefix)
			Expect(data[:min(2, len(data))]).To(Equal([]byte{0x1f, 0x8b}), "%s is stored gzip'ed, as the config's `gzip -c |` makes it", h)
		}

		By("restoring through the config's read commands, every waypoint verified")
		cache := filepath.Join(s.dir, "metadata-cache")
		res, err := restore.Run(ctx, restore.Options{Adapter: a, Concurrency: roundtripConcurrency, MetadataCacheDir: cache})
		immediate := s.diffNow()
		Expect(err).NotTo(HaveOccurred(), "storage stderr:\n%s", s.stderrTail(20))
		epochs := backup.Epochs()
		Expect(res.Manifests).To(Equal(len(backup.Manifests)))
		Expect(res.LedgerInfos).To(Equal(epochs))
		Expect(res.Waypoints).To(Equal(epochs), "every waypoint verified")
		Expect(res.LastEpoch).To(BeEquivalentTo(epochs - 1))

		By("moving the last backup's metadata aside with backup_metadata_file: the restore misses that backup")
		n := len(backup.Manifests)
		last := backup.Metadata[n-1]
		Expect(a.BackupMetadataFile(ctx, last)).To(Succeed(), "storage stderr:\n%s", s.stderrTail(20))
		Expect(obj(last)).NotTo(BeAnExistingFile())
		Expect(obj("metadata_backup/" + path.Base(last))).To(BeAnExistingFile())
		res, err = restore.Run(ctx, restore.Options{Adapter: a, Concurrency: roundtripConcurrency, MetadataCacheDir: cache})
		Expect(err).NotTo(HaveOccurred(), "storage stderr:\n%s", s.stderrTail(20))
		perManifest := epochs / n
		Expect(res.Manifests).To(Equal(n - 1))
		Expect(res.Waypoints).To(Equal(epochs - perManifest))
		Expect(res.LastEpoch).To(Equal(backup.Manifests[n-2].LastEpoch))
		Expect(filepath.Join(cache, path.Base(last))).NotTo(BeAnExistingFile(), "the stale cache file is gone")

		By("moving a middle backup's metadata aside too: the plan has a gap and says where")
		mid := backup.Manifests[1]
		Expect(a.BackupMetadataFile(ctx, backup.Metadata[1])).To(Succeed())
		_, err = restore.Run(ctx, restore.Options{Adapter: a, Concurrency: roundtripConcurrency, MetadataCacheDir: cache})
		Expect(err).To(MatchError(manifest.ErrGap))
		var gap *manifest.GapError
		Expect(errors.As(err, &gap)).To(BeTrue())
		Expect(*gap).To(Equal(manifest.GapError{From: mid.FirstEpoch, To: mid.LastEpoch}))

		By("checking the journal: every storage command ran the config's CLI, reporting its op and handle")
		invs := s.invocations()
		checkRoundtripJournal(invs, rt, backup)

		By("settling and counting what is left")
		leaks := s.settle(ctx, time.Second)
		AddReportEntry(reports.EntryName, counts(leaks, invs))
		AddReportEntry("at-return", counts(immediate, invs))
		const reason = "§1: every child is joined at EOF, and §7: KillGroup leaves nothing when a command ends"
		AddReportEntry("expectation", reason)
		Expect(immediate).NotTo(harness.HaveLeaked(immediate.Baseline), "%s; at the restore's return:", reason)
		Expect(leaks).NotTo(harness.HaveLeaked(leaks.Baseline), "%s:", reason)
	}, roundtripEntries())
})

// roundtripAdapter is an adapter for cfg under KillGroup whose children see
// only the given bucket and persona folder, carry the spec's run marker and
// write the spec's journal. env is the process environment the config needs.
func (s *specRun) roundtripAdapter(cfg *adapter.Config, personaDir, bucket string, env []string) *adapter.Adapter {
	return &adapter.Adapter{
		Config: cfg,
		Policy: adapter.KillGroup,
		Env:    roundtripEnv(personaDir, bucket, append([]string{s.run.Env(), fakecli.EnvJournal + "=" + s.journal}, env...)...),
		Stderr: s.stderr,
		OnSpawn: func(sp adapter.Spawn) {
			harness.Remember(sp.Pid, sp.Args, "spawn")
		},
	}
}

// roundtripEnv is this process's environment without LEAKGATE_ variables
// and without the helm configs' inputs, with personaDir first on PATH, the
// bucket set, then extra.
func roundtripEnv(personaDir, bucket string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "LEAKGATE_"), name == "PATH", name == "BUCKET", name == "SUB_DIR", name == "R2_ENDPOINT_URL":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "PATH="+personaDir+string(os.PathListSeparator)+os.Getenv("PATH"), fakecli.EnvBucket+"="+bucket)
	return append(env, extra...)
}

// checkRoundtripJournal checks what the storage CLI did: every invocation is
// rt's persona and ended; only the shipped broken save_metadata_line (if
// any) failed; reads, writes, listings and moves happened, each with the
// op and the bucket-relative handle the fault plan would see.
func checkRoundtripJournal(invs []journal.Invocation, rt roundtrip, backup *fixture.Backup) {
	ops := map[string]int{}
	failed := 0
	for _, inv := range invs {
		Expect(inv.Persona).To(Equal(rt.persona), "%v", inv)
		Expect(inv.Ended).To(BeTrue(), "%v", inv)
		if inv.Exit != 0 {
			failed++
			Expect(rt.file).To(Equal("helm-s5cmd-public.yaml"), "only s5cmd's pipe with three arguments fails: %v", inv)
			Expect(inv.Exit).To(Equal(fakecli.ExitUsage), "%v", inv)
			continue
		}
		ops[inv.Op]++
		switch inv.Op {
		case "read", "write", "move":
			Expect(inv.Handle).To(HavePrefix(rt.prefix), "%v", inv)
		case "list":
			Expect(inv.Handle).To(BeEmpty(), "%v", inv)
		}
	}
	if rt.broken != nil && rt.persona == "s5cmd" {
		Expect(failed).To(Equal(1), "the shipped save_metadata_line ran s5cmd once")
	}
	Expect(ops).To(HaveKeyWithValue("move", 2), "two backup_metadata_file runs")
	Expect(ops).To(HaveKeyWithValue("list", 3), "one list_metadata_files per restore")
	Expect(ops["write"]).To(BeNumerically(">=", len(backup.Metadata)+len(backup.Manifests)*(1+backup.Spec.ChunksPerManifest)))
	Expect(ops["read"]).To(BeNumerically(">=", len(backup.Manifests)*(1+backup.Spec.ChunksPerManifest)+len(backup.Metadata)))
	var chunkRead bool
	for _, inv := range invs {
		chunkRead = chunkRead || (inv.Op == "read" && inv.Handle == rt.prefix+backup.Manifests[0].Chunks[0])
	}
	Expect(chunkRead).To(BeTrue(), "the first chunk's read is journaled under its bucket key")
}
