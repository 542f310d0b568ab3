package gate

import (
	"errors"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/procfs"
	"github.com/leakgate/leakgate/internal/sweep"
)

// watcher samples the command cheaply, for what the harness timeline
// (counts) cannot say: which fds the command holds (by number and target)
// and which processes were orphaned to the gate while the command was still
// running (by pid and start time). It also acts as init for those orphans:
// it reaps the ones that are dead. It reads /proc/<pid>/stat, fd, cmdline
// and task/*/children of the command, of the gate and of its children; no
// full /proc scan.
type watcher struct {
	self, pid int32
	start     time.Time
	fds       *fdTracker
	// before are the gate's own children before the command started (by
	// pid → start ticks): not the command's.
	before map[int32]uint64
	// escaped are processes that were alive when they were orphaned to the
	// gate while the command ran, by pid.
	escaped map[int32]*orphan
	// deadOrphans counts orphans that came to the gate already dead while
	// the command ran (killed along with their parent): reaped, not leaks.
	deadOrphans int
	// dying are orphans a look found dying (exiting, or with SIGKILL
	// pending) while the command ran, by pid: dead orphans that had not yet
	// become zombies. The last look (at the exit stop) is the last: those
	// it finds dying become zombies after the command's exit, and
	// forgiveDying and reapDying tell them from its leftovers.
	dying map[int32]dyingOrphan
	// atExit is the command's fd table at its exit stop; nil if the stop
	// was not seen (see trace.go).
	atExit map[int]string
	// writable are the fds of atExit open for writing.
	writable map[int]bool
}

// orphan is an escaped process as the watcher saw it alive.
type orphan struct {
	ticks  uint64 // start time: identity across pid reuse
	proc   Process
	seen   time.Duration // when first seen, since the command started
	reaped time.Duration // when the gate reaped it after it died; 0 if it did not
	signal unix.Signal   // the signal it died of, if it was reaped and died of one
}

// dyingOrphan is an orphan a look found dying.
type dyingOrphan struct {
	ticks uint64        // start time: identity across pid reuse
	at    time.Duration // when first found dying, since the command started
}

// kid is one of the gate's children as a look found it.
type kid struct {
	pid int32
	st  procfs.Stat
}

func newWatcher(pid int, start time.Time, before map[int32]uint64, fds *fdTracker) *watcher {
	return &watcher{self: int32(os.Getpid()), pid: int32(pid), start: start, fds: fds, before: before, escaped: map[int32]*orphan{}, dying: map[int32]dyingOrphan{}}
}

// childrenNow returns the calling process's children, pid → start ticks.
func childrenNow() map[int32]uint64 {
	out := map[int32]uint64{}
	kids, _ := procfs.Children(int32(os.Getpid()))
	for _, c := range kids {
		if st, err := procfs.ReadStat(c); err == nil {
			out[c] = st.StartTicks
		}
	}
	return out
}

// tick takes one sample (with the command's fds if withFDs and they are
// readable) and deals with the orphans. It returns false once the command is
// exiting or gone; such a sample is discarded: exit closes the fds and
// reparents the children, so what it would show is the exit, not the
// program. Orphans that came from the exit are the command's survivors:
// they are neither recorded nor reaped here.
//
// The command's stat flags are read before and after the other files:
// PF_EXITING is set before exit closes fds or reparents children, so if it
// is clear after the reads, everything read describes the live program.
func (w *watcher) tick(withFDs bool) bool {
	if !w.running() {
		return false
	}
	at := time.Since(w.start)
	var obs *fdObs
	if withFDs {
		obs = w.lookAtCommand(at)
	}
	orphans := w.newChildren()
	if !w.running() {
		return false
	}
	if obs != nil {
		w.fds.observe(*obs)
	}
	w.adopt(orphans, at)
	return true
}

