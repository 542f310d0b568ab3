package scenarios_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/journal"
	"github.com/leakgate/leakgate/reports"
	"github.com/leakgate/leakgate/restore"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/fixture"
)

// The real storage CLIs. The other matrices run fakecli, an imitation of
// the CLIs; these specs run the real ones, to show where the imitation
// holds and where it differs (each outcome's fakecli note, in
// realcli_outcomes_test.go). The shipped helm configs run unchanged
// with Debian's aws (helm-r2.yaml) and the system curl (helm-oci.yaml)
// against objserver, a fault-injecting object server on loopback that
// serves the suite's bucket folder. The faults happen where they really
// do, on the network, and the CLIs react as they really do: they retry,
// buffer, time out (or not), and exit with their own statuses.
//
// The harness measures them as it measures fakecli: aws and gzip are
// grandchildren (bash's children), carry the spec's run marker, and are
// counted as children while in our tree and as escaped once reparented.
// aws's transfer threads (s3transfer runs a thread pool) are threads of the
// one Python process, not processes; anything aws or curl started would
// inherit the marker and be counted too. objserver journals every request
// with the pid of the process that sent it, so the cells assert which aws
// or curl stalled, and how often each CLI retried.

// realFixtureSpec is smaller than the fakecli matrix's: every read is a
// real aws process (0.5 s of Python's CPU, idle; about 1 s on a loaded
// 2-core machine), and the aws cells are most of the suite's time. So one
// chunk per manifest and three manifests: a full restore is 10 reads (a
// listing, 3 metadata files, 3 manifests, 3 chunks), and a faulty cell's
// 7 (its metadata comes from the cache: see realWarmCache). Chunks (5 ×
// 16 KiB records, incompressible) are still bigger than a pipe's 64 KiB.
// The fault is in the first manifest's chunk and two manifests follow it:
// with C = 4 every preheat runs at once, so both later chunks are
// mid-download (paced: realConfig.backdropFor) when the error hits.
//
// It was 5 manifests with the fault in the second (16 reads a restore, 15
// a faulty cell). What that showed beyond this: a manifest restored before
// the fault (the restore had made progress: the fakecli matrix shows it,
// and a real CLI adds nothing to it), and a third dropped download of the
// same kind as the other two. It cost 8 aws processes, 4–8 s, a cell.
var realFixtureSpec = fixture.Spec{Manifests: 3, ChunksPerManifest: 1, RecordsPerChunk: 5, RecordSize: 16 << 10}

// realFaultyManifest and realFaultyChunk place the fault: the (only)
// chunk of the first manifest, so that the two later manifests are in
// flight.
const realFaultyManifest, realFaultyChunk = 0, 0

const (
	// realConcurrency is --concurrent-downloads for the real-cli cells.
	realConcurrency = 4
)

// realReadTimeout is the adapter's read timeout in the real-cli cells: a
// safety net only, as long as aws's own socket read timeout (botocore's
// 60 s). A healthy aws read shows no byte for a long while: Python starts
// (0.5–1 s of CPU, much longer on a loaded machine), then s3transfer reads
// up to 256 KiB of the body before its first write to stdout. The stall
// cells do not wait for it: see realInterrupt.
const realReadTimeout = 60 * time.Second

// realCell is one point of the real-cli matrix.
type realCell struct {
	fault  string
	policy adapter.Policy
	cfg    realConfig
}

func realEntries() []TableEntry {
	var entries []TableEntry
	for _, c := range realConfigs {
		for _, fault := range realFaultOrder {
			for _, policy := range adapter.Policies() {
				entries = append(entries, Entry(
					fmt.Sprintf("fault %s, policy %s, config %s (%s)", fault, policy, c.name, c.cli),
					Label("real-cli", reports.Label(reports.LabelFault, fault), reports.Label(reports.LabelPolicy, policy.String()), reports.Label(reports.LabelConfig, c.name)),
					SpecTimeout(3*time.Minute),
					realCell{fault: fault, policy: policy, cfg: c},
				))
			}
		}
	}
	return entries
}

