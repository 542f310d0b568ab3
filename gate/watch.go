package gate

import (
	"fmt"
	"os"
	"time"

	"github.com/leakgate/leakgate/harness"
)

// watcher samples the command cheaply, for what the harness timeline
// (counts) cannot say: which fds the command holds (by number and target)
// and which processes were orphaned to the gate while the command was still
// running (by pid and start time). It also acts as init for those orphans:
// it reaps the ones that are dead. It reads /proc/<pid>/stat, fd, cmdline
// and task/*/children of the command, of the gate and of its children; no
// full /proc scan.
type watcher struct {
	self, pid int
	start     time.Time
	fds       *fdTracker
	// before are the gate's own children before the command started (by
	// pid → start ticks): not the command's.
	before map[int]uint64
	// escaped are processes that were alive when they were orphaned to the
	// gate while the command ran, by pid.
	escaped map[int]*orphan
	// deadOrphans counts orphans that came to the gate already dead while
	// the command ran (killed along with their parent): reaped, not leaks.
	deadOrphans int
}

// orphan is an escaped process as the watcher saw it alive.
type orphan struct {
	ticks  uint64 // start time: identity across pid reuse
	proc   Process
	seen   time.Duration // when first seen, since the command started
	reaped time.Duration // when the gate reaped it after it died; 0 if it did not
}

func newWatcher(pid int, start time.Time, before map[int]uint64, fds *fdTracker) *watcher {
	return &watcher{self: os.Getpid(), pid: pid, start: start, fds: fds, before: before, escaped: map[int]*orphan{}}
}

// childrenNow returns the calling process's children, pid → start ticks.
func childrenNow() map[int]uint64 {
	out := map[int]uint64{}
	kids, _ := readChildren(os.Getpid())
	for _, c := range kids {
		if st, err := readStat(c); err == nil {
			out[c] = st.StartTicks
		}
	}
	return out
}

// tick takes one sample (with the command's fds if withFDs and they are
// readable) and deals with the orphans. It returns false once the command is
// exiting or gone; such a sample is discarded: exit closes the fds and reparents the children, so
// what it would show is the exit, not the program. Orphans that came from
// the exit are the command's survivors: they are neither recorded nor
// reaped here.
//
// The command's stat flags are read before and after the other files:
// PF_EXITING is set before exit closes fds or reparents children, so if it
// is clear after the reads, everything read describes the live program.
func (w *watcher) tick(withFDs bool) bool {
	if st, err := readStat(w.pid); err != nil || st.exiting() {
		return false
	}
	at := time.Since(w.start)
	var fds map[int]string
	live := 0
	if withFDs {
		var err error
		if fds, err = readFDs(w.pid); err != nil {
			withFDs = false // unreadable now (an exec of a setuid binary): no fd sample
		}
	}
	if withFDs {
		kids, _ := readChildren(w.pid)
		for _, c := range kids {
			if st, err := readStat(c); err == nil && st.State != 'Z' && st.State != 'X' {
				live++
			}
		}
	}
	type kid struct {
		pid int
		st  procStat
	}
	var orphans []kid
	mine, _ := readChildren(w.self)
	for _, c := range mine {
		if c == w.pid {
			continue
		}
		st, err := readStat(c)
		if err != nil {
			continue
		}
		if t, ok := w.before[c]; ok && t == st.StartTicks {
			continue
		}
		orphans = append(orphans, kid{c, st})
	}
	if st, err := readStat(w.pid); err != nil || st.exiting() {
		return false
	}
	if withFDs {
		w.fds.observe(fdObs{at: at, fds: fds, live: live})
	}
	for _, o := range orphans {
		known := w.escaped[o.pid]
		if known != nil && known.ticks != o.st.StartTicks {
			known = nil // the pid was reused
		}
		if o.st.State != 'Z' {
			if o.st.exiting() || sigkillPending(o.pid) {
				continue // dying with its parent: a dead orphan at the next look
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
		// A dead orphan: reap it, as init would have. It was orphaned
		// while the command ran (the command was not exiting when the
		// list was read), so it is not one of the command's own zombies.
		if !reapChild(o.pid) {
			continue
		}
		if known != nil {
			known.reaped = time.Since(w.start)
		} else {
			w.deadOrphans++
		}
	}
	return true
}

// describe renders a live orphan for the report.
func describe(pid int, st procStat) Process {
	p := harness.Proc{
		Pid: int32(pid), PPid: int32(st.PPid), Pgid: int32(st.Pgrp), State: string(st.State),
		Name: readComm(pid), Cmdline: readCmdline(pid), CmdlineFrom: "proc",
	}
	return processOf(p)
}

// wasEscaped reports whether pid, as it is now, was alive when it was
// orphaned to the gate while the command ran.
func (w *watcher) wasEscaped(pid int) bool {
	o, ok := w.escaped[pid]
	if !ok {
		return false
	}
	st, err := readStat(pid)
	return err == nil && st.StartTicks == o.ticks
}

// gone returns the escaped processes that died and were reaped by the gate
// while the command ran: leaks all the same (they ran outside its tree).
func (w *watcher) gone() []Process {
	var out []Process
	for _, o := range w.escaped {
		if o.reaped == 0 {
			continue
		}
		p := o.proc
		p.State = "X"
		p.Reaped = true
		p.Text += fmt.Sprintf("\n      escaped at %s; died and was reaped by the gate at %s", o.seen.Round(time.Millisecond), o.reaped.Round(time.Millisecond))
		out = append(out, p)
	}
	return out
}
