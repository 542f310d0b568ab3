// Package harness proves that code leaks no child processes, no fds and no
// goroutines.
//
// It keeps three things apart, as gomega's gleak does for goroutines:
//
//   - Snapshot: Take scans /proc and records the calling process's (or,
//     with Of, another process's) descendants (any state, zombies
//     included), the processes carrying the run marker that escaped its
//     tree, its open fds, and with WithGoroutines the caller's goroutines.
//   - Judgement: Diff compares a snapshot with a baseline and returns Leaks,
//     whose String is a report a person can act on; Attribute names the
//     holders of a leaked pipe's other end, Annotate adds what a journal
//     knows (Fact: the command line as run, the injected fault),
//     CheckFinalizers tells fds only the garbage collector closes from true
//     leaks; HaveLeaked, HaveZombies and HaveEscaped are the same judgement
//     as Gomega matchers. Stuck judges whether the leaks will hold still:
//     what proves it for each (a fault injector's word that it stalls a
//     process, a process asleep on pipes or children only such processes
//     can wake, a pidfd a thread waits on), and what nothing proves.
//   - Retry: Settle polls until the leaks are gone or have stayed the same
//     for a quiet window, or, with OnEvidence, until Stuck proves they
//     will; Eventually(harness.Take) does the same with Gomega; VerifyNone
//     and VerifyTestMain do it for plain go test.
//
// Sample records a Timeline of the leak counts while a run goes on: a run
// that holds 64 zombies until it exits leaks even if its exit cleans them.
//
// Sweep kills and reaps what a run left (the CLI's `leakgate sweep` does
// the same from outside), and RunReaped wraps a test binary so that orphans
// are reaped at once and anything tagged with the binary's markers is swept
// when it exits; VerifyTestMain does that and fails the binary if its tests
// leaked.
//
// # Getting started
//
// Check a whole test binary, goleak style:
//
//	func TestMain(m *testing.M) { harness.VerifyTestMain(m) }
//
// Or one test: take a baseline, mark what the code under test starts, and
// verify at the end:
//
//	func TestRestore(t *testing.T) {
//		before, err := harness.Take(harness.WithGoroutines())
//		…
//		m := harness.NewMarker("restore")
//		cmd.Env = append(os.Environ(), m.Env())
//		…
//		harness.VerifyNone(t, before)
//	}
//
// With Gomega, poll a snapshot until nothing has leaked; a failure prints
// the report:
//
//	Eventually(harness.Take).ShouldNot(harness.HaveLeaked(before))
//	leaks, err := harness.Settle(ctx, before)
//	Expect(leaks).NotTo(harness.HaveLeaked(before))
//
// # Options
//
// Every call takes Options, and refuses one that does not apply to it or
// has a bad value (ErrOption): what to measure (Of, WithMarker,
// WithGoroutines), what to ignore (IgnoringProcs, IgnoringFDs and
// IgnoringGoroutines, each taking Gomega matchers, so filters compose),
// and how to poll (PollEvery for every call that polls, Quiet and
// OnEvidence for settling, Within for VerifyNone).
//
// A report:
//
//	expected no leaks since baseline (2 children, 11 fds); found 4:
//	  pid 4242 [Z zombie] ppid 4100 (restore.test), pgid 4242, age 1.2s
//	      spawned as: bash -c 'fakecli cp s3://b/x - | gzip -cd'   (from spawn)
//	      ran as: fakecli cp s3://b/x -   (from journal)   fault: exit code=3
//	  pid 4244 [S sleeping] ppid 1 (systemd), pgid 4242, age 1.1s — escaped its parent (tagged run r17)
//	      spawned as: gzip -cd
//	  fd 17 -> pipe:[88123]; other end: pid 4244 (gzip) fd 0
//	  fd 19 -> /tmp/x: closed only by the garbage collector: code that relies on finalizers
//
// # Vocabulary
//
// Children are descendants present now and not in the baseline, in any
// state; zombies are those in state Z; escaped processes carry this
// process's run marker (LEAKGATE_RUN, see MarkerEnv) but are not its
// descendants (reparented to a subreaper or to init); fds are the measured
// process's fds open now and not in the baseline. Processes are identified
// by pid and start time, so a reused pid is a new process.
//
// # Limits
//
// Everything is read from /proc (Linux only); measuring never starts a
// process (a test checks RUSAGE_CHILDREN around every entry point). A
// snapshot reads /proc/<pid>/stat of every process, the floor for finding
// descendants, and reads environ and cmdline only of processes it has not
// seen running their current exec image: the registry remembers them by
// pid, start time and the image's addresses from stat (which an exec
// replaces). Kernel threads are skipped. A steady-state snapshot costs
// little more than that floor however many descendants are alive, so its
// cost grows with the processes on the machine; docs/design/snapshots.md
// has the measured figures (BenchmarkSnapshot, make bench) and why the
// package reads /proc itself rather than through gopsutil. Fds
// are those of the whole process: run measured tests sequentially, not
// with t.Parallel. The files the harness itself has open in one goroutine
// (a Sampler's reads) never show in a snapshot taken in another. Go's
// os.Process holds a pidfd until Wait, so a started, unwaited exec.Cmd shows
// up as a child and a pidfd (CheckFinalizers calls such a pidfd closed only
// by the garbage collector once the Cmd is unreachable).
//
// The /proc reads are internal/procfs's (docs/design/snapshots.md tells
// why); the killing and reaping is internal/sweep's (docs/design/sweep.md).
package harness
