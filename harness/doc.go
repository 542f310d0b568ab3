// Package harness proves that code leaks no child processes and no fds.
//
// It keeps three things apart, as gomega's gleak does for goroutines:
//
//   - Snapshot: Take scans /proc and records the calling process's
//     descendants (any state, zombies included), the processes carrying the
//     run marker that escaped its tree, and its own open fds.
//   - Judgement: Diff compares a snapshot with a baseline and returns Leaks,
//     whose String is a report a person can act on; HaveLeaked, HaveZombies
//     and HaveEscaped are the same judgement as Gomega matchers.
//   - Retry: Settle polls until the leaks are gone or have stayed the same
//     for a quiet window; Eventually(harness.Take) does the same with
//     Gomega; VerifyNone does it for plain go test.
//
// Cleanup kills and reaps what a run left, and RunReaped wraps a test binary
// so that orphans are reaped at once and anything tagged with the binary's
// runs is swept when it exits.
//
//	func TestMain(m *testing.M) { os.Exit(harness.RunReaped(m.Run)) }
//
//	func TestRestore(t *testing.T) {
//		before, err := harness.Take()
//		…
//		run := harness.NewRun("restore")
//		cmd.Env = append(os.Environ(), run.Env())
//		…
//		harness.VerifyNone(t, before)
//	}
//
// # Vocabulary
//
// Children are descendants present now and not in the baseline, in any
// state; zombies are those in state Z; escaped processes carry this
// process's run marker (LEAKGATE_RUN, see MarkerEnv) but are not its
// descendants (reparented to a subreaper or to init); fds are the measuring
// process's fds open now and not in the baseline. Processes are identified
// by pid and start time, so a reused pid is a new process.
//
// # Limits
//
// Everything is read from /proc (Linux only); measuring never starts a
// process. Take reads every process's stat and environ and costs a few
// milliseconds. Fds are those of the whole process: run measured tests
// sequentially, not with t.Parallel. Go's os.Process holds a pidfd until
// Wait, so a started, unwaited exec.Cmd shows up as a child and a pidfd.
//
// The package uses gopsutil v3 for the process list, names, command lines
// and environments, and reads /proc/<pid>/stat itself for the state letter,
// ppid, process group and start time: gopsutil 3.24.5's Status maps letters
// to words (T and t both become "stop"; X, P and others become ""), and its
// CreateTime has one-second resolution on a boot time it recomputes from
// /proc/uptime on every call. Process.Children is never used: it runs pgrep,
// a child of the very process being measured.
package harness
