package gate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
	"unsafe"

	"github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/gate/selfreport"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/ownedtemp"
	"github.com/leakgate/leakgate/internal/sweep"
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
// Run has three phases. It prepares (validates c, makes its temporary
// folder, builds the command's environment, becomes a child subreaper so
// that every orphan of the command comes to it); it supervises (starts the
// command traced, in its own process group, samples it every c.Every,
// reaps the orphans that come to it dead, forwards SIGINT, SIGTERM and
// SIGHUP to the group and kills the tree at a second one, kills the
// command at c.Timeout, looks at it once more when it stops at its exit);
// it judges (lets what the command left settle for c.Settle, files each
// leftover as a survivor or escaped, then ends the run's processes,
// SIGTERM first, SIGKILL after a grace, and reads the journal). See the
// package doc for what counts as a leak.
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
	p, err := prepare(c)
	if err != nil {
		return nil, err
	}
	defer p.remove()
	undo, err := becomeSubreaper()
	if err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	defer undo()
	baseline, err := harness.Take(harness.WithMarker(p.run.ID))
	if err != nil {
		return nil, fmt.Errorf("gate: baseline: %w", err)
	}
	s, err := supervise(ctx, c, p)
	if err != nil {
		return nil, err
	}
	return judge(ctx, c, p, s, baseline)
}

// prepared is what Run sets up before the command starts.
type prepared struct {
	tmp                   string
	journalPath, selfPath string
	run                   harness.Marker
	env                   []string
	path                  string // the command's executable
	guard                 *guard // nil: no guard (Config.Guard empty)
}

// prepare removes stale folders of dead gates, makes the run's temporary
// folder, builds the command's environment and finds its executable.
func prepare(c Config) (*prepared, error) {
	ownedtemp.RemoveStale(folderKinds...)
	tmp, err := ownedtemp.Mkdir("run")
	if err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	p := &prepared{tmp: tmp, journalPath: c.Journal, selfPath: filepath.Join(tmp, "self-report.jsonl"), run: runFor(c.Env)}
	if p.journalPath == "" {
		p.journalPath = filepath.Join(tmp, "journal.jsonl")
	}
	p.env = commandEnv(c, p.run, p.journalPath, p.selfPath)
	if p.path, err = lookPath(c.Args[0], p.env); err != nil {
		p.remove()
		return nil, err
	}
	if len(c.Guard) > 0 {
		if p.guard, err = startGuard(c.Guard, p.run, append([]string{tmp}, c.GuardFolders...)); err != nil {
			p.remove()
			return nil, fmt.Errorf("gate: %w", err)
		}
	}
	return p, nil
}

// remove stops the guard and removes the temporary folder.
func (p *prepared) remove() {
	if p.guard != nil {
		p.guard.stop()
	}
	os.RemoveAll(p.tmp)
}

// supervised is what supervise saw of the command.
type supervised struct {
	pid                   int
	start                 time.Time
	ran                   time.Duration
	ws                    unix.WaitStatus
	timedOut, interrupted bool
	hurried               bool // a second signal: the tree was killed at once
	exitSeen              bool // the command stopped at its exit (ptrace)
	traced                bool
	// received reports whether the command received a signal from
	// kill(2) (traced only; see traced.killed).
	received func(unix.Signal) bool
	timeline harness.Timeline
	w        *watcher
}

// supervise starts the command and watches it until it has exited.
func supervise(ctx context.Context, c Config, p *prepared) (*supervised, error) {
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
		Path: p.path, Args: c.Args, Env: p.env,
		Stdin: orNull(c.Stdin), Stdout: orNull(c.Stdout), Stderr: orNull(c.Stderr),
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	defer signal.Stop(sigchld)

	before := childrenNow()
	s := &supervised{start: time.Now()}
	t, err := startTraced(cmd)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrStart, c.Args[0], err)
	}
	s.pid, s.traced, s.received = t.pid, t.traced, t.receivedKill
	harness.Remember(s.pid, c.Args, "spawn")
	s.w = newWatcher(s.pid, s.start, before, newFDTracker(c.IgnoreFDs))
	s.w.tick(true)
	var sampler *harness.Sampler
	if first, err := harness.Take(harness.Of(s.pid), harness.WithMarker(p.run.ID)); err == nil {
		sampler, _ = harness.Sample(ctx, first, harness.PollEvery(c.Every), harness.Of(s.pid), harness.WithMarker(p.run.ID))
	} // else it is gone already: no timeline
	s.loop(ctx, c, t, sigs, sigchld)
	s.ran = time.Since(s.start)
	if sampler != nil {
		s.timeline = sampler.Stop()
	}
	return s, nil
}

