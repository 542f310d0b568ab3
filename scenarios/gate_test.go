package scenarios_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/gate"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/reports"
	"github.com/leakgate/leakgate/restore/adapter"
)

// `leakgate run` from the outside: the gate proving itself against
// bin/restore (label gate), and the matrix's foreign-binary option.
//
// Every run here is the built leakgate binary (w.Bins["leakgate"]) started
// by the test process with the spec's run marker in its environment: the
// gate nests its own marker under it, so the spec's cleanup (newSpecRun)
// still sweeps anything the gate somehow left, and s.settle checks that it
// left nothing in our tree.

// foreignRestoreEnv makes every matrix cell run an external restore command
// through `leakgate run` instead of the in-process restore.Run, e.g.
//
//	LEAKGATE_RESTORE_CMD='aptos-db-tool restore bootstrap-db' go tool ginkgo ./scenarios
//
// Its value is split into words as a shell would (quotes and backslashes,
// no expansions); "{policy}" in a word becomes the cell's policy name. The
// cell adds --command-adapter-config, --concurrent-downloads,
// --metadata-cache-dir and --target-db-dir, and the gate puts the cell's
// fault plan, journal, bucket, personas and run marker in its environment.
const foreignRestoreEnv = "LEAKGATE_RESTORE_CMD"

// Limits of a gated restore. gateStallCap ends a stalled fakecli (exit 124)
// well before gateTimeout, so a foreign tool without a read timeout fails
// instead of hanging.
const (
	gateSettle   = 2 * time.Second
	gateTimeout  = 90 * time.Second
	gateStallCap = 20 * time.Second
)

// gated is one `leakgate run` of a restore.
type gated struct {
	code   int         // leakgate's exit status
	text   string      // what it printed: the human report
	report gate.Report // its --json report
}

// counts is the spec's "leaks" entry from the gate's report: children are
// the survivors, escaped the escaped, fds the command's leaked fds.
func (g gated) counts() reports.Leaks {
	z := 0
	for _, p := range append(append([]gate.Process{}, g.report.Survivors...), g.report.Escaped...) {
		if p.State == "Z" {
			z++
		}
	}
	return reports.Leaks{
		Children: len(g.report.Survivors), Zombies: z, Escaped: len(g.report.Escaped),
		FDs: len(g.report.FDs.Leaked), Spawned: g.report.Journal.Invocations,
	}
}

// restoreFlags are the flags a cell adds to any restore command.
func restoreFlags(s *specRun, config string) []string {
	return []string{
		"--command-adapter-config", w.Configs[config],
		"--concurrent-downloads", strconv.Itoa(concurrency),
		"--metadata-cache-dir", filepath.Join(s.dir, "metadata-cache"),
		"--target-db-dir", filepath.Join(s.dir, "db"),
	}
}

// gateRestore runs argv under `leakgate run` with the spec's world: the
// personas, the bucket, faultSpec, the spec's journal and marker. The
// command's own fds under the DB and cache folders are not judged: a DB
// keeps its files open until it exits, by design.
func gateRestore(ctx context.Context, s *specRun, faultSpec string, argv []string) gated {
	flags := []string{
		"--personas", w.PersonaDir, "--bucket", w.Bucket, "--journal", s.journal,
		"--settle", gateSettle.String(), "--timeout", gateTimeout.String(),
		"--ignore-fd", "^" + regexp.QuoteMeta(s.dir) + "/(db|metadata-cache)/",
		"--command-output", filepath.Join(s.dir, "command-output.log"),
	}
	if faultSpec != "" {
		flags = append(flags, "--faults", faultSpec)
	}
	return leakgateRun(ctx, leakgateCall{
		env:     w.env(s.run.Env(), fakecli.EnvStallCap+"="+gateStallCap.String()),
		json:    filepath.Join(s.dir, "gate.json"),
		flags:   flags,
		argv:    argv,
		stdout:  s.stderr,
		explain: func() string { return "stderr:\n" + s.stderrTail(20) },
	})
}

