package adapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/internal/procfs"
)

// writerCmd writes far more than a pipe holds, so it is always mid-write.
const writerCmd = "yes | head -c 20000000"

// stalledCmd is a hung download: a pipeline that writes nothing, forever.
const stalledCmd = "sleep 300 | cat"

// TestPolicyWritingChildClosedEarly closes a Reader whose child is writing.
func TestPolicyWritingChildClosedEarly(t *testing.T) {
	t.Parallel()
	for _, p := range Policies() {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			a := l.adapter(p, Commands{OpenForRead: writerCmd})
			a.Stderr = devNull(t)
			r := l.open(a, "big.chunk")
			bash := l.bash(r.Pid())
			pipeline := l.tree(r.Pid(), "yes", "head")
			buf := make([]byte, 4096)
			if _, err := io.ReadFull(r, buf); err != nil {
				t.Fatalf("read the first bytes: %v", err)
			}
			if err := r.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if _, err := r.Read(buf); !errors.Is(err, ErrClosed) {
				t.Errorf("Read after Close = %v, want ErrClosed", err)
			}
			switch p {
			case Drop:
				// SIGPIPE ends the pipeline; the background wait reaps bash.
				if !waitUntil(func() bool { return !present(bash) }) {
					now, _ := current(bash)
					t.Fatalf("drop: bash still present (%v); the background reaper should have reaped it", now)
				}
				// The kernel drops /proc/<pid> inside the reaping waitid,
				// just before the background goroutine closes waitDone.
				select {
				case <-r.c.waitDone:
				case <-time.After(pollDeadline):
					t.Errorf("drop: bash gone but not reaped by the Reader's background wait")
				}
				for _, q := range pipeline {
					if !waitUntil(func() bool { return !present(q) }) {
						t.Errorf("drop: %v still present", q)
					}
				}
			case Abandon:
				abandonedStaysUnreaped(t, r, bash, pipeline)
			case Kill:
				if present(bash) {
					now, _ := current(bash)
					t.Errorf("kill: bash still present when Close returned: %v", now)
				}
			case KillGroup:
				if !groupEmpty(r.Pgid()) {
					t.Errorf("killgroup: group %d not empty when Close returned: %v", r.Pgid(), groupMembers(r.Pgid()))
				}
			}
		})
	}
}

// abandonedStaysUnreaped checks Abandon's leak: Close did nothing, so bash
// is blocked writing into a pipe we still hold; once it exits nothing reaps
// it. The test then reaps it itself, which proves nobody else did.
func abandonedStaysUnreaped(t *testing.T, r *Reader, bash procInfo, pipeline map[string]procInfo) {
	t.Helper()
	now, ok := current(bash)
	if !ok || now.state == "Z" || now.ppid != os.Getpid() {
		t.Fatalf("abandon: bash should still run as our child after Close: %v (present %v)", now, ok)
	}
	if target, err := fdTarget(r.c.stdout); err != nil {
		t.Errorf("abandon: our stdout read end should stay open: %v", err)
	} else if target[:5] != "pipe:" {
		t.Errorf("abandon: stdout fd points at %q, want a pipe", target)
	}
	// End the pipeline; bash exits by itself and becomes a zombie.
	for _, q := range pipeline {
		_ = unix.Kill(q.pid, unix.SIGKILL)
	}
	if !waitUntil(func() bool { now, ok := current(bash); return ok && now.state == "Z" }) {
		now, ok := current(bash)
		t.Fatalf("abandon: bash should become a zombie nobody reaps: %v (present %v)", now, ok)
	}
	select {
	case <-r.c.waitDone:
		t.Fatalf("abandon: something waited for bash")
	default:
	}
	var ws unix.WaitStatus
	pid, err := unix.Wait4(bash.pid, &ws, unix.WNOHANG, nil)
	if err != nil || pid != bash.pid {
		t.Fatalf("abandon: Wait4(%d) = %d, %v; want to reap the zombie ourselves", bash.pid, pid, err)
	}
	if present(bash) {
		t.Errorf("abandon: bash present after we reaped it")
	}
}

