package harness

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onsi/gomega/gleak"

	"github.com/leakgate/leakgate/internal/procfs"
	"github.com/leakgate/leakgate/internal/shellquote"
)

// Leaks is Diff's verdict: what a snapshot holds that its baseline did not.
type Leaks struct {
	Baseline Snapshot
	Children []Proc    // descendants now, not in the baseline (by pid and start time), any state
	Escaped  []Proc    // escaped processes now, not in the baseline
	FDs      []FD      // fds now, not in the baseline (by number and target)
	Taken    time.Time // when the compared snapshot was taken (ages are relative to it)
	Self     int32     // the measured process
	// Goroutines are the caller's goroutines now and not in the baseline,
	// as gleak judges them; only when both snapshots recorded goroutines
	// (WithGoroutines).
	Goroutines []gleak.Goroutine
	// Finalized are fds that were open in the compared snapshot and closed
	// only when the garbage collector ran their finalizers or cleanups (see
	// CheckFinalizers): code that relies on finalizers to close what it
	// opened. Diff leaves it empty.
	Finalized []FD
	// Settled says how Settle (or VerifyNone) ended: "nothing leaked",
	// "proven stuck:" and the evidence (OnEvidence), "unchanged for 300ms"
	// (the quiet window; with OnEvidence followed by what no evidence
	// proved), or "not settled: " and why. Diff leaves it empty.
	Settled string
}

// Zombies returns the leaked children and escaped processes in state Z.
func (l Leaks) Zombies() []Proc { return zombies(l.Children, l.Escaped) }

// Empty reports whether nothing leaked: if leaks.Empty() { … }.
func (l Leaks) Empty() bool { return l.Count() == 0 }

// Count returns the number of leaks: children + escaped + fds + goroutines
// + fds closed only by the garbage collector.
func (l Leaks) Count() int {
	return len(l.Children) + len(l.Escaped) + len(l.FDs) + len(l.Goroutines) + len(l.Finalized)
}

// Attribute returns l with the Peers of each leaked pipe fd filled: every
// process (possibly Self) holding the pipe's other end, found by scanning
// /proc/*/fd for the same pipe inode and comparing access modes (a holder
// of the same end, such as a child that inherited our write end, is not
// listed). Unlike Diff it reads /proc: a readdir and a readlink per fd of
// every process (about 70ms with 1000 processes on a loaded 2-core
// machine, see BenchmarkAttribute), and only when a pipe leaked; it never
// starts a process. Settle, VerifyNone and the matchers call it once, before
// reporting. A socket's peer is not searched (its two ends have different
// inodes).
//
//	t.Error(harness.Diff(before, after).Attribute())
func (l Leaks) Attribute() Leaks {
	var want []int
	for i, fd := range l.FDs {
		if fd.Kind == FDPipe {
			want = append(want, i)
		}
	}
	if len(want) == 0 {
		return l
	}
	fds := make([]FD, len(l.FDs))
	copy(fds, l.FDs)
	l.FDs = fds
	targets := make([]string, len(want))
	for k, i := range want {
		targets[k] = l.FDs[i].Target
	}
	byTarget, err := procfs.Holders(targets...)
	if err != nil {
		return l
	}
	for _, i := range want {
		fd := &l.FDs[i]
		mine, mineErr := procfs.AccessMode(l.Self, fd.Num)
		fd.Peers = nil
		for _, h := range byTarget[fd.Target] {
			if h.Pid == l.Self && h.FD == fd.Num {
				continue
			}
			theirs, err := procfs.AccessMode(h.Pid, h.FD)
			if mineErr == nil && err == nil && theirs == mine {
				continue // same end
			}
			fd.Peers = append(fd.Peers, Peer{Pid: h.Pid, Name: h.Comm, FD: h.FD})
		}
	}
	return l
}