// leakgateCall is one `bin/leakgate run --json FILE FLAGS… -- ARGV…`, run
// by leakgateRun.
type leakgateCall struct {
	env     []string      // leakgate's environment, which the command inherits
	json    string        // the --json report file
	flags   []string      // more flags of leakgate run, before --
	argv    []string      // the command
	stdin   io.Reader     // leakgate's stdin (the command's); nil: none
	stdout  io.Writer     // leakgate's stdout (the command's, without --command-output); nil: none
	explain func() string // what else to say when leakgate exits 2; may be nil
}

// leakgateRun runs the built leakgate binary as c says and reads its JSON
// report; the human report (leakgate's stderr) is the returned text. It
// fails the spec unless leakgate exits 0 or 1 and its exit status agrees
// with the report's verdict:
//
//	g := leakgateRun(ctx, leakgateCall{env: env, json: path, argv: []string{"ssh-agent", "-s"}})
func leakgateRun(ctx context.Context, c leakgateCall) gated {
	args := append(append([]string{"run", "--json", c.json}, c.flags...), "--")
	cmd := exec.CommandContext(ctx, w.Bins["leakgate"], append(args, c.argv...)...)
	cmd.Env = c.env
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdin, c.stdout, &out // the human report is on stderr
	By("running leakgate run -- " + strings.Join(c.argv, " "))
	err := cmd.Run()
	g := gated{text: out.String()}
	var xe *exec.ExitError
	switch {
	case errors.As(err, &xe):
		g.code = xe.ExitCode()
	case err != nil:
		Fail(fmt.Sprintf("leakgate run: %v", err))
	}
	explain := ""
	if c.explain != nil {
		explain = c.explain()
	}
	Expect(g.code).To(BeElementOf(0, 1), "leakgate run: exit 2 is a usage error or a command it could not start:\n%s%s", g.text, explain)
	data, err := os.ReadFile(c.json)
	Expect(err).NotTo(HaveOccurred(), "the --json report")
	Expect(json.Unmarshal(data, &g.report)).To(Succeed())
	Expect(g.code == 0).To(Equal(g.report.Pass), "exit status and verdict agree")
	return g
}

