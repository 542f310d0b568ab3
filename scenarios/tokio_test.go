package scenarios_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/gate"
	"github.com/leakgate/leakgate/journal"
	"github.com/leakgate/leakgate/reports"
	"github.com/leakgate/leakgate/restore/adapter"
)

// The Rust/tokio test subject (subjects/tokio-restore, label
// subject:tokio): the same restore matrix, run on the real runtime instead
// of the Go port's emulation of it, as a foreign restore under `leakgate
// run` (gate_test.go). Each variant (label variant:<name>) is what the
// reader's drop does: shipped (nothing: tokio drops the Child), audit-fix
// (the audit's Drop: `let _ = child.kill();`, a future never polled),
// kill-on-drop (Command::kill_on_drop(true)) and group (own process group,
// SIGKILL the group on drop, reap). `leakgate summary` sets each cell
// beside its Go peer (tokioPeers).

// envRustSubject set to "require" (as .ci/run does) turns a missing
// bin/tokio-restore into a failure instead of a skip.
const envRustSubject = "LEAKGATE_RUST_SUBJECT"

// tokioLinger keeps the subject's runtime running after the restore
// returned (--linger): the restore as a library in a long-lived process,
// as the in-process Go matrix runs its port, so that tokio's background
// reaping of dropped children is what is measured, not the exit. It is
// the most the subject waits: it ends sooner once nothing the restore
// started is left (checkLinger).
const tokioLinger = 3 * time.Second

// tokioVariants are the subject's --variant values, in column order.
var tokioVariants = reports.Order(reports.LabelVariant)

// tokioPeers is the Go policy each variant is compared with.
var tokioPeers = map[string]adapter.Policy{
	"shipped": adapter.Drop, "audit-fix": adapter.Kill, "kill-on-drop": adapter.Kill, "group": adapter.KillGroup,
}

var (
	tokioOnce    sync.Once
	tokioBin     string
	tokioMissing string
	// tokioPart is the subject's optional part: bin/tokio-restore.
	tokioPart = &optionalPart{what: "the tokio subject", env: envRustSubject, family: "subject:tokio"}
)

// requireTokioSubject returns bin/tokio-restore's path; if it is not built
// it skips the spec with the reason, or fails it under
// LEAKGATE_RUST_SUBJECT=require.
func requireTokioSubject() string {
	tokioOnce.Do(func() {
		p, err := filepath.Abs(filepath.Join("..", "bin", "tokio-restore"))
		if err == nil {
			_, err = os.Stat(p)
		}
		if err != nil {
			tokioMissing = fmt.Sprintf("bin/tokio-restore is not built (%v): `make build` builds it when cargo is present; "+
				"`make rust-subject` installs Debian's cargo and crates (.ci/run does)", err)
			return
		}
		tokioBin = p
	})
	tokioPart.require(tokioMissing)
	return tokioBin
}

// tokioCell is one point of the subject's fault × variant × config matrix.
type tokioCell struct {
	fault, variant, config string
}

func tokioEntries() []TableEntry {
	var entries []TableEntry
	for _, config := range []string{"local", "s3"} {
		for _, fault := range faultOrder {
			for _, v := range tokioVariants {
				entries = append(entries, Entry(
					fmt.Sprintf("fault %s, variant %s, config %s", fault, v, config),
					Label(reports.Label(reports.LabelSubject, "tokio"), reports.Label(reports.LabelVariant, v), reports.Label(reports.LabelFault, fault), reports.Label(reports.LabelConfig, config)),
					SpecTimeout(2*time.Minute),
					tokioCell{fault: fault, variant: v, config: config},
				))
			}
		}
	}
	return entries
}

var _ = Describe("the tokio subject against a misbehaving storage CLI", func() {
	DescribeTable("fault × variant × config", func(ctx SpecContext, c tokioCell) {
		bin := requireTokioSubject()
		s := newSpecRun(ctx, fmt.Sprintf("tokio-%s-%s-%s", c.fault, c.variant, c.config))
		spec := plan(c.fault, w.Backups[c.config])
		AddReportEntry("plan", spec)
		argv := []string{bin, "bootstrap-db", "--variant", c.variant,
			"--read-timeout", msFlag(readTimeout), "--linger", tokioLinger.String(),
			"--command-adapter-config", w.Configs[c.config],
			"--concurrent-downloads", strconv.Itoa(concurrency),
			"--metadata-cache-dir", filepath.Join(s.dir, "metadata-cache"),
		}
		g := gateRestore(ctx, s, spec, argv)
		AddReportEntry("gate", g.text)
		AddReportEntry(reports.EntryName, g.counts())
		want := tokioExpectationFor(c)
		AddReportEntry("expectation", want.reason)

		By("checking the restore's outcome")
		out, err := os.ReadFile(filepath.Join(s.dir, "command-output.log"))
		Expect(err).NotTo(HaveOccurred())
		if c.fault == "none" {
			Expect(g.report.Status.OK()).To(BeTrue(), "a healthy backup restores:\n%s\n%s", g.text, out)
			Expect(string(out)).To(ContainSubstring(fmt.Sprintf("%d ledger infos verified", w.Backups[c.config].Epochs())))
		} else {
			Expect(g.report.Status.Code).To(Equal(1), "the %s fault makes the restore fail:\n%s\n%s", c.fault, g.text, out)
			m := w.Backups[c.config].Manifests[faultyManifest]
			Expect(string(out)).To(And(
				ContainSubstring("manifest "+m.Handle),
				ContainSubstring("chunk "+m.Chunks[faultyChunk]),
				ContainSubstring(tokioSymptom[c.fault]),
			), "the error names the manifest, the file handle and the fault's symptom")
		}
		stalled := stalledInvocation(s.invocations())
		want.checkLinger(string(out))

		By("checking that the gate cleaned up after itself")
		leaks := s.settle(ctx, time.Second) // also reports the timeline and the peak
		Expect(leaks.Empty()).To(BeTrue(), "leakgate left something behind:\n%s", leaks)

		want.check(g, stalled)
	}, tokioEntries())
})

