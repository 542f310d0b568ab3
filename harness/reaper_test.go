package harness_test

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/procfs"
)

// wrapperCmd re-executes this test binary as a fresh RunReaped wrapper
// whose inner process runs testMode(mode).
func wrapperCmd(t *testing.T, mode string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctxFor(t, time.Minute), exe, "-test.run=^$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, harness.ReapedEnv+"=") && !strings.HasPrefix(kv, harness.MarkerEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, testModeEnv+"="+mode)
	return cmd
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("wrapper: %v", err)
	return -1
}

func TestRunReaped(t *testing.T) {
	tests := []struct {
		mode      string
		innerCode int // what the inner process returned
		wantCode  int // what the wrapper returns
		leaks     bool
	}{
		{"clean", 0, 0, false},
		{"leak", 0, harness.ExitLeaked, true},
		{"leak-fail", 1, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			cmd := wrapperCmd(t, tt.mode)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			code := exitCode(t, cmd.Run())
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if !tt.leaks {
				if stderr.Len() != 0 {
					t.Errorf("stderr = %q, want empty", stderr.String())
				}
				return
			}
			m := regexp.MustCompile(`^run=((lg[0-9a-f]+)/\S+) pid=(\d+)\n$`).FindStringSubmatch(stdout.String())
			if m == nil {
				t.Fatalf("stdout %q: want run=<id> pid=<pid>", stdout.String())
			}
			runID, wrapperID, pid := m[1], m[2], m[3]
			re := regexp.MustCompile(`^harness\.RunReaped: run ` + wrapperID + `: the test process \(pid \d+\) exited with code ` + strconv.Itoa(tt.innerCode) + ` and left 1 tagged process behind; killed and reaped:\n` +
				`  pid ` + pid + ` \(sleep\) \[[SRZ] \w+\] sleep 300   \[LEAKGATE_RUN=` + regexp.QuoteMeta(runID) + `\]\n` +
				`harness\.RunReaped: run ` + wrapperID + `: exit code ` + strconv.Itoa(tt.wantCode) + `\n$`)
			if !re.MatchString(stderr.String()) {
				t.Errorf("stderr\n%s\ndoes not match\n%s", stderr.String(), re)
			}
			// The wrapper swept before exiting: nothing of its run remains.
			s := take(t, harness.WithMarker(wrapperID+"/"))
			for _, p := range append(s.Descendants, s.Escaped...) {
				if strings.HasPrefix(p.Marker, wrapperID+"/") {
					t.Errorf("left behind: %s", p)
				}
			}
		})
	}
}

// readReady starts cmd and returns the inner's pid from its "ready" line.
func readReady(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the inner's ready line: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "ready pid=")))
	if err != nil {
		t.Fatalf("ready line %q: %v", line, err)
	}
	return pid
}

func TestRunReapedForwardsSIGTERM(t *testing.T) {
	cmd := wrapperCmd(t, "wait-signal")
	inner := readReady(t, cmd)
	if inner == cmd.Process.Pid {
		t.Fatalf("inner pid %d is the wrapper's", inner)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd.Wait()); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit code %d, want %d (inner killed by SIGTERM)", code, 128+int(syscall.SIGTERM))
	}
}

func TestRunReapedInnerDiesWithWrapper(t *testing.T) {
	cmd := wrapperCmd(t, "wait-signal")
	inner := readReady(t, cmd)
	st, err := procfs.ReadStat(int32(inner))
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// The inner gets SIGKILL (Pdeathsig); as an orphan it is reaped by our
	// own wrapper, or by init about a second later.
	waitFor(t, "the inner process to die with its wrapper", func() bool {
		now, err := procfs.ReadStat(int32(inner))
		return err != nil || now.StartTicks != st.StartTicks
	})
}
