package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/onsi/gomega/gleak"

	"github.com/leakgate/leakgate/internal/procfs"
)

// Proc is one process as a Snapshot saw it.
type Proc struct {
	Pid, PPid, Pgid int32
	// State is the one-letter state of /proc/<pid>/stat: R S D Z T t X I …
	State string
	// Name is the command name (comm, extended from the command line when
	// comm is truncated at 15 bytes).
	Name string
	// ParentName is the command name of PPid, if it was readable.
	ParentName string
	// Cmdline is the argument vector. A zombie's /proc cmdline is empty, so
	// for a zombie it comes from the registry (see Remember).
	Cmdline []string
	// CmdlineFrom says where Cmdline came from: "proc" (read live), the
	// source given to Remember (e.g. "spawn"), "earlier snapshot", or "" if
	// unknown.
	CmdlineFrom string
	// Started is the start time, from /proc/<pid>/stat starttime (10ms
	// resolution). (Pid, Started) identifies a process across pid reuse;
	// Started values are comparable within one process only.
	Started time.Time
	// Marker is the process's LEAKGATE_RUN value, if its environment was
	// readable (for a zombie: if it was remembered while it was alive).
	Marker string
	// Fact is what the caller said about the process (its journal entry:
	// command line as run, injected fault), set by Leaks.Annotate; nil if
	// nothing.
	Fact *Fact
}

// FDKind classifies an fd by its readlink target.
type FDKind string

// The fd kinds. FDOther covers anon inodes other than pidfds (eventpoll,
// eventfd, signalfd, timerfd, …) and anything else unrecognised.
const (
	FDPipe   FDKind = "pipe"   // pipe:[inode]
	FDSocket FDKind = "socket" // socket:[inode]
	FDPidfd  FDKind = "pidfd"  // anon_inode:[pidfd] (Go's os.Process holds one until Wait)
	FDFile   FDKind = "file"   // an absolute path, including "/x (deleted)"
	FDOther  FDKind = "other"
)

// FD is one open fd of the measuring process.
type FD struct {
	Num    int
	Kind   FDKind
	Target string // readlink target, e.g. "pipe:[88123]", "/tmp/x"
	// Peers holds, for a leaked pipe, the other end's holders (possibly this
	// process). Snapshots leave it empty; Leaks.Attribute fills it.
	Peers []Peer
}

// Peer is a process holding an fd on the other end of a pipe.
type Peer struct {
	Pid  int32
	Name string
	FD   int
}

// Snapshot is the process and fd state of the measured process at one
// instant. Take makes one; Diff compares two.
type Snapshot struct {
	Self  int32     // the measured process (os.Getpid(), or the pid given to Of)
	Taken time.Time // when the scan started
	// Descendants are all descendants of Self, in any state, by pid.
	Descendants []Proc
	// Escaped are processes whose LEAKGATE_RUN value starts with Marker and
	// that are neither Self, an ancestor of Self, nor a descendant, by pid.
	Escaped []Proc
	// FDs are Self's open fds, by number.
	FDs []FD
	// Marker is the prefix Escaped was computed for ("" = none).
	Marker string
	// Goroutines are the caller's goroutines, recorded only when Take was
	// given WithGoroutines and measures the caller; nil otherwise. Diff
	// compares goroutines only when both snapshots hold them.
	Goroutines []gleak.Goroutine
}

// Zombies returns the descendants and escaped processes in state Z:
// len(snap.Zombies()).
func (s Snapshot) Zombies() []Proc {
	return zombies(s.Descendants, s.Escaped)
}

func zombies(lists ...[]Proc) []Proc {
	var out []Proc
	for _, l := range lists {
		for _, p := range l {
			if p.State == "Z" {
				out = append(out, p)
			}
		}
	}
	return out
}