// tokioSymptom is what the subject's error says for each fault.
var tokioSymptom = map[string]string{
	"truncate": "short record",
	"stall":    "read timeout",
	"corrupt":  "decode ledger info",
	"exit":     "bash exited with status 3",
}

// gatedKind is what a gated cell must show.
type gatedKind int

const (
	gatedClean            gatedKind = iota // no survivor, nothing escaped
	gatedStalledSurvives                   // the stalled CLI process outlives the subject, alive
	gatedGrandchildAlive                   // the stalled pipeline's aws and gzip, without bash, outlive it
	gatedGrandchildrenDie                  // the pipelines' aws and gzip escape alive, then die while the command runs
)

// gatedExpectation is a gated cell's claim and its reason.
type gatedExpectation struct {
	kind   gatedKind
	reason string
}

// tokioExpectationFor is the subject matrix's claims, each with its reason
// and the Go peer's expectation it matches.
func tokioExpectationFor(c tokioCell) gatedExpectation {
	peer := expectationFor(cell{fault: c.fault, policy: tokioPeers[c.variant], config: c.config}).reason
	why := func(k gatedKind, reason string) gatedExpectation {
		return gatedExpectation{k, fmt.Sprintf("tokio %s: %s (Go %s: %s)", c.variant, reason, tokioPeers[c.variant], peer)}
	}
	switch {
	case c.fault == "none":
		return why(gatedClean, "every child is joined at EOF; no reader is dropped")
	case c.variant == "group":
		return why(gatedClean, "the drop SIGKILLs the child's group and reaps bash before it returns")
	case c.fault == "stall" && c.variant == "shipped":
		return why(gatedStalledSurvives, "nothing kills a dropped child: the stalled one stays alive")
	case c.fault == "stall" && c.variant == "audit-fix":
		return why(gatedStalledSurvives, "the audit's Drop runs `let _ = child.kill();`, and tokio's Child::kill is an async fn: "+
			"the future is dropped unpolled, no signal is sent, and the stalled child stays alive as under shipped. "+
			"This cell differs from Go kill on purpose: Go's kill is the fix the audit meant, not the one it wrote "+
			"(subjects/tokio-restore/tests/poc.rs: 32 stalled children all alive a second after the drop)")
	case c.fault == "stall" && c.config == "s3":
		return why(gatedGrandchildAlive, "tokio SIGKILLs bash when the Child drops; the pipeline's aws and gzip survive")
	case c.variant == "kill-on-drop" && c.config == "s3":
		return why(gatedGrandchildrenDie, "tokio SIGKILLs bash when the Child drops; the in-flight pipelines' aws and gzip, "+
			"which were writing, are orphaned alive (escaped) until their next write meets the closed pipe and SIGPIPE ends them "+
			"(about 1.5 s at the backdrop's pace), all before the subject exits. The gate counts every process that escaped alive; "+
			"the Go kill cell's leaks entry counts what is left once settled (none), and its at-return entry shows the same "+
			"escaped pipelines (0/0/12/0 for corrupt): same behaviour, different measure")
	case c.variant == "kill-on-drop":
		return why(gatedClean, "tokio SIGKILLs bash at drop and reaps it in the background; grandchildren that were writing die of SIGPIPE")
	default: // shipped, audit-fix: the dropped children were writing
		return why(gatedClean, "a dropped child that was writing gets SIGPIPE, exits and tokio's orphan queue reaps it")
	}
}

// lingerLine is the subject's word on its linger (linger::linger):
// "tokio-restore: lingered 412ms of 3s: nothing left".
var lingerLine = regexp.MustCompile(`tokio-restore: lingered \S+ of \S+: (nothing left|the limit)`)

// checkLinger asserts how the subject's linger ended, from its output
// out: at the limit where something the restore started stays (a stalled
// child or pipeline), as soon as nothing is left everywhere else. The
// early end is the subject's evidence that nothing more can happen to what
// the restore started; it is what keeps a clean cell from waiting out the
// whole tokioLinger.
func (want gatedExpectation) checkLinger(out string) {
	m := lingerLine.FindStringSubmatch(out)
	Expect(m).NotTo(BeNil(), "the subject says how long it lingered:\n%s", out)
	AddReportEntry("lingered", m[0])
	end := "nothing left"
	if want.kind == gatedStalledSurvives || want.kind == gatedGrandchildAlive {
		end = "the limit"
	}
	Expect(m[1]).To(Equal(end), "how the linger ended: %s", m[0])
}