// fdTarget returns what f's descriptor points at, without touching its
// blocking mode (f.Fd would).
func fdTarget(f *os.File) (string, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return "", err
	}
	var target string
	var rerr error
	if err := sc.Control(func(fd uintptr) {
		target, rerr = procfs.FDTarget(int32(os.Getpid()), int(fd))
	}); err != nil {
		return "", err
	}
	return target, rerr
}

// TestPolicyStalledPipeline closes a Reader whose pipeline (sleep | cat)
// writes nothing: the hung-download case.
func TestPolicyStalledPipeline(t *testing.T) {
	t.Parallel()
	for _, p := range Policies() {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			a := l.adapter(p, Commands{OpenForRead: stalledCmd})
			r := l.open(a, "stalled.chunk")
			bash := l.bash(r.Pid())
			tree := l.tree(r.Pid(), "sleep", "cat")
			sleep, cat := tree["sleep"], tree["cat"]
			if err := r.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			switch p {
			case Drop, Abandon:
				for _, q := range []procInfo{bash, sleep, cat} {
					if !running(q) {
						t.Errorf("%v: %s should still be alive after Close", p, q)
					}
				}
				if now, _ := current(bash); now.ppid != os.Getpid() {
					t.Errorf("%v: bash should still be our child: %v", p, now)
				}
			case Kill:
				if present(bash) {
					t.Errorf("kill: bash still present when Close returned")
				}
				for _, q := range []procInfo{sleep, cat} {
					now, ok := current(q)
					if !ok || now.state == "Z" {
						t.Errorf("kill: grandchild %s should survive (present %v, now %v)", q, ok, now)
					} else if now.ppid == bash.pid {
						t.Errorf("kill: %v still has dead bash as parent", now)
					}
				}
			case KillGroup:
				if !groupEmpty(r.Pgid()) {
					t.Errorf("killgroup: group %d not empty when Close returned: %v", r.Pgid(), groupMembers(r.Pgid()))
				}
				for _, q := range []procInfo{bash, sleep, cat} {
					if present(q) {
						t.Errorf("killgroup: %s present when Close returned", q)
					}
				}
			}
			if err := r.Close(); err != nil {
				t.Errorf("second Close = %v, want the first result (nil)", err)
			}
		})
	}
}

// TestKillGroupRestoresFds checks that a KillGroup Close leaves this process
// with exactly the fds it had before OpenForRead (pipes and pidfd closed).
// Not parallel: it compares the whole fd table.
func TestKillGroupRestoresFds(t *testing.T) {
	l := newLab(t)
	a := l.adapter(KillGroup, Commands{OpenForRead: stalledCmd, CreateBackup: "echo warm"})
	if _, err := a.CreateBackup(context.Background(), "warmup"); err != nil { // first exec's one-time setup
		t.Fatal(err)
	}
	before := fdSet(t)
	r := l.open(a, "stalled.chunk")
	l.tree(r.Pid(), "sleep", "cat")
	during := fdSet(t)
	if added := fdDiff(before, during); len(added) < 2 {
		t.Fatalf("with a child open, want at least its 2 pipe fds more than before; new: %v", added)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if added := fdDiff(before, fdSet(t)); len(added) != 0 {
		t.Errorf("fds opened since before OpenForRead and still open after Close: %v", added)
	}
}

// fdDiff lists the entries of after that before lacks.
func fdDiff(before, after map[string]string) []string {
	var out []string
	for _, fd := range slices.Sorted(maps.Keys(after)) {
		if before[fd] != after[fd] {
			out = append(out, fmt.Sprintf("%s -> %s", fd, after[fd]))
		}
	}
	return out
}

// TestCloseDuringBlockedRead closes a Reader from one goroutine while
// another is blocked in Read on a stalled child (the restore's abort path).
// The blocked Read is found in the goroutine dump.
func TestCloseDuringBlockedRead(t *testing.T) {
	t.Parallel()
	for _, p := range []Policy{Drop, Kill, KillGroup} {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			a := l.adapter(p, Commands{OpenForRead: stalledCmd})
			r := l.open(a, "stalled.chunk")
			l.tree(r.Pid(), "sleep", "cat")
			readDone := make(chan error, 1)
			reader := make(chan string, 1)
			go func() {
				reader <- goroutineID()
				_, err := r.Read(make([]byte, 64))
				readDone <- err
			}()
			id := <-reader
			if !waitUntil(func() bool { return readBlocked(id) }) {
				t.Fatalf("Read never blocked on the pipe")
			}
			closeDone := make(chan error, 1)
			go func() { closeDone <- r.Close() }()
			select {
			case err := <-readDone:
				if !errors.Is(err, ErrClosed) {
					t.Errorf("blocked Read returned %v, want ErrClosed", err)
				}
			case <-time.After(pollDeadline):
				t.Fatalf("blocked Read did not return after Close")
			}
			select {
			case err := <-closeDone:
				if err != nil {
					t.Errorf("Close = %v", err)
				}
			case <-time.After(pollDeadline):
				t.Fatalf("Close did not return")
			}
		})
	}
}