// atExitStop is the last look, taken while the command is stopped at its
// exit (in state t, PF_EXITING not yet set, fds still open, children not
// yet reparented): its
// fd table as it exits, and every orphan that came while it ran.
func (w *watcher) atExitStop() {
	at := time.Since(w.start)
	if fds, err := readFDs(w.pid); err == nil {
		w.atExit, w.writable = fds, map[int]bool{}
		for num := range fds {
			if mode, err := procfs.AccessMode(w.pid, num); err == nil && mode != 0 {
				w.writable[num] = true
			}
		}
	}
	w.adopt(w.newChildren(), at)
	w.rememberTree(w.pid)
}

// rememberTree remembers the command lines of pid's descendants
// (harness.Remember): at the exit stop they are the survivors to be, and
// one that dies in the settle window is a zombie by the time it is judged,
// whose /proc cmdline is empty (Go's telemetry child, 20 ms after `go
// version`).
func (w *watcher) rememberTree(pid int32) {
	seen := map[int32]bool{}
	queue := []int32{pid}
	for len(queue) > 0 {
		kids, _ := procfs.Children(queue[0])
		queue = queue[1:]
		for _, c := range kids {
			if seen[c] {
				continue
			}
			seen[c] = true
			if args, err := procfs.Cmdline(c); err == nil && len(args) > 0 {
				harness.Remember(int(c), args, "exit stop")
			}
			queue = append(queue, c)
		}
	}
}

// running reports whether the command is neither exiting nor gone.
func (w *watcher) running() bool {
	st, err := procfs.ReadStat(w.pid)
	return err == nil && !st.Exiting()
}

// lookAtCommand reads the command's fds and counts its live children; nil
// if its fds are unreadable (an exec of a setuid binary).
func (w *watcher) lookAtCommand(at time.Duration) *fdObs {
	fds, err := readFDs(w.pid)
	if err != nil {
		return nil
	}
	live := 0
	kids, _ := procfs.Children(w.pid)
	for _, c := range kids {
		if st, err := procfs.ReadStat(c); err == nil && st.State != 'Z' && st.State != 'X' {
			live++
		}
	}
	return &fdObs{at: at, fds: fds, live: live}
}

// newChildren lists the gate's children other than the command and those
// it had before the command started.
func (w *watcher) newChildren() []kid {
	var out []kid
	mine, _ := procfs.Children(w.self)
	for _, c := range mine {
		if c == w.pid {
			continue
		}
		st, err := procfs.ReadStat(c)
		if err != nil {
			continue
		}
		if t, ok := w.before[c]; ok && t == st.StartTicks {
			continue
		}
		out = append(out, kid{c, st})
	}
	return out
}

// adopt records the live orphans as escaped and reaps the dead ones, as
// init would have. They were orphaned while the command ran (the command
// was not exiting when the list was read), so none is one of the command's
// own leftovers.
func (w *watcher) adopt(orphans []kid, at time.Duration) {
	for _, o := range orphans {
		known := w.escaped[o.pid]
		if known != nil && known.ticks != o.st.StartTicks {
			known = nil // the pid was reused
		}
		if o.st.State != 'Z' {
			if o.st.Exiting() || procfs.KillPending(o.pid) {
				// Dying with its parent: a dead orphan at the next look, if
				// there is one (see forgiveDying).
				if d, ok := w.dying[o.pid]; !ok || d.ticks != o.st.StartTicks {
					w.dying[o.pid] = dyingOrphan{ticks: o.st.StartTicks, at: at}
				}
				continue
			}
			if known == nil {
				known = &orphan{ticks: o.st.StartTicks, seen: at}
				w.escaped[o.pid] = known
			}
			// The latest look wins: a child caught between fork and exec
			// still shows its parent's command line.
			if d := describe(o.pid, o.st); len(d.Cmdline) > 0 || known.proc.Pid == 0 {
				known.proc = d
			}
			continue
		}
		sig := deathSignal(int(o.pid))
		if !sweep.Reap(o.pid) {
			continue
		}
		if known != nil {
			known.reaped, known.signal = time.Since(w.start), sig
		} else {
			w.deadOrphans++
		}
	}
}

