package gate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/onsi/gomega"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/journal"
)

// allFDs matches every fd target: the gate's own fds are not judged.
var allFDs = gomega.BeAssignableToTypeOf(harness.FD{})

// Run runs the command c.Args under the gate and judges what it leaves:
//
//	rep, err := gate.Run(ctx, gate.Config{Args: []string{"bin/restore", "bootstrap-db", "--command-adapter-config", "s3.yaml"}})
//	if err != nil { … }           // bad config (ErrConfig), not startable (ErrStart), /proc unreadable
//	fmt.Print(rep)                 // the human report
//	if !rep.Pass { os.Exit(1) }
//
// Run makes the calling process a child subreaper for its duration (and
// restores the previous setting), so that every orphan of the command comes
// to it; it starts the command in its own process group with the gate's
// environment (see package doc) and SIGKILL as its parent-death signal,
// forwards SIGINT, SIGTERM and SIGHUP to that group, samples it every
// c.Every, reaps the orphans that come to it dead while the command runs
// (as init would), waits for the command (killing it at c.Timeout), lets
// what it left settle for c.Settle, judges, then kills and reaps everything
// the run left before it returns. See the package doc for what counts as a
// leak.
//
// Run judges the calling process's new descendants: call it from a process
// that starts no other process meanwhile (the leakgate binary), one Run at a
// time. An error means no judgement; the command's own failure is not an
// error (see Report.Status).
func Run(ctx context.Context, c Config) (*Report, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "leakgate-run-")
	if err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	defer os.RemoveAll(tmp)
	journalPath := c.Journal
	if journalPath == "" {
		journalPath = filepath.Join(tmp, "journal.jsonl")
	}
	selfPath := filepath.Join(tmp, "self-report.jsonl")
	run := runFor(c.Env)
	env := commandEnv(c, run, journalPath, selfPath)
	path, err := lookPath(c.Args[0], env)
	if err != nil {
		return nil, err
	}

	undo, err := becomeSubreaper()
	if err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	defer undo()

	baseline, err := harness.Take(harness.WithMarker(run.ID))
	if err != nil {
		return nil, fmt.Errorf("gate: baseline: %w", err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	defer null.Close()
	orNull := func(f *os.File) *os.File {
		if f == nil {
			return null
		}
		return f
	}
	cmd := &exec.Cmd{
		Path: path, Args: c.Args, Env: env,
		Stdin: orNull(c.Stdin), Stdout: orNull(c.Stdout), Stderr: orNull(c.Stderr),
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}

	// The parent-death signal fires when the thread that forked exits:
	// keep this goroutine on it until the command is reaped.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	defer signal.Stop(sigchld)

	before := childrenNow()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrStart, c.Args[0], err)
	}
	pid := cmd.Process.Pid
	harness.Remember(pid, c.Args, "spawn")
	w := newWatcher(pid, start, before, newFDTracker(c.IgnoreFDs))
	w.tick(true)

	var sampler *harness.Sampler
	if first, err := harness.Take(harness.Of(pid), harness.WithMarker(run.ID)); err == nil {
		sampler, _ = harness.Sample(ctx, first, harness.PollEvery(c.Every), harness.Of(pid), harness.WithMarker(run.ID)) // c.Every > 0: checked by the config
	} // else it is gone already: no timeline

	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	ticker := time.NewTicker(c.Every)
	defer ticker.Stop()
	var timeout <-chan time.Time
	if c.Timeout > 0 {
		t := time.NewTimer(c.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	timedOut, interrupted, watching := false, false, true
	done := ctx.Done()
wait:
	for {
		select {
		case <-waited:
			break wait
		case <-ticker.C:
			if watching {
				watching = w.tick(true)
			}
		case <-sigchld: // an orphan may have died: reap it at once, as init would
			if watching {
				watching = w.tick(false)
			}
		case s := <-sigs:
			_ = unix.Kill(-pid, s.(syscall.Signal)) // its group: as a terminal would
		case <-timeout:
			timedOut = true
			_ = cmd.Process.Kill()
		case <-done:
			done, interrupted = nil, true
			_ = cmd.Process.Kill()
		}
	}
	ran := time.Since(start)
	var timeline harness.Timeline
	if sampler != nil {
		timeline = sampler.Stop()
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)

	// The settle window: nothing is reaped here, not even the orphans that
	// came to the gate (the command cannot reap them any more, and init
	// would have: they count).
	settleCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.Settle)
	leaks, err := harness.Settle(settleCtx, baseline, harness.Quiet(c.Settle), harness.WithMarker(run.ID), harness.IgnoringFDs(allFDs))
	cancel()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		cl := cleanup(run, baseline)
		return nil, fmt.Errorf("gate: settle: %w (cleanup: killed %d, reaped %d)", err, len(cl.Killed), len(cl.Reaped))
	}
	invs, _ := journal.Read(journalPath)
	leaks = leaks.Annotate(facts(invs)...)
	self, selfErr := readSelfReport(selfPath)
	if selfErr != nil {
		self = append(self, SelfLeak{Kind: "malformed", Detail: selfErr.Error()})
	}

	rep := &Report{
		Command: c.Args, Pid: pid, Run: run.ID, Started: start, RanMS: ran.Milliseconds(),
		Status: statusOf(ws, timedOut, interrupted), SettleMS: c.Settle.Milliseconds(),
		Survivors: []Process{}, Escaped: []Process{},
		FDs: w.fds.verdict(c.FDQuiet), Timeline: timeline, SelfReported: []SelfLeak{},
	}
	rep.SelfReported = append(rep.SelfReported, self...)
	if timedOut || interrupted {
		rep.FDs.Judged, rep.FDs.Leaked = false, []FD{}
		rep.FDs.Why = "not judged: the gate killed the command in the middle of its work"
	}
	for _, p := range leaks.Children {
		if w.wasEscaped(int(p.Pid)) {
			rep.Escaped = append(rep.Escaped, processOf(p))
		} else {
			rep.Survivors = append(rep.Survivors, processOf(p))
		}
	}
	rep.Escaped = append(rep.Escaped, w.gone()...)
	for _, p := range leaks.Escaped {
		rep.Escaped = append(rep.Escaped, processOf(p))
	}
	rep.OrphansReaped = w.deadOrphans

	rep.Cleanup = cleanup(run, baseline)
	invs, jerr := journal.Read(journalPath) // again: the cleanup ended what was still running
	rep.Journal = summariseJournal(journalPath, c.Journal != "", invs, jerr)
	rep.judge(c.RequireSuccess)
	return rep, nil
}

// facts turns journal invocations into harness facts, for the report.
func facts(invs []journal.Invocation) []harness.Fact {
	out := make([]harness.Fact, 0, len(invs))
	for _, inv := range invs {
		out = append(out, harness.Fact{Pid: inv.PID, Started: inv.Start, Argv: inv.Argv, Fault: inv.Fault, Source: "journal"})
	}
	return out
}

// becomeSubreaper makes the calling process a child subreaper and returns
// the function that restores the previous setting.
func becomeSubreaper() (func(), error) {
	var was int32
	if _, _, e := unix.Syscall(unix.SYS_PRCTL, unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&was)), 0); e != 0 {
		return nil, fmt.Errorf("prctl(PR_GET_CHILD_SUBREAPER): %w", e)
	}
	if was != 0 {
		return func() {}, nil
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	return func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) }, nil
}
