package harness

import (
	"slices"
	"sync"
	"time"

	"github.com/leakgate/leakgate/internal/procfs"
)

// procKey identifies a process across pid reuse: pid and start time.
type procKey struct {
	pid     int32
	started int64 // Proc.Started.UnixNano()
}

func (p Proc) key() procKey { return procKey{p.Pid, p.Started.UnixNano()} }

// memo is what the registry knows of one process.
type memo struct {
	// image is the exec image the live fields were read from; zero when
	// they were read without one (then they are not reused).
	image procfs.Image
	// envRead: marker and markerKnown were read from environ for image.
	envRead bool
	// denied: environ is not readable by this process (another user's).
	denied bool
	// live is /proc/<pid>/cmdline as read for image (liveRead).
	live     []string
	liveRead bool
	// marker is the last LEAKGATE_RUN value read from a live environment.
	marker      string
	markerKnown bool
	// lastLive is the last non-empty command line read from /proc: a
	// zombie's, whose own is empty, comes from here.
	lastLive []string
	// given is the command line a caller gave Remember, and its source.
	given     []string
	givenFrom string
	seen      time.Time
}

// cmdline is the command line to show for a process whose /proc cmdline is
// empty (a zombie): the one a caller gave, else the last one read.
func (m memo) cmdline() ([]string, string) {
	switch {
	case len(m.given) > 0:
		return m.given, m.givenFrom
	case len(m.lastLive) > 0:
		return m.lastLive, fromSnapshot
	}
	return nil, ""
}

// registry remembers, by (pid, start time), what scans read of a process
// (its command line and marker, per exec image, so a scan reads environ and
// cmdline only of processes it has not seen run their current image) and
// what callers told Remember, so a zombie, whose /proc cmdline and environ
// are empty, can still be described and attributed to its run. Entries of
// processes gone from a full scan are dropped.
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

// put stores m as the memo of k, stamped now.
func (r *memoRegistry) put(k procKey, m memo) {
	m.seen = time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	// Remember may have run since get: keep what it gave.
	if old, ok := r.m[k]; ok && len(old.given) > 0 && len(m.given) == 0 {
		m.given, m.givenFrom = old.given, old.givenFrom
	}
	r.m[k] = m
}

// size is the number of processes remembered (for tests).
func (r *memoRegistry) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}

// fromSnapshot is CmdlineFrom for a command line read by an earlier Take.
const fromSnapshot = "earlier snapshot"

// remember records a command line given by a caller; it beats what
// snapshots saw.
func (r *memoRegistry) remember(k procKey, args []string, source, marker string, markerKnown bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.m[k]
	m.given, m.givenFrom = slices.Clone(args), source
	if markerKnown {
		m.marker, m.markerKnown = marker, true
	}
	m.seen = time.Now()
	r.m[k] = m
}

// prune drops entries of processes that a full scan started at scanStart
// did not see alive (live reports it), unless they were recorded after the
// scan started.
func (r *memoRegistry) prune(live func(procKey) bool, scanStart time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, m := range r.m {
		if m.seen.Before(scanStart) && !live(k) {
			delete(r.m, k)
		}
	}
}

// reset forgets everything (for tests and benchmarks of a cold scan).
func (r *memoRegistry) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.m)
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
// gone. The memory lasts as long as the process exists. Remember reads two
// small /proc files and starts no process.
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
		if v, n, err := procfs.EnvValue(int32(pid), MarkerEnv); err == nil && n > 0 {
			marker, known = v, true
		}
	}
	if source == "" {
		source = "caller"
	}
	registry.remember(k, args, source, marker, known)
}