// String renders the report: a count and the baseline, then one block per
// leak: processes (children, then escaped), fds, fds closed only by the
// garbage collector, goroutines. E.g.
//
//	expected no leaks since baseline (2 children, 11 fds); found 5:
//	  pid 4242 [Z zombie] ppid 4100 (restore.test), pgid 4242, age 1.2s
//	      spawned as: bash -c 'fakecli cp s3://b/x -'   (from spawn)
//	      ran as: fakecli cp s3://b/x -   (from journal)   fault: stall after=8KiB
//	  fd 17 -> pipe:[88123]; other end: pid 4244 (fakecli) fd 1
//	  fd 19 -> /tmp/x: closed only by the garbage collector: code that relies on finalizers
//	  goroutine 31 [chan receive]: pkg.worker, created by pkg.Start at pkg/start.go:42
//
// The header counts the baseline's children, escaped processes (when there
// are any), fds and goroutines (when recorded).
func (l Leaks) String() string {
	var b strings.Builder
	base := baselineSummary(l.Baseline)
	if l.Empty() {
		fmt.Fprintf(&b, "no leaks since baseline (%s)", base)
		return b.String()
	}
	fmt.Fprintf(&b, "expected no leaks since baseline (%s); found %d:", base, l.Count())
	for _, p := range l.Children {
		b.WriteString("\n")
		writeProc(&b, p, l.Taken, false)
	}
	for _, p := range l.Escaped {
		b.WriteString("\n")
		writeProc(&b, p, l.Taken, true)
	}
	for _, fd := range l.FDs {
		b.WriteString("\n  ")
		writeFD(&b, fd, l.Self)
	}
	for _, fd := range l.Finalized {
		b.WriteString("\n  ")
		writeFD(&b, fd, l.Self)
		b.WriteString(": " + finalizedNote)
	}
	for _, g := range l.Goroutines {
		b.WriteString("\n  ")
		writeGoroutine(&b, g)
	}
	return b.String()
}

// finalizedNote follows an fd that only the garbage collector closed.
const finalizedNote = "closed only by the garbage collector: code that relies on finalizers"

func baselineSummary(s Snapshot) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d children, ", len(s.Descendants))
	if len(s.Escaped) > 0 {
		fmt.Fprintf(&b, "%d escaped, ", len(s.Escaped))
	}
	fmt.Fprintf(&b, "%d fds", len(s.FDs))
	if s.Goroutines != nil {
		fmt.Fprintf(&b, ", %d goroutines", len(s.Goroutines))
	}
	return b.String()
}

// String renders the process as a leak report block (without its age):
// "pid 4242 [Z zombie] ppid 4100 (restore.test), pgid 4242" and a
// "spawned as:" line.
func (p Proc) String() string {
	var b strings.Builder
	writeProc(&b, p, time.Time{}, false)
	return strings.TrimPrefix(b.String(), "  ")
}

// String renders the fd as in a leak report: "fd 17 -> pipe:[88123]".
func (fd FD) String() string {
	var b strings.Builder
	writeFD(&b, fd, 0)
	return b.String()
}

func writeProc(b *strings.Builder, p Proc, taken time.Time, escaped bool) {
	fmt.Fprintf(b, "  pid %d [%s %s] ppid %d", p.Pid, p.State, stateName(p.State), p.PPid)
	if p.ParentName != "" {
		fmt.Fprintf(b, " (%s)", p.ParentName)
	}
	fmt.Fprintf(b, ", pgid %d", p.Pgid)
	if !taken.IsZero() && !p.Started.IsZero() {
		age := max(taken.Sub(p.Started), 0)
		fmt.Fprintf(b, ", age %.1fs", age.Seconds())
	}
	if escaped {
		fmt.Fprintf(b, " — escaped its parent (tagged run %s)", p.Marker)
	}
	b.WriteString("\n      spawned as: ")
	if len(p.Cmdline) == 0 {
		fmt.Fprintf(b, "? (%s: no command line recorded)", p.Name)
	} else {
		b.WriteString(shellquote.JoinMax(p.Cmdline, maxQuoted))
		if p.CmdlineFrom != "" && p.CmdlineFrom != "proc" {
			fmt.Fprintf(b, "   (from %s)", p.CmdlineFrom)
		}
	}
	f := p.Fact
	if f == nil {
		return
	}
	if len(f.Argv) > 0 && !slices.Equal(f.Argv, p.Cmdline) {
		// e.g. bash -c '…' spawned, fakecli ran (exec'ed or forked)
		fmt.Fprintf(b, "\n      ran as: %s   (from %s)", shellquote.JoinMax(f.Argv, maxQuoted), f.Source)
	}
	if f.Fault != "" {
		fmt.Fprintf(b, "   fault: %s", f.Fault)
	}
}

func writeFD(b *strings.Builder, fd FD, self int32) {
	fmt.Fprintf(b, "fd %d -> %s", fd.Num, fd.Target)
	for i, p := range fd.Peers {
		if i == 0 {
			b.WriteString("; other end: ")
		} else {
			b.WriteString(", ")
		}
		if p.Pid == self && self != 0 {
			fmt.Fprintf(b, "fd %d (this process)", p.FD)
		} else {
			fmt.Fprintf(b, "pid %d (%s) fd %d", p.Pid, p.Name, p.FD)
		}
	}
}

// stateName spells out a /proc state letter: stateName("Z") == "zombie".
func stateName(letter string) string { return procfs.StateName(letter) }

// maxQuoted caps a rendered command line, in bytes.
const maxQuoted = 400

// plural renders "1 process", "2 processes".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
