package harness

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v3/process"

	"github.com/leakgate/leakgate/harness/internal/procfs"
)

// Leaks is Diff's verdict: what a snapshot holds that its baseline did not.
type Leaks struct {
	Baseline Snapshot
	Children []Proc    // descendants now, not in the baseline (by pid and start time), any state
	Escaped  []Proc    // escaped processes now, not in the baseline
	FDs      []FD      // fds now, not in the baseline (by number and target)
	Taken    time.Time // when the compared snapshot was taken (ages are relative to it)
	Self     int32     // the measuring process
}

// Zombies returns the leaked children and escaped processes in state Z.
func (l Leaks) Zombies() []Proc { return zombies(l.Children, l.Escaped) }

// Empty reports whether nothing leaked: if leaks.Empty() { … }.
func (l Leaks) Empty() bool { return l.Count() == 0 }

// Count returns the number of leaks: children + escaped + fds.
func (l Leaks) Count() int { return len(l.Children) + len(l.Escaped) + len(l.FDs) }

// Attribute returns l with the Peers of each leaked pipe fd filled: the
// processes (possibly Self) holding the pipe's other end, found by scanning
// /proc/*/fd for the same pipe inode and comparing access modes. Unlike
// Diff it reads /proc; it never starts a process. Settle, VerifyNone and the
// matchers call it before reporting.
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
	pids, err := process.Pids()
	if err != nil {
		return l
	}
	type holder struct {
		pid  int32
		num  int
		name string
	}
	byTarget := map[string][]holder{}
	for _, i := range want {
		byTarget[l.FDs[i].Target] = nil
	}
	for _, pid := range pids {
		list, err := procfs.FDs(pid)
		if err != nil {
			continue
		}
		var name string
		for _, fd := range list {
			if _, ok := byTarget[fd.Target]; !ok {
				continue
			}
			if name == "" {
				if st, err := procfs.ReadStat(pid); err == nil {
					name = st.Comm
				}
			}
			byTarget[fd.Target] = append(byTarget[fd.Target], holder{pid, fd.Num, name})
		}
	}
	for _, i := range want {
		fd := &l.FDs[i]
		mine, mineErr := procfs.AccessMode(l.Self, fd.Num)
		fd.Peers = nil
		for _, h := range byTarget[fd.Target] {
			if h.pid == l.Self && h.num == fd.Num {
				continue
			}
			theirs, err := procfs.AccessMode(h.pid, h.num)
			if mineErr == nil && err == nil && theirs == mine {
				continue // same end
			}
			fd.Peers = append(fd.Peers, Peer{Pid: h.pid, Name: h.name, FD: h.num})
		}
	}
	return l
}

// String renders the report: a count and the baseline, then one block per
// leak, e.g.
//
//	expected no leaks since baseline (2 children, 11 fds); found 2:
//	  pid 4242 [Z zombie] ppid 4100 (restore.test), pgid 4242, age 1.2s
//	      spawned as: bash -c 'fakecli cp s3://b/x -'   (from spawn)
//	  fd 17 -> pipe:[88123]; other end: pid 4244 (fakecli) fd 1
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
	return b.String()
}

func baselineSummary(s Snapshot) string {
	if len(s.Escaped) > 0 {
		return fmt.Sprintf("%d children, %d escaped, %d fds", len(s.Descendants), len(s.Escaped), len(s.FDs))
	}
	return fmt.Sprintf("%d children, %d fds", len(s.Descendants), len(s.FDs))
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
	fmt.Fprintf(b, "  pid %d [%s %s] ppid %d", p.Pid, p.State, StateName(p.State), p.PPid)
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
		return
	}
	b.WriteString(ShellQuote(p.Cmdline))
	if p.CmdlineFrom != "" && p.CmdlineFrom != "proc" {
		fmt.Fprintf(b, "   (from %s)", p.CmdlineFrom)
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

var stateNames = map[string]string{
	"R": "running", "S": "sleeping", "D": "disk sleep", "Z": "zombie",
	"T": "stopped", "t": "tracing stop", "X": "dead", "x": "dead",
	"I": "idle", "P": "parked", "W": "waking", "K": "wakekill",
}

// StateName spells out a /proc state letter: StateName("Z") == "zombie".
// An unknown letter gives "unknown".
func StateName(letter string) string {
	if n, ok := stateNames[letter]; ok {
		return n
	}
	return "unknown"
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// maxQuoted caps a rendered command line, in bytes.
const maxQuoted = 400

// ShellQuote renders args as a shell command line, quoting where needed:
// ShellQuote([]string{"bash", "-c", "a | b"}) == "bash -c 'a | b'". Lines
// longer than 400 bytes are cut and end in "…".
func ShellQuote(args []string) string {
	parts := make([]string, len(args))
	for i, a := range args {
		switch {
		case a == "":
			parts[i] = "''"
		case shellSafe.MatchString(a):
			parts[i] = a
		default:
			parts[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	s := strings.Join(parts, " ")
	if len(s) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && !utf8RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// plural renders "1 process", "2 processes".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
