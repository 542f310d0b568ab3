package harness

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v3/process"

	"github.com/leakgate/leakgate/harness/internal/procfs"
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

// Snapshot is the process and fd state of the measuring process at one
// instant. Take makes one; Diff compares two.
type Snapshot struct {
	Self  int32     // the measuring process (os.Getpid())
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

// Take scans /proc and returns a snapshot of the calling process: its
// descendants, the escaped processes carrying the marker prefix (default
// ProcessMarker(); see WithMarker), and its open fds.
//
//	before, err := harness.Take()
//	Eventually(harness.Take).ShouldNot(harness.HaveLeaked(before))
//
// Take reads files only and never starts a process. A process that vanishes
// during the scan is skipped. Take costs a few milliseconds: it reads the
// stat and environ of every process on the machine. The fd list may include
// fds other goroutines open and close concurrently.
func Take(opts ...Option) (Snapshot, error) {
	o := newOptions(opts)
	marker := ProcessMarker()
	if o.marker != nil {
		marker = *o.marker
	}
	return take(marker)
}

// bootTime is the boot instant, estimated once per process from
// /proc/uptime so that every Started value of this process uses the same
// origin.
var bootTime = sync.OnceValues(func() (time.Time, error) {
	up, err := procfs.Uptime()
	if err != nil {
		return time.Time{}, err
	}
	return time.Now().Add(-up).Round(0), nil
})

func startedAt(boot time.Time, ticks uint64) time.Time {
	return boot.Add(procfs.TicksToDuration(ticks))
}

func take(marker string) (Snapshot, error) {
	self := int32(os.Getpid())
	snap := Snapshot{Self: self, Taken: time.Now(), Marker: marker}
	boot, err := bootTime()
	if err != nil {
		return snap, fmt.Errorf("harness: take snapshot: boot time: %w", err)
	}
	raw, err := procfs.SelfFDs()
	if err != nil {
		return snap, fmt.Errorf("harness: take snapshot: list /proc/self/fd: %w", err)
	}
	snap.FDs = make([]FD, 0, len(raw))
	for _, fd := range raw {
		snap.FDs = append(snap.FDs, FD{Num: fd.Num, Kind: classifyFD(fd.Target), Target: fd.Target})
	}
	slices.SortFunc(snap.FDs, func(a, b FD) int { return a.Num - b.Num })

	pids, err := process.Pids()
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
		if !isDesc && marker == "" {
			continue
		}
		p, ok := readProc(pid, st, boot, marker, isDesc)
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
	live := make(map[procKey]bool, len(stats))
	for pid, st := range stats {
		live[procKey{pid, startedAt(boot, st.StartTicks).UnixNano()}] = true
	}
	registry.prune(live, snap.Taken)
	return snap, nil
}

// readProc reads what a Proc needs beyond stat. ok is false if the process
// vanished or, when it is not a descendant, does not carry the marker.
func readProc(pid int32, st procfs.Stat, boot time.Time, marker string, isDesc bool) (Proc, bool) {
	pp := &process.Process{Pid: pid}
	started := startedAt(boot, st.StartTicks)
	key := procKey{pid, started.UnixNano()}
	zombie := st.State == 'Z'

	env, err := pp.Environ()
	if isGone(err) {
		return Proc{}, false
	}
	value, envKnown := markerFromEnviron(env)
	envKnown = envKnown || (err == nil && !zombie)
	memo := registry.get(key)
	if !envKnown && memo.markerKnown {
		value, envKnown = memo.marker, true
	}
	if !isDesc && !markerMatches(value, marker) {
		return Proc{}, false
	}
	name, err := pp.Name()
	if isGone(err) {
		return Proc{}, false
	}
	if name == "" {
		name = st.Comm
	}
	args, err := pp.CmdlineSlice()
	if isGone(err) {
		return Proc{}, false
	}
	p := Proc{
		Pid: pid, PPid: st.PPid, Pgid: st.Pgrp,
		State:   string(st.State),
		Name:    name,
		Started: started,
		Marker:  value,
	}
	if len(args) > 0 {
		p.Cmdline, p.CmdlineFrom = args, "proc"
	} else if len(memo.args) > 0 {
		p.Cmdline, p.CmdlineFrom = slices.Clone(memo.args), memo.from
	}
	registry.saw(key, args, value, envKnown)
	return p, true
}

// markerFromEnviron returns the LEAKGATE_RUN value in env (the last one, as
// os/exec keeps the last of duplicate entries); known is false when env is
// empty (a zombie's or an unreadable environment).
func markerFromEnviron(env []string) (value string, known bool) {
	for _, kv := range env {
		if kv == "" {
			continue
		}
		known = true
		if v, ok := strings.CutPrefix(kv, MarkerEnv+"="); ok {
			value = v
		}
	}
	return value, known
}

// isGone reports whether a read failed because the process is gone: its
// /proc directory no longer exists. ESRCH is not "gone": opening a zombie's
// environ fails with it (its memory is released), and the zombie is exactly
// what we want to see.
func isGone(err error) bool {
	return err != nil && (errors.Is(err, procfs.ErrGone) || errors.Is(err, os.ErrNotExist) || errors.Is(err, process.ErrorProcessNotRunning))
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