// Take scans /proc and returns a snapshot of the calling process (or of the
// process Of names): its descendants, the escaped processes carrying the
// marker prefix (default ProcessMarker(); see WithMarker), and its open
// fds; with WithGoroutines, also the caller's goroutines.
//
//	before, err := harness.Take()
//	Eventually(harness.Take).ShouldNot(harness.HaveLeaked(before))
//
// Take reads files only and never starts a process. A process that vanishes
// during the scan is skipped. Take reads every process's /proc/<pid>/stat
// (the floor: about 10µs a process), and environ and cmdline only of
// processes it has not seen since their last exec (the registry remembers
// them by pid, start time and exec image). The fd list may include fds other
// goroutines open and close concurrently.
func Take(opts ...Option) (Snapshot, error) {
	o := newOptions(opts)
	marker := ProcessMarker()
	if o.marker != nil {
		marker = *o.marker
	}
	return scan(scanSpec{self: o.self(0), marker: marker, goroutines: o.goroutines})
}

// bootTime is the boot instant every Started value of this process is
// computed from (procfs.BootTime).
var bootTime = procfs.BootTime

func startedAt(boot time.Time, ticks uint64) time.Time {
	return procfs.StartTime(boot, ticks)
}

// take is a snapshot of this process with the given marker prefix.
func take(marker string) (Snapshot, error) {
	return scan(scanSpec{self: int32(os.Getpid()), marker: marker})
}

// scanSpec says what one scan of /proc looks for.
type scanSpec struct {
	self       int32  // the measured process
	marker     string // prefix of escaped processes' markers; "" = none
	goroutines bool   // record the caller's goroutines (only if self is the caller)
}

// ErrGone reports that the measured process (see Of) no longer exists:
// errors.Is(err, harness.ErrGone) after Take(harness.Of(pid)).
var ErrGone = procfs.ErrGone

// scan is Take's work: one pass over /proc for spec.
func scan(spec scanSpec) (Snapshot, error) {
	self := spec.self
	caller := int32(os.Getpid())
	snap := Snapshot{Self: self, Taken: time.Now(), Marker: spec.marker}
	boot, err := bootTime()
	if err != nil {
		return snap, fmt.Errorf("harness: take snapshot: boot time: %w", err)
	}
	var raw []procfs.FD
	if self == caller {
		raw, err = procfs.SelfFDs()
	} else {
		raw, err = procfs.FDs(self)
	}
	if err != nil {
		return snap, fmt.Errorf("harness: take snapshot of pid %d: list its fds: %w", self, err)
	}
	snap.FDs = make([]FD, 0, len(raw))
	for _, fd := range raw {
		snap.FDs = append(snap.FDs, FD{Num: fd.Num, Kind: classifyFD(fd.Target), Target: fd.Target})
	}
	slices.SortFunc(snap.FDs, func(a, b FD) int { return a.Num - b.Num })

	pids, err := procfs.Pids()
	if err != nil {
		return snap, fmt.Errorf("harness: take snapshot: list processes: %w", err)
	}
	slices.Sort(pids)
	stats := make(map[int32]procfs.Stat, len(pids))
	children := make(map[int32][]int32)
	for _, pid := range pids {
		st, err := procfs.ReadStat(pid)
		if err != nil {
			continue // vanished (or an unreadable stat line): not ours to judge
		}
		stats[pid] = st
		children[st.PPid] = append(children[st.PPid], pid)
	}
	if self != caller {
		if _, ok := stats[self]; !ok {
			return snap, fmt.Errorf("harness: take snapshot of pid %d: %w", self, ErrGone)
		}
	}
	desc := map[int32]bool{}
	queue := slices.Clone(children[self])
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if desc[pid] || pid == self {
			continue
		}
		desc[pid] = true
		queue = append(queue, children[pid]...)
	}
	anc := map[int32]bool{}
	for p := stats[self].PPid; p > 0 && !anc[p]; p = stats[p].PPid {
		anc[p] = true
	}

	for _, pid := range pids {
		st, ok := stats[pid]
		if !ok || pid == self || anc[pid] || pid == 2 || st.PPid == 2 {
			continue // kernel threads (kthreadd's children) carry no environment
		}
		isDesc := desc[pid]
		if !isDesc && spec.marker == "" {
			continue
		}
		p, ok := readProc(pid, st, boot, spec.marker, isDesc)
		if !ok {
			continue
		}
		if parent, ok := stats[st.PPid]; ok {
			p.ParentName = parent.Comm
		}
		if isDesc {
			snap.Descendants = append(snap.Descendants, p)
		} else {
			snap.Escaped = append(snap.Escaped, p)
		}
	}
	registry.prune(func(k procKey) bool {
		st, ok := stats[k.pid]
		return ok && startedAt(boot, st.StartTicks).UnixNano() == k.started
	}, snap.Taken)
	if spec.goroutines && self == caller {
		snap.Goroutines = gleak.Goroutines()
	}
	return snap, nil
}

