package harness

import (
	"slices"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v3/process"

	"github.com/leakgate/leakgate/harness/internal/procfs"
)

// procKey identifies a process across pid reuse: pid and start time.
type procKey struct {
	pid     int32
	started int64 // Proc.Started.UnixNano()
}

func (p Proc) key() procKey { return procKey{p.Pid, p.Started.UnixNano()} }

// memo is what the registry knows of one process.
type memo struct {
	args        []string
	from        string
	marker      string
	markerKnown bool
	seen        time.Time
}

// registry remembers command lines and markers by (pid, start time), so a
// zombie, whose /proc cmdline and environ are empty, can still be described
// and attributed to its run. Entries of processes gone from a full scan are
// dropped.
var registry = &memoRegistry{m: map[procKey]memo{}}

type memoRegistry struct {
	mu sync.Mutex
	m  map[procKey]memo
}

func (r *memoRegistry) get(k procKey) memo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[k]
}

// saw records what a snapshot read of a live or zombie process. The latest
// live read wins: a child caught between fork and exec still shows its
// parent's command line and environment.
func (r *memoRegistry) saw(k procKey, args []string, marker string, markerKnown bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.m[k]
	if len(args) > 0 && (len(m.args) == 0 || m.from == fromSnapshot) {
		m.args, m.from = slices.Clone(args), fromSnapshot
	}
	if markerKnown {
		m.marker, m.markerKnown = marker, true
	}
	m.seen = time.Now()
	r.m[k] = m
}

// fromSnapshot is CmdlineFrom for a command line read by an earlier Take.
const fromSnapshot = "earlier snapshot"

// remember records a command line given by a caller; it beats what
// snapshots saw.
func (r *memoRegistry) remember(k procKey, args []string, source, marker string, markerKnown bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.m[k]
	m.args, m.from = slices.Clone(args), source
	if markerKnown {
		m.marker, m.markerKnown = marker, true
	}
	m.seen = time.Now()
	r.m[k] = m
}

// prune drops entries of processes absent from a full scan that started at
// scanStart, unless they were recorded after the scan started.
func (r *memoRegistry) prune(live map[procKey]bool, scanStart time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, m := range r.m {
		if !live[k] && m.seen.Before(scanStart) {
			delete(r.m, k)
		}
	}
}

// Remember records args as the command line of process pid, so reports can
// show it after the process has become a zombie (whose /proc cmdline is
// empty). source says where args came from and is shown in reports as
// "(from <source>)", e.g. "spawn" or "journal" ("" becomes "caller"):
//
//	cmd.Start()
//	harness.Remember(cmd.Process.Pid, cmd.Args, "spawn")
//
// Call it right after starting the process and before waiting for it:
// Remember reads the process's start time (its identity across pid reuse)
// and, if it is still running, its marker. It does nothing if pid is already
// gone. The memory lasts as long as the process exists.
func Remember(pid int, args []string, source string) {
	if pid <= 0 || pid > 1<<31-1 {
		return
	}
	boot, err := bootTime()
	if err != nil {
		return
	}
	st, err := procfs.ReadStat(int32(pid))
	if err != nil {
		return
	}
	k := procKey{int32(pid), startedAt(boot, st.StartTicks).UnixNano()}
	var marker string
	known := false
	if st.State != 'Z' {
		env, err := (&process.Process{Pid: int32(pid)}).Environ()
		if err == nil {
			marker, _ = markerFromEnviron(env)
			known = true
		}
	}
	if source == "" {
		source = "caller"
	}
	registry.remember(k, args, source, marker, known)
}
