package procfs

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Wait is what every thread of a process sleeps on in the kernel, as its
// wait channels (/proc/<pid>/task/*/wchan) tell it.
type Wait string

// The waits Waiting tells apart.
const (
	// WaitOther: running, sleeping on anything else (a timer, a futex, a
	// socket), or threads waiting on different things.
	WaitOther Wait = ""
	// WaitPipeRead: every thread sleeps reading an empty pipe whose write
	// end is still open somewhere.
	WaitPipeRead Wait = "pipe read"
	// WaitPipeWrite: every thread sleeps writing a full pipe whose read
	// end is still open somewhere.
	WaitPipeWrite Wait = "pipe write"
	// WaitPipe: every thread sleeps on a pipe, direction unknown (old
	// kernels name both directions pipe_wait).
	WaitPipe Wait = "pipe"
	// WaitChild: every thread sleeps in wait4 or waitid for a child.
	WaitChild Wait = "child"
)

// wchanWaits maps the kernel functions a thread sleeps in to the wait they
// mean, across kernel versions (anon_pipe_* on recent kernels, pipe_read
// and pipe_write on older ones, pipe_wait for both directions on the
// oldest).
var wchanWaits = map[string]Wait{
	"anon_pipe_read": WaitPipeRead, "pipe_read": WaitPipeRead, "pipe_wait_readable": WaitPipeRead,
	"anon_pipe_write": WaitPipeWrite, "pipe_write": WaitPipeWrite, "pipe_wait_writable": WaitPipeWrite,
	"pipe_wait": WaitPipe,
	"do_wait":   WaitChild, "kernel_wait4": WaitChild, "kernel_waitid": WaitChild,
}

// Waiting tells what every thread of process pid sleeps on, from its wait
// channels: WaitPipeRead for `cat` reading a pipe nobody writes to,
// WaitChild for a shell waiting for its pipeline, WaitOther for anything
// else. A vanished process gives an error satisfying errors.Is(err,
// ErrGone).
//
//	w, err := procfs.Waiting(4242) // procfs.WaitPipeRead
func Waiting(pid int32) (Wait, error) {
	w, err := Wchans(pid)
	if err != nil {
		return WaitOther, err
	}
	return WaitOf(w), nil
}

// WaitOf is Waiting's verdict on a process's wait channels, one per
// thread: the wait they all share, else WaitOther.
//
//	procfs.WaitOf([]string{"anon_pipe_read"}) // WaitPipeRead
func WaitOf(wchans []string) Wait {
	if len(wchans) == 0 {
		return WaitOther
	}
	first, ok := wchanWaits[wchans[0]]
	if !ok {
		return WaitOther
	}
	for _, w := range wchans[1:] {
		if wchanWaits[w] != first {
			return WaitOther
		}
	}
	return first
}

// PipeEnd is one pipe fd of a process.
type PipeEnd struct {
	FD   int
	Pipe string // readlink target: "pipe:[88123]"
	Mode int    // O_ACCMODE: 0 the read end, 1 the write end
}

// PipeEnds lists the pipe fds of process pid with the end each is, e.g.
// PipeEnds(4242) == []PipeEnd{{FD: 0, Pipe: "pipe:[88123]", Mode: 0}}. Fds
// closed during the listing are left out; a vanished process gives an
// error satisfying errors.Is(err, ErrGone).
func PipeEnds(pid int32) ([]PipeEnd, error) {
	fds, err := FDs(pid)
	if err != nil {
		return nil, err
	}
	var out []PipeEnd
	for _, fd := range fds {
		if !strings.HasPrefix(fd.Target, "pipe:") {
			continue
		}
		mode, err := AccessMode(pid, fd.Num)
		if err != nil {
			continue // closed meanwhile
		}
		out = append(out, PipeEnd{FD: fd.Num, Pipe: fd.Target, Mode: mode})
	}
	return out, nil
}

// Syscall is the system call a blocked thread is in, from
// /proc/<pid>/task/<tid>/syscall: its number (golang.org/x/sys/unix's
// SYS_* of this architecture) and its six arguments.
type Syscall struct {
	Nr   int64
	Args [6]uint64
}

