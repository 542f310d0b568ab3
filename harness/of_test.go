package harness_test

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/harness"
)

// measured is a bash that, once told to go on, starts a sleep and opens fd
// 7 on /dev/null, then says "ready": another process to measure with Of.
type measured struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startMeasured(t *testing.T, run harness.Marker) measured {
	t.Helper()
	cmd := exec.Command("bash", "-c", `read go; sleep 300 & exec 7</dev/null; echo ready; wait`)
	cmd.Env = append(os.Environ(), run.Env())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
		cmd.Wait()
	})
	return measured{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
}

func (m measured) goOn(t *testing.T) {
	t.Helper()
	if _, err := io.WriteString(m.stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	line, err := m.out.ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("measured bash said %q, %v; want ready", line, err)
	}
}

func TestOf(t *testing.T) {
	run := harness.NewMarker(t.Name())
	m := startMeasured(t, run)
	pid := m.cmd.Process.Pid
	opts := []harness.Option{harness.Of(pid), harness.WithMarker(run.ID)}
	var before harness.Snapshot
	waitFor(t, "bash to wait for input", func() bool {
		before = take(t, opts...)
		return before.Self == int32(pid) && len(before.Descendants) == 0
	})
	s := sample(t, ctxFor(t, time.Minute), before, harness.PollEvery(5*time.Millisecond))
	m.goOn(t)

	var leaks harness.Leaks
	waitFor(t, "bash's child to exec sleep", func() bool {
		leaks = harness.Diff(before, take(t, opts...))
		return len(leaks.Children) == 1 && leaks.Children[0].Name == "sleep"
	})
	if len(leaks.Children) != 1 || leaks.Children[0].Name != "sleep" || leaks.Children[0].PPid != int32(pid) {
		t.Errorf("want bash's sleep as the one child, got:\n%s", leaks)
	}
	if len(leaks.FDs) != 1 || leaks.FDs[0].Num != 7 || leaks.FDs[0].Target != "/dev/null" {
		t.Errorf("want bash's fd 7 -> /dev/null as the one fd, got:\n%s", leaks)
	}
	if len(leaks.Escaped) != 0 {
		t.Errorf("the caller, bash's parent, is not escaped:\n%s", leaks)
	}
	if s := leaks.String(); !regexpMatch(`\n  pid \d+ \[[RS] \w+\] ppid `+strconv.Itoa(pid)+` \(bash\), pgid `+strconv.Itoa(pid)+`, age \d+\.\ds\n      spawned as: sleep 300\n  fd 7 -> /dev/null$`, s) {
		t.Errorf("report:\n%s", s)
	}
	// Settle and the sampler measure the baseline's process.
	waitSample(t, s, "a sample of bash's child and fd", func(p harness.Point) bool { return p.Children == 1 && p.FDs == 1 })
	settled, err := harness.Settle(ctxFor(t, 10*time.Second), before, harness.Quiet(50*time.Millisecond))
	if err != nil || len(settled.Children) != 1 || len(settled.FDs) != 1 {
		t.Errorf("Settle(before of pid %d): %v\n%s", pid, err, settled)
	}

	// Once the process is gone: ErrGone, and the sampler stops by itself.
	unix.Kill(-pid, unix.SIGKILL)
	m.cmd.Wait()
	if _, err := harness.Take(opts...); !errors.Is(err, harness.ErrGone) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(pid)) {
		t.Errorf("Take(Of(gone pid)) error = %v, want ErrGone naming pid %d", err, pid)
	}
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the sampler did not stop by itself once bash was gone")
	}
	if tl := s.Stop(); tl.Failed != 1 || tl.Peak.Children != 1 || tl.Peak.FDs != 1 {
		t.Errorf("timeline: Failed %d (want 1: the sample that found bash gone), Peak %+v (want 1 child, 1 fd)", tl.Failed, tl.Peak)
	}
}