func TestReadTimeout(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	a := l.adapter(KillGroup, Commands{OpenForRead: "printf a; sleep 300"})
	a.ReadTimeout = 50 * time.Millisecond
	r := l.open(a, "slow.chunk")
	buf := make([]byte, 8)
	if n, err := r.Read(buf); n != 1 || err != nil {
		t.Fatalf("first Read = %d, %v; want the byte written before the stall", n, err)
	}
	for range 2 { // the Reader stays usable after a timeout
		done := make(chan error, 1)
		go func() { _, err := r.Read(buf); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrReadTimeout) {
				t.Fatalf("Read on a stalled child = %v, want ErrReadTimeout", err)
			}
			want := `open_for_read FILE_HANDLE="slow.chunk": no data within 50ms: read timeout`
			if err.Error() != want {
				t.Errorf("timeout error %q, want %q", err, want)
			}
		case <-time.After(pollDeadline):
			t.Fatalf("Read with ReadTimeout did not return")
		}
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestKillGroupAfterEOF: under KillGroup, what a command backgrounded is
// killed at the EOF join. bash closes its stdout and then waits on stdin,
// which the join closes, so the tree is stable until the join.
func TestKillGroupAfterEOF(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	a := l.adapter(KillGroup, Commands{OpenForRead: "sleep 300 >/dev/null & printf done; exec 1>&-; read -r _ || true"})
	r := l.open(a, "bg.chunk")
	sleep := l.tree(r.Pid(), "sleep")["sleep"]
	out, err := io.ReadAll(r)
	if err != nil || string(out) != "done" {
		t.Fatalf("ReadAll = %q, %v", out, err)
	}
	if present(sleep) || !groupEmpty(r.Pgid()) {
		t.Errorf("background sleep survived the EOF join: present %v, group %v", present(sleep), groupMembers(r.Pgid()))
	}
}

// TestWriterAbort aborts a Writer under KillGroup, before and during Close.
func TestWriterAbort(t *testing.T) {
	t.Parallel()
	const stalledWrite = "echo \"$BACKUP_HANDLE/$FILE_NAME\"\nexec 1>&-\nsleep 300 | cat > /dev/null"
	t.Run("before close", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		a := l.adapter(KillGroup, Commands{CreateForWrite: stalledWrite})
		_, w, err := a.CreateForWrite(context.Background(), "bk", "f.chunk")
		if err != nil {
			t.Fatal(err)
		}
		l.keep(w.c)
		l.tree(w.Pid(), "sleep", "cat")
		if _, err := w.Write([]byte("some bytes")); err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(); err != nil {
			t.Fatalf("Abort: %v", err)
		}
		if !groupEmpty(w.Pgid()) {
			t.Errorf("group %d not empty when Abort returned: %v", w.Pgid(), groupMembers(w.Pgid()))
		}
		if err := w.Close(); !errors.Is(err, ErrClosed) {
			t.Errorf("Close after Abort = %v, want ErrClosed", err)
		}
		if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
			t.Errorf("Write after Abort = %v, want ErrClosed", err)
		}
		if err := w.Abort(); err != nil {
			t.Errorf("second Abort = %v, want the first result", err)
		}
	})
	t.Run("during close", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		a := l.adapter(KillGroup, Commands{CreateForWrite: stalledWrite})
		_, w, err := a.CreateForWrite(context.Background(), "bk", "f.chunk")
		if err != nil {
			t.Fatal(err)
		}
		l.keep(w.c)
		l.tree(w.Pid(), "sleep", "cat")
		closeDone := make(chan error, 1)
		go func() { closeDone <- w.Close() }() // blocks: sleep never ends
		if err := w.Abort(); err != nil {
			t.Fatalf("Abort: %v", err)
		}
		select {
		case err := <-closeDone:
			// Close either saw the abort, or (if it lost the race to
			// start) reaped the SIGKILLed bash itself.
			var xe *ExitError
			if !errors.Is(err, ErrClosed) && !(errors.As(err, &xe) && xe.Signal == unix.SIGKILL) {
				t.Errorf("Close interrupted by Abort = %v, want ErrClosed", err)
			}
		case <-time.After(pollDeadline):
			t.Fatalf("Close did not return after Abort")
		}
		if !groupEmpty(w.Pgid()) {
			t.Errorf("group %d not empty: %v", w.Pgid(), groupMembers(w.Pgid()))
		}
	})
}