var _ = Describe("the concurrent restore with real storage CLIs against a faulty object server", Label("real-cli"), func() {
	It("runs Debian's aws, the system curl and python, whatever comes first on PATH", SpecTimeout(2*time.Minute), func(ctx SpecContext) {
		t := requireRealCLIs()
		cmd := exec.CommandContext(ctx, "bash", "-c", `for t in aws curl python; do p=$(command -v "$t"); echo "$t $p $(readlink -f "$p")"; done`)
		cmd.Env = t.env()
		got, err := cmd.Output()
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Split(strings.TrimSpace(string(got)), "\n")).To(Equal([]string{
			"aws " + filepath.Join(t.dir, "aws") + " " + debianAWS,
			"curl " + filepath.Join(t.dir, "curl") + " " + systemCurl,
			"python " + filepath.Join(t.dir, "python") + " " + mustEval(debianPython),
		}))
		Expect(t.versions["aws"]).To(MatchRegexp(`^aws-cli/2\.\S+ Python/3\.\S+ .*source/\S+\.debian`), "Debian's build of aws-cli v2")
		Expect(t.versions["python"]).To(HavePrefix("Python 3."))
		Expect(t.versions["curl"]).To(HavePrefix("curl "))
		first, _ := exec.LookPath("aws")
		AddReportEntry("real CLIs", fmt.Sprintf("aws: %s (%s); curl: %s; python: %s (%s); first aws on the inherited PATH: %s (not used)",
			t.versions["aws"], debianAWS, t.versions["curl"], t.versions["python"], debianPython, first))
	})

	DescribeTable("real-cli matrix (network fault, policy, config)", func(ctx SpecContext, c realCell) {
		t := requireRealCLIs()
		backup := realFixture(ctx, t, c.cfg)
		spec := realPlan(c.fault, c.cfg, backup)
		AddReportEntry("plan", spec)
		AddReportEntry("cli", t.versions[c.cfg.cli])

		// The server first, then the baseline: its process and our end of
		// its stdin pipe are in the baseline, not leaks.
		srv, err := startObjServer(ctx, t, GinkgoT().TempDir(), spec)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() {
			err := srv.stop()
			log, _ := os.ReadFile(srv.log)
			Expect(err).NotTo(HaveOccurred(), "objserver's stderr:\n%s", log)
		})
		s := newSpecRun(ctx, fmt.Sprintf("real-%s-%s-%s", c.fault, c.policy, c.cfg.name))
		s.serverFacts = func() []harness.Fact { return srv.facts(c.cfg.readTimeout) }

		cfg, err := adapter.LoadConfig(sharedConfig(c.cfg.file))
		Expect(err).NotTo(HaveOccurred())
		a := &adapter.Adapter{
			Config:      cfg,
			Policy:      c.policy,
			Env:         t.env(append(c.cfg.configEnv(srv.endpoint), s.run.Env())...),
			ReadTimeout: realReadTimeout,
			Stderr:      s.stderr,
			OnSpawn:     func(sp adapter.Spawn) { harness.Remember(sp.Pid, sp.Args, "spawn") },
		}
		target := c.cfg.handle(backup.Manifests[realFaultyManifest].Chunks[realFaultyChunk])
		outcome := realOutcomes[c.cfg.cli][c.fault]
		runCtx, cancelRun := context.WithCancel(ctx)
		defer cancelRun()
		interrupted := func() string { return "" }
		if outcome.cause == "interrupted" {
			interrupted = realInterrupt(runCtx, cancelRun, srv.journal, target)
		}
		cache := filepath.Join(s.dir, "metadata-cache")
		if c.fault != "none" {
			Expect(realWarmCache(c.cfg, cache)).To(Succeed())
			AddReportEntry("metadata cache", "warm: a clean restore's cache, copied (no metadata file is downloaded)")
		}
		res, err := restore.Run(runCtx, restore.Options{
			Adapter:          a,
			Concurrency:      realConcurrency,
			MetadataCacheDir: cache,
		})
		immediate := s.diffNow()
		if why := interrupted(); why != "" {
			AddReportEntry("interrupted", why)
		}

		By("checking the restore's outcome")
		if c.fault == "none" {
			Expect(err).NotTo(HaveOccurred(), "storage stderr:\n%s", s.stderrTail(20))
			Expect(res.LedgerInfos).To(Equal(backup.Epochs()))
			Expect(res.Waypoints).To(Equal(backup.Epochs()), "every waypoint verified")
			Expect(res.Manifests).To(Equal(len(backup.Manifests)))
		} else {
			Expect(err).To(HaveOccurred())
			if outcome.cause != "interrupted" {
				m := backup.Manifests[realFaultyManifest]
				Expect(err.Error()).To(And(
					ContainSubstring("manifest "+m.Handle),
					ContainSubstring("chunk "+m.Chunks[realFaultyChunk]),
				), "the error names the manifest and the file handle")
			}
			Expect(err).To(causedByReal(outcome.cause), "%s\nstorage stderr:\n%s", outcome.reason, s.stderrTail(20))
			AddReportEntry("error", err.Error())
			AddReportEntry("real CLI", outcome.reason)
			AddReportEntry("vs fakecli", outcome.fakecli)
		}

		By("settling and counting what is left")
		want := realExpectationFor(c)
		if c.fault != "none" {
			srv.hurry() // see hurriedReason
			AddReportEntry("hurried", hurriedReason+" (objserver's SIGUSR1)")
		}
		leaks := s.settle(ctx, want.quiet)
		reqs := srv.requests()
		AddReportEntry(reports.EntryName, realCounts(leaks, reqs))
		AddReportEntry("at-return", realCounts(immediate, reqs))
		AddReportEntry("expectation", want.reason)
		AddReportEntry("requests", requestSummary(reqs, target))

		By("checking the journal: every request, every retry")
		heads, gets := countRequests(reqs, target)
		if c.fault == "none" {
			for _, r := range reqs {
				Expect(r.Exit).To(BeNumerically("<", 300), "a healthy run gets only 2xx: %s", r)
				Expect(r.Persona).To(Equal(c.cfg.cli), "every request comes from %s: %s", c.cfg.cli, r)
			}
			// One listing, then one download per metadata file (the cache
			// is cold), manifest and chunk: a GET each, and for aws a
			// HeadObject before each GET.
			gets := 1 + len(backup.Metadata) + len(backup.Manifests)
			for _, m := range backup.Manifests {
				gets += len(m.Chunks)
			}
			wantHeads := 0
			if c.cfg.cli == "aws" {
				wantHeads = gets - 1
			}
			var methods []string
			for _, r := range reqs {
				methods = append(methods, r.Argv[0])
			}
			Expect(methods).To(And(
				HaveLen(gets+wantHeads),
				WithTransform(func(ms []string) int { return countOf(ms, "GET") }, Equal(gets)),
				WithTransform(func(ms []string) int { return countOf(ms, "HEAD") }, Equal(wantHeads)),
			), "every request of a healthy restore is in the journal, once")
		} else {
			Expect([]int{heads, gets}).To(Equal([]int{outcome.heads, outcome.gets}),
				"HEAD and GET requests for the faulty chunk (%s): %s\n%s", target, outcome.reason, requestSummary(reqs, target))
			for _, r := range reqs {
				if r.Handle == target {
					Expect(r.Persona).To(Equal(c.cfg.cli), "the journal names the client process: %s", r)
					Expect(r.Run).To(HavePrefix(s.run.ID), "the client carries the spec's run marker: %s", r)
				}
			}
		}

		want.check(leftBehind{immediate: immediate, leaks: leaks, stalled: stalledRequest(reqs, target), cli: c.cfg.cli})
	}, realEntries())
})

// realInterrupt cancels the restore (cancel) as soon as the journal at
// path shows the stalled request for handle: the shipped tool has no read
// timeout, aws's own (60 s, and s3transfer retries the GET 5 times) and
// curl's (none) are far beyond a spec, so a stalled restore ends the way an
// operator's Ctrl-C or a supervisor's deadline ends it. Cancelling aborts
// the restore like an error: the in-flight readers are dropped under the
// policy. The returned func stops the watch and says what it did ("" if it
// did not interrupt).
func realInterrupt(ctx context.Context, cancel context.CancelFunc, path, handle string) func() string {
	done := make(chan string, 1)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				done <- ""
				return
			case <-tick.C:
			}
			invs, err := journal.Read(path)
			if err != nil {
				continue // a line being written; the next poll reads it whole
			}
			if r := stalledRequest(invs, handle); r != nil {
				cancel()
				done <- fmt.Sprintf("interrupted once the journal showed the stalled request: %s", r)
				return
			}
		}
	}()
	return func() string {
		cancel()
		return <-done
	}
}
