package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/internal/shellquote"
	"github.com/leakgate/leakgate/internal/sweep"
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
// LEAKGATE_RUN value starts with "<run id>/" (every Marker the inner made, see
// NewMarker), reaps them, and if it found any, prints them (pid, name, command
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
		noteReaper()
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
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)

	// Pdeathsig fires when the thread that forked exits: keep this one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid, err := startInner(id)
	if err != nil {
		return 0, err
	}
	inner := &innerProc{pid: pid}
	stop := make(chan struct{})
	defer close(stop)
	go inner.forward(sigs, stop)
	innerCode := inner.wait(stderr, id)
	found, survivors := sweepTagged(id + "/")
	if len(found) == 0 {
		return innerCode, nil
	}
	code := innerCode
	if code == 0 {
		code = ExitLeaked
	}
	var b strings.Builder
	fmt.Fprintf(&b, "harness.RunReaped: run %s: the test process (pid %d) exited with code %d and left %s behind; killed and reaped:\n", id, pid, innerCode, plural(len(found), "tagged process", "tagged processes"))
	writeLeftBehind(&b, found, survivors)
	fmt.Fprintf(&b, "harness.RunReaped: run %s: exit code %d\n", id, code)
	io.WriteString(stderr, b.String())
	return code, nil
}

// startInner re-executes the test binary with ReapedEnv=id and SIGKILL as
// its parent-death signal, and returns its pid.
func startInner(id string) (int, error) {
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, ReapedEnv+"=") && !strings.HasPrefix(kv, reaperEnv+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, ReapedEnv+"="+id, reaperEnv+"="+strconv.Itoa(os.Getpid()))
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
	return pid, nil
}

// innerProc is the inner test process as the wrapper sees it.
type innerProc struct {
	pid  int
	mu   sync.Mutex
	done bool // reaped: its pid may be reused, signal it no more
}

// forward sends the inner each signal from sigs until stop closes,
// leaving out keyboard signals the terminal delivered to it already.
func (in *innerProc) forward(sigs <-chan os.Signal, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case s := <-sigs:
			sig := s.(syscall.Signal)
			if (sig == syscall.SIGINT || sig == syscall.SIGQUIT) && ttyDelivered() {
				continue
			}
			in.mu.Lock()
			if !in.done {
				_ = unix.Kill(in.pid, sig)
			}
			in.mu.Unlock()
		}
	}
}

// wait reaps children (orphans reparented to the wrapper, at once) until
// the inner exits, and returns its exit code.
func (in *innerProc) wait(stderr io.Writer, id string) int {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil { // ECHILD: cannot happen while the inner lives
			fmt.Fprintf(stderr, "harness.RunReaped: run %s: wait4: %v\n", id, err)
			return 1
		}
		if got == in.pid {
			in.mu.Lock()
			in.done = true
			in.mu.Unlock()
			return exitCode(ws)
		}
	}
}

// writeLeftBehind lists what the run left (found) and what outlived the
// sweep (survivors).
func writeLeftBehind(b *strings.Builder, found, survivors []Proc) {
	for _, p := range found {
		fmt.Fprintf(b, "  pid %d (%s) [%s %s] %s   [%s=%s]\n", p.Pid, p.Name, p.State, stateName(p.State), shellquote.JoinMax(p.Cmdline, maxQuoted), MarkerEnv, p.Marker)
	}
	for _, p := range survivors {
		fmt.Fprintf(b, "  still present after %v: pid %d (%s) [%s %s]\n", sweepLimit, p.Pid, p.Name, p.State, stateName(p.State))
	}
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
// all the wrapper's children, and waits until no tagged process remains or
// sweepLimit passes. found lists each tagged process once, as first seen.
func sweepTagged(prefix string) (found, survivors []Proc) {
	ctx, cancel := context.WithTimeout(context.Background(), sweepLimit)
	defer cancel()
	procs := map[procKey]Proc{}
	find := func() ([]sweep.Target, error) {
		snap, err := take(prefix)
		if err != nil {
			return nil, err
		}
		var out []sweep.Target
		for _, l := range [][]Proc{snap.Descendants, snap.Escaped} {
			for _, p := range l {
				if markerMatches(p.Marker, prefix) {
					procs[p.key()] = p
					out = append(out, target(p))
				}
			}
		}
		return out, nil
	}
	res, err := sweep.Run(ctx, find, sweep.Options{Every: defaultInterval, ReapAny: true})
	back := func(ts []sweep.Target) []Proc {
		out := make([]Proc, 0, len(ts))
		for _, t := range ts {
			out = append(out, procs[procKey{t.Pid, t.Started.UnixNano()}])
		}
		return out
	}
	var se *sweep.SurvivorsError
	if errors.As(err, &se) {
		survivors = back(se.Survivors)
	}
	return back(res.Seen), survivors
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
