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
// during the scan is skipped. Under RunReaped, Take reads only the measured
// tree (from the top down) and the wrapper's, where every orphan of the
// tree lands, so its cost does not grow with unrelated processes (see
// localTree); otherwise (no wrapper, or Of) it reads every process's
// /proc/<pid>/stat (about 10µs a process). It reads environ and cmdline only of
// processes it has not seen since their last exec (the registry remembers
// them by pid, start time and exec image). The fd list may include fds other
// goroutines open and close concurrently.
func Take(opts ...Option) (Snapshot, error) {
	o, err := newOptions(callTake, opts)
	if err != nil {
		return Snapshot{}, err
	}
	return scan(scanSpec{self: o.self(0), marker: o.markerOr(ProcessMarker()), goroutines: o.goroutines})
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
	if snap.FDs, err = fdsOf(self, caller); err != nil {
		return snap, fmt.Errorf("harness: take snapshot of pid %d: list its fds: %w", self, err)
	}
	pids, t, local := localTree(self, caller, spec.marker)
	if !local {
		if pids, err = procfs.Pids(); err != nil {
			return snap, fmt.Errorf("harness: take snapshot: list processes: %w", err)
		}
		t = readTree(pids, self)
	}
	if _, ok := t.stats[self]; !ok && self != caller {
		return snap, fmt.Errorf("harness: take snapshot of pid %d: %w", self, ErrGone)
	}
	for _, pid := range pids {
		st, ok := t.stats[pid]
		if !ok || pid == self || t.anc[pid] || pid == 2 || st.PPid == 2 {
			continue // kernel threads (kthreadd's children) carry no environment
		}
		isDesc := t.desc[pid]
		if !isDesc && spec.marker == "" {
			continue
		}
		p, ok := readProc(pid, st, boot, spec.marker, isDesc)
		if !ok {
			continue
		}
		if parent, ok := t.stats[st.PPid]; ok {
			p.ParentName = parent.Comm
		}
		if isDesc {
			snap.Descendants = append(snap.Descendants, p)
		} else {
			snap.Escaped = append(snap.Escaped, p)
		}
	}
	registry.prune(func(k procKey) bool {
		st, ok := t.stats[k.pid]
		return ok && startedAt(boot, st.StartTicks).UnixNano() == k.started
	}, snap.Taken)
	if spec.goroutines && self == caller {
		snap.Goroutines = gleak.Goroutines()
	}
	return snap, nil
}

// fdsOf lists the fds of self (the caller's own through procfs.SelfFDs),
// by number.
func fdsOf(self, caller int32) ([]FD, error) {
	var raw []procfs.FD
	var err error
	if self == caller {
		raw, err = procfs.SelfFDs()
	} else {
		raw, err = procfs.FDs(self)
	}
	if err != nil {
		return nil, err
	}
	fds := make([]FD, 0, len(raw))
	for _, fd := range raw {
		fds = append(fds, FD{Num: fd.Num, Kind: classifyFD(fd.Target), Target: fd.Target})
	}
	slices.SortFunc(fds, func(a, b FD) int { return a.Num - b.Num })
	return fds, nil
}

// tree is the process tree around self, from one read of every stat line.
type tree struct {
	stats map[int32]procfs.Stat // every process whose stat was readable
	desc  map[int32]bool        // self's descendants
	anc   map[int32]bool        // self's ancestors
}

