package scenarios_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/journal"
	"github.com/leakgate/leakgate/reports"
	"github.com/leakgate/leakgate/restore/adapter"
)

// Stopping bin/restore mid-restore: SIGTERM and SIGKILL, per policy, per
// option, per config.
//
// bin/restore runs as a subprocess of the test process (the binary the
// suite built, w.Bins["restore"]) with the personas first on PATH, the run
// marker, the spec's journal and a fault plan that stalls every chunk read,
// --concurrent-downloads 8 and no read timeout: once the metadata and the
// first 8 manifests are read, 8 chunk readers are in flight, each blocked on
// a child stalled forever (capped at cancelStallCap). The spec waits for
// that in the journal (8 stalled reads started), then signals bin/restore's pid — only its pid, as `kill PID`, a
// supervisor or systemd's KillMode=mixed do; not its process group, as a
// terminal's Ctrl-C would (bin/restore runs in its own group, as a shell job
// does, and under every policy but killgroup its children share that group,
// so a group signal would hit them directly).
//
// What "ours" means here. The measured process is bin/restore, but a dead
// process cannot be measured: the spec waits until bin/restore has exited
// and reaped it, then measures from the test process, bin/restore's parent,
// whose tree held bin/restore's. Nothing bin/restore started can still be in
// our tree then: when it died its children were reparented to the nearest
// subreaper, harness.RunReaped's wrapper (which reaps them when they die).
// So in the "leaks" entry
//   - children are descendants of bin/restore still in our tree: none once it
//     is gone (a non-zero count means bin/restore itself, or something it
//     started, was still attached to us: a bug in the spec or the binary);
//   - escaped are the processes carrying the spec's run marker that live on
//     outside our tree: everything bin/restore left, bash, the storage CLI
//     and gzip alike — the survivors this file is about (and, until it has
//     swept, the --guard watchdog);
//   - zombies are those of them in state Z: none stay, the wrapper reaps;
//   - fds are the test process's own new fds (bin/restore's are gone with
//     it; what its survivors hold is theirs);
//   - spawned is the journal's count of storage CLI invocations.
// The "survivors" entry names the live escaped processes by command.
//
// What prevents SIGKILL's leaks. A SIGKILLed process runs no code, so no
// policy acts. Measured here:
//   - --pdeathsig: PR_SET_PDEATHSIG on each bash. The kernel kills bash with
//     bin/restore, and what bash execs (local: bash is fakecli), but the
//     signal is cleared on fork: a pipeline's aws and gzip survive (s3).
//   - --guard: a watchdog child of bin/restore, in its own process group,
//     reading a pipe only bin/restore holds open; at EOF (bin/restore gone,
//     however) it SIGKILLs every process tagged with bin/restore's token.
//     Nothing survives, under every policy and config.
// Argued, not measured: running each child in its own process group adds
// nothing to --pdeathsig (no one is left to kill the group; it is what
// killgroup already does, and killgroup leaks like the rest under SIGKILL);
// making bin/restore a child subreaper (PR_SET_CHILD_SUBREAPER) does not
// help either: it adopts orphans of its descendants only while it lives,
// and when it is the one killed its children are handed to the next
// subreaper up (here the test's wrapper) or init, alive.

// cancelStallCap caps the stalls of these specs, so that a survivor that
// escaped every cleanup still ends.
const cancelStallCap = "2m"

// cancelPlan stalls every chunk read before its first byte (the stalled
// download of docs/backup-cli.md#drop); the metadata and manifest reads are
// served. Before the first byte, not after some: a child that still had
// bytes to write when bin/restore died would write them into a pipe nobody
// reads and die of SIGPIPE, so which children survive a signal would depend
// on how far each had got when it came (measured: after=8KiB lost one
// local fakecli of 8 under load). Nothing here ever writes, so the journal's
// "stalled read started" is as good as "stalled".
const cancelPlan = `stall on="*.chunk"`

// cancelCell is one spec: which signal, policy, option and config.
type cancelCell struct {
	signal syscall.Signal
	policy adapter.Policy
	option string // "none", "pdeathsig" or "guard": the bin/restore flag
	config string
}