// Syscalls lists the system calls the threads of process pid are blocked
// in; running threads, threads blocked outside a system call and
// unreadable ones are left out. Reading another process's syscall files
// takes ptrace access (the same user, Yama permitting).
//
//	calls, err := procfs.Syscalls(4242) // [{Nr: unix.SYS_READ, Args: [0 …]}]: blocked reading fd 0
func Syscalls(pid int32) ([]Syscall, error) {
	var out []Syscall
	err := eachTask(pid, "syscall", func(b []byte) {
		if c, ok := parseSyscall(b); ok {
			out = append(out, c)
		}
	})
	return out, err
}

// parseSyscall reads a syscall file's line ("247 0x3 0xc 0x… …": the
// number, six arguments in hex, then the stack and program counters).
func parseSyscall(b []byte) (Syscall, bool) {
	f := bytes.Fields(b)
	if len(f) < 7 {
		return Syscall{}, false // "running", or "-1 sp pc": blocked outside a system call
	}
	var c Syscall
	var err error
	if c.Nr, err = strconv.ParseInt(string(f[0]), 10, 64); err != nil || c.Nr < 0 {
		return Syscall{}, false
	}
	for i := range c.Args {
		if c.Args[i], err = strconv.ParseUint(strings.TrimPrefix(string(f[1+i]), "0x"), 16, 64); err != nil {
			return Syscall{}, false
		}
	}
	return c, true
}

// FD returns the fd the call waits on: the first argument of read, write,
// readv, writev, pread64 and pwrite64; the pidfd of waitid(P_PIDFD, fd, …).
//
//	if fd, ok := c.FD(); ok { … }
func (c Syscall) FD() (int, bool) {
	var fd uint64
	switch c.Nr {
	case unix.SYS_READ, unix.SYS_WRITE, unix.SYS_READV, unix.SYS_WRITEV, unix.SYS_PREAD64, unix.SYS_PWRITE64:
		fd = c.Args[0]
	case unix.SYS_WAITID:
		if c.Args[0] != unix.P_PIDFD {
			return 0, false
		}
		fd = c.Args[1]
	default:
		return 0, false
	}
	if fd > 1<<30 {
		return 0, false
	}
	return int(fd), true
}

// WaitedPidfds lists the pidfds that threads of process pid sleep on in
// waitid(P_PIDFD, fd, …), the call Go's os.Process.Wait blocks in (see
// Syscalls).
//
//	fds, err := procfs.WaitedPidfds(int32(os.Getpid())) // [12]: a goroutine waits for the process of pidfd 12
func WaitedPidfds(pid int32) ([]int, error) {
	calls, err := Syscalls(pid)
	var out []int
	for _, c := range calls {
		if fd, ok := c.FD(); ok && c.Nr == unix.SYS_WAITID {
			out = append(out, fd)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), err
}

// PidfdPid returns the pid of the process that pidfd fd of process pid
// refers to, from the "Pid:" line of its fdinfo; -1 once that process has
// been reaped. An fd that is not a pidfd is an error.
//
//	target, err := procfs.PidfdPid(int32(os.Getpid()), 12) // 4242
func PidfdPid(pid int32, fd int) (int32, error) {
	ioGuard.RLock()
	defer ioGuard.RUnlock()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return 0, gone(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Pid:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
			if err != nil {
				return 0, &StatError{Path: "fdinfo", Field: "Pid", Reason: err.Error()}
			}
			return int32(n), nil
		}
	}
	return 0, &StatError{Path: "fdinfo", Field: "Pid", Reason: "missing: not a pidfd"}
}

// IOCalls returns how many read and write system calls process pid has
// made so far, from the syscr and syscw lines of /proc/<pid>/io: a process
// that keeps moving data through a pipe or a socket moves them, one that
// sleeps on a timer, a child or an empty pipe does not. Reading another
// process's io file takes ptrace read access (the same user); a vanished
// process gives an error satisfying errors.Is(err, ErrGone).
//
//	n, err := procfs.IOCalls(4242) // 1187
func IOCalls(pid int32) (uint64, error) {
	ioGuard.RLock()
	defer ioGuard.RUnlock()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/io")
	if err != nil {
		return 0, gone(err)
	}
	var n uint64
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "syscr" && k != "syscw") {
			continue
		}
		c, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, &StatError{Path: "io", Field: k, Reason: err.Error()}
		}
		n += c
	}
	return n, nil
}
