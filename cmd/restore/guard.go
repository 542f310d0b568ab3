package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/leakgate/leakgate/internal/sweep"
)

// The --guard watchdog.
//
// A process that is SIGKILLed runs no cleanup: whatever children it had in
// flight survive under every cleanup policy. --pdeathsig has the kernel kill
// each bash with it, but a pipeline's grandchildren (the storage CLI and
// gzip) do not inherit a parent-death signal. The guard is a process that
// outlives bin/restore and kills them all:
//
//   - bin/restore tags every child with guardEnv=<token> (a random token of
//     its own) and starts `restore guard <token> <pid>`, in its own process
//     group (a terminal's Ctrl-C does not reach it), whose stdin is a pipe
//     whose write end only bin/restore holds (close-on-exec: no child
//     inherits it).
//   - When bin/restore ends — returning, or killed by any signal, SIGKILL
//     included — the kernel closes that write end; the guard reads EOF,
//     SIGKILLs every live process whose environment carries the tag (bash,
//     the storage CLI, gzip, anything they started), rescans until none is
//     left (internal/sweep) (at most guardSweepLimit) and exits.
//   - On a normal return bin/restore closes the pipe itself and waits for the
//     guard (at most guardStopLimit), so the sweep is over when it exits.
//
// Limits: a process that clears its environment (env -i) or changes its
// environ in memory is not found; one in uninterruptible sleep dies only when
// it wakes; /proc must be readable (same user). The sweep kills what the
// policy would have kept alive (under drop: a stalled download): --guard
// means "nothing outlives bin/restore".

// guardEnv is the variable that tags bin/restore's children under --guard:
// RESTORE_GUARD=<32 hex digits>.
const guardEnv = "RESTORE_GUARD"

// guardCommand is the internal subcommand the guard runs as:
// `restore guard <token> <restore pid>`.
const guardCommand = "guard"

const (
	// guardSweepLimit bounds the guard's kill-and-rescan loop.
	guardSweepLimit = 10 * time.Second
	// guardStopLimit bounds bin/restore's wait for its guard on a normal
	// return: the sweep's limit and a margin.
	guardStopLimit = guardSweepLimit + 5*time.Second
	// guardPollEvery is how often the sweep rescans for tagged processes.
	guardPollEvery = 5 * time.Millisecond
)

var tokenPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// guard is a running guard process, as bin/restore sees it.
type guard struct {
	token  string
	w      *os.File // the write end of the guard's stdin; closing it starts the sweep
	cmd    *exec.Cmd
	waited chan struct{} // closed once cmd.Wait returned
	err    error         // cmd.Wait's result, read after waited
}

// activeGuard is the guard this process started, nil if none. It also keeps
// g.w reachable: a finalized *os.File would close the pipe and start the
// sweep early.
var activeGuard *guard

// startGuard starts this process's guard once and returns it; a second call
// returns the first guard. The guard's stderr is ours.
func startGuard() (*guard, error) {
	if activeGuard != nil {
		return activeGuard, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start guard: find the restore binary: %w", err)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("start guard: token: %w", err)
	}
	token := hex.EncodeToString(b[:])
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start guard: pipe: %w", err)
	}
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        []string{"restore", guardCommand, token, strconv.Itoa(os.Getpid())},
		Stdin:       r,
		Stderr:      os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	err = cmd.Start()
	_ = r.Close()
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("start guard %s: %w", exe, err)
	}
	g := &guard{token: token, w: w, cmd: cmd, waited: make(chan struct{})}
	go func() {
		g.err = cmd.Wait()
		close(g.waited)
	}()
	activeGuard = g
	return g, nil
}

// env is the entry that tags a child for the guard: "RESTORE_GUARD=<token>".
func (g *guard) env() string { return guardEnv + "=" + g.token }

// stop closes the guard's pipe, so that it sweeps now, and waits at most
// limit for it to exit.
func (g *guard) stop(limit time.Duration) error {
	_ = g.w.Close()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-g.waited:
		if g.err != nil {
			return fmt.Errorf("guard (pid %d): %w", g.cmd.Process.Pid, g.err)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("guard (pid %d) still sweeping after %v", g.cmd.Process.Pid, limit)
	}
}

// stopGuard stops this process's guard, if it started one.
func stopGuard() error {
	g := activeGuard
	if g == nil {
		return nil
	}
	activeGuard = nil
	return g.stop(guardStopLimit)
}

// runGuard is the guard process: `restore guard <token> <restore pid>`. It
// waits for EOF on stdin, then kills every process tagged with the token.
// Exit status 0 when nothing tagged is left, 1 when something survived the
// sweep, 2 on bad arguments.
func runGuard(args []string, stdin io.Reader, stderr io.Writer) int {
	if len(args) != 2 || !tokenPattern.MatchString(args[0]) {
		fmt.Fprintf(stderr, "restore guard: internal command, started by --guard: want TOKEN (32 hex digits) and PID, got %q\n", args)
		return 2
	}
	token, parent := args[0], args[1]
	// Anything but EOF (an error) means the same: bin/restore is gone.
	_, _ = io.Copy(io.Discard, stdin)
	ctx, cancel := context.WithTimeout(context.Background(), guardSweepLimit)
	defer cancel()
	res, err := sweep.Run(ctx, sweep.Tagged(guardEnv, token), sweep.Options{Every: guardPollEvery})
	killed := make([]string, len(res.Killed))
	for i, t := range res.Killed {
		killed[i] = fmt.Sprintf("pid %d (%s)", t.Pid, t.Name)
	}
	if len(killed) > 0 {
		fmt.Fprintf(stderr, "restore guard: restore (pid %s) is exiting or gone; killed %d processes it started and left running: %s\n",
			parent, len(killed), strings.Join(killed, ", "))
	}
	if err != nil {
		fmt.Fprintf(stderr, "restore guard: tagged processes survived SIGKILL for %v: %v\n", guardSweepLimit, err)
		return 1
	}
	return 0
}
