package harness_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/internal/procfs"
)

// unrelatedCount is how many unrelated processes BenchmarkSnapshot's
// tree-ratio runs beside: processes outside the test process's tree and
// the RunReaped wrapper's, as a shared CI host's.
const unrelatedCount = 5000

// startUnrelated starts unrelatedCount `sleep 900` processes outside this
// process's tree when benchmarks run (-test.bench set) and this is not the
// RunReaped inner process: a shell in a new session (its own process
// group) forks them and exits, so they are reparented away before
// RunReaped makes this process a subreaper. It returns their group's stop
// function (SIGKILL to the group; each sleep also ends by itself after 15
// minutes, should the stop never run), a no-op when none were started.
//
//	defer startUnrelated()()
func startUnrelated() func() {
	if os.Getenv("LEAKGATE_REAPED") != "" {
		return func() {}
	}
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		return func() {}
	}
	sh := exec.Command("sh", "-c", fmt.Sprintf(`i=0; while [ $i -lt %d ]; do sleep 900 </dev/null >/dev/null 2>&1 & i=$((i+1)); done`, unrelatedCount))
	sh.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := sh.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "start %d unrelated processes: %v\n", unrelatedCount, err)
		return func() {}
	}
	pgid := sh.Process.Pid
	stop := func() { _ = unix.Kill(-pgid, unix.SIGKILL) }
	if err := sh.Wait(); err != nil {
		stop()
		fmt.Fprintf(os.Stderr, "start %d unrelated processes: %v\n", unrelatedCount, err)
		return func() {}
	}
	return stop
}

// unrelatedRunning reports whether the unrelated processes are on the
// machine (at least unrelatedCount processes).
func unrelatedRunning() bool {
	pids, err := procfs.Pids()
	return err == nil && len(pids) >= unrelatedCount
}