// loop waits for the command's exit, ticking the watcher, passing signals
// on and enforcing the timeout.
func (s *supervised) loop(ctx context.Context, c Config, t *traced, sigs, sigchld <-chan os.Signal) {
	ticker := time.NewTicker(c.Every)
	defer ticker.Stop()
	var timeout <-chan time.Time
	if c.Timeout > 0 {
		tm := time.NewTimer(c.Timeout)
		defer tm.Stop()
		timeout = tm.C
	}
	watching, signalled := true, 0
	done := ctx.Done()
	for {
		select {
		case s.ws = <-t.exited:
			return
		case st := <-t.stops:
			s.w.atExitStop()
			s.exitSeen, watching = true, false
			close(st.done)
		case <-ticker.C:
			if watching {
				watching = s.w.tick(true)
			}
		case <-sigchld: // an orphan may have died: reap it at once, as init would
			if watching {
				watching = s.w.tick(false)
			}
		case sig := <-sigs:
			signalled++
			if signalled == 1 || sig == syscall.SIGHUP {
				_ = unix.Kill(-s.pid, sig.(syscall.Signal)) // its group: as a terminal would
				c.notice("passed %s on to the command's process group; another SIGINT or SIGTERM kills its whole tree at once", unix.SignalName(sig.(syscall.Signal)))
				continue
			}
			s.interrupted, s.hurried = true, true // a second one: kill the tree now
			c.notice("a second signal (%s): killing the command's tree", unix.SignalName(sig.(syscall.Signal)))
			killTree(s.pid)
		case <-timeout:
			s.timedOut = true
			_ = unix.Kill(s.pid, unix.SIGKILL)
		case <-done:
			done, s.interrupted = nil, true
			_ = unix.Kill(s.pid, unix.SIGKILL)
		}
	}
}

// settleMS is the settle window the verdict waits, in ms: none after a
// second signal.
func settleMS(c Config, s *supervised) int64 {
	if s.hurried {
		return 0
	}
	return c.Settle.Milliseconds()
}

// killTree SIGKILLs the command's process group and every descendant of
// the gate (each checked against its start time, so a reused pid is never
// hit): the answer to a second SIGINT or SIGTERM. It does not wait; the
// cleanup does.
func killTree(pid int) {
	_ = unix.Kill(-pid, unix.SIGKILL)
	if snap, err := harness.Take(harness.WithMarker("")); err == nil {
		for _, p := range snap.Descendants {
			_ = sweep.Signal(targetOf(p), unix.SIGKILL)
		}
	}
}

// judge lets what the command left settle, files it, cleans up and builds
// the report.
func judge(ctx context.Context, c Config, p *prepared, s *supervised, baseline harness.Snapshot) (*Report, error) {
	leaks, err := settle(ctx, c, p.run, baseline, s.hurried)
	if err != nil {
		cl := cleanup(p.run, baseline, s.hurried)
		return nil, fmt.Errorf("gate: settle: %w (cleanup: killed %d, reaped %d)", err, len(cl.Killed), len(cl.Reaped))
	}
	rep := &Report{
		Command: c.Args, Pid: s.pid, Run: p.run.ID, Started: s.start, RanMS: s.ran.Milliseconds(),
		Status: statusOf(syscall.WaitStatus(s.ws), s.timedOut, s.interrupted), SettleMS: settleMS(c, s),
		Exit:      exitSource(s),
		Personas:  personasIn(c.PersonaDir),
		Survivors: []Process{}, Escaped: []Process{}, Timeline: s.timeline,
	}
	rep.FDs = s.w.fds.verdict(c.FDQuiet)
	if s.w.atExit != nil {
		rep.FDs = s.w.fds.exitVerdict(s.w.atExit, s.w.writable, c.FDQuiet)
	}
	if s.timedOut || s.interrupted {
		rep.FDs.Judged, rep.FDs.Leaked = false, []FD{}
		rep.FDs.Why = "not judged: the gate killed the command in the middle of its work"
	}
	survivors, escaped := file(leaks, s)
	s.w.reapDying(&escaped)
	gone, goneWithGroup := s.w.gone(s.diedWithGroup)
	rep.OrphansReaped = s.w.deadOrphans + forgiveDying(&survivors, s.w) + goneWithGroup +
		forgiveGroupDeaths(&survivors, s) + forgiveGroupDeaths(&escaped, s)
	rep.Cleanup = cleanup(p.run, baseline, s.hurried)
	invs, jerr := journal.Read(p.journalPath) // after the cleanup: every invocation has ended
	facts := facts(invs)
	rep.Survivors = ended(survivors.Annotate(facts...).Children, rep.Cleanup)
	rep.Escaped = append(ended(escaped.Annotate(facts...).Children, rep.Cleanup), gone...)
	rep.Escaped = append(rep.Escaped, ended(leaks.Annotate(facts...).Escaped, rep.Cleanup)...)
	rep.Journal = summariseJournal(p.journalPath, c.Journal != "", invs, jerr)
	self, selfErr := selfreport.Read(p.selfPath)
	if selfErr != nil {
		self = append(self, selfreport.Leak{Kind: "malformed", Detail: selfErr.Error()})
	}
	rep.SelfReported = append([]selfreport.Leak{}, self...)
	rep.judge(c.RequireSuccess)
	return rep, nil
}