// readTree reads the stat line of each of pids and finds self's
// descendants (following ppid links down) and ancestors.
func readTree(pids []int32, self int32) tree {
	t := tree{stats: make(map[int32]procfs.Stat, len(pids)), desc: map[int32]bool{}, anc: map[int32]bool{}}
	children := make(map[int32][]int32)
	for _, pid := range pids {
		st, err := procfs.ReadStat(pid)
		if err != nil {
			continue // vanished (or an unreadable stat line): not ours to judge
		}
		t.stats[pid] = st
		children[st.PPid] = append(children[st.PPid], pid)
	}
	queue := slices.Clone(children[self])
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if t.desc[pid] || pid == self {
			continue
		}
		t.desc[pid] = true
		queue = append(queue, children[pid]...)
	}
	for p := t.stats[self].PPid; p > 0 && !t.anc[p]; p = t.stats[p].PPid {
		t.anc[p] = true
	}
	return t
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
	r := procRead{pid: pid, zombie: st.State == 'Z', cacheable: st.State != 'Z' && st.Image.Known(), m: registry.get(key)}
	if r.cacheable && r.m.image != st.Image {
		// A new exec: what was read for the old image no longer holds.
		r.m.image, r.m.envRead, r.m.live, r.m.liveRead = st.Image, false, nil, false
		r.changed = true
	}
	if !r.readMarker() {
		return Proc{}, false
	}
	if !isDesc && !(r.markerKnown && markerMatches(r.marker, marker)) {
		if r.changed {
			registry.put(key, r.m)
		}
		return Proc{}, false
	}
	args, ok := r.readCmdline()
	if !ok {
		return Proc{}, false
	}
	p := Proc{
		Pid: pid, PPid: st.PPid, Pgid: st.Pgrp,
		State:   string(st.State),
		Name:    st.Comm,
		Started: started,
	}
	if r.markerKnown {
		p.Marker = r.marker
	}
	if len(args) > 0 {
		p.Cmdline, p.CmdlineFrom = slices.Clone(args), "proc"
	} else if a, from := r.m.cmdline(); len(a) > 0 {
		p.Cmdline, p.CmdlineFrom = slices.Clone(a), from
	}
	p.Name = fullName(st.Comm, p.Cmdline)
	if r.changed || r.m.seen.IsZero() {
		registry.put(key, r.m)
	}
	return p, true
}

// procRead is one readProc's reads of a process and its memo.
type procRead struct {
	pid       int32
	zombie    bool // no environ or cmdline to read
	cacheable bool // a live process with a known image: reads are kept per image
	m         memo // the registry's memo, updated by the reads
	changed   bool // m differs from the registry's

	marker      string // the LEAKGATE_RUN value
	markerKnown bool
}

// readMarker reads the marker from environ, once per image (the memo's
// when cached or unreadable). It returns false if the process vanished.
func (r *procRead) readMarker() bool {
	r.marker, r.markerKnown = r.m.marker, r.m.markerKnown
	if r.zombie || (r.cacheable && r.m.envRead) || r.m.denied {
		return true
	}
	v, entries, err := procfs.EnvValue(r.pid, MarkerEnv)
	if isGone(err) {
		return false
	}
	if errors.Is(err, os.ErrPermission) {
		// Another user's process (the kernel also hides its image): never
		// ours, and never readable; do not ask again.
		r.m.denied, r.changed = true, true
	}
	if err == nil && (entries > 0 || r.cacheable) {
		// A live process with an address space and an empty environment
		// carries no marker; an empty read without one (exiting) says
		// nothing.
		r.marker, r.markerKnown = v, true
		r.m.marker, r.m.markerKnown = v, true
		r.m.envRead = r.cacheable
		r.changed = true
	}
	return true
}

// readCmdline reads the command line, once per image (the memo's when
// cached; none for a zombie). ok is false if the process vanished.
func (r *procRead) readCmdline() (args []string, ok bool) {
	if r.zombie {
		return nil, true
	}
	if r.cacheable && r.m.liveRead {
		return r.m.live, true
	}
	a, err := procfs.Cmdline(r.pid)
	if isGone(err) {
		return nil, false
	}
	if r.cacheable && err == nil {
		r.m.live, r.m.liveRead = a, true
	}
	if len(a) > 0 {
		r.m.lastLive = a
	}
	r.changed = true
	return a, true
}

// fullName is comm, extended from argv[0] when the kernel cut it at 15
// bytes, as ps does.
func fullName(comm string, argv []string) string {
	if len(comm) == commLen && len(argv) > 0 {
		if base := filepath.Base(argv[0]); strings.HasPrefix(base, comm) {
			return base
		}
	}
	return comm
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
