package gate

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The command's exit, seen exactly.
//
// The gate starts the command traced (PTRACE_TRACEME before its exec) and
// sets PTRACE_O_TRACEEXIT on it: the kernel then stops the command at the
// very start of its exit (do_exit stops it before PF_EXITING is set:
// /proc shows it in state t, not exiting), before it closes its fds and
// before its children are reparented. At that stop the gate reads
// the command's fd table (what it held when it exited, whatever the
// sampling interval) and takes its last look at its own children (every
// orphan that came to it did so while the command still ran). Then it lets
// the command go on. PTRACE_O_EXITKILL makes the kernel SIGKILL the command
// if the gate dies first.
//
// Every ptrace call must come from the thread that is the tracer: the
// tracer goroutine is locked to its OS thread from the fork to the final
// wait, and it alone waits for the command (exec.Cmd.Wait would see the
// ptrace stops). Signals the command receives stop it first; the tracer
// passes each one on. Limits: a command killed by SIGKILL is not stopped
// at its exit (the kernel skips the stop when a fatal signal is pending),
// nor is one the gate could not trace (ptrace forbidden: a seccomp filter,
// Yama's ptrace_scope 3): its fds and orphans are then judged from the
// samples, and the report says so (FDVerdict.Source, Report.ExitSeen). A
// traced command cannot itself be stopped (SIGSTOP, SIGTSTP) or be traced
// by a debugger.

// exitStop is the command stopped at its exit: the supervisor reads what it
// needs, then closes done to let the command finish exiting.
type exitStop struct{ done chan struct{} }

// traced is a command started by startTraced.
type traced struct {
	pid    int
	traced bool                 // false: started without ptrace (fallback)
	stops  chan exitStop        // one value, at the exit stop (traced only)
	exited chan unix.WaitStatus // the final status, once
	// killed is the set of signals (bit sig-1) the command received from
	// kill(2) (si_code SI_USER), SIGPIPE excepted (the kernel raises it
	// at the writer itself, as SI_USER too): the signals its process
	// group may have been sent as a whole (timeout's kill(0, SIGTERM)).
	killed atomic.Uint64
}

// receivedKill reports whether the command received sig from kill(2).
func (t *traced) receivedKill(sig unix.Signal) bool {
	return sig > 0 && sig <= 64 && t.killed.Load()&(1<<(sig-1)) != 0
}

// ptraceOptions are set at the command's first stop.
const ptraceOptions = unix.PTRACE_O_TRACEEXIT | unix.PTRACE_O_EXITKILL | unix.PTRACE_O_TRACEEXEC

// startTraced starts cmd traced on a goroutine locked to its OS thread and
// waits for it there; if the kernel refuses to trace it, it starts it
// untraced. The caller must not call cmd.Wait: the final status comes on
// the returned traced.exited. cmd.SysProcAttr must be set; its Ptrace field
// is the tracer's.
func startTraced(cmd *exec.Cmd) (*traced, error) {
	t := &traced{stops: make(chan exitStop), exited: make(chan unix.WaitStatus, 1)}
	started := make(chan error, 1)
	go func() {
		// The thread that forked is the command's parent for its
		// parent-death signal and its tracer: it stays until the end.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmd.SysProcAttr.Ptrace = true
		err := cmd.Start()
		if err != nil && errors.Is(err, syscall.EPERM) {
			cmd.SysProcAttr.Ptrace = false
			cmd.Process = nil
			err = cmd.Start()
		}
		if err != nil {
			started <- err
			return
		}
		t.pid, t.traced = cmd.Process.Pid, cmd.SysProcAttr.Ptrace
		_ = cmd.Process.Release() // its pidfd: this goroutine waits by pid
		if t.traced {
			err = t.firstStop()
		}
		started <- err
		if err == nil {
			t.exited <- t.wait()
		}
	}()
	return t, <-started
}

// firstStop waits for the SIGTRAP that follows the traced exec and sets the
// gate's options.
func (t *traced) firstStop() error {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(t.pid, &ws, unix.WALL, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for the traced exec: %w", err)
		}
		break
	}
	if !ws.Stopped() {
		// Gone before its exec completed: no stop to set options at.
		t.traced = false
		t.exited <- ws
		return nil
	}
	if err := unix.PtraceSetOptions(t.pid, ptraceOptions); err != nil {
		return fmt.Errorf("ptrace(SETOPTIONS): %w", err)
	}
	return unix.PtraceCont(t.pid, 0)
}

// wait runs on the tracer thread until the command has exited, passing on
// the signals it receives and handing its exit stop to the supervisor.
func (t *traced) wait() unix.WaitStatus {
	if !t.traced {
		return waitUntraced(t.pid)
	}
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(t.pid, &ws, unix.WALL, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || ws.Exited() || ws.Signaled() {
			return ws
		}
		if !ws.Stopped() {
			continue
		}
		sig := 0
		switch ws.TrapCause() {
		case unix.PTRACE_EVENT_EXIT:
			s := exitStop{done: make(chan struct{})}
			t.stops <- s
			<-s.done
		case unix.PTRACE_EVENT_EXEC:
		default:
			sig = int(ws.StopSignal())
			si, delivered := sigInfo(t.pid)
			if sig == int(unix.SIGTRAP) || !delivered {
				sig = 0 // a stray trap, or a group stop: go on running
			} else if si.Code == siUser && sig != int(unix.SIGPIPE) && sig <= 64 {
				t.killed.Or(1 << (sig - 1))
			}
		}
		_ = unix.PtraceCont(t.pid, sig)
	}
}

// siUser is si_code SI_USER: a signal sent by kill(2).
const siUser = 0

// sigInfo returns the siginfo of the signal the traced pid is stopped to
// receive; false if the stop is a group stop (no signal to pass on):
// PTRACE_GETSIGINFO fails with EINVAL only for a group stop.
func sigInfo(pid int) (unix.Siginfo, bool) {
	var si unix.Siginfo
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(pid), 0, uintptr(unsafe.Pointer(&si)), 0, 0)
	return si, e != unix.EINVAL
}

// waitUntraced waits for an untraced command.
func waitUntraced(pid int) unix.WaitStatus {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if !errors.Is(err, unix.EINTR) {
			return ws
		}
	}
}
