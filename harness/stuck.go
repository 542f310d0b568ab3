package harness

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leakgate/leakgate/internal/procfs"
)

// Stuck is the evidence that leaks will hold still: for each leak, what
// proves that it stays as it is, or why nothing does. Leaks.Stuck makes
// one.
type Stuck struct {
	Proven   []string // one line per proven leak: "pid 4244 (aws): held still on purpose until 14:57:06.1 (journal)"
	Unproven []string // one line per other leak: "pid 4250 (gzip) [Z]: a zombie's parent may reap it"
}

// All reports whether there is evidence for every leak, and at least one
// leak: if leaks.Stuck(horizon).All() { /* nothing will change before horizon */ }.
func (s Stuck) All() bool { return len(s.Unproven) == 0 && len(s.Proven) > 0 }

// String lists the evidence, proven lines first, each unproven one marked.
func (s Stuck) String() string {
	lines := slices.Clone(s.Proven)
	for _, u := range s.Unproven {
		lines = append(lines, "not proven: "+u)
	}
	return strings.Join(lines, "\n")
}

// Stuck judges which leaks are proven to stay as they are until horizon,
// from /proc and from what Annotate attached (Fact.HeldUntil). Proven are:
//
//   - a live process whose fact says it is held still on purpose until
//     horizon or later (a fault injector stalling it);
//   - a process whose threads all sleep reading or writing a pipe (their
//     wait channels and blocked calls say which fd: procfs.Waiting,
//     procfs.Syscalls) whose other end only proven processes hold; not
//     the measured process, which may still write, read or close its end;
//   - a process whose threads all sleep waiting for a child, whose
//     children are all proven;
//   - a pidfd of the measured process that one of its threads sleeps on in
//     waitid (Go's os.Process.Wait), naming a proven process: the code
//     holding it cannot close it before that process exits.
//
// Nothing proves a zombie (its parent may reap it), another fd (its holder
// or the garbage collector may close it), a goroutine, or a process that
// runs or sleeps on anything else: those are Unproven, with the reason.
// Pipes are followed only within the run (the leaked processes and the
// measured one); a pipe end held by any other process voids the proof. It
// reads the wait channels, blocked calls and fd tables of the leaked
// processes (a blocked call of a process that is not our descendant needs
// ptrace access: as the same user with Yama's ptrace_scope 0, or root;
// where it is denied, the process is unproven) and, when a pipe is relied
// on, every process's fd table once (procfs.Holders).
//
//	if st := leaks.Annotate(facts...).Stuck(time.Now().Add(time.Second)); st.All() { … }
func (l Leaks) Stuck(horizon time.Time) Stuck {
	j := newStuckJudge(l, horizon)
	j.prove()
	var st Stuck
	for _, p := range slices.Concat(l.Children, l.Escaped) {
		if why, ok := j.stuck[p.Pid]; ok {
			st.Proven = append(st.Proven, fmt.Sprintf("pid %d (%s): %s", p.Pid, p.Name, why))
		} else {
			st.Unproven = append(st.Unproven, fmt.Sprintf("pid %d (%s) [%s]: %s", p.Pid, p.Name, p.State, j.whyNot(p)))
		}
	}
	for _, fd := range l.FDs {
		if why, ok := j.fd(fd); ok {
			st.Proven = append(st.Proven, fmt.Sprintf("fd %d -> %s: %s", fd.Num, fd.Target, why))
		} else {
			st.Unproven = append(st.Unproven, fmt.Sprintf("fd %d -> %s: %s", fd.Num, fd.Target, why))
		}
	}
	for _, g := range l.Goroutines {
		st.Unproven = append(st.Unproven, fmt.Sprintf("goroutine %d: nothing proves a goroutine stays", g.ID))
	}
	for _, fd := range l.Finalized {
		st.Unproven = append(st.Unproven, fmt.Sprintf("fd %d -> %s: closed only by the garbage collector", fd.Num, fd.Target))
	}
	if len(st.Unproven) == 0 && !j.outsideHoldersNone() {
		return Stuck{Unproven: []string{"a pipe relied on is also held outside the run: " + j.outside}}
	}
	return st
}

// stuckJudge holds what Stuck read of /proc, and its verdicts.
type stuckJudge struct {
	l       Leaks
	horizon time.Time
	procs   map[int32]Proc
	waits   map[int32]procfs.Wait
	ends    map[int32][]procfs.PipeEnd // of the live leaked processes and Self
	stuck   map[int32]string           // proven processes: why
	relied  []string                   // pipes a proof relied on
	outside string                     // a holder of a relied-on pipe outside the run
}

func newStuckJudge(l Leaks, horizon time.Time) *stuckJudge {
	j := &stuckJudge{l: l, horizon: horizon, procs: map[int32]Proc{}, waits: map[int32]procfs.Wait{},
		ends: map[int32][]procfs.PipeEnd{}, stuck: map[int32]string{}}
	for _, p := range slices.Concat(l.Children, l.Escaped) {
		j.procs[p.Pid] = p
		if p.State == "Z" {
			continue
		}
		j.waits[p.Pid], _ = procfs.Waiting(p.Pid)
		j.ends[p.Pid], _ = procfs.PipeEnds(p.Pid)
	}
	j.ends[l.Self], _ = procfs.PipeEnds(l.Self)
	return j
}