var _ = Describe("leakgate run, proving itself against bin/restore", Label("gate", reports.Label(reports.LabelConfig, "s3")), func() {
	// The shipped s3 config (aws … | gzip -cd) and the matrix's stall fault:
	// manifest 1's second chunk stalls after 8 KiB (until the stall cap),
	// the later manifests are paced so they are mid-download when the
	// restore's read timeout fires and it aborts. A stall, not a faster
	// fault, because it keeps the leaked processes alive: a child that dies
	// of SIGPIPE within one sampling interval of being orphaned is, to the
	// gate, indistinguishable from one killed with its parent (see package
	// gate).
	DescribeTable("a restore that fails mid-way", func(ctx SpecContext, policy adapter.Policy, pass bool, reason string) {
		s := newSpecRun(ctx, "gate-"+policy.String())
		spec := plan("stall", w.Backups["s3"])
		AddReportEntry("plan", spec)
		argv := append([]string{w.Bins["restore"], "bootstrap-db", "--cleanup-policy", policy.String(), "--read-timeout", msFlag(readTimeout)},
			restoreFlags(s, "s3")...)
		g := gateRestore(ctx, s, spec, argv)
		AddReportEntry("gate", g.text)
		AddReportEntry(reports.EntryName, g.counts())
		AddReportEntry("expectation", reason)

		Expect(g.report.Status.Code).To(Equal(1), "the restore itself fails (read timeout on the stalled chunk):\n%s", g.text)
		Expect(g.report.Journal.Faulted).To(BeNumerically(">=", 1), "the fault was injected:\n%s", g.text)
		if pass {
			Expect(g.code).To(Equal(0), "%s\n%s", reason, g.text)
			Expect(g.report.Survivors).To(BeEmpty())
			Expect(g.report.Escaped).To(BeEmpty())
		} else {
			Expect(g.code).To(Equal(1), "%s\n%s", reason, g.text)
		}
		// Which processes are alive after the restore: the stalled
		// download's pipeline, whole or without its bash. (Whether the gate
		// files them as escaped or as survivors depends on whether it looked
		// between bash's death and the restore's exit: both are leaks.)
		var alive []string
		for _, p := range append(append([]gate.Process{}, g.report.Survivors...), g.report.Escaped...) {
			if p.State != "Z" && p.State != "X" {
				alive = append(alive, p.Name)
			}
		}
		switch policy {
		case adapter.Kill:
			Expect(alive).To(ContainElements("aws", "gzip"), "the stalled pipeline's aws and gzip outlive the killed bash:\n%s", g.text)
			Expect(alive).NotTo(ContainElement("bash"), "kill kills bash:\n%s", g.text)
		case adapter.Drop, adapter.Abandon:
			Expect(alive).To(ContainElements("bash", "aws", "gzip"), "the stalled pipeline outlives the restore, whole:\n%s", g.text)
		}

		By("checking that the gate cleaned up after itself")
		leaks := s.settle(ctx, time.Second)
		Expect(leaks).NotTo(harness.HaveLeaked(leaks.Baseline), "leakgate left something behind:")
	},
		Entry("drop fails the gate", Label(reports.Label(reports.LabelPolicy, "drop")), SpecTimeout(2*time.Minute), adapter.Drop, false,
			"§1 tokio: a stalled child never exits, and the restore exits without it: it outlives the restore"),
		Entry("abandon fails the gate", Label(reports.Label(reports.LabelPolicy, "abandon")), SpecTimeout(2*time.Minute), adapter.Abandon, false,
			"§1 Go: nothing reaps a child that was never waited for: they outlive the restore"),
		Entry("kill fails the gate", Label(reports.Label(reports.LabelPolicy, "kill")), SpecTimeout(2*time.Minute), adapter.Kill, false,
			"§1: the audit's fix kills bash; the pipeline's aws and gzip survive it, outside the restore's tree"),
		Entry("killgroup passes the gate", Label(reports.Label(reports.LabelPolicy, "killgroup")), SpecTimeout(2*time.Minute), adapter.KillGroup, true,
			"§7: Close kills the whole group and reaps it before it returns: nothing outlives the restore"),
	)
})

// gateForeignCell is a matrix cell in foreign-binary mode: the command in
// cmdline, with the cell's adapter flags, under `leakgate run`. Only what
// holds for any restore is asserted: a healthy backup restores (exit 0) and
// leaves no process behind; a fault makes the restore fail. The policy
// expectations of the in-process matrix are about our port: they are
// reported (the "expectation" entry says so), not asserted. It returns what
// the gate found.
func gateForeignCell(ctx SpecContext, c cell, cmdline string) gated {
	words, err := shellWords(cmdline)
	Expect(err).NotTo(HaveOccurred(), "%s=%q", foreignRestoreEnv, cmdline)
	Expect(words).NotTo(BeEmpty(), "%s is blank", foreignRestoreEnv)
	for i := range words {
		words[i] = strings.ReplaceAll(words[i], "{policy}", c.policy.String())
	}
	s := newSpecRun(ctx, fmt.Sprintf("foreign-%s-%s-%s", c.fault, c.policy, c.config))
	spec := plan(c.fault, w.Backups[c.config])
	AddReportEntry("plan", spec)
	AddReportEntry("command", strings.Join(words, " "))
	g := gateRestore(ctx, s, spec, append(words, restoreFlags(s, c.config)...))
	AddReportEntry("gate", g.text)
	AddReportEntry(reports.EntryName, g.counts())
	AddReportEntry("expectation", fmt.Sprintf("foreign binary (%s): policy expectations are reported, not asserted; for our port's %s policy the in-process matrix expects: %s",
		foreignRestoreEnv, c.policy, expectationFor(c).reason))

	if c.fault == "none" {
		Expect(g.report.Status.OK()).To(BeTrue(), "a healthy backup restores:\n%s", g.text)
		Expect(g.report.Survivors).To(BeEmpty(), "§1: every child is joined at EOF; no reader is dropped:\n%s", g.text)
		Expect(g.report.Escaped).To(BeEmpty(), "§1: every child is joined at EOF; no reader is dropped:\n%s", g.text)
	} else {
		Expect(g.report.Status.OK()).To(BeFalse(), "the %s fault makes the restore fail:\n%s", c.fault, g.text)
	}
	leaks := s.settle(ctx, time.Second)
	Expect(leaks).NotTo(harness.HaveLeaked(leaks.Baseline), "leakgate left something behind:")
	return g
}

