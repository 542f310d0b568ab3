package harness_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/harness"
)

// openAndDrop opens path and drops the *os.File unclosed: only its
// finalizer will close the fd. It returns the fd number.
//
//go:noinline
func openAndDrop(t *testing.T, path string) int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(f.Fd())
}

func TestCheckFinalizers(t *testing.T) {
	dir := t.TempDir()
	dropped := filepath.Join(dir, "dropped")
	kept := filepath.Join(dir, "kept")
	for _, p := range []string{dropped, kept} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dropped, _ = filepath.EvalSymlinks(dropped)
	kept, _ = filepath.EvalSymlinks(kept)
	before := take(t)
	held, err := os.Open(kept)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Close() })
	num := openAndDrop(t, dropped)

	leaks := harness.Diff(before, take(t))
	if len(leaks.FDs) != 2 {
		t.Fatalf("want both files open, got:\n%s", leaks)
	}
	checked := leaks.CheckFinalizers()
	if len(checked.Finalized) != 1 || checked.Finalized[0].Num != num || checked.Finalized[0].Target != dropped {
		t.Errorf("Finalized = %v, want fd %d -> %s", checked.Finalized, num, dropped)
	}
	if len(checked.FDs) != 1 || checked.FDs[0].Num != int(held.Fd()) {
		t.Errorf("FDs = %v, want only the held fd %d", checked.FDs, held.Fd())
	}
	if checked.Count() != 2 || checked.Empty() {
		t.Errorf("Count() = %d, want 2: an fd only the collector closes is still a leak", checked.Count())
	}
	re := regexp.MustCompile(header(2) +
		`  fd ` + strconv.Itoa(int(held.Fd())) + ` -> ` + regexp.QuoteMeta(kept) + `\n` +
		`  fd ` + strconv.Itoa(num) + ` -> ` + regexp.QuoteMeta(dropped) + `: closed only by the garbage collector: code that relies on finalizers$`)
	if s := checked.String(); !re.MatchString(s) {
		t.Errorf("report\n%s\ndoes not match\n%s", s, re)
	}
	if len(leaks.Finalized) != 0 || len(leaks.FDs) != 2 {
		t.Errorf("CheckFinalizers changed its receiver: %+v", leaks)
	}
	runtime.KeepAlive(held)
	held.Close()
	expectCleanSince(t, before)
}

// A started exec.Cmd dropped without Wait holds a pidfd that only the
// os.Process cleanup (runtime.AddCleanup) releases.
func TestCheckFinalizersPidfd(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	pid := startAndDrop(t, run)
	t.Cleanup(func() {
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
	})

	leaks := harness.Diff(before, take(t))
	pidfds := 0
	for _, fd := range leaks.FDs {
		if fd.Kind == harness.FDPidfd {
			pidfds++
		}
	}
	if pidfds != 1 {
		t.Fatalf("want one pidfd among the leaks, got:\n%s", leaks)
	}
	checked := leaks.CheckFinalizers()
	if len(checked.Finalized) != 1 || checked.Finalized[0].Kind != harness.FDPidfd || len(checked.FDs) != 0 {
		t.Errorf("want the pidfd in Finalized and no other fd, got:\n%s", checked)
	}
	if len(checked.Children) != 1 || checked.Children[0].Pid != int32(pid) {
		t.Errorf("the child is still a leak (the collector reaps nothing), got:\n%s", checked)
	}
}

//go:noinline
func startAndDrop(t *testing.T, run harness.Marker) int {
	cmd := exec.Command("sleep", "300")
	cmd.Env = append(os.Environ(), run.Env())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestCheckFinalizersLeavesOthersAlone(t *testing.T) {
	t.Run("no fds", func(t *testing.T) {
		l := harness.Leaks{Self: int32(os.Getpid())}
		if got := l.CheckFinalizers(); len(got.Finalized) != 0 {
			t.Errorf("Finalized = %v", got.Finalized)
		}
	})
	t.Run("another process", func(t *testing.T) {
		l := harness.Leaks{Self: 1, FDs: []harness.FD{{Num: 99, Target: "/nonexistent"}}}
		if got := l.CheckFinalizers(); len(got.FDs) != 1 || len(got.Finalized) != 0 {
			t.Errorf("for another process, want l unchanged, got %+v", got)
		}
	})
}