// settle waits out the settle window and returns what the run left (no
// window after a second signal: the user wants out).
func settle(ctx context.Context, c Config, run harness.Marker, baseline harness.Snapshot, hurried bool) (harness.Leaks, error) {
	window := c.Settle
	if hurried {
		window = time.Millisecond
	}
	settleCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), window)
	defer cancel()
	leaks, err := harness.Settle(settleCtx, baseline, harness.Quiet(window), harness.WithMarker(run.ID), harness.IgnoringFDs(allFDs))
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return leaks, err
	}
	return leaks, nil
}

// file splits the leftover descendants into survivors and escaped ones: a
// process escaped, or descended from one that escaped (tmux's shell, under
// its escaped server), ran outside the command's tree.
func file(leaks harness.Leaks, s *supervised) (survivors, escaped harness.Leaks) {
	parent := map[int32]int32{}
	for _, p := range leaks.Children {
		parent[p.Pid] = p.PPid
	}
	outside := func(pid int32) bool {
		for range len(parent) + 1 {
			if s.w.wasEscaped(pid) {
				return true
			}
			next, ok := parent[pid]
			if !ok {
				return false
			}
			pid = next
		}
		return false
	}
	for _, p := range leaks.Children {
		if outside(p.Pid) {
			escaped.Children = append(escaped.Children, p)
		} else {
			survivors.Children = append(survivors.Children, p)
		}
	}
	return survivors, escaped
}

// forgiveDying removes from survivors the zombies that were orphaned to
// the gate already dying while the command ran (w.dying): dead orphans, as
// those the watcher reaps while it runs, that became zombies only after
// its last look. timeout (SIGTERM) kills its group, waits for its child,
// and may exit before the grandchildren, SIGKILL pending, have finished
// dying. It reaps them now and counts them.
func forgiveDying(survivors *harness.Leaks, w *watcher) int {
	n := 0
	kept := survivors.Children[:0]
	for _, p := range survivors.Children {
		if p.State == "Z" && w.diedOrphaned(p.Pid) && sweep.Reap(p.Pid) {
			n++
			continue
		}
		kept = append(kept, p)
	}
	survivors.Children = kept
	return n
}

// forgiveGroupDeaths removes from leftovers (survivors or escaped ones)
// the zombies that died with the command's process group (see
// diedWithGroup). They are no more a leak at the end of the run than the
// dead orphans the gate reaps while it runs; it reaps them now and counts
// them.
func forgiveGroupDeaths(leftovers *harness.Leaks, s *supervised) int {
	n := 0
	kept := leftovers.Children[:0]
	for _, p := range leftovers.Children {
		if p.State == "Z" && s.diedWithGroup(p.Pgid, deathSignal(int(p.Pid))) && sweep.Reap(p.Pid) {
			n++
			continue
		}
		kept = append(kept, p)
	}
	leftovers.Children = kept
	return n
}

// diedWithGroup reports whether a process of the run that died of sig (0:
// it exited) in process group pgid died with the command's process group:
// the group is the command's, and the command itself received sig from
// kill(2) while it ran (the group was signalled as a whole: timeout's
// kill(0, SIGTERM), after it had killed its child alone, which orphans
// the pipeline's members alive for a moment) or died of it (timeout -s
// KILL killing its group, itself included). A signal the gate sent itself
// (its timeout, a second SIGINT) does not count.
func (s *supervised) diedWithGroup(pgid int32, sig unix.Signal) bool {
	if sig == 0 || int(pgid) != s.pid {
		return false
	}
	if s.received != nil && s.received(sig) {
		return true
	}
	return s.ws.Signaled() && s.ws.Signal() == sig && !s.timedOut && !s.hurried
}

// exitSource says how the command's exit was seen.
func exitSource(s *supervised) string {
	switch {
	case s.exitSeen:
		return ExitTraced
	case s.traced:
		return ExitNotStopped
	}
	return ExitUntraced
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
