package harness

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ExitLeaked is RunReaped's exit code when the tests passed but left
// tagged processes behind: if code == harness.ExitLeaked { … }.
const ExitLeaked = 3

// sweepLimit bounds how long the wrapper waits for killed processes to
// disappear.
const sweepLimit = 10 * time.Second

// RunReaped runs a test binary's tests under a reaping wrapper process:
//
//	func TestMain(m *testing.M) { os.Exit(harness.RunReaped(m.Run)) }
//
// In the inner process (ReapedEnv set) it just returns run(). Otherwise the
// calling process becomes the wrapper: it marks itself a child subreaper
// (PR_SET_CHILD_SUBREAPER), re-executes its own binary (os.Executable, else /proc/self/exe) with the same
// arguments and environment plus LEAKGATE_REAPED=<run id> (stdin, stdout and
// stderr inherited; SIGKILL as the inner's parent-death signal), forwards
// SIGINT, SIGTERM, SIGHUP and SIGQUIT to it, and reaps every child with a
// wait4(-1) loop. Orphans of the inner process are reparented to the wrapper
// and reaped at once: outside the inner's tree they count as escaped in the
// inner's snapshots (and do not linger as zombies the way they would under
// this machine's pid 1, which reaps orphans about a second late).
//
// When the inner exits, the wrapper kills every process on the machine whose
// LEAKGATE_RUN value starts with "<run id>/" (every Run the inner made, see
// NewRun), reaps them, and if it found any, prints them (pid, name, command
// line, marker) to stderr and returns ExitLeaked (3), or the inner's own
// code if that was already non-zero. Otherwise it returns the inner's exit
// code, 128+n if the inner died of signal n.
//
// SIGINT and SIGQUIT are not forwarded when the inner is in the terminal's
// foreground process group: the terminal delivered them to it already, and a
// second SIGINT would make Ginkgo skip its cleanup. Signals sent to the
// whole process group by other means (kill -INT -<pgid>) reach the inner
// twice.
//
// If the wrapper cannot be set up, RunReaped warns on stderr and returns
// run() unwrapped.
func RunReaped(run func() int) int {
	if os.Getenv(ReapedEnv) != "" {
		return run()
	}
	code, err := wrap(os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness.RunReaped: %v; running unwrapped\n", err)
		return run()
	}
	return code
}

// wrap runs the wrapper side of RunReaped. An error means the inner never
// started.
func wrap(stderr io.Writer) (int, error) {
	id := newRunID()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return 0, fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, ReapedEnv+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, ReapedEnv+"="+id)

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)

	// Pdeathsig fires when the thread that forked exits: keep this one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	}
	// Exec the binary by its path so the inner's comm is the binary's name
	// ("restore.test", not "exe"); /proc/self/exe if the path is gone.
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	pid, err := syscall.ForkExec(exe, os.Args, attr)
	if err != nil && exe != "/proc/self/exe" {
		exe = "/proc/self/exe"
		pid, err = syscall.ForkExec(exe, os.Args, attr)
	}
	if err != nil {
		return 0, fmt.Errorf("start inner test process %s: %w", exe, err)
	}

	var (
		mu   sync.Mutex
		done bool
		stop = make(chan struct{})
	)
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case s := <-sigs:
				sig := s.(syscall.Signal)
				if (sig == syscall.SIGINT || sig == syscall.SIGQUIT) && ttyDelivered() {
					continue
				}
				mu.Lock()
				if !done { // until reaped, pid cannot be reused
					_ = unix.Kill(pid, sig)
				}
				mu.Unlock()
			}
		}
	}()

	code := 1
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil { // ECHILD: cannot happen while the inner lives
			fmt.Fprintf(stderr, "harness.RunReaped: run %s: wait4: %v\n", id, err)
			break
		}
		if got == pid {
			mu.Lock()
			done = true
			mu.Unlock()
			code = exitCode(ws)
			break
		}
		// an orphan reparented to us: reaped
	}

	found, survivors := sweepTagged(id + "/")
	if len(found) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "harness.RunReaped: run %s: the test process (pid %d) exited with code %d and left %s behind; killed and reaped:\n", id, pid, code, plural(len(found), "tagged process", "tagged processes"))
		for _, p := range found {
			fmt.Fprintf(&b, "  pid %d (%s) [%s %s] %s   [%s=%s]\n", p.Pid, p.Name, p.State, StateName(p.State), ShellQuote(p.Cmdline), MarkerEnv, p.Marker)
		}
		for _, p := range survivors {
			fmt.Fprintf(&b, "  still present after %v: pid %d (%s) [%s %s]\n", sweepLimit, p.Pid, p.Name, p.State, StateName(p.State))
		}
		if code == 0 {
			code = ExitLeaked
		}
		fmt.Fprintf(&b, "harness.RunReaped: run %s: exit code %d\n", id, code)
		io.WriteString(stderr, b.String())
	}
	return code, nil
}

func exitCode(ws unix.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return 1
}

// sweepTagged kills every process whose marker starts with prefix, reaps
// the wrapper's children, and polls until no tagged process remains or
// sweepLimit passes. found lists each tagged process once, as first seen.
func sweepTagged(prefix string) (found, survivors []Proc) {
	seen := map[procKey]bool{}
	deadline := time.Now().Add(sweepLimit)
	for {
		reapAll()
		snap, err := take(prefix)
		if err != nil {
			return found, nil
		}
		var left []Proc
		for _, l := range [][]Proc{snap.Descendants, snap.Escaped} {
			for _, p := range l {
				if !markerMatches(p.Marker, prefix) {
					continue
				}
				left = append(left, p)
				if !seen[p.key()] {
					seen[p.key()] = true
					found = append(found, p)
				}
				if p.State != "Z" {
					_ = killVerified(p)
				}
			}
		}
		if len(left) == 0 {
			return found, nil
		}
		if time.Now().After(deadline) {
			return found, left
		}
		reapAll()
		time.Sleep(defaultInterval) // poll interval, not a settling criterion
	}
}

// reapAll reaps every exited child of the wrapper without blocking.
func reapAll() {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || got <= 0 {
			return
		}
	}
}

// ttyDelivered reports whether this process is in the foreground process
// group of its controlling terminal, so that a keyboard signal reached the
// inner process (same group) directly.
func ttyDelivered() bool {
	fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	fg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && fg == unix.Getpgrp()
}