// check asserts want on the gate's report.
func (want gatedExpectation) check(g gated, stalled *journal.Invocation) {
	By("asserting the cell's expectation: " + want.reason)
	var alive []gate.Process
	for _, p := range append(append([]gate.Process{}, g.report.Survivors...), g.report.Escaped...) {
		if p.State != "Z" && p.State != "X" && !p.Reaped {
			alive = append(alive, p)
		}
	}
	switch want.kind {
	case gatedClean:
		Expect(g.report.Survivors).To(BeEmpty(), "%s\n%s", want.reason, g.text)
		Expect(g.report.Escaped).To(BeEmpty(), "%s\n%s", want.reason, g.text)
	case gatedStalledSurvives:
		Expect(stalled).NotTo(BeNil(), "the journal records the stalled call")
		Expect(alive).To(ContainElement(HaveField("Pid", stalled.PID)),
			"the stalled process (pid %d) outlives the subject, alive:\n%s", stalled.PID, g.text)
	case gatedGrandchildAlive:
		var names []string
		for _, p := range alive {
			names = append(names, p.Name)
		}
		Expect(names).To(ContainElements("aws", "gzip"), "the stalled pipeline's aws and gzip outlive the killed bash:\n%s", g.text)
		Expect(names).NotTo(ContainElement("bash"), "kill_on_drop kills bash:\n%s", g.text)
	case gatedGrandchildrenDie:
		Expect(g.report.Survivors).To(BeEmpty(), "%s\n%s", want.reason, g.text)
		Expect(g.report.Escaped).NotTo(BeEmpty(), "%s\n%s", want.reason, g.text)
		Expect(g.report.Escaped).To(HaveEach(HaveField("Name", BeElementOf("aws", "gzip"))), "only the pipelines' aws and gzip escape:\n%s", g.text)
		Expect(alive).To(BeEmpty(), "every escaped process died before the subject exited:\n%s", g.text)
	}
}

var _ = Describe("the audit's proof of concept under real tokio", Label("audit-poc", reports.Label(reports.LabelSubject, "tokio"), reports.Label(reports.LabelConfig, "local")), func() {
	// The audit's PoC on the subject (`tokio-restore poc`): 32 readers
	// opened through open_for_read on a manifest (a few KiB: each child
	// writes it all into the pipe and exits) and dropped unread, then the
	// runtime keeps running for a second, as the audit's test sleeps, while
	// the subject watches the children's states. The audit expects 32
	// zombies; tokio reaps every one of them.
	DescribeTable("32 readers opened and dropped unread", func(ctx SpecContext, variant string) {
		bin := requireTokioSubject()
		s := newSpecRun(ctx, "tokio-audit-poc-"+variant)
		argv := []string{bin, "poc", "--variant", variant, "--readers", strconv.Itoa(pocReaders), "--linger", "1s",
			"--command-adapter-config", w.Configs["local"], "--file-handle", w.Backups["local"].Manifests[0].Handle}
		g := gateRestore(ctx, s, "", argv)
		out, err := os.ReadFile(filepath.Join(s.dir, "command-output.log"))
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("poc", string(out))
		AddReportEntry(reports.EntryName, g.counts())
		reason := fmt.Sprintf("tokio %s: each dropped child writes its few KiB, exits and tokio's orphan queue reaps it: no zombie is left, unlike the audit's 32", variant)
		if variant == "group" {
			reason = "tokio group: the drop kills the group and reaps bash before it returns: nothing is left even right after the drop"
		}
		AddReportEntry("expectation", reason)

		Expect(g.report.Status.OK()).To(BeTrue(), "the PoC ran:\n%s\n%s", g.text, out)
		Expect(string(out)).To(MatchRegexp(`after [^:]+: 0 alive, 0 zombies, %d reaped`, pocReaders), "%s", reason)
		if variant == "group" {
			Expect(string(out)).To(ContainSubstring("right after the drop: 0 alive, 0 zombies, %d reaped", pocReaders), reason)
		}
		Expect(g.report.Pass).To(BeTrue(), "nothing outlives the subject:\n%s", g.text)
		leaks := s.settle(ctx, time.Second)
		Expect(leaks.Empty()).To(BeTrue(), "leakgate left something behind:\n%s", leaks)
	},
		Entry("shipped", Label(reports.Label(reports.LabelVariant, "shipped")), SpecTimeout(time.Minute), "shipped"),
		Entry("audit-fix", Label(reports.Label(reports.LabelVariant, "audit-fix")), SpecTimeout(time.Minute), "audit-fix"),
		Entry("kill-on-drop", Label(reports.Label(reports.LabelVariant, "kill-on-drop")), SpecTimeout(time.Minute), "kill-on-drop"),
		Entry("group", Label(reports.Label(reports.LabelVariant, "group")), SpecTimeout(time.Minute), "group"),
	)
})