// commLen is the longest comm the kernel keeps (TASK_COMM_LEN - 1): a
// longer command name is cut there.
const commLen = 15

// readProc describes process pid from its stat line and what the registry
// remembers of it, reading environ and cmdline only when the process runs
// an exec image the registry has not seen. ok is false if the process
// vanished or, when it is not a descendant, does not carry the marker.
func readProc(pid int32, st procfs.Stat, boot time.Time, marker string, isDesc bool) (Proc, bool) {
	started := startedAt(boot, st.StartTicks)
	key := procKey{pid, started.UnixNano()}
	zombie := st.State == 'Z'
	m := registry.get(key)
	changed := false
	cacheable := !zombie && st.Image.Known()
	if cacheable && m.image != st.Image {
		m.image, m.envRead, m.live, m.liveRead = st.Image, false, nil, false
		changed = true
	}

	// The marker: from environ, read once per image.
	value, known := m.marker, m.markerKnown
	if !zombie && !(cacheable && m.envRead) && !m.denied {
		v, entries, err := procfs.EnvValue(pid, MarkerEnv)
		if isGone(err) {
			return Proc{}, false
		}
		if errors.Is(err, os.ErrPermission) {
			// Another user's process (the kernel also hides its image):
			// never ours, and never readable; do not ask again.
			m.denied, changed = true, true
		}
		if err == nil && (entries > 0 || cacheable) {
			// A live process with an address space and an empty
			// environment carries no marker; an empty read without one
			// (exiting) says nothing.
			value, known = v, true
			m.marker, m.markerKnown = v, true
			m.envRead = cacheable
			changed = true
		}
	}
	if !isDesc && !(known && markerMatches(value, marker)) {
		if changed {
			registry.put(key, m)
		}
		return Proc{}, false
	}

	// The command line: from cmdline, read once per image.
	var args []string
	if !zombie {
		if cacheable && m.liveRead {
			args = m.live
		} else {
			a, err := procfs.Cmdline(pid)
			if isGone(err) {
				return Proc{}, false
			}
			args = a
			if cacheable && err == nil {
				m.live, m.liveRead = a, true
			}
			if len(a) > 0 {
				m.lastLive = a
			}
			changed = true
		}
	}
	p := Proc{
		Pid: pid, PPid: st.PPid, Pgid: st.Pgrp,
		State:   string(st.State),
		Name:    st.Comm,
		Started: started,
	}
	if known {
		p.Marker = value
	}
	if len(args) > 0 {
		p.Cmdline, p.CmdlineFrom = slices.Clone(args), "proc"
	} else if a, from := m.cmdline(); len(a) > 0 {
		p.Cmdline, p.CmdlineFrom = slices.Clone(a), from
	}
	// comm is cut at 15 bytes: extend it from argv[0], as ps does.
	if len(st.Comm) == commLen && len(p.Cmdline) > 0 {
		if base := filepath.Base(p.Cmdline[0]); strings.HasPrefix(base, st.Comm) {
			p.Name = base
		}
	}
	if changed || m.seen.IsZero() {
		registry.put(key, m)
	}
	return p, true
}

// isGone reports whether a read failed because the process is gone: its
// /proc directory no longer exists. ESRCH is not "gone": opening a zombie's
// environ fails with it (its memory is released), and the zombie is exactly
// what we want to see.
func isGone(err error) bool {
	return err != nil && (errors.Is(err, procfs.ErrGone) || errors.Is(err, os.ErrNotExist))
}

func classifyFD(target string) FDKind {
	switch {
	case strings.HasPrefix(target, "pipe:["):
		return FDPipe
	case strings.HasPrefix(target, "socket:["):
		return FDSocket
	case target == "anon_inode:[pidfd]", strings.HasPrefix(target, "pidfd:"):
		return FDPidfd
	case strings.HasPrefix(target, "/"):
		return FDFile
	}
	return FDOther
}
