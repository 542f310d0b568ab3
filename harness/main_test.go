package harness_test

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/leakgate/leakgate/harness"
)

// testModeEnv makes the test binary act as a fixture program (see
// testMode) instead of running tests: the RunReaped tests re-execute the
// binary with it.
const testModeEnv = "LEAKGATE_HARNESS_TESTMODE"

func TestMain(m *testing.M) {
	stop := startUnrelated() // only for benchmarks: see BenchmarkSnapshot
	code := harness.RunReaped(func() int {
		if mode := os.Getenv(testModeEnv); mode != "" {
			return testMode(mode)
		}
		return m.Run()
	})
	stop()
	os.Exit(code)
}

// testMode runs inside a RunReaped inner process started by a test.
func testMode(mode string) int {
	switch mode {
	case "clean":
		return 0
	case "leak", "leak-fail":
		run := harness.NewMarker("leak")
		pid, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "300"}, &syscall.ProcAttr{
			Env: append(os.Environ(), run.Env()),
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "testmode leak:", err)
			return 2
		}
		fmt.Printf("run=%s pid=%d\n", run.ID, pid)
		if mode == "leak-fail" {
			return 1
		}
		return 0
	case "verify-clean", "verify-leak", "verify-ignored", "verify-ignorable", "verify-failing":
		verifyMode(mode) // exits
	case "measure-own":
		return measureOwn()
	case "wait-signal":
		fmt.Printf("ready pid=%d\n", os.Getpid())
		time.Sleep(5 * time.Minute) // ended by the test's signal, or by Pdeathsig
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown %s %q\n", testModeEnv, mode)
	return 2
}