// prove finds the stuck processes: those held still on purpose, then,
// until nothing changes, those waiting only on proven ones.
func (j *stuckJudge) prove() {
	for pid, p := range j.procs {
		if p.State != "Z" && p.Fact != nil && !p.Fact.HeldUntil.IsZero() && !p.Fact.HeldUntil.Before(j.horizon) {
			j.stuck[pid] = fmt.Sprintf("held still on purpose until %s (%s)", p.Fact.HeldUntil.Format("15:04:05.0"), cmp.Or(p.Fact.Source, "caller"))
		}
	}
	for changed := true; changed; {
		changed = false
		for pid, p := range j.procs {
			if _, done := j.stuck[pid]; done || p.State == "Z" {
				continue
			}
			if why, ok := j.waitsOnStuck(pid); ok {
				j.stuck[pid], changed = why, true
			}
		}
	}
}

// waitsOnStuck reports whether process pid waits only on proven processes,
// and says on what.
func (j *stuckJudge) waitsOnStuck(pid int32) (string, bool) {
	switch w := j.waits[pid]; w {
	case procfs.WaitChild:
		kids, err := procfs.Children(pid)
		if err != nil || len(kids) == 0 {
			return "", false
		}
		for _, k := range kids {
			if _, ok := j.stuck[k]; !ok {
				return "", false
			}
		}
		return fmt.Sprintf("waits for its children %s, all stuck", pidList(kids)), true
	case procfs.WaitPipeRead, procfs.WaitPipeWrite, procfs.WaitPipe:
		var peers []int32
		var pipes []string
		for _, e := range j.blockedOn(pid) {
			others, ok := j.otherEnd(pid, e)
			if !ok {
				return "", false
			}
			peers, pipes = append(peers, others...), append(pipes, e.Pipe)
		}
		if len(pipes) == 0 {
			return "", false
		}
		j.relied = append(j.relied, pipes...)
		return fmt.Sprintf("sleeps on %s (%s), whose other ends only stuck processes %s hold", strings.Join(pipes, ", "), w, pidList(peers)), true
	}
	return "", false
}

// blockedOn is the pipe ends the threads of process pid are blocked
// reading or writing (the fds of their read and write calls); nil if any
// thread's call is unreadable or not on a pipe.
func (j *stuckJudge) blockedOn(pid int32) []procfs.PipeEnd {
	calls, err := procfs.Syscalls(pid)
	if err != nil || len(calls) == 0 {
		return nil
	}
	var out []procfs.PipeEnd
	for _, c := range calls {
		fd, ok := c.FD()
		i := slices.IndexFunc(j.ends[pid], func(e procfs.PipeEnd) bool { return e.FD == fd })
		if !ok || i < 0 {
			return nil
		}
		out = append(out, j.ends[pid][i])
	}
	return out
}

// otherEnd returns the processes other than pid holding the other end of
// e's pipe, if all of them are proven (and none is the measured process).
func (j *stuckJudge) otherEnd(pid int32, e procfs.PipeEnd) ([]int32, bool) {
	var out []int32
	for holder, ends := range j.ends {
		if holder == pid {
			continue // it cannot use its other end while every thread sleeps
		}
		for _, o := range ends {
			if o.Pipe != e.Pipe || (o.Mode == e.Mode && e.Mode != 2) {
				continue
			}
			if _, ok := j.stuck[holder]; !ok || holder == j.l.Self {
				return nil, false
			}
			out = append(out, holder)
		}
	}
	return out, true
}

// fd judges one leaked fd of the measured process.
func (j *stuckJudge) fd(fd FD) (string, bool) {
	if fd.Kind != FDPidfd {
		return "its holder (or the garbage collector) may close it", false
	}
	target, err := procfs.PidfdPid(j.l.Self, fd.Num)
	if err != nil {
		return "unreadable pidfd: " + err.Error(), false
	}
	if _, ok := j.stuck[target]; !ok {
		return fmt.Sprintf("a pidfd of pid %d, not proven stuck: it may exit and be waited for", target), false
	}
	waited, err := procfs.WaitedPidfds(j.l.Self)
	if err != nil || !slices.Contains(waited, fd.Num) {
		return fmt.Sprintf("a pidfd of stuck pid %d that no thread waits on: the garbage collector may close it", target), false
	}
	return fmt.Sprintf("a pidfd a thread waits on (waitid) for stuck pid %d", target), true
}

// whyNot says why process p is not proven.
func (j *stuckJudge) whyNot(p Proc) string {
	switch w := j.waits[p.Pid]; {
	case p.State == "Z":
		return "a zombie's parent may reap it"
	case w == procfs.WaitOther:
		return "runs, or sleeps on something other than a pipe or a child, and nothing says it is held still"
	default:
		return fmt.Sprintf("sleeps on a %s, but something it waits on is not proven stuck", w)
	}
}

// outsideHoldersNone checks, with one scan of every process's fds, that
// no process outside the run holds a pipe a proof relied on.
func (j *stuckJudge) outsideHoldersNone() bool {
	if len(j.relied) == 0 {
		return true
	}
	holders, err := procfs.Holders(j.relied...)
	if err != nil {
		j.outside = err.Error()
		return false
	}
	for pipe, hs := range holders {
		for _, h := range hs {
			if _, ok := j.ends[h.Pid]; !ok {
				j.outside = fmt.Sprintf("%s by pid %d (%s)", pipe, h.Pid, h.Comm)
				return false
			}
		}
	}
	return true
}

func pidList(pids []int32) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ", ")
}