var _ = Describe("the matrix's foreign-binary option, pointed at bin/restore", Label("gate", "foreign"), func() {
	// The option as a team with aptos-db-tool would use it, proven on our
	// own binary, whose behaviour per policy the in-process matrix pins:
	// what the gate reports must agree with it.
	DescribeTable("a cell through "+foreignRestoreEnv, func(ctx SpecContext, c cell, pass bool) {
		g := gateForeignCell(ctx, c, w.Bins["restore"]+" bootstrap-db --cleanup-policy {policy} --read-timeout "+msFlag(readTimeout))
		Expect(g.report.Command).To(ContainElements("--cleanup-policy", c.policy.String(), "--target-db-dir"))
		Expect(g.report.Pass).To(Equal(pass), "the gate's verdict on our %s policy:\n%s", c.policy, g.text)
	},
		// No fault:/config: labels: these are not matrix cells, and
		// `leakgate summary` files specs into the matrix by those labels.
		Entry("no fault, drop, s3: clean", Label(reports.Label(reports.LabelPolicy, "drop")), SpecTimeout(2*time.Minute), cell{"none", adapter.Drop, "s3"}, true),
		Entry("stall, drop, s3: the stalled download outlives the restore", Label(reports.Label(reports.LabelPolicy, "drop")), SpecTimeout(2*time.Minute), cell{"stall", adapter.Drop, "s3"}, false),
		Entry("stall, killgroup, s3: clean", Label(reports.Label(reports.LabelPolicy, "killgroup")), SpecTimeout(2*time.Minute), cell{"stall", adapter.KillGroup, "s3"}, true),
	)
})

// shellWords splits s into words as a POSIX shell would, without
// expansions: blanks separate words; '…' quotes literally; "…" quotes with
// \ escaping \, ", $ and `; a \ outside quotes escapes the next byte.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("column %d: unterminated '", i+1)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case ch == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && strings.IndexByte("\\\"$`", s[j+1]) >= 0 {
					j++
				}
				cur.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("column %d: unterminated \"", i+1)
			}
			i = j
			inWord = true
		case ch == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("column %d: \\ at the end", i+1)
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

var _ = Describe("shellWords, which splits "+foreignRestoreEnv, Label("gate"), func() {
	DescribeTable("splitting", func(in string, want []string, wantErr string) {
		got, err := shellWords(in)
		if wantErr != "" {
			Expect(err).To(MatchError(ContainSubstring(wantErr)))
			return
		}
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(Equal(want))
	},
		Entry("plain", "aptos-db-tool restore  bootstrap-db", []string{"aptos-db-tool", "restore", "bootstrap-db"}, ""),
		Entry("quotes", `"/opt/my tools/db" 'a b' x\ y "q\"\\"`, []string{"/opt/my tools/db", "a b", "x y", `q"\`}, ""),
		Entry("empty quoted word", `a '' b`, []string{"a", "", "b"}, ""),
		Entry("glued", `--flag="a b"c`, []string{"--flag=a bc"}, ""),
		Entry("unterminated", `a 'b`, nil, "column 3: unterminated '"),
		Entry("unterminated double", `a "b`, nil, `column 3: unterminated "`),
	)
})
