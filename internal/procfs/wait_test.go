package procfs

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/internal/poll"
)

func TestWaitOf(t *testing.T) {
	for _, c := range []struct {
		wchans []string
		want   Wait
	}{
		{[]string{"anon_pipe_read"}, WaitPipeRead},
		{[]string{"pipe_read"}, WaitPipeRead},
		{[]string{"anon_pipe_write"}, WaitPipeWrite},
		{[]string{"pipe_wait"}, WaitPipe},
		{[]string{"do_wait"}, WaitChild},
		{[]string{"hrtimer_nanosleep"}, WaitOther},
		{[]string{"0"}, WaitOther}, // running
		{[]string{"anon_pipe_read", "futex_wait_queue"}, WaitOther},
		{[]string{"anon_pipe_read", "pipe_read"}, WaitPipeRead},
		{nil, WaitOther},
	} {
		if got := WaitOf(c.wchans); got != c.want {
			t.Errorf("WaitOf(%q) = %q, want %q", c.wchans, got, c.want)
		}
	}
}

// startBlocked starts argv with its stdin and stdout on pipes this test
// holds and never uses, and returns it with our ends; everything is killed
// and closed when the test ends.
func startBlocked(t *testing.T, argv ...string) (cmd *exec.Cmd, stdinW, stdoutR *os.File) {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout = inR, outW
	if err := cmd.Start(); err != nil {
		t.Skipf("start %s: %v", argv[0], err)
	}
	inR.Close()
	outW.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		inW.Close()
		outR.Close()
	})
	return cmd, inW, outR
}

// waitFor polls Waiting(pid) until it is want.
func waitFor(t *testing.T, pid int, want Wait) {
	t.Helper()
	var got Wait
	var err error
	if !poll.Until(context.Background(), 10*time.Second, func() bool {
		got, err = Waiting(int32(pid))
		return got == want
	}) {
		w, _ := Wchans(int32(pid))
		t.Fatalf("Waiting(%d) = %q, %v (wchans %q); want %q", pid, got, err, w, want)
	}
}

func TestWaitingOnPipes(t *testing.T) {
	reader, stdinW, _ := startBlocked(t, "cat")
	waitFor(t, reader.Process.Pid, WaitPipeRead)
	ends, err := PipeEnds(int32(reader.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	ours, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(stdinW.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ends, PipeEnd{FD: 0, Pipe: ours, Mode: 0}) {
		t.Errorf("PipeEnds(cat) = %+v; want fd 0 the read end of %s", ends, ours)
	}
	if calls, err := Syscalls(int32(reader.Process.Pid)); err != nil || len(calls) != 1 || calls[0].Nr != unix.SYS_READ {
		t.Errorf("Syscalls(cat) = %+v, %v; want one read", calls, err)
	} else if fd, ok := calls[0].FD(); !ok || fd != 0 {
		t.Errorf("cat's read: FD() = %d, %v; want fd 0", fd, ok)
	}

	writer, _, _ := startBlocked(t, "yes") // fills the pipe nobody reads
	waitFor(t, writer.Process.Pid, WaitPipeWrite)
	if ends, _ := PipeEnds(int32(writer.Process.Pid)); !slices.ContainsFunc(ends, func(e PipeEnd) bool { return e.FD == 1 && e.Mode == 1 }) {
		t.Errorf("PipeEnds(yes) = %+v; want fd 1 a write end", ends)
	}

	sleeper, _, _ := startBlocked(t, "sleep", "30")
	waitFor(t, sleeper.Process.Pid, WaitOther)

	// cat copies what we write: its read and write calls move; a sleeper's
	// do not.
	before, err := IOCalls(int32(reader.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stdinW.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if !poll.Until(context.Background(), 10*time.Second, func() bool {
		n, err := IOCalls(int32(reader.Process.Pid))
		return err == nil && n >= before+2
	}) {
		n, err := IOCalls(int32(reader.Process.Pid))
		t.Errorf("IOCalls(cat) = %d, %v after a line went through; want at least %d", n, err, before+2)
	}
	s1, err1 := IOCalls(int32(sleeper.Process.Pid))
	s2, err2 := IOCalls(int32(sleeper.Process.Pid))
	if err1 != nil || err2 != nil || s1 != s2 {
		t.Errorf("IOCalls(sleep) = %d, %v then %d, %v; want the same twice", s1, err1, s2, err2)
	}
}

func TestWaitingForAChild(t *testing.T) {
	shell, _, _ := startBlocked(t, "bash", "-c", "sleep 30; true") // "; true": bash cannot exec sleep in its place
	waitFor(t, shell.Process.Pid, WaitChild)
	kids, _ := Children(int32(shell.Process.Pid))
	t.Cleanup(func() {
		for _, k := range kids {
			SignalVerified(k, 9, func(uint64) bool { return true })
		}
	})
}

func TestWaitedPidfds(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skipf("start sleep: %v", err)
	}
	waited := make(chan struct{})
	go func() { cmd.Wait(); close(waited) }()
	defer func() { cmd.Process.Kill(); <-waited }()

	self := int32(os.Getpid())
	var pidfd int
	found := poll.Until(context.Background(), 10*time.Second, func() bool {
		fds, _ := WaitedPidfds(self)
		for _, fd := range fds {
			if p, err := PidfdPid(self, fd); err == nil && p == int32(cmd.Process.Pid) {
				pidfd = fd
				return true
			}
		}
		return false
	})
	if !found {
		fds, err := WaitedPidfds(self)
		t.Fatalf("WaitedPidfds(self) = %v, %v: no thread waits on a pidfd of pid %d", fds, err, cmd.Process.Pid)
	}
	if _, err := PidfdPid(self, 0); err == nil {
		t.Errorf("PidfdPid(self, 0): stdin is no pidfd, want an error")
	}
	cmd.Process.Kill()
	<-waited
	if fds, _ := WaitedPidfds(self); slices.Contains(fds, pidfd) {
		t.Errorf("WaitedPidfds after Wait returned = %v, still holds %d", fds, pidfd)
	}
}

func TestParseSyscall(t *testing.T) {
	nr := func(n int) string { return strconv.Itoa(n) }
	for _, c := range []struct {
		line string
		fd   int
		ok   bool
	}{
		{nr(unix.SYS_WAITID) + " 0x3 0xc 0x7ffc 0x4 0x0 0x0 0x7ffc 0x4a2b", 12, true},
		{nr(unix.SYS_WAITID) + " 0x1 0xc 0x7ffc 0x4 0x0 0x0 0x7ffc 0x4a2b", 0, false}, // P_PID
		{nr(unix.SYS_READ) + " 0x0 0x564be050b000 0x40000 0x7f2a 0x7ffc 0x1 0x7ffc 0x7f2a", 0, true},
		{nr(unix.SYS_WRITE) + " 0x1 0x558109504dd0 0x1000 0x1000 0x5581 0x0 0x7fff 0x7f9b", 1, true},
		{nr(unix.SYS_WAIT4) + " 0xffffffff 0x7ffe 0x0 0x0 0x1 0x8 0x7ffe 0x7fb6", 0, false},
		{"running", 0, false},
		{"-1 0x7ffe 0x4a2b", 0, false}, // blocked outside a system call
	} {
		call, parsed := parseSyscall([]byte(c.line))
		if !parsed {
			if c.ok {
				t.Errorf("parseSyscall(%q) failed", c.line)
			}
			continue
		}
		fd, ok := call.FD()
		if fd != c.fd || ok != c.ok {
			t.Errorf("parseSyscall(%q).FD() = %d, %v; want %d, %v", c.line, fd, ok, c.fd, c.ok)
		}
	}
}
