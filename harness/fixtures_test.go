package harness_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/poll"
	"github.com/leakgate/leakgate/internal/procfs"
)

// child is a process a fixture started with syscall.ForkExec (no pidfd, no
// os/exec bookkeeping, so the only trace in a snapshot is the process).
type child struct {
	pid   int
	start uint64 // starttime ticks: the identity, checked before any kill
}

// spawnOpts tweaks spawn.
type spawnOpts struct {
	files   []uintptr // fds 0, 1, 2, … of the child; default /dev/null ×3
	setpgid bool
}

// spawn starts argv tagged with run and registers a t.Cleanup that kills
// and reaps it unless it is gone (or its pid reused) by then.
func spawn(t *testing.T, run harness.Marker, o spawnOpts, argv ...string) child {
	t.Helper()
	path, err := exec.LookPath(argv[0])
	if err != nil {
		t.Fatal(err)
	}
	files := o.files
	if files == nil {
		null, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		defer null.Close()
		files = []uintptr{null.Fd(), null.Fd(), null.Fd()}
	}
	env := os.Environ()
	if run.ID != "" {
		env = append(env, run.Env())
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   env,
		Files: files,
		Sys:   &syscall.SysProcAttr{Setpgid: o.setpgid},
	})
	if err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	st, err := procfs.ReadStat(int32(pid))
	if err != nil {
		t.Fatalf("stat of fresh child %d: %v", pid, err)
	}
	c := child{pid: pid, start: st.StartTicks}
	t.Cleanup(func() { c.kill() })
	return c
}

// kill SIGKILLs and reaps c if pid still names it. Safe to call twice.
func (c child) kill() {
	if st, err := procfs.ReadStat(int32(c.pid)); err != nil || st.StartTicks != c.start {
		return
	}
	_ = unix.Kill(c.pid, unix.SIGKILL)
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(c.pid, &ws, 0, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// wait reaps c, blocking.
func (c child) wait(t *testing.T) unix.WaitStatus {
	t.Helper()
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(c.pid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("wait4(%d): %v", c.pid, err)
		}
		return ws
	}
}

// gone reports whether c no longer exists (pid free or reused).
func (c child) gone() bool {
	st, err := procfs.ReadStat(int32(c.pid))
	return err != nil || st.StartTicks != c.start
}

// waitFor polls cond (internal/poll) until it returns true, failing t
// after 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !poll.Until(context.Background(), 10*time.Second, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// waitState polls until c is in the given /proc state.
func waitState(t *testing.T, c child, state byte) {
	t.Helper()
	waitFor(t, "pid "+strconv.Itoa(c.pid)+" in state "+string(state), func() bool {
		st, err := procfs.ReadStat(int32(c.pid))
		return err == nil && st.State == state
	})
}

func take(t *testing.T, opts ...harness.Option) harness.Snapshot {
	t.Helper()
	s, err := harness.Take(opts...)
	if err != nil {
		t.Fatalf("Take: %v", err)
	}
	return s
}

// sweepAfter registers harness.Sweep for run as a safety net, run last.
func sweepAfter(t *testing.T, run harness.Marker, before harness.Snapshot) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := harness.Sweep(ctx, run, before); err != nil {
			t.Errorf("safety-net cleanup: %v", err)
		}
	})
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// execCommand is exec.Command, named so tests read as fixtures.
func execCommand(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

// reaped reports whether the test runs under the RunReaped wrapper.
func reaped() bool { return os.Getenv(harness.ReapedEnv) != "" }

// sample starts harness.Sample, failing t on a refused option.
func sample(t testing.TB, ctx context.Context, before harness.Snapshot, opts ...harness.Option) *harness.Sampler {
	t.Helper()
	s, err := harness.Sample(ctx, before, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