// describe renders a live orphan for the report.
func describe(pid int32, st procfs.Stat) Process {
	cmdline, _ := procfs.Cmdline(pid)
	p := harness.Proc{
		Pid: pid, PPid: st.PPid, Pgid: st.Pgrp, State: string(st.State),
		Name: st.Comm, Cmdline: cmdline, CmdlineFrom: "proc",
	}
	return processOf(p)
}

// diedOrphaned reports whether pid, as it is now, was found dying when it
// was orphaned to the gate while the command ran.
func (w *watcher) diedOrphaned(pid int32) bool {
	d, ok := w.dying[pid]
	if !ok {
		return false
	}
	st, err := procfs.ReadStat(pid)
	return err == nil && st.StartTicks == d.ticks
}

// reapDying takes from escaped the zombies that were escaped processes
// found dying while the command ran (cat of a pipeline, exiting as the
// EOF it sent lets the command exit): they died while the command ran, as
// those the watcher reaped then, and gone reports them so. It reaps them.
func (w *watcher) reapDying(escaped *harness.Leaks) {
	kept := escaped.Children[:0]
	for _, p := range escaped.Children {
		o := w.escaped[p.Pid]
		if p.State == "Z" && o != nil && w.wasEscaped(p.Pid) && w.diedOrphaned(p.Pid) {
			sig := deathSignal(int(p.Pid))
			if sweep.Reap(p.Pid) {
				o.reaped, o.signal = w.dying[p.Pid].at, sig
				continue
			}
		}
		kept = append(kept, p)
	}
	escaped.Children = kept
}

// wasEscaped reports whether pid, as it is now, was alive when it was
// orphaned to the gate while the command ran.
func (w *watcher) wasEscaped(pid int32) bool {
	o, ok := w.escaped[pid]
	if !ok {
		return false
	}
	st, err := procfs.ReadStat(pid)
	return err == nil && st.StartTicks == o.ticks
}

// gone returns the escaped processes that died and were reaped by the gate
// while the command ran: leaks all the same (they ran outside its tree),
// unless withGroup says they died with the command's process group (pgid,
// the signal they died of): those it counts instead.
func (w *watcher) gone(withGroup func(pgid int32, sig unix.Signal) bool) (out []Process, forgiven int) {
	for _, o := range w.escaped {
		if o.reaped == 0 {
			continue
		}
		if withGroup(int32(o.proc.Pgid), o.signal) {
			forgiven++
			continue
		}
		p := o.proc
		p.State = "X"
		p.Ended = EndedDuringRun
		p.Reaped = true
		p.Note = "escaped at " + o.seen.Round(time.Millisecond).String() + "; died at " + o.reaped.Round(time.Millisecond).String() + ", while the command ran"
		p.render()
		out = append(out, p)
	}
	return out, forgiven
}

// readFDs returns pid's open fds, number → readlink target.
func readFDs(pid int32) (map[int]string, error) {
	list, err := procfs.FDs(pid)
	if err != nil {
		return nil, err
	}
	out := make(map[int]string, len(list))
	for _, fd := range list {
		out[fd.Num] = fd.Target
	}
	return out, nil
}

// deathSignal returns the signal a zombie child died of, without reaping it
// (waitid with WNOWAIT); 0 if it exited or is not a zombie child of ours.
func deathSignal(pid int) unix.Signal {
	var si unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &si, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0
		}
		break
	}
	code, status := siginfoChild(&si)
	if code == cldKilled || code == cldDumped {
		return unix.Signal(status)
	}
	return 0
}

// CLD_* codes of a SIGCHLD siginfo (si_code).
const (
	cldKilled = 2
	cldDumped = 3
)

// siginfoChild returns si_code and si_status of a SIGCHLD siginfo (as
// waitid fills it: si_pid, si_uid, then si_status, after the three ints of
// the header and padding).
func siginfoChild(si *unix.Siginfo) (code, status int32) {
	b := (*[128]byte)(unsafe.Pointer(si))
	code = *(*int32)(unsafe.Pointer(&b[8]))
	status = *(*int32)(unsafe.Pointer(&b[24]))
	return code, status
}