// signalLabel is the label value of a signal: "TERM", "KILL".
func signalLabel(s syscall.Signal) string {
	if s == syscall.SIGKILL {
		return "KILL"
	}
	return "TERM"
}

func cancelEntries() []TableEntry {
	var entries []TableEntry
	add := func(sig syscall.Signal, option string) {
		for _, config := range []string{"local", "s3"} {
			for _, policy := range adapter.Policies() {
				c := cancelCell{signal: sig, policy: policy, option: option, config: config}
				entries = append(entries, Entry(
					fmt.Sprintf("SIG%s, policy %s, option %s, config %s", signalLabel(sig), policy, option, config),
					Label(reports.Label(reports.LabelPolicy, policy.String()), reports.Label(reports.LabelSignal, signalLabel(sig)), reports.Label(reports.LabelOption, option), reports.Label(reports.LabelConfig, config)),
					SpecTimeout(time.Minute),
					c,
				))
			}
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		for _, option := range reports.Order(reports.LabelOption) {
			add(sig, option)
		}
	}
	return entries
}

// cancelExpectation is what must be left alive after bin/restore has gone:
// command name → count, and why.
type cancelExpectation struct {
	survivors map[string]int
	reason    string
}

// inflightPipeline is what each in-flight reader runs: s3's open_for_read is
// bash running `aws s3 cp … - | gzip -cd`; local's is `exec fakecli …`,
// one process.
func inflightPipeline(config string, only ...string) map[string]int {
	procs := map[string]int{"bash": concurrency, "aws": concurrency, "gzip": concurrency}
	if config == "local" {
		procs = map[string]int{"fakecli": concurrency}
	}
	if len(only) > 0 {
		for name := range procs {
			if !slices.Contains(only, name) {
				delete(procs, name)
			}
		}
	}
	return procs
}

// cancelExpectationFor is this file's claims, each with its reason.
func cancelExpectationFor(c cancelCell) cancelExpectation {
	none := map[string]int{}
	switch {
	case c.option == "guard":
		return cancelExpectation{none, "the guard sees bin/restore's pipe close and SIGKILLs every process tagged with its token"}
	case c.signal == syscall.SIGTERM && c.policy == adapter.KillGroup:
		return cancelExpectation{none, "§7: cancellation closes every reader in flight; each close kills the whole group and waits for it"}
	case c.option == "pdeathsig":
		return cancelExpectation{inflightPipeline(c.config, "aws", "gzip"),
			"bash dies (by the policy, or by its parent-death signal when bin/restore exits), and what it exec'd with it (local: fakecli); " +
				"a pipeline's aws and gzip survive: the parent-death signal is not inherited"}
	case c.signal == syscall.SIGKILL:
		return cancelExpectation{inflightPipeline(c.config),
			"a SIGKILLed process runs no cleanup: under every policy each stalled reader's processes live on"}
	case c.policy == adapter.Kill:
		return cancelExpectation{inflightPipeline(c.config, "aws", "gzip"),
			"§1: the audit's fix kills bash; a pipeline's aws and gzip survive (local: bash is fakecli, killed)"}
	case c.policy == adapter.Drop:
		return cancelExpectation{inflightPipeline(c.config),
			"§1 tokio: closing drops the pipes only; a stalled child never writes, never gets SIGPIPE, never exits"}
	default: // abandon
		return cancelExpectation{inflightPipeline(c.config),
			"§1 Go: abandon closes nothing and kills nothing; bin/restore's exit closes its pipe ends, which a stalled child never notices"}
	}
}

var _ = Describe("stopping bin/restore mid-restore", Label("cancel"), func() {
	DescribeTable("signal × policy × option × config", func(ctx SpecContext, c cancelCell) {
		s := newSpecRun(ctx, fmt.Sprintf("cancel-%s-%s-%s-%s", signalLabel(c.signal), c.policy, c.option, c.config))
		AddReportEntry("plan", cancelPlan)

		args := []string{"bootstrap-db",
			"--command-adapter-config", w.Configs[c.config],
			"--concurrent-downloads", fmt.Sprint(concurrency),
			"--metadata-cache-dir", filepath.Join(s.dir, "metadata-cache"),
			"--cleanup-policy", c.policy.String(),
			"--read-timeout", "0",
		}
		if c.option != "none" {
			args = append(args, "--"+c.option)
		}
		cmd := exec.Command(w.Bins["restore"], args...)
		cmd.Env = w.env(
			s.run.Env(),
			fakecli.EnvJournal+"="+s.journal,
			fakecli.EnvFaults+"="+cancelPlan,
			fakecli.EnvStallCap+"="+cancelStallCap,
		)
		cmd.Stderr = s.stderr // its children's stderr too
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		Expect(cmd.Start()).To(Succeed())
		harness.Remember(cmd.Process.Pid, cmd.Args, "spawn")
		exited := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(exited)
		}()
		// Runs before newSpecRun's cleanup (LIFO): bin/restore must be gone
		// and waited for before the run's leftovers are swept.
		DeferCleanup(func() {
			select {
			case <-exited:
			default:
				_ = cmd.Process.Kill()
				<-exited
			}
		})

		By("waiting until bin/restore has its 8 readers in flight, each stalled")
		Eventually(func() (int, error) {
			select {
			case <-exited:
				return 0, StopTrying("bin/restore exited before the signal: " + cmd.ProcessState.String() + "\n" + s.stderrTail(20))
			default:
			}
			invs, err := journal.Read(s.journal)
			return len(stalledReads(invs)), err
		}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(10*time.Millisecond).
			Should(Equal(concurrency), "stalled chunk reads started, per the journal")

		By(fmt.Sprintf("sending SIG%s to bin/restore (pid %d)", signalLabel(c.signal), cmd.Process.Pid))
		Expect(cmd.Process.Signal(c.signal)).To(Succeed())
		Eventually(exited).WithContext(ctx).WithTimeout(30*time.Second).Should(BeClosed(), "bin/restore exits")
		AddReportEntry("exit", cmd.ProcessState.String())
		if c.signal == syscall.SIGKILL {
			ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
			Expect(ws.Signaled() && ws.Signal() == syscall.SIGKILL).To(BeTrue(), "killed by SIGKILL: %v", cmd.ProcessState)
		} else {
			Expect(cmd.ProcessState.ExitCode()).To(Equal(143), "exit 128+SIGTERM; stderr:\n%s", s.stderrTail(20))
			Expect(s.stderrTail(20)).To(ContainSubstring("stopped by SIGTERM (exit 143)"))
		}

		By("settling and naming what survives")
		want := cancelExpectationFor(c)
		leaks := s.settle(ctx, time.Second)
		got := survivors(leaks, s.run.ID)
		AddReportEntry(reports.EntryName, counts(leaks, s.invocations()))
		AddReportEntry("survivors", survivorText(got))
		AddReportEntry("expectation", want.reason)

		By("asserting: " + want.reason)
		Expect(leaks.Children).To(BeEmpty(), "bin/restore is gone: nothing it started can still be in our tree\n%s", leaks)
		Expect(leaks).NotTo(harness.HaveZombies(), "the wrapper reaps every orphan")
		Expect(got).To(Equal(want.survivors), "live processes of the run after bin/restore exited\n%s", leaks)
	}, cancelEntries())
})

// stalledReads are the journal's chunk reads that the stall fault hit and
// that have not ended.
func stalledReads(invs []journal.Invocation) []journal.Invocation {
	var out []journal.Invocation
	for _, inv := range invs {
		if strings.HasPrefix(inv.Fault, "stall") && !inv.Ended {
			out = append(out, inv)
		}
	}
	return out
}

// survivors counts, by command name, the live (not zombie) leaked
// processes that carry the run's marker, in our tree or escaped.
func survivors(l harness.Leaks, runID string) map[string]int {
	n := map[string]int{}
	for _, p := range slices.Concat(l.Children, l.Escaped) {
		if p.State != "Z" && p.Marker == runID {
			n[p.Name]++
		}
	}
	return n
}

// survivorText renders survivors sorted: "aws 8, gzip 8", or "none".
func survivorText(n map[string]int) string {
	if len(n) == 0 {
		return "none"
	}
	names := make([]string, 0, len(n))
	for name := range n {
		names = append(names, name)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = fmt.Sprintf("%s %d", name, n[name])
	}
	return strings.Join(parts, ", ")
}