// TestKillGroupTimeout makes the group outlast WaitDelay: the test puts a
// process of its own into the child's group; SIGKILL makes it a zombie that
// only the test can reap, so the group stays non-empty and Close must
// report it.
func TestKillGroupTimeout(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	a := l.adapter(KillGroup, Commands{OpenForRead: stalledCmd})
	a.WaitDelay = 200 * time.Millisecond
	r := l.open(a, "stuck.chunk")
	l.tree(r.Pid(), "sleep", "cat")
	squatter := exec.Command("sleep", "300")
	squatter.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: r.Pgid()}
	if err := squatter.Start(); err != nil {
		t.Fatalf("start a process in group %d: %v", r.Pgid(), err)
	}
	reaped := false
	t.Cleanup(func() {
		if !reaped {
			_ = squatter.Process.Kill()
			_ = squatter.Wait()
		}
	})
	err := r.Close()
	var ge *GroupError
	if !errors.As(err, &ge) || !errors.Is(err, ErrGroupNotEmpty) {
		t.Fatalf("Close = %v, want a *GroupError", err)
	}
	if ge.Pgid != r.Pgid() || ge.Reason != "group members still present" || ge.Waited < a.WaitDelay {
		t.Errorf("GroupError = %+v, want pgid %d, waited ≥ %v", ge, r.Pgid(), a.WaitDelay)
	}
	found := false
	for _, left := range ge.Left {
		found = found || (left.Pid == squatter.Process.Pid && left.State == "Z")
	}
	if !found {
		t.Errorf("GroupError.Left = %v, want the squatter %d as a zombie", ge.Left, squatter.Process.Pid)
	}
	want := regexp.MustCompile(`^open_for_read FILE_HANDLE="stuck\.chunk": process group \d+ not empty after \d+ms \(group members still present\): left .*\b` +
		strconv.Itoa(squatter.Process.Pid) + ` \(Z sleep\)`)
	if !want.MatchString(err.Error()) {
		t.Errorf("error text %q, want match for %s", err, want)
	}
	_ = squatter.Wait()
	reaped = true
	if !waitUntil(func() bool { return groupEmpty(r.Pgid()) }) {
		t.Errorf("group %d still not empty after reaping the squatter: %v", r.Pgid(), groupMembers(r.Pgid()))
	}
	if err2 := r.Close(); err2 != err {
		t.Errorf("second Close = %v, want the first result", err2)
	}
}
